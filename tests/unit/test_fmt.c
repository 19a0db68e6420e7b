/*
 * fmt_snprintf and fmt_size. Most rows are checked against the host's
 * own snprintf where the two agree by design (32-bit %d/%u/%x, widths,
 * flags); the rest are spelled out.
 */
#include "common/lib/fmt.h"
#include "tests/unit/check.h"

#define CHECK_FMT(want, ...)                                                   \
	do {                                                                   \
		char buf_[128];                                                \
		size_t n_ = fmt_snprintf(buf_, sizeof(buf_), __VA_ARGS__);     \
		CHECK_STR(buf_, want);                                         \
		CHECK_EQ(n_, strlen(want));                                    \
	} while (0)

static void test_plain(void)
{
	CHECK_FMT("", "");
	CHECK_FMT("hello", "hello");
	CHECK_FMT("100%", "100%%");
}

static void test_32bit(void)
{
	CHECK_FMT("0", "%d", 0);
	CHECK_FMT("-1", "%d", -1);
	CHECK_FMT("-2147483648", "%d", (int)INT32_MIN);
	CHECK_FMT("2147483647", "%d", INT32_MAX);
	CHECK_FMT("4294967295", "%u", UINT32_MAX);
	CHECK_FMT("ffffffff", "%x", 0xffffffffu);
	CHECK_FMT("dead", "%x", 0xdeadu);
}

static void test_64bit(void)
{
	CHECK_FMT("18446744073709551615", "%lu", UINT64_MAX);
	CHECK_FMT("-9223372036854775808", "%ld", INT64_MIN);
	CHECK_FMT("9223372036854775807", "%ld", INT64_MAX);
	CHECK_FMT("-5", "%ld", (int64_t)-5);
	CHECK_FMT("ffffffff80000000", "%lx", 0xffffffff80000000ull);
	CHECK_FMT("123456789abc", "%llx", 0x123456789abcull);
	/* A 64-bit argument after a 32-bit one stays in step. */
	CHECK_FMT("1 100000000 2", "%u %lx %d", 1u, 0x100000000ull, 2);
}

static void test_pointer(void)
{
	CHECK_FMT("0x0000000000000000", "%p", (uint64_t)0);
	CHECK_FMT("0xffff800000001000", "%p", 0xffff800000001000ull);
	CHECK_FMT("  0x0000000000000001", "%20p", (uint64_t)1);
}

/* Width and flags agree with the C library for 32-bit conversions. */
static void test_width_against_libc(void)
{
	static const char *const formats[] = {
	    "%5d", "%-5d|", "%05d", "%08x",  "%-8x|",
	    "%1d", "%05u",  "%3x",  "%010d", "%-010d|",
	};
	static const int values[] = {0, 7, -7, 12345, -123456, 0x7fffffff};

	for (size_t f = 0; f < ARRAY_SIZE(formats); f++) {
		for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
			char want[64], got[64];

			snprintf(want, sizeof(want), formats[f], values[v]);
			fmt_snprintf(got, sizeof(got), formats[f], values[v]);
			CHECK_STR(got, want);
		}
	}
}

static void test_strings(void)
{
	CHECK_FMT("abc", "%s", "abc");
	CHECK_FMT("(null)", "%s", (const char *)NULL);
	CHECK_FMT("  abc", "%5s", "abc");
	CHECK_FMT("abc  |", "%-5s|", "abc");
	CHECK_FMT("abcdef", "%3s", "abcdef");
	CHECK_FMT("x", "%c", 'x');
	CHECK_FMT("  x", "%3c", 'x');
	CHECK_FMT("loader: error: kernel.elf: 3 bytes",
		  "loader: error: %s: %u bytes", "kernel.elf", 3u);
}

static void test_unknown_conversions(void)
{
	CHECK_FMT("%q", "%q");
	CHECK_FMT("a %5q b", "a %5q b");
	CHECK_FMT("%", "%");
	CHECK_FMT("x%", "x%");
	CHECK_FMT("%-0", "%-0");
	CHECK_FMT("%l", "%l");
}

static void test_truncation(void)
{
	char buf[8];
	size_t n;

	memset(buf, 'z', sizeof(buf));
	n = fmt_snprintf(buf, sizeof(buf), "%s", "0123456789");
	CHECK_EQ(n, 10);
	CHECK_STR(buf, "0123456");

	memset(buf, 'z', sizeof(buf));
	n = fmt_snprintf(buf, 1, "abc");
	CHECK_EQ(n, 3);
	CHECK_EQ(buf[0], '\0');
	CHECK_EQ(buf[1], 'z');

	/* cap 0 writes nothing at all. */
	n = fmt_snprintf(buf, 0, "%d", 12345);
	CHECK_EQ(n, 5);
	CHECK_EQ(buf[0], '\0');
	CHECK_EQ(buf[1], 'z');

	n = fmt_snprintf(buf, sizeof(buf), "%20d", 1);
	CHECK_EQ(n, 20);
	CHECK_STR(buf, "       ");
}

/* Absurd widths are capped rather than overflowing. */
static void test_huge_width(void)
{
	char buf[8];
	size_t n = fmt_snprintf(buf, sizeof(buf), "%99999999999999999999d", 1);

	CHECK(n < 10000);
	CHECK_EQ(strlen(buf), 7);
}

static void test_size(void)
{
	static const struct {
		uint64_t bytes;
		const char *want;
	} rows[] = {
	    {0, "0 B"},
	    {1023, "1023 B"},
	    {1024, "1 KiB"},
	    {1536, "1 KiB"},
	    {512ull << 10, "512 KiB"},
	    {(1ull << 20) - 1, "1023 KiB"},
	    {3ull << 20, "3 MiB"},
	    {6ull << 30, "6 GiB"},
	    {5ull << 40, "5 TiB"},
	    {1ull << 50, "1 PiB"},
	    {UINT64_MAX, "15 EiB"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char buf[32];
		size_t n = fmt_size(buf, sizeof(buf), rows[i].bytes);

		CHECK_STR(buf, rows[i].want);
		CHECK_EQ(n, strlen(rows[i].want));
	}
}

int main(void)
{
	RUN(test_plain);
	RUN(test_32bit);
	RUN(test_64bit);
	RUN(test_pointer);
	RUN(test_width_against_libc);
	RUN(test_strings);
	RUN(test_unknown_conversions);
	RUN(test_truncation);
	RUN(test_huge_width);
	RUN(test_size);
	return check_summary();
}
