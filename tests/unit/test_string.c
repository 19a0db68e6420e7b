/*
 * String and memory helpers, the memory ones checked against the C
 * library over every small length, alignment and overlap.
 */
#include "common/lib/string.h"
#include "tests/unit/check.h"

static void test_lengths(void)
{
	CHECK_EQ(str_len(""), 0);
	CHECK_EQ(str_len("abc"), 3);
	CHECK_EQ(str_nlen("abc", 2), 2);
	CHECK_EQ(str_nlen("abc", 10), 3);
	CHECK_EQ(str_nlen("", 0), 0);
}

static void test_compare(void)
{
	CHECK(str_eq("", ""));
	CHECK(str_eq("abc", "abc"));
	CHECK(!str_eq("abc", "abd"));
	CHECK(!str_eq("abc", "ab"));
	CHECK(!str_eq("ab", "abc"));
	CHECK(str_starts("kernel.elf", "kernel"));
	CHECK(str_starts("x", ""));
	CHECK(!str_starts("ker", "kernel"));
	CHECK(!str_starts("Kernel", "kernel"));
}

static void test_copy(void)
{
	char buf[8];

	memset(buf, 'z', sizeof(buf));
	CHECK_EQ(str_copy(buf, "abc", sizeof(buf)), 3);
	CHECK_STR(buf, "abc");
	CHECK_EQ(str_copy(buf, "0123456789", sizeof(buf)), 10);
	CHECK_STR(buf, "0123456");
	CHECK_EQ(str_copy(buf, "0123456", sizeof(buf)), 7);
	CHECK_STR(buf, "0123456");
	CHECK_EQ(str_copy(buf, "xy", 1), 2);
	CHECK_STR(buf, "");
	/* cap 0 writes nothing. */
	buf[0] = 'q';
	CHECK_EQ(str_copy(buf, "xy", 0), 2);
	CHECK_EQ(buf[0], 'q');
}

static void test_cmdline_has(void)
{
	CHECK(cmdline_has("selftest", "selftest"));
	CHECK(cmdline_has("quiet selftest", "selftest"));
	CHECK(cmdline_has("  selftest  quiet", "selftest"));
	CHECK(cmdline_has("a\tselftest\tb", "selftest"));
	CHECK(!cmdline_has("selftests", "selftest"));
	CHECK(!cmdline_has("selftest=1", "selftest"));
	CHECK(!cmdline_has("noselftest", "selftest"));
	CHECK(!cmdline_has("", "selftest"));
	CHECK(!cmdline_has("a b", ""));
	CHECK(cmdline_has("log=debug", "log=debug"));
}

static bool value_is(const char *cmdline, const char *key, const char *want)
{
	size_t len = 99;
	const char *v = cmdline_value(cmdline, key, &len);
	if (!want)
		return v == NULL;
	return v && len == strlen(want) && memcmp(v, want, len) == 0;
}

static void test_cmdline_value(void)
{
	CHECK(value_is("k=v", "k=", "v"));
	CHECK(value_is("test  break=drop-segment\tptdump",
		       "break=", "drop-segment"));
	CHECK(value_is("break= x", "break=", ""));
	CHECK(value_is("break=a break=b", "break=", "a")); /* the first */
	CHECK(value_is("nobreak=a", "break=", NULL));
	CHECK(value_is("break", "break=", NULL));
	CHECK(value_is("", "break=", NULL));
	CHECK(value_is("a b", "", NULL));
}

/* mem_copy against memmove for every length, both alignments and every
 * overlap within a small window. */
static void test_mem_copy(void)
{
	enum { W = 96 };
	uint8_t want[W], got[W];

	for (size_t n = 0; n < 40; n++) {
		for (size_t src = 0; src + n <= W && src < 24; src++) {
			for (size_t dst = 0; dst + n <= W && dst < 24; dst++) {
				for (size_t i = 0; i < W; i++)
					want[i] = got[i] = (uint8_t)(i * 7 + 1);
				memmove(want + dst, want + src, n);
				mem_copy(got + dst, got + src, n);
				if (memcmp(want, got, W) != 0) {
					CHECK_EQ(n * 10000 + src * 100 + dst,
						 0);
					return;
				}
			}
		}
	}
	/* Between separate buffers. */
	{
		char a[100], b[100];

		memset(a, 'a', sizeof(a));
		memset(b, 'b', sizeof(b));
		mem_copy(a + 3, b, 90);
		CHECK_EQ(a[2], 'a');
		CHECK_EQ(a[3], 'b');
		CHECK_EQ(a[92], 'b');
		CHECK_EQ(a[93], 'a');
	}
}

static void test_mem_set(void)
{
	uint8_t buf[64];

	for (size_t off = 0; off < 16; off++) {
		for (size_t n = 0; off + n <= sizeof(buf); n++) {
			memset(buf, 0x11, sizeof(buf));
			mem_set(buf + off, 0x1ab, n); /* only the low byte */
			for (size_t i = 0; i < sizeof(buf); i++) {
				uint8_t want =
				    (i >= off && i < off + n) ? 0xab : 0x11;
				if (buf[i] != want) {
					CHECK_EQ(off * 1000 + n, 0);
					return;
				}
			}
		}
	}
}

static void test_mem_cmp(void)
{
	CHECK_EQ(mem_cmp("abc", "abc", 3), 0);
	CHECK_EQ(mem_cmp("abc", "abd", 3), -1);
	CHECK_EQ(mem_cmp("abd", "abc", 3), 1);
	CHECK_EQ(mem_cmp("abc", "xyz", 0), 0);
	/* Bytes compare as unsigned. */
	CHECK_EQ(mem_cmp("\x80", "\x01", 1), 1);
}

int main(void)
{
	RUN(test_lengths);
	RUN(test_compare);
	RUN(test_copy);
	RUN(test_cmdline_has);
	RUN(test_cmdline_value);
	RUN(test_mem_copy);
	RUN(test_mem_set);
	RUN(test_mem_cmp);
	return check_summary();
}
