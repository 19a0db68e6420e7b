/*
 * A tiny test framework for the host unit tests: one header, no
 * registration magic.
 *
 *   static void test_something(void) { CHECK_EQ(f(2), 4); }
 *   int main(void) { RUN(test_something); return check_summary(); }
 *
 * A test case is one RUN, or one CASE_BEGIN/CASE_END pair (for table
 * rows). A case fails when any check in it fails; checks keep going after
 * a failure so one run shows every broken value. Failures print
 *   FAIL file:line: case: expression: got X, expected Y
 * and check_summary prints "N passed, M failed" (cases) as the last line
 * and returns the exit status.
 */
#ifndef TESTS_UNIT_CHECK_H
#define TESTS_UNIT_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned int check_passed, check_failed;
static const char *check_case_name = "(no case)";
static bool check_case_ok;

static inline void check_case_begin(const char *name)
{
	check_case_name = name;
	check_case_ok = true;
}

static inline void check_case_end(void)
{
	if (check_case_ok)
		check_passed++;
	else
		check_failed++;
	check_case_name = "(no case)";
}

static inline void check_fail_prefix(const char *file, int line)
{
	check_case_ok = false;
	printf("FAIL %s:%d: %s: ", file, line, check_case_name);
}

#define CASE_BEGIN(name) check_case_begin(name)
#define CASE_END()       check_case_end()

#define RUN(fn)                                                                \
	do {                                                                   \
		check_case_begin(#fn);                                         \
		fn();                                                          \
		check_case_end();                                              \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			check_fail_prefix(__FILE__, __LINE__);                 \
			printf("%s\n", #cond);                                 \
		}                                                              \
	} while (0)

/* A failed check with a formatted explanation. */
#define CHECK_MSG(cond, ...)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                 \
			check_fail_prefix(__FILE__, __LINE__);                 \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
		}                                                              \
	} while (0)

/* Integers of any width, compared and printed as 64-bit values. */
#define CHECK_EQ(got, want)                                                    \
	do {                                                                   \
		uint64_t check_g_ = (uint64_t)(got);                           \
		uint64_t check_w_ = (uint64_t)(want);                          \
		if (check_g_ != check_w_) {                                    \
			check_fail_prefix(__FILE__, __LINE__);                 \
			printf("%s: got %" PRId64 " (0x%" PRIx64               \
			       "), expected %" PRId64 " (0x%" PRIx64 ")\n",    \
			       #got, (int64_t)check_g_, check_g_,              \
			       (int64_t)check_w_, check_w_);                   \
		}                                                              \
	} while (0)

/* Strings; NULL is a value of its own. */
#define CHECK_STR(got, want)                                                   \
	do {                                                                   \
		const char *check_g_ = (got);                                  \
		const char *check_w_ = (want);                                 \
		if (!(check_g_ == check_w_ ||                                  \
		      (check_g_ && check_w_ &&                                 \
		       strcmp(check_g_, check_w_) == 0))) {                    \
			check_fail_prefix(__FILE__, __LINE__);                 \
			printf("%s: got \"%s\", expected \"%s\"\n", #got,      \
			       check_g_ ? check_g_ : "(NULL)",                 \
			       check_w_ ? check_w_ : "(NULL)");                \
		}                                                              \
	} while (0)

/*
 * Reads the whole file at path (relative to the top directory, where make
 * runs the tests) into a malloc'd buffer of exactly its size, so ASan
 * reports a read past its end, or with a NUL after it when nul is set;
 * *len is its size. Returns NULL, after a line saying why, when it
 * cannot read it all.
 */
static inline void *check_read_file(const char *path, size_t *len, bool nul)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n = -1;
	size_t cap;

	*len = 0;
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		cap = (size_t)n + (nul ? 1 : 0);
		buf = malloc(cap ? cap : 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			*len = (size_t)n;
			if (nul)
				buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	if (!buf)
		printf("cannot read %s (the tests run from the top directory: "
		       "make test-unit)\n",
		       path);
	if (f)
		fclose(f);
	return buf;
}

/* A text file, NUL-terminated. */
static inline char *check_read_text(const char *path, size_t *len)
{
	return check_read_file(path, len, true);
}

/* Prints the summary line; returns the process exit status. */
static inline int check_summary(void)
{
	printf("%u passed, %u failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

/* Little-endian stores, for tests that build firmware tables byte by
 * byte (ACPI, the PM timer's FADT). */
static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

#endif
