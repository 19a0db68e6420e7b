/*
 * The Linux boot-log reader of tools/memmap-check (tools/memmap_log.c):
 * one table of lines in every format it reads (and of lines it must
 * ignore or refuse), then whole logs: a later map, a second E820 block,
 * CRLF, NUL bytes, the line number of an error, the entry limit, and the
 * OVMF log captured from Linux 6.1 (tests/memmaps/README.md).
 */
#include "tests/unit/check.h"
#include "tools/memmap_log.h"

#include <stdlib.h>

#define TS   "[    0.000000] "
#define COLS "|   |  |  |  |  |  |  |  |  |  |   |WB|WT|WC|UC]"

struct line_case {
	const char *name;
	const char *text;
	int kind;
	uint64_t base, pages, size, attr;
	uint32_t type, index;
};

static const struct line_case line_cases[] = {
    /* Recent kernels: bracketed type, attribute columns, inclusive. */
    {"new conventional",
     TS "efi: mem07: [Conventional" COLS
	" range=[0x0000000001500000-0x00000000075fffff] "
	"(97MB)",
     MLOG_EFI, 0x1500000, 0x6100, 0, 0xf, 7, 7},
    {"new runtime with RUN",
     TS "efi: mem81: [Runtime Data|RUN|  |  |  |  "
	"|  |  |  |  |  |   |WB|WT|WC|UC] "
	"range=[0x000000000eaa0000-0x000000000eba1fff] "
	"(1MB)",
     MLOG_EFI, 0xeaa0000, 0x102, 0, 0x800000000000000full, 6, 81},
    {"new MMIO UC only",
     "efi: mem127: [MMIO        |RUN|  |  |  |  |  |  "
     "|  |  |  |   |  |  |  |UC] "
     "range=[0x00000000ffc00000-0x00000000ffffffff] (4MB)",
     MLOG_EFI, 0xffc00000, 0x400, 0, 0x8000000000000001ull, 11, 127},
    {"4.x long name, exclusive end",
     TS "efi: mem05: [Conventional Memory|   |  |  |  |   |WB|WT|WC|UC] "
	"range=[0x0000000000900000-0x000000005c800000) (1471MB)",
     MLOG_EFI, 0x900000, 0x5bf00, 0, 0xf, 7, 5},
    {"4.x ACPI Memory NVS",
     "efi: mem03: [ACPI Memory NVS    |   |  |  |  "
     "|  |  |  |  |   |WB|WT|WC|UC] "
     "range=[0x0000000000806000-0x0000000000807fff] "
     "(0MB)",
     MLOG_EFI, 0x806000, 2, 0, 0xf, 10, 3},
    {"type=N and attr= columns",
     "efi: mem09: [type=16|attr=0x0000000000000008] "
     "range=[0x0000000000100000-0x0000000000100fff] (0MB)",
     MLOG_EFI, 0x100000, 1, 0, 0x8, 16, 9},
    {"unknown flag column ignored",
     "efi: mem01: [Conventional|ZZ|WB] "
     "range=[0x1000-0x1fff] (0 MB)",
     MLOG_EFI, 0x1000, 1, 0, 0x8, 7, 1},
    {"old format",
     "EFI: mem02: type=7, attr=0xf, "
     "range=[0x0000000000100000-0x0000000078000000) (1919MB)",
     MLOG_EFI, 0x100000, 0x77f00, 0, 0xf, 7, 2},
    {"old format lower case efi, CR",
     "efi: mem00: type=3, attr=0xf, "
     "range=[0x0-0x1000) (0MB)\r",
     MLOG_EFI, 0, 1, 0, 0xf, 3, 0},
    {"empty inclusive: end one below start",
     "efi: mem03: [Conventional" COLS
     " range=[0x0000000010000000-0x000000000fffffff] (0MB)",
     MLOG_EFI, 0x10000000, 0, 0, 0xf, 7, 3},
    {"empty at 0: the size column says so",
     "efi: mem03: [Conventional" COLS
     " range=[0x0000000000000000-0xffffffffffffffff] (0MB)",
     MLOG_EFI, 0, 0, 0, 0xf, 7, 3},
    {"whole space at 0",
     "efi: mem03: [Reserved" COLS " range=[0x0-0xffffffffffffffff]", MLOG_EFI,
     0, 1ull << 52, 0, 0xf, 0, 3},
    {"no size column", "efi: mem04: [Boot Data" COLS " range=[0x2000-0x2fff]",
     MLOG_EFI, 0x2000, 1, 0, 0xf, 4, 4},
    /* E820 */
    {"e820 usable",
     TS "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] "
	"usable",
     MLOG_E820, 0, 0, 0x9fc00, 0, 1, 0},
    {"e820 syslog prefix, ACPI data",
     "Mar 02 10:00:00 box kernel: BIOS-e820: [mem "
     "0x000000000f76c000-0x000000000f77dfff] ACPI data",
     MLOG_E820, 0xf76c000, 0, 0x12000, 0, 3, 0},
    {"e820 ACPI NVS", "BIOS-e820: [mem 0x806000-0x807fff] ACPI NVS", MLOG_E820,
     0x806000, 0, 0x2000, 0, 4, 0},
    {"e820 unusable", "BIOS-e820: [mem 0x1000-0x1fff] unusable", MLOG_E820,
     0x1000, 0, 0x1000, 0, 5, 0},
    {"e820 persistent",
     "BIOS-e820: [mem 0x100000000-0x1ffffffff] "
     "persistent (type 12)",
     MLOG_E820, 0x100000000ull, 0, 0x100000000ull, 0, 12, 0},
    {"e820 soft reserved", "BIOS-e820: [mem 0x1000-0x1fff] soft reserved",
     MLOG_E820, 0x1000, 0, 0x1000, 0, 0xefffffffu, 0},
    {"e820 type N", "BIOS-e820: [mem 0x1000-0x1fff] type 20", MLOG_E820, 0x1000,
     0, 0x1000, 0, 20, 0},
    {"e820 to 2^64 saturates",
     "BIOS-e820: [mem 0x0-0xffffffffffffffff] "
     "reserved",
     MLOG_E820, 0, 0, UINT64_MAX, 0, 2, 0},
    {"e820 zero length", "BIOS-e820: [mem 0x2000-0x1fff] usable", MLOG_E820,
     0x2000, 0, 0, 0, 1, 0},
    {"e820 before 3.x, exclusive",
     " BIOS-e820: 0000000000100000 - "
     "00000000bfee0000 (usable)",
     MLOG_E820, 0x100000, 0, 0xbfde0000, 0, 1, 0},
    /* Not map lines. */
    {"other line", TS "NX (Execute Disable) protection: active", MLOG_OTHER, 0,
     0, 0, 0, 0, 0},
    {"efi: memattr is no map line",
     TS "efi: memattr: Processing EFI "
	"Memory Attributes table:",
     MLOG_OTHER, 0, 0, 0, 0, 0, 0},
    {"e820: update is no map line",
     TS "e820: update [mem "
	"0x00000000-0x00000fff] usable ==> "
	"reserved",
     MLOG_OTHER, 0, 0, 0, 0, 0, 0},
    {"marker inside a word",
     "xefi: mem01: [Conventional" COLS " range=[0x1000-0x1fff]", MLOG_OTHER, 0,
     0, 0, 0, 0, 0},
    {"empty line", "", MLOG_OTHER, 0, 0, 0, 0, 0, 0},
    /* Map lines that do not parse. */
    {"unknown type name",
     "efi: mem01: [Conventionl" COLS " range=[0x1000-0x1fff]", MLOG_ERROR, 0, 0,
     0, 0, 0, 0},
    {"unknown lower-case column",
     "efi: mem01: [Conventional|wb] "
     "range=[0x1000-0x1fff]",
     MLOG_ERROR, 0, 0, 0, 0, 0, 0},
    {"not whole pages",
     "efi: mem01: [Conventional" COLS " range=[0x1000-0x1ffe]", MLOG_ERROR, 0,
     0, 0, 0, 0, 0},
    {"end below start",
     "efi: mem01: [Conventional" COLS " range=[0x3000-0x1fff]", MLOG_ERROR, 0,
     0, 0, 0, 0, 0},
    {"65-bit number",
     "efi: mem01: [Conventional" COLS " range=[0x10000000000000000-0x1fff]",
     MLOG_ERROR, 0, 0, 0, 0, 0, 0},
    {"no range", "efi: mem01: [Conventional" COLS, MLOG_ERROR, 0, 0, 0, 0, 0,
     0},
    {"trailing text",
     "efi: mem01: [Conventional" COLS " range=[0x1000-0x1fff] (0MB) extra",
     MLOG_ERROR, 0, 0, 0, 0, 0, 0},
    {"memNN without colon",
     "efi: mem01 [Conventional" COLS " range=[0x1000-0x1fff]", MLOG_ERROR, 0, 0,
     0, 0, 0, 0},
    {"old format without attr", "efi: mem01: type=7, range=[0x0-0x1000)",
     MLOG_ERROR, 0, 0, 0, 0, 0, 0},
    {"e820 unknown type", "BIOS-e820: [mem 0x1000-0x1fff] usable-ish",
     MLOG_ERROR, 0, 0, 0, 0, 0, 0},
    {"e820 cut short", "BIOS-e820: [mem 0x1000-", MLOG_ERROR, 0, 0, 0, 0, 0, 0},
    {"e820 end below start", "BIOS-e820: [mem 0x3000-0x1000] usable",
     MLOG_ERROR, 0, 0, 0, 0, 0, 0},
};

