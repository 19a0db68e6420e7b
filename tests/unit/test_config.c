/*
 * config_parse: table-driven. Each input is copied into a malloc'd buffer
 * of exactly its size (no NUL after it), so ASan reports any read past the
 * end.
 */
#include "common/boot/config.h"
#include "tests/unit/check.h"

#include <stdlib.h>

struct result {
	int rc;
	struct loader_config cfg;
	struct config_error err;
};

static void parse(const char *text, size_t size, struct result *r)
{
	char *copy = malloc(size ? size : 1);

	memcpy(copy, text, size);
	config_defaults(&r->cfg);
	r->rc = config_parse(copy, size, &r->cfg, &r->err);
	free(copy);
}

/* Inputs are string literals; sizeof - 1 keeps embedded NULs. */
#define TEXT(s) s, sizeof(s) - 1

struct good_case {
	const char *name;
	const char *text;
	size_t size;
	const char *kernel;
	const char *cmdline;
};

static const struct good_case good_cases[] = {
    {"empty file", TEXT(""), CONFIG_DEFAULT_KERNEL, ""},
    {"only blank lines", TEXT("\n\n  \t\n\r\n"), CONFIG_DEFAULT_KERNEL, ""},
    {"both keys", TEXT("kernel=/boot/k.elf\ncmdline=selftest quiet\n"),
     "\\boot\\k.elf", "selftest quiet"},
    {"no final newline", TEXT("cmdline=a b"), CONFIG_DEFAULT_KERNEL, "a b"},
    {"CRLF", TEXT("kernel=/a/b\r\ncmdline=x\r\n"), "\\a\\b", "x"},
    {"blanks trimmed", TEXT("  kernel \t=  boot/k.elf \t\r\n"), "\\boot\\k.elf",
     ""},
    {"blanks inside kept", TEXT("cmdline=  a   b  \n"), CONFIG_DEFAULT_KERNEL,
     "a   b"},
    {"comments", TEXT("# kernel=nope\n  # x\n#\ncmdline=y # not a comment"),
     CONFIG_DEFAULT_KERNEL, "y # not a comment"},
    {"'=' in value", TEXT("cmdline=a=b c=d"), CONFIG_DEFAULT_KERNEL, "a=b c=d"},
    {"backslashes", TEXT("kernel=\\EFI\\k.elf"), "\\EFI\\k.elf", ""},
    {"no leading separator", TEXT("kernel=k.elf"), "\\k.elf", ""},
    {"empty cmdline", TEXT("cmdline=\n"), CONFIG_DEFAULT_KERNEL, ""},
    {"UTF-8 BOM", TEXT("\xef\xbb\xbfkernel=/k"), "\\k", ""},
    {"CR alone is a blank line", TEXT("\r"), CONFIG_DEFAULT_KERNEL, ""},
};

struct bad_case {
	const char *name;
	const char *text;
	size_t size;
	int rc;
	uint32_t line;
	const char *what;
	const char *detail;
};

static const struct bad_case bad_cases[] = {
    {"unknown key", TEXT("cmdline=x\nfoo = 1\n"), -ERR_INVALID, 2,
     "unknown key", "foo"},
    {"keys are case-sensitive", TEXT("Kernel=/k"), -ERR_INVALID, 1,
     "unknown key", "Kernel"},
    {"missing '='", TEXT("\n\n  kernel /k  \n"), -ERR_INVALID, 3, "missing '='",
     "kernel /k"},
    {"missing key", TEXT(" = x"), -ERR_INVALID, 1, "missing key before '='",
     "= x"},
    {"key twice", TEXT("kernel=/a\r\nkernel=/b\r\n"), -ERR_INVALID, 2,
     "key given twice", "kernel"},
    {"cmdline twice", TEXT("cmdline=\ncmdline=\n"), -ERR_INVALID, 2,
     "key given twice", "cmdline"},
    {"empty kernel path", TEXT("kernel=  \n"), -ERR_INVALID, 1,
     "empty kernel path", "kernel"},
    {"NUL byte", TEXT("cmdline=a\n\nker\0nel=/k\n"), -ERR_INVALID, 3,
     "NUL byte", "ker"},
    {"NUL in a comment", TEXT("# \0"), -ERR_INVALID, 1, "NUL byte", "# "},
    {"unprintable detail", TEXT("\x01\x80x"), -ERR_INVALID, 1, "missing '='",
     "??x"},
};

static void run_good_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
		const struct good_case *c = &good_cases[i];
		struct result r;

		CASE_BEGIN(c->name);
		parse(c->text, c->size, &r);
		CHECK_EQ(r.rc, 0);
		CHECK_STR(r.err.what, NULL);
		CHECK_STR(r.cfg.kernel, c->kernel);
		CHECK_STR(r.cfg.cmdline, c->cmdline);
		CASE_END();
	}
}

