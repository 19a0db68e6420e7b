/*
 * String and memory helpers (see string.h).
 *
 * mem_copy and mem_set are also what common/lib/libc.c's memcpy, memmove and
 * memset call on the freestanding targets. The compiler recognises plain
 * copy and fill loops and turns them into calls to memcpy/memset, which
 * would make those functions call themselves; no_builtin stops that.
 */
#include "common/lib/string.h"

/* Word-sized access to memory of any type (strict aliasing allows it only
 * through a may_alias type). */
typedef uint64_t __attribute__((may_alias)) word_t;

#define WORD_SIZE       sizeof(word_t)
#define WORD_ALIGNED(p) (((uintptr_t)(p) & (WORD_SIZE - 1)) == 0)

size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t str_nlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

bool str_starts(const char *s, const char *prefix)
{
	while (*prefix) {
		if (*s++ != *prefix++)
			return false;
	}
	return true;
}

size_t str_copy(char *dst, const char *src, size_t cap)
{
	size_t len = str_len(src);
	size_t n;

	if (cap == 0)
		return len;
	n = len < cap - 1 ? len : cap - 1;
	mem_copy(dst, src, n);
	dst[n] = '\0';
	return len;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next word of a command line at or after *p (words are separated
 * by spaces or tabs): its start, with its length in *len, and *p moved
 * past it; NULL when there is none. */
static const char *next_word(const char **p, size_t *len)
{
	const char *start;

	while (is_blank(**p))
		(*p)++;
	start = *p;
	while (**p && !is_blank(**p))
		(*p)++;
	*len = (size_t)(*p - start);
	return *len ? start : NULL;
}

/* "foo" matches the word "foo" only, not "foo=1" or "foobar". */
bool cmdline_has(const char *cmdline, const char *word)
{
	size_t wlen = str_len(word), len;
	const char *p = cmdline, *w;

	while ((w = next_word(&p, &len)) != NULL)
		if (len == wlen && mem_cmp(w, word, wlen) == 0)
			return true;
	return false;
}

const char *cmdline_value(const char *cmdline, const char *key, size_t *len)
{
	size_t klen = str_len(key), wlen;
	const char *p = cmdline, *w;

	if (klen == 0)
		return NULL;
	while ((w = next_word(&p, &wlen)) != NULL)
		if (wlen >= klen && mem_cmp(w, key, klen) == 0) {
			*len = wlen - klen;
			return w + klen;
		}
	return NULL;
}

/* Safe for overlapping buffers (memmove semantics): copies forwards when
 * dst is below src, backwards otherwise. Uses 8-byte words when both
 * pointers share their alignment, since the loader copies the kernel image
 * with it. */
__attribute__((no_builtin)) void mem_copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return;
	if ((uintptr_t)d < (uintptr_t)s) {
		if (WORD_ALIGNED((uintptr_t)d ^ (uintptr_t)s)) {
			while (n && !WORD_ALIGNED(d)) {
				*d++ = *s++;
				n--;
			}
			for (; n >= WORD_SIZE; n -= WORD_SIZE) {
				*(word_t *)d = *(const word_t *)s;
				d += WORD_SIZE;
				s += WORD_SIZE;
			}
		}
		while (n--)
			*d++ = *s++;
	} else {
		d += n;
		s += n;
		if (WORD_ALIGNED((uintptr_t)d ^ (uintptr_t)s)) {
			while (n && !WORD_ALIGNED(d)) {
				*--d = *--s;
				n--;
			}
			for (; n >= WORD_SIZE; n -= WORD_SIZE) {
				d -= WORD_SIZE;
				s -= WORD_SIZE;
				*(word_t *)d = *(const word_t *)s;
			}
		}
		while (n--)
			*--d = *--s;
	}
}

__attribute__((no_builtin)) void mem_set(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	word_t pattern = (unsigned char)c * 0x0101010101010101ull;

	while (n && !WORD_ALIGNED(d)) {
		*d++ = (unsigned char)c;
		n--;
	}
	for (; n >= WORD_SIZE; n -= WORD_SIZE) {
		*(word_t *)d = pattern;
		d += WORD_SIZE;
	}
	while (n--)
		*d++ = (unsigned char)c;
}

__attribute__((no_builtin)) int mem_cmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a;
	const unsigned char *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}
