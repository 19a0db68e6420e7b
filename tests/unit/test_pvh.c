/*
 * pvh_read over a fake physical memory: a malloc'd buffer that stands for
 * [0, size), read through a bounds-checking callback like the fuzzer's.
 */
#include "common/boot/pvh.h"
#include "tests/unit/check.h"

#include <stdlib.h>

enum { MEM_SIZE = 0x8000 };

struct phys {
	uint8_t *mem;
	uint64_t size;
};

static const void *phys_read(void *ctx, uint64_t phys, uint64_t len)
{
	struct phys *p = ctx;

	if (phys > p->size || len > p->size - phys)
		return NULL;
	return p->mem + phys;
}

struct fixture {
	struct phys phys;
	struct memmap map;
	struct bi_mem_range ranges[32];
	char cmdline[64];
	struct pvh_result res;
	const char *why;
};

static void put(struct fixture *f, uint64_t at, const void *src, size_t n)
{
	memcpy(f->phys.mem + at, src, n);
}

/* A start info like QEMU's: at 0x1000, a 3-entry map at 0x2000, the
 * command line at 0x3000. */
static void setup(struct fixture *f)
{
	static const struct hvm_memmap_entry map[] = {
	    {0x0, 0x9fc00, E820_RAM, 0},
	    {0xf0000, 0x10000, E820_RESERVED, 0},
	    {0x100000, 0x7f00000, E820_RAM, 0},
	};
	struct hvm_start_info si = {
	    .magic = PVH_START_MAGIC,
	    .version = 1,
	    .cmdline_paddr = 0x3000,
	    .rsdp_paddr = 0xf5a40,
	    .memmap_paddr = 0x2000,
	    .memmap_entries = ARRAY_SIZE(map),
	};

	memset(f, 0, sizeof(*f));
	f->phys.size = MEM_SIZE;
	f->phys.mem = calloc(1, MEM_SIZE);
	put(f, 0x1000, &si, sizeof(si));
	put(f, 0x2000, map, sizeof(map));
	put(f, 0x3000, "console=ttyS0 selftest", 23);
	memset(f->cmdline, 'x', sizeof(f->cmdline));
	memmap_init(&f->map, f->ranges, ARRAY_SIZE(f->ranges));
}

static struct hvm_start_info *si(struct fixture *f)
{
	return (struct hvm_start_info *)(f->phys.mem + 0x1000);
}

static int run(struct fixture *f, uint64_t start, size_t cap)
{
	return pvh_read(phys_read, &f->phys, start, &f->map, f->cmdline, cap,
			&f->res, &f->why);
}

static void teardown(struct fixture *f)
{
	free(f->phys.mem);
}

static void test_valid(void)
{
	struct fixture f;

	setup(&f);
	CHECK_EQ(run(&f, 0x1000, sizeof(f.cmdline)), 0);
	CHECK_STR(f.why, NULL);
	CHECK_EQ(f.res.rsdp, 0xf5a40);
	CHECK_STR(f.cmdline, "console=ttyS0 selftest");
	CHECK_EQ(f.res.cmdline_len, 22);
	CHECK(!f.res.cmdline_truncated);
	CHECK_EQ(f.map.count, 3);
	CHECK_EQ(f.ranges[0].base, 0);
	CHECK_EQ(f.ranges[0].size, 0x9f000);
	CHECK_EQ(f.ranges[0].type, MEM_USABLE);
	CHECK_EQ(f.ranges[1].type, MEM_RESERVED);
	CHECK_EQ(f.ranges[2].base, 0x100000);
	CHECK_EQ(f.ranges[2].type, MEM_USABLE);
	/* E820 RAM is write-back RAM for the direct map; reserved is not. */
	CHECK_EQ(f.ranges[0].attr, BI_MEM_WB);
	CHECK_EQ(f.ranges[1].attr, 0);
	CHECK_EQ(f.ranges[2].attr, BI_MEM_WB);
	teardown(&f);
}

/* Later versions only add fields. */
static void test_version2(void)
{
	struct fixture f;

	setup(&f);
	si(&f)->version = 2;
	CHECK_EQ(run(&f, 0x1000, sizeof(f.cmdline)), 0);
	teardown(&f);
}

static void test_no_cmdline(void)
{
	struct fixture f;

	setup(&f);
	si(&f)->cmdline_paddr = 0;
	CHECK_EQ(run(&f, 0x1000, sizeof(f.cmdline)), 0);
	CHECK_STR(f.cmdline, "");
	CHECK_EQ(f.res.cmdline_len, 0);
	teardown(&f);
}

static void test_cmdline_truncated(void)
{
	struct fixture f;

	setup(&f);
	CHECK_EQ(run(&f, 0x1000, 8), 0);
	CHECK_STR(f.cmdline, "console");
	CHECK_EQ(f.res.cmdline_len, 7);
	CHECK(f.res.cmdline_truncated);
	CHECK_EQ(f.cmdline[8], 'x');
	teardown(&f);

	/* 22 characters and the NUL fit in 23 bytes exactly. */
	setup(&f);
	CHECK_EQ(run(&f, 0x1000, 23), 0);
	CHECK_STR(f.cmdline, "console=ttyS0 selftest");
	CHECK(!f.res.cmdline_truncated);
	teardown(&f);

	/* cap 0: nothing is written, the truncation is reported. */
	setup(&f);
	CHECK_EQ(run(&f, 0x1000, 0), 0);
	CHECK_EQ(f.cmdline[0], 'x');
	CHECK(f.res.cmdline_truncated);
	CHECK_EQ(f.res.cmdline_len, 0);
	teardown(&f);
}