static void run_bad_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct result r;

		CASE_BEGIN(c->name);
		parse(c->text, c->size, &r);
		CHECK_EQ(r.rc, c->rc);
		CHECK_EQ(r.err.line, c->line);
		CHECK_STR(r.err.what, c->what);
		CHECK_STR(r.err.detail, c->detail);
		CASE_END();
	}
}

static void test_defaults(void)
{
	struct loader_config cfg;

	memset(&cfg, 0x55, sizeof(cfg));
	config_defaults(&cfg);
	CHECK_STR(cfg.kernel, "\\boot\\kernel.elf");
	CHECK_STR(cfg.cmdline, "");
}

/* The parse starts from what *cfg holds: a key not in the file keeps it,
 * and "cmdline=" really empties it. */
static void test_overrides_existing(void)
{
	struct loader_config cfg;
	struct config_error err;

	config_defaults(&cfg);
	strcpy(cfg.cmdline, "from before");
	CHECK_EQ(config_parse("kernel=/k", 9, &cfg, &err), 0);
	CHECK_STR(cfg.cmdline, "from before");
	CHECK_EQ(config_parse("cmdline=", 8, &cfg, &err), 0);
	CHECK_STR(cfg.cmdline, "");
}

/* Builds "key=" followed by n copies of c and parses it. */
static void parse_long(const char *key, size_t n, char c, struct result *r)
{
	size_t klen = strlen(key);
	char *text = malloc(klen + 1 + n);

	memcpy(text, key, klen);
	text[klen] = '=';
	memset(text + klen + 1, c, n);
	parse(text, klen + 1 + n, r);
	free(text);
}

static void test_kernel_path_limits(void)
{
	struct result r;

	/* A leading '\' is added: 254 characters plus it fill the buffer. */
	parse_long("kernel", CONFIG_PATH_MAX - 2, 'k', &r);
	CHECK_EQ(r.rc, 0);
	CHECK_EQ(strlen(r.cfg.kernel), CONFIG_PATH_MAX - 1);
	CHECK_EQ(r.cfg.kernel[0], '\\');

	parse_long("kernel", CONFIG_PATH_MAX - 1, 'k', &r);
	CHECK_EQ(r.rc, -ERR_TOOBIG);
	CHECK_STR(r.err.what, "kernel path too long");
	CHECK_EQ(r.err.line, 1);

	/* With its own leading separator, 255 characters fit. */
	parse_long("kernel", CONFIG_PATH_MAX - 1, '/', &r);
	CHECK_EQ(r.rc, 0);
	CHECK_EQ(strlen(r.cfg.kernel), CONFIG_PATH_MAX - 1);
}

static void test_cmdline_limits(void)
{
	struct result r;

	parse_long("cmdline", BI_CMDLINE_MAX - 1, 'c', &r);
	CHECK_EQ(r.rc, 0);
	CHECK_EQ(strlen(r.cfg.cmdline), BI_CMDLINE_MAX - 1);

	parse_long("cmdline", BI_CMDLINE_MAX, 'c', &r);
	CHECK_EQ(r.rc, -ERR_TOOBIG);
	CHECK_STR(r.err.what, "cmdline too long");
	CHECK_STR(r.err.detail, "cmdline");
}

/* A long bad line: the detail is cut to fit and still terminated. */
static void test_detail_truncated(void)
{
	struct result r;

	parse_long("x", 200, 'y', &r);
	CHECK_EQ(r.rc, -ERR_INVALID);
	CHECK_STR(r.err.what, "unknown key");
	CHECK_EQ(strlen(r.err.detail), 1);

	{
		char line[200];

		memset(line, 'z', sizeof(line));
		parse(line, sizeof(line), &r);
		CHECK_STR(r.err.what, "missing '='");
		CHECK_EQ(strlen(r.err.detail), sizeof(r.err.detail) - 1);
	}
}

/* Edge cases next to the bounds checks. Inputs that crash a fuzz target
 * (tests/fuzz/) are added here once fixed. */
static void test_edges(void)
{
	struct result r;

	/* A file that is only a BOM, or a partial one. */
	parse("\xef\xbb\xbf", 3, &r);
	CHECK_EQ(r.rc, 0);
	parse("\xef\xbb", 2, &r);
	CHECK_EQ(r.rc, -ERR_INVALID);
	/* A line that is only '='. */
	parse("=", 1, &r);
	CHECK_STR(r.err.what, "missing key before '='");
}

int main(void)
{
	run_good_cases();
	run_bad_cases();
	RUN(test_defaults);
	RUN(test_overrides_existing);
	RUN(test_kernel_path_limits);
	RUN(test_cmdline_limits);
	RUN(test_detail_truncated);
	RUN(test_edges);
	return check_summary();
}