static void test_lines(void)
{
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]);
	     i++) {
		const struct line_case *c = &line_cases[i];
		struct mlog_entry e;
		const char *why = NULL;
		int kind;

		CASE_BEGIN(c->name);
		kind = mlog_parse_line(c->text, strlen(c->text), &e, &why);
		CHECK_EQ(kind, c->kind);
		CHECK((kind == MLOG_ERROR) == (why != NULL));
		if (kind == MLOG_EFI) {
			CHECK_EQ(e.base, c->base);
			CHECK_EQ(e.pages, c->pages);
			CHECK_EQ(e.attr, c->attr);
			CHECK_EQ(e.type, c->type);
			CHECK_EQ(e.index, c->index);
		}
		if (kind == MLOG_E820) {
			CHECK_EQ(e.base, c->base);
			CHECK_EQ(e.size, c->size);
			CHECK_EQ(e.type, c->type);
		}
		CASE_END();
	}
}

/* A line is read only up to its length: a map line cut short by len is
 * an error, not a read past it. */
static void test_length_respected(void)
{
	const char *text = "BIOS-e820: [mem 0x1000-0x1fff] usable";
	struct mlog_entry e;
	const char *why;

	CHECK_EQ(mlog_parse_line(text, strlen(text) - 7, &e, &why), MLOG_ERROR);
	CHECK_EQ(mlog_parse_line(text, strlen(text), &e, &why), MLOG_E820);
}

