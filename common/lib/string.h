/*
 * Small string and memory helpers for common/, the loader and the kernel.
 * They have their own names so the host build (which links libc) sees no
 * clash; common/lib/libc.c provides memcpy/memset/memmove/memcmp, which the
 * compiler may emit calls to, for the two freestanding targets only.
 */
#ifndef COMMON_STRING_H
#define COMMON_STRING_H

#include "common/lib/types.h"

size_t str_len(const char *s);
size_t str_nlen(const char *s, size_t max);
bool str_eq(const char *a, const char *b);
/* True when s starts with prefix. */
bool str_starts(const char *s, const char *prefix);
/* Copies at most cap-1 bytes and always terminates (cap > 0). Returns the
 * length of src, so a result >= cap means it was truncated. */
size_t str_copy(char *dst, const char *src, size_t cap);
/* True when the space-separated word occurs in the command line. */
bool cmdline_has(const char *cmdline, const char *word);
/* The value of the first word that starts with key (say
 * "break-bootinfo="): what follows key in that word, not NUL-terminated,
 * with its length in *len (0 for "key" alone); NULL when no word starts
 * with key (or key is empty). */
const char *cmdline_value(const char *cmdline, const char *key, size_t *len);

void mem_copy(void *dst, const void *src, size_t n);
void mem_set(void *dst, int c, size_t n);
int mem_cmp(const void *a, const void *b, size_t n);

#endif