/* Start info and map at odd addresses (the fuzzer's are). */
static void test_unaligned(void)
{
	struct fixture f;

	setup(&f);
	memmove(f.phys.mem + 0x1003, f.phys.mem + 0x1000,
		sizeof(struct hvm_start_info));
	memmove(f.phys.mem + 0x2005, f.phys.mem + 0x2000, 3 * 24);
	{
		struct hvm_start_info tmp;

		memcpy(&tmp, f.phys.mem + 0x1003, sizeof(tmp));
		tmp.memmap_paddr = 0x2005;
		memcpy(f.phys.mem + 0x1003, &tmp, sizeof(tmp));
	}
	CHECK_EQ(run(&f, 0x1003, sizeof(f.cmdline)), 0);
	CHECK_EQ(f.map.count, 3);
	teardown(&f);
}

struct bad_case {
	const char *name;
	void (*mutate)(struct fixture *f, uint64_t *start);
	int rc;
	const char *why;
};

static void start_outside(struct fixture *f, uint64_t *start)
{
	*start = MEM_SIZE;
}

static void start_straddles_end(struct fixture *f, uint64_t *start)
{
	*start = MEM_SIZE - 20;
}

static void start_wraps(struct fixture *f, uint64_t *start)
{
	*start = UINT64_MAX - 8;
}

static void bad_magic(struct fixture *f, uint64_t *start)
{
	si(f)->magic = 0x12345678;
}

static void version0(struct fixture *f, uint64_t *start)
{
	si(f)->version = 0;
}

static void no_entries(struct fixture *f, uint64_t *start)
{
	si(f)->memmap_entries = 0;
}

static void too_many_entries(struct fixture *f, uint64_t *start)
{
	si(f)->memmap_entries = PVH_MEMMAP_MAX + 1;
}

static void map_outside(struct fixture *f, uint64_t *start)
{
	si(f)->memmap_paddr = MEM_SIZE + 0x1000;
}

static void map_straddles_end(struct fixture *f, uint64_t *start)
{
	si(f)->memmap_paddr = MEM_SIZE - 2 * 24 - 1;
}

static void map_wraps(struct fixture *f, uint64_t *start)
{
	si(f)->memmap_paddr = UINT64_MAX - 30;
}

static void map_full(struct fixture *f, uint64_t *start)
{
	f->map.cap = 2;
}

static void cmdline_outside(struct fixture *f, uint64_t *start)
{
	si(f)->cmdline_paddr = MEM_SIZE;
}

static void cmdline_unterminated(struct fixture *f, uint64_t *start)
{
	memset(f->phys.mem + MEM_SIZE - 10, 'a', 10);
	si(f)->cmdline_paddr = MEM_SIZE - 10;
}

static void cmdline_wraps(struct fixture *f, uint64_t *start)
{
	si(f)->cmdline_paddr = UINT64_MAX;
}

static const struct bad_case bad_cases[] = {
    {"start outside memory", start_outside, -ERR_INVALID,
     "start info not readable"},
    {"start straddles the end", start_straddles_end, -ERR_INVALID,
     "start info not readable"},
    {"start wraps", start_wraps, -ERR_INVALID, "start info not readable"},
    {"bad magic", bad_magic, -ERR_INVALID, "bad start info magic"},
    {"version 0", version0, -ERR_INVALID,
     "start info version 0 has no memory map"},
    {"no entries", no_entries, -ERR_INVALID,
     "start info has an empty memory map"},
    {"too many entries", too_many_entries, -ERR_TOOBIG,
     "start info memory map has too many entries"},
    {"map outside memory", map_outside, -ERR_INVALID,
     "start info memory map not readable"},
    {"map straddles the end", map_straddles_end, -ERR_INVALID,
     "start info memory map not readable"},
    {"map wraps", map_wraps, -ERR_INVALID,
     "start info memory map not readable"},
    {"map does not fit", map_full, -ERR_TOOBIG, "memory map does not fit"},
    {"cmdline outside memory", cmdline_outside, -ERR_INVALID,
     "command line not readable"},
    {"cmdline unterminated", cmdline_unterminated, -ERR_INVALID,
     "command line not readable"},
    {"cmdline wraps", cmdline_wraps, -ERR_INVALID, "command line not readable"},
};

static void run_bad_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct fixture f;
		uint64_t start = 0x1000;

		CASE_BEGIN(c->name);
		setup(&f);
		c->mutate(&f, &start);
		CHECK_EQ(run(&f, start, sizeof(f.cmdline)), c->rc);
		CHECK_STR(f.why, c->why);
		/* The outputs are defined even on failure. */
		CHECK_STR(f.cmdline, "");
		CHECK_EQ(f.res.cmdline_len, 0);
		teardown(&f);
		CASE_END();
	}
}

int main(void)
{
	RUN(test_valid);
	RUN(test_version2);
	RUN(test_no_cmdline);
	RUN(test_cmdline_truncated);
	RUN(test_unaligned);
	run_bad_cases();
	return check_summary();
}