static int parse(struct mlog *m, const char *text)
{
	mlog_init(m);
	return mlog_parse(m, text, strlen(text));
}

/* Linux 6.1 prints the runtime map again, from mem00: only the first map
 * is read; the lines of the later one are counted. */
static void test_later_efi_map_ignored(void)
{
	struct mlog m;
	const char *text =
	    "efi: mem00: [Boot Code" COLS " range=[0x0-0xfff] (0MB)\n"
	    "efi: mem01: [Conventional" COLS " range=[0x1000-0x9ffff]\n"
	    "efi: EFI runtime memory map:\n"
	    "efi: mem00: [MMIO|RUN|UC] range=[0xffc00000-0xffffffff]\n"
	    "efi: mem01: [Runtime Data|RUN|WB] range=[0xf000000-0xf000fff]\n";

	CHECK_EQ(parse(&m, text), 0);
	CHECK_EQ(m.efi_count, 2);
	CHECK_EQ(m.later_efi_lines, 2);
	CHECK_EQ(m.later_efi_first, 4);
	CHECK_EQ(m.other_lines, 1);
	CHECK_EQ(m.lines, 5);
	if (m.efi_count == 2)
		CHECK_EQ(m.efi[1].line, 2);
	CHECK(m.efi_new && !m.efi_old);
	mlog_free(&m);
}

static void test_second_e820_block_ignored(void)
{
	struct mlog m;
	const char *text = "BIOS-e820: [mem 0x0-0x9ffff] usable\n"
			   "BIOS-e820: [mem 0x100000-0xfffffff] usable\n"
			   "something else\n"
			   "BIOS-e820: [mem 0x0-0x9ffff] usable\n";

	CHECK_EQ(parse(&m, text), 0);
	CHECK_EQ(m.e820_count, 2);
	CHECK_EQ(m.later_e820_lines, 1);
	CHECK_EQ(m.later_e820_first, 4);
	mlog_free(&m);
}

/* An error names its line; what came before stays read. */
static void test_error_names_line(void)
{
	struct mlog m;
	const char *text = "hello\r\n"
			   "BIOS-e820: [mem 0x0-0x9ffff] usable\r\n"
			   "BIOS-e820: [mem 0x100000-0xfffffff] usabel\r\n";

	CHECK_EQ(parse(&m, text), -1);
	CHECK_EQ(m.error_line, 3);
	CHECK_EQ(m.e820_count, 1);
	CHECK(strncmp(m.error, "line 3: malformed BIOS-e820 line: ", 34) == 0);
	mlog_free(&m);
}

/* NUL bytes are characters like any other; the last line needs no
 * newline. */
static void test_nul_bytes_and_no_final_newline(void)
{
	static const char text[] = "junk\0junk\nBIOS-e820: [mem 0x0-0xfff] "
				   "usable";
	struct mlog m;

	mlog_init(&m);
	CHECK_EQ(mlog_parse(&m, text, sizeof(text) - 1), 0);
	CHECK_EQ(m.lines, 2);
	CHECK_EQ(m.e820_count, 1);
	if (m.e820_count == 1)
		CHECK_EQ(m.e820[0].size, 0x1000);
	mlog_free(&m);
}

static void test_entry_limit(void)
{
	size_t n = MLOG_MAX_ENTRIES + 1, len = 0;
	char *text = malloc(n * 48);
	struct mlog m;

	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len,
				       "BIOS-e820: [mem 0x%zx-0x%zx] usable\n",
				       i << 12, (i << 12) + 0xfff);
	mlog_init(&m);
	CHECK_EQ(mlog_parse(&m, text, len), -1);
	CHECK_EQ(m.e820_count, MLOG_MAX_ENTRIES);
	CHECK_EQ(m.error_line, MLOG_MAX_ENTRIES + 1);
	mlog_free(&m);
	free(text);
}

/* The log Linux 6.1 printed under OVMF (q35, 256 MiB, efi=debug):
 * escapes from the firmware console, timestamps, both map kinds and the
 * runtime map printed again. */
static void test_real_ovmf_log(void)
{
	size_t len = 0;
	char *text =
	    check_read_text("tests/memmaps/ovmf-q35-256m-linux61.log", &len);
	struct mlog m;

	CHECK(text != NULL);
	if (!text)
		return;
	mlog_init(&m);
	CHECK_EQ(mlog_parse(&m, text, len), 0);
	CHECK_EQ(m.efi_count, 128);
	if (m.efi_count == 128) {
		CHECK_EQ(m.efi[0].index, 0);
		CHECK_EQ(m.efi[127].index, 127);
		CHECK_EQ(m.efi[127].base, 0xffc00000);
		CHECK_EQ(m.efi[127].type, 11);
	}
	CHECK_EQ(m.e820_count, 16);
	if (m.e820_count == 16) {
		CHECK_EQ(m.e820[15].base, 0xffc00000);
		CHECK_EQ(m.e820[15].size, 0x400000);
	}
	CHECK(m.later_efi_lines > 0);
	mlog_free(&m);
	free(text);
}

int main(void)
{
	test_lines();
	RUN(test_length_respected);
	RUN(test_later_efi_map_ignored);
	RUN(test_second_e820_block_ignored);
	RUN(test_error_names_line);
	RUN(test_nul_bytes_and_no_final_newline);
	RUN(test_entry_limit);
	RUN(test_real_ovmf_log);
	return check_summary();
}
