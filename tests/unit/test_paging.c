/*
 * Host tests of common/mm/paging.c over malloc-backed "physical memory".
 *
 * Physical memory is an arena of PHYS_PAGES pages standing at PHYS_BASE
 * (above 4 GiB, so nothing assumes low addresses); table pages come from
 * it through the same pt_env callbacks the loader and kernel use, or, in
 * TABLE_LINEAR fixtures, at phys + table_offset as the kernel's and the
 * loader's do (the arena is one block, so that is exact).
 */
#include "check.h"
#include "common/mm/paging.h"
#include "tests/unit/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PHYS_BASE  0x0000000140000000ull
#define PHYS_PAGES 8192u /* 32 MiB of tables */

struct flushes {
	uint64_t calls;
	uint64_t lo, hi; /* union of flushed ranges */
};

static void record_flush(void *ctx, uint64_t va, uint64_t size);

/* How the tables are reached: the arena's checked table() (it aborts on
 * a page it did not hand out), phys + table_offset, or a lenient table()
 * that reads such a page as zeros and counts it (for the tests that make
 * the walk cache stale on purpose: a stale cache leads to freed pages). */
enum table_mode { TABLE_CALL, TABLE_LINEAR, TABLE_LENIENT };

struct fixture {
	struct arena arena;
	struct flushes fl;
	struct pt_env env;
	struct page_table pt;
	uint64_t stray_reads; /* TABLE_LENIENT: pages not handed out */
};

static void record_flush(void *ctx, uint64_t va, uint64_t size)
{
	struct fixture *f =
	    (struct fixture *)((char *)ctx - offsetof(struct fixture, arena));
	if (!f->fl.calls || va < f->fl.lo)
		f->fl.lo = va;
	if (!f->fl.calls || va + size > f->fl.hi)
		f->fl.hi = va + size;
	f->fl.calls++;
}

static uint64_t *lenient_table(void *ctx, uint64_t phys)
{
	static uint64_t zeros[PT_ENTRIES];
	struct fixture *f =
	    (struct fixture *)((char *)ctx - offsetof(struct fixture, arena));
	struct arena *a = &f->arena;
	uint64_t i = (phys - a->base) / PAGE_SIZE;
	if (phys < a->base || i >= a->pages || !a->used[i]) {
		f->stray_reads++;
		memset(zeros, 0, sizeof(zeros));
		return zeros;
	}
	return (uint64_t *)(a->mem + i * PAGE_SIZE);
}

static struct fixture *fixture_mode(bool page1g, bool nx, enum table_mode m)
{
	struct fixture *f = calloc(1, sizeof(*f));
	arena_init(&f->arena, PHYS_BASE, PHYS_PAGES);
	f->env = (struct pt_env){
	    .alloc = arena_alloc,
	    .free = arena_free,
	    .table = m == TABLE_LENIENT ? lenient_table : arena_table,
	    .flush = record_flush,
	    .ctx = &f->arena,
	    .phys_mask = 0x000ffffffffff000ull & ((1ull << 46) - 1),
	    .nx = nx,
	    .page1g = page1g,
	};
	if (m == TABLE_LINEAR) {
		f->env.table = NULL;
		f->env.table_offset =
		    (uint64_t)(uintptr_t)f->arena.mem - PHYS_BASE;
	}
	if (pt_init(&f->pt, &f->env) != 0)
		abort();
	return f;
}

static struct fixture *fixture_new(bool page1g, bool nx)
{
	return fixture_mode(page1g, nx, TABLE_CALL);
}

static void fixture_free(struct fixture *f)
{
	pt_destroy(&f->pt);
	arena_fini(&f->arena);
	free(f);
}

#define KBASE 0xffffffff80000000ull
#define DMAP  0xffff800000000000ull
#define G1    PAGE_SIZE_1G
#define M2    PAGE_SIZE_2M
#define K4    PAGE_SIZE_4K

/* ---- the entry validator ---- */

struct check_case {
	const char *name;
	int level;
	uint64_t entry;
	bool nx, page1g;
	bool ok;
};

static const struct check_case check_cases[] = {
    {"non-present, any bits", PT_L1, 0xfffffffffffffffeull, false, false, true},
    {"4K leaf RW", PT_L1, 0x1000 | PTE_P | PTE_W, false, false, true},
    {"4K leaf with PAT bit 7", PT_L1, 0x1000 | PTE_P | PTE_PS, false, false,
     true},
    {"NX without NXE", PT_L1, 0x1000 | PTE_P | PTE_NX, false, false, false},
    {"NX with NXE", PT_L1, 0x1000 | PTE_P | PTE_NX, true, false, true},
    {"address above MAXPHYADDR", PT_L1, (1ull << 46) | PTE_P, false, false,
     false},
    {"highest address below MAXPHYADDR", PT_L1, ((1ull << 46) - K4) | PTE_P,
     false, false, true},
    {"bit 52 set", PT_L1, (1ull << 52) | PTE_P, false, false, false},
    {"PS in PML4", PT_L4, 0x1000 | PTE_P | PTE_PS, false, true, false},
    {"PML4 table entry", PT_L4, 0x1000 | PTE_P | PTE_W, false, false, true},
    {"1G leaf without Page1GB", PT_L3, G1 | PTE_P | PTE_PS, false, false,
     false},
    {"1G leaf with Page1GB", PT_L3, G1 | PTE_P | PTE_PS, false, true, true},
    {"1G leaf reserved bit 13", PT_L3, G1 | (1ull << 13) | PTE_P | PTE_PS,
     false, true, false},
    {"1G leaf reserved bit 29", PT_L3, G1 | (1ull << 29) | PTE_P | PTE_PS,
     false, true, false},
    {"1G leaf PAT bit 12", PT_L3, G1 | PTE_PAT_LARGE | PTE_P | PTE_PS, false,
     true, true},
    {"PDPT table entry, unaligned to 1G", PT_L3, 0x5000 | PTE_P, false, false,
     true},
    {"2M leaf", PT_L2, M2 | PTE_P | PTE_PS, false, false, true},
    {"2M leaf reserved bit 20", PT_L2, M2 | (1ull << 20) | PTE_P | PTE_PS,
     false, false, false},
    {"2M leaf PAT bit 12", PT_L2, M2 | PTE_PAT_LARGE | PTE_P | PTE_PS, false,
     false, true},
    {"PD table entry", PT_L2, 0x3000 | PTE_P | PTE_W, false, false, true},
};

static void test_entry_check(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(check_cases); i++) {
		const struct check_case *c = &check_cases[i];
		struct pt_env env = {
		    .phys_mask = 0x000ffffffffff000ull & ((1ull << 46) - 1),
		    .nx = c->nx,
		    .page1g = c->page1g,
		};
		const char *why = pt_entry_check(&env, c->level, c->entry);
		CHECK_MSG((why == NULL) == c->ok, "%s: %s", c->name,
			  why ? why : "accepted");
	}
}

/* ---- map / translate / unmap ---- */

static void test_map_translate(void)
{
	struct fixture *f = fixture_new(true, true);
	uint64_t pa, e;
	int level;

	CHECK_EQ(
	    pt_map(&f->pt, KBASE, 0x200000, 3 * K4, PTE_W | PTE_G, PT_L1, NULL),
	    0);
	CHECK_EQ(
	    pt_translate(&f->pt, KBASE + K4 + 0x123, &pa, &e, &level, NULL), 0);
	CHECK_EQ(pa, 0x201123);
	CHECK_EQ(level, PT_L1);
	CHECK_EQ(e & PTE_ATTR_MASK, PTE_W | PTE_G);
	CHECK_EQ(pt_translate(&f->pt, KBASE + 3 * K4, &pa, NULL, NULL, NULL),
		 -ERR_NOTFOUND);
	/* One PML4, one PDPT, one PD, one PT. */
	CHECK_EQ(f->env.tables_allocated, 4);

	/* 2 MiB and 1 GiB leaves where alignment allows. */
	CHECK_EQ(pt_map(&f->pt, DMAP, 0, 2 * G1 + M2 + K4, PTE_W | PTE_NX,
			PT_L3, NULL),
		 0);
	CHECK_EQ(pt_translate(&f->pt, DMAP + G1 + 5, &pa, NULL, &level, NULL),
		 0);
	CHECK_EQ(pa, G1 + 5);
	CHECK_EQ(level, PT_L3);
	CHECK_EQ(
	    pt_translate(&f->pt, DMAP + 2 * G1 + 7, &pa, NULL, &level, NULL),
	    0);
	CHECK_EQ(level, PT_L2);
	CHECK_EQ(
	    pt_translate(&f->pt, DMAP + 2 * G1 + M2, &pa, NULL, &level, NULL),
	    0);
	CHECK_EQ(level, PT_L1);
	CHECK_EQ(pa, 2 * G1 + M2);

	/* Remapping a present page is refused and names the page. */
	uint64_t fail = 0;
	CHECK_EQ(
	    pt_map(&f->pt, KBASE + 2 * K4, 0x900000, 2 * K4, 0, PT_L1, &fail),
	    -ERR_EXISTS);
	CHECK_EQ(fail, KBASE + 2 * K4);
	/* ... also when a large leaf covers it. */
	CHECK_EQ(pt_map(&f->pt, DMAP + G1 + M2, 0, K4, 0, PT_L1, &fail),
		 -ERR_EXISTS);
	CHECK_EQ(fail, DMAP + G1 + M2);

	/* Bad arguments. */
	CHECK_EQ(pt_map(&f->pt, KBASE + 1, 0, K4, 0, PT_L1, NULL),
		 -ERR_INVALID);
	CHECK_EQ(pt_map(&f->pt, 0x0000800000000000ull, 0, K4, 0, PT_L1, NULL),
		 -ERR_INVALID);
	CHECK_EQ(
	    pt_map(&f->pt, 0x00007ffffffff000ull, 0, 2 * K4, 0, PT_L1, NULL),
	    -ERR_INVALID); /* crosses into the non-canonical hole */
	CHECK_EQ(pt_map(&f->pt, KBASE + G1, 0, K4, PTE_P | PTE_PS, PT_L1, NULL),
		 -ERR_INVALID);
	/* An address beyond MAXPHYADDR is refused by the validator. */
	CHECK_EQ(pt_map(&f->pt, KBASE + G1, 1ull << 46, K4, 0, PT_L1, NULL),
		 -ERR_RANGE);
	CHECK(f->env.last_error != NULL);
	fixture_free(f);
}

static void test_no_1g_no_nx(void)
{
	struct fixture *f = fixture_new(false, false);
	int level;
	/* max_level PT_L3 falls back to 2 MiB leaves without Page1GB. */
	CHECK_EQ(pt_map(&f->pt, DMAP, 0, G1, PTE_W, PT_L3, NULL), 0);
	CHECK_EQ(pt_translate(&f->pt, DMAP + 12345, NULL, NULL, &level, NULL),
		 0);
	CHECK_EQ(level, PT_L2);
	/* NX without NXE is refused, not silently dropped. */
	CHECK_EQ(pt_map(&f->pt, KBASE, 0, K4, PTE_NX, PT_L1, NULL), -ERR_RANGE);
	fixture_free(f);
}

static void test_split_keeps_neighbours(void)
{
	struct fixture *f = fixture_new(true, true);
	uint64_t pa, e;
	int level;
	CHECK_EQ(pt_map(&f->pt, DMAP, 4 * M2, M2, PTE_W | PTE_NX | PTE_G, PT_L2,
			NULL),
		 0);
	/* Protect one 4 KiB page in the middle of the 2 MiB leaf. */
	CHECK_EQ(pt_protect(&f->pt, DMAP + 7 * K4, K4, PTE_NX | PTE_G), 0);
	CHECK_EQ(f->env.splits, 1);
	for (uint64_t i = 0; i < 512; i++) {
		CHECK_EQ(
		    pt_translate(&f->pt, DMAP + i * K4, &pa, &e, &level, NULL),
		    0);
		CHECK_EQ(level, PT_L1);
		CHECK_EQ(pa, 4 * M2 + i * K4);
		uint64_t want =
		    i == 7 ? PTE_NX | PTE_G : PTE_W | PTE_NX | PTE_G;
		if ((e & PTE_ATTR_MASK) != want) {
			CHECK_EQ(e & PTE_ATTR_MASK, want);
			break;
		}
	}
	CHECK_EQ(f->fl.calls, 1);
	CHECK_EQ(f->fl.lo, DMAP + 7 * K4);
	CHECK_EQ(f->fl.hi, DMAP + 8 * K4);

	/* The PAT bit moves from bit 12 of a 2 MiB leaf to bit 7 of a 4 KiB
	 * leaf. */
	CHECK_EQ(pt_map(&f->pt, DMAP + M2, 0, M2, PTE_W, PT_L2, NULL), 0);
	struct pt_walk w;
	CHECK_EQ(pt_translate(&f->pt, DMAP + M2, NULL, NULL, NULL, &w), 0);
	uint64_t *pd = f->env.table(f->env.ctx, w.table[2]);
	pd[PT_INDEX(DMAP + M2, PT_L2)] |= PTE_PAT_LARGE;
	/* A non-canonical address is refused, and leaves nothing in the
	 * walk cache for pt_translate to trust: its higher-half twin
	 * (DMAP + M2 with bit 47 set and bits 63..48 clear) still does not
	 * translate. */
	CHECK_EQ(pt_split(&f->pt, (DMAP + M2) & ((1ull << 48) - 1)),
		 -ERR_INVALID);
	CHECK(pt_translate(&f->pt, (DMAP + M2) & ((1ull << 48) - 1), &pa, NULL,
			   NULL, NULL) != 0);
	CHECK_EQ(pt_split(&f->pt, DMAP + M2), 0);
	CHECK_EQ(
	    pt_translate(&f->pt, DMAP + M2 + 3 * K4, &pa, &e, &level, NULL), 0);
	CHECK_EQ(level, PT_L1);
	CHECK_EQ(pa, 3 * K4);
	CHECK(e & PTE_PS); /* PAT, for a 4 KiB leaf */

	/* A 1 GiB leaf splits into 2 MiB leaves that keep PAT. */
	CHECK_EQ(pt_map(&f->pt, KBASE - G1, 3 * G1, G1, PTE_W | PTE_PWT, PT_L3,
			NULL),
		 0);
	CHECK_EQ(pt_split(&f->pt, KBASE - G1 + 5 * M2), 0);
	CHECK_EQ(pt_translate(&f->pt, KBASE - G1 + 5 * M2 + 9, &pa, &e, &level,
			      NULL),
		 0);
	CHECK_EQ(level, PT_L2);
	CHECK_EQ(pa, 3 * G1 + 5 * M2 + 9);
	CHECK_EQ(e & PTE_ATTR_MASK, PTE_W | PTE_PWT);
	fixture_free(f);
}

static void test_unmap_frees_tables(void)
{
	struct fixture *f = fixture_new(true, true);
	CHECK_EQ(pt_map(&f->pt, KBASE, 0, 64 * K4, PTE_W, PT_L1, NULL), 0);
	CHECK_EQ(pt_map(&f->pt, DMAP, 0, 4 * M2, PTE_W, PT_L2, NULL), 0);
	/* Unmap part of a 2 MiB leaf: it is split, the rest stays. */
	CHECK_EQ(pt_unmap(&f->pt, DMAP + M2 + K4, K4), 0);
	CHECK_EQ(pt_translate(&f->pt, DMAP + M2 + K4, NULL, NULL, NULL, NULL),
		 -ERR_NOTFOUND);
	CHECK_EQ(
	    pt_translate(&f->pt, DMAP + M2 + 2 * K4, NULL, NULL, NULL, NULL),
	    0);
	/* Protecting an unmapped page is an error. */
	CHECK_EQ(pt_protect(&f->pt, DMAP + M2, 4 * K4, 0), -ERR_NOTFOUND);
	CHECK_EQ(pt_unmap(&f->pt, KBASE, 64 * K4), 0);
	CHECK_EQ(pt_unmap(&f->pt, DMAP, 4 * M2), 0);
	/* Everything empty again: only the PML4 is left. */
	CHECK_EQ(f->env.tables_allocated - f->env.tables_freed, 1);
	CHECK_EQ(f->arena.in_use, 1);
	fixture_free(f);
}

/* Corner cases found in review: a zero-sized unmap frees nothing (it
 * flushes nothing); a table whose link the validator refuses is freed;
 * adding U to an existing intermediate entry is flushed. */
static void test_review_cases(void)
{
	struct fixture *f = fixture_new(true, true);
	/* A refused leaf leaves its new tables linked but empty. */
	CHECK_EQ(pt_map(&f->pt, KBASE, 1ull << 46, K4, 0, PT_L1, NULL),
		 -ERR_RANGE);
	uint64_t live = f->env.tables_allocated - f->env.tables_freed;
	CHECK_EQ(pt_unmap(&f->pt, KBASE, 0), 0);
	CHECK_EQ(f->env.tables_allocated - f->env.tables_freed, live);
	CHECK_EQ(pt_unmap(&f->pt, KBASE, K4), 0);
	CHECK_EQ(f->env.tables_allocated - f->env.tables_freed, 1);

	/* Supervisor tables first, then a user page below them. */
	CHECK_EQ(pt_map(&f->pt, 0x400000, 0x1000, K4, PTE_W, PT_L1, NULL), 0);
	uint64_t calls = f->fl.calls;
	CHECK_EQ(
	    pt_map(&f->pt, 0x401000, 0x2000, K4, PTE_W | PTE_U, PT_L1, NULL),
	    0);
	CHECK_EQ(f->fl.calls, calls + 1);
	CHECK_EQ(
	    pt_map(&f->pt, 0x402000, 0x3000, K4, PTE_W | PTE_U, PT_L1, NULL),
	    0);
	CHECK_EQ(f->fl.calls, calls + 1); /* already U: no flush */
	fixture_free(f);

	/* Tables above MAXPHYADDR: the link is refused and the table given
	 * back. */
	f = fixture_new(true, true);
	f->env.phys_mask = 0x00000000fffff000ull; /* 32 bits; arena is above */
	pt_forget(&f->pt); /* the env changed after pt_init */
	CHECK_EQ(pt_map(&f->pt, KBASE, 0x1000, K4, 0, PT_L1, NULL), -ERR_RANGE);
	CHECK_EQ(f->env.tables_allocated - f->env.tables_freed, 1);
	fixture_free(f);
}

static void test_alloc_failure(void)
{
	struct fixture *f = fixture_new(true, true);
	f->arena.fail = true;
	uint64_t fail = 0;
	CHECK_EQ(pt_map(&f->pt, KBASE, 0, K4, 0, PT_L1, &fail), -ERR_NOMEM);
	CHECK_EQ(fail, KBASE);
	f->arena.fail = false;
	CHECK_EQ(pt_map(&f->pt, DMAP, 0, M2, 0, PT_L2, NULL), 0);
	f->arena.fail = true;
	CHECK_EQ(pt_unmap(&f->pt, DMAP, K4), -ERR_NOMEM); /* needs a split */
	f->arena.fail = false;
	fixture_free(f);
}

/* A mapped range and its leaf level. */
struct range {
	uint64_t va;
	uint64_t size;
	int leaf; /* PT_L1..PT_L3 */
};

/* pt_tally over an array (sorted by va, disjoint, aligned); 0 when the
 * array breaks pt_tally's rules. */
static uint64_t tally_ranges(const struct range *r, uint32_t n)
{
	struct pt_tally t;
	pt_tally_init(&t);
	for (uint32_t i = 0; i < n; i++)
		pt_tally_add(&t, r[i].va, r[i].size, r[i].leaf);
	return pt_tally_result(&t);
}

/* The fewest table pages that map [va, va+size) with leaves at level
 * `leaf`: the PML4, plus at each level from PDPT down to the leaves' own
 * level one table per entry of the level above that the range touches. */
static uint64_t min_tables(uint64_t va, uint64_t size, int leaf)
{
	uint64_t n = 1; /* the PML4 */
	for (int l = PT_L3; l >= leaf; l--) {
		/* tables at level l = number of level-(l+1) entries used */
		uint64_t span = PT_SIZE(l + 1);
		n += ((va + size - 1) / span) - (va / span) + 1;
	}
	return n;
}

static void test_table_counts(void)
{
	static const struct {
		uint64_t gib;
		int leaf;
	} cases[] = {{1, PT_L3}, {64, PT_L3}, {1024, PT_L3},
		     {1, PT_L2}, {64, PT_L2}, {1024, PT_L2}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture *f = fixture_new(true, true);
		uint64_t size = cases[i].gib * G1;
		CHECK_EQ(pt_map(&f->pt, DMAP, 0, size, PTE_W | PTE_NX,
				cases[i].leaf, NULL),
			 0);
		CHECK_MSG(
		    f->env.tables_allocated ==
			min_tables(DMAP, size, cases[i].leaf),
		    "%llu GiB with %s leaves: %llu tables, minimum %llu",
		    (unsigned long long)cases[i].gib,
		    pt_level_name(cases[i].leaf),
		    (unsigned long long)f->env.tables_allocated,
		    (unsigned long long)min_tables(DMAP, size, cases[i].leaf));
		fixture_free(f);
	}
	/* tally_ranges agrees with the arithmetic above, and ranges that
	 * share tables share them in the count. */
	struct range one = {DMAP, 64 * G1, PT_L2};
	CHECK_EQ(tally_ranges(&one, 1), min_tables(DMAP, 64 * G1, PT_L2));
	struct range two[] = {{KBASE, 3 * K4, PT_L1},
			      {KBASE + 5 * K4, 2 * K4, PT_L1}};
	CHECK_EQ(tally_ranges(two, 2), 4);
	struct range mixed[] = {{DMAP, 4 * G1, PT_L3},
				{KBASE + M2 - K4, 2 * K4, PT_L1}};
	struct fixture *m = fixture_new(true, true);
	CHECK_EQ(pt_map(&m->pt, DMAP, 0, 4 * G1, PTE_W, PT_L3, NULL), 0);
	CHECK_EQ(pt_map(&m->pt, KBASE + M2 - K4, 0, 2 * K4, 0, PT_L1, NULL), 0);
	/* PML4, 2 PDPTs, 1 PD, 2 PTs (the range crosses a 2 MiB line). */
	CHECK_EQ(tally_ranges(mixed, 2), 6);
	CHECK_EQ(m->env.tables_allocated, 6);
	fixture_free(m);

	/* 4 KiB leaves: 1 GiB needs PML4 + PDPT + PD + 512 PTs. */
	struct fixture *f = fixture_new(true, true);
	CHECK_EQ(pt_map(&f->pt, KBASE, 0, G1, PTE_W, PT_L1, NULL), 0);
	CHECK_EQ(f->env.tables_allocated, 515);
	CHECK_EQ(min_tables(KBASE, G1, PT_L1), 515);
	fixture_free(f);
}

/* tally_ranges on random sets of ranges with mixed leaf sizes, against
 * what pt_map really allocates for them (mapped in a shuffled order, so
 * the count cannot depend on the order the kernel maps in). */
static uint64_t tally_rng = 0x243f6a8885a308d3ull;
static uint64_t tally_rnd(void)
{
	tally_rng ^= tally_rng << 13;
	tally_rng ^= tally_rng >> 7;
	tally_rng ^= tally_rng << 17;
	return tally_rng;
}

static void test_min_tables_random(void)
{
	enum { MAPS = 400, MAX_RANGES = 24 };
	static const uint64_t gaps[] = {0,      K4, 3 * K4,  M2,
					7 * M2, G1, 512 * G1};
	for (int map = 0; map < MAPS && check_case_ok; map++) {
		struct range r[MAX_RANGES];
		uint32_t order[MAX_RANGES], n = 1 + tally_rnd() % MAX_RANGES;
		uint64_t cursor = DMAP + (tally_rnd() % 4) * G1;
		for (uint32_t i = 0; i < n; i++) {
			int leaf = 1 + (int)(tally_rnd() % 3);
			uint64_t step = PT_SIZE(leaf);
			uint64_t count = leaf == PT_L3 ? 1 + tally_rnd() % 3
					 : leaf == PT_L2
					     ? 1 + tally_rnd() % 600
					     : 1 + tally_rnd() % 1100;
			cursor += gaps[tally_rnd() % ARRAY_SIZE(gaps)];
			cursor = ALIGN_UP(cursor, step);
			r[i] = (struct range){cursor, count * step, leaf};
			cursor += count * step;
			order[i] = i;
		}
		for (uint32_t i = n - 1; i > 0; i--) {
			uint32_t j = (uint32_t)(tally_rnd() % (i + 1)), t;
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		struct fixture *f = fixture_new(true, true);
		for (uint32_t k = 0; k < n; k++) {
			const struct range *x = &r[order[k]];
			CHECK_EQ(pt_map(&f->pt, x->va, x->va - DMAP, x->size,
					PTE_W | PTE_NX, x->leaf, NULL),
				 0);
		}
		uint64_t min = tally_ranges(r, n);
		CHECK_MSG(min == f->env.tables_allocated,
			  "map %d (%u ranges): pt_map used %llu tables, "
			  "tally_ranges says %llu",
			  map, n, (unsigned long long)f->env.tables_allocated,
			  (unsigned long long)min);
		fixture_free(f);
	}
}

/* Input that breaks the tally's rules gives 0, not a wrong count. */
static void test_min_tables_refuses(void)
{
	struct range unsorted[] = {{DMAP + M2, K4, PT_L1}, {DMAP, K4, PT_L1}};
	struct range overlap[] = {{DMAP, 2 * K4, PT_L1},
				  {DMAP + K4, K4, PT_L1}};
	struct range misaligned[] = {{DMAP + K4, M2, PT_L2}};
	struct range empty[] = {{DMAP, 0, PT_L1}};
	struct range no_level[] = {{DMAP, G1, PT_L4}};
	struct range touching[] = {{DMAP, K4, PT_L1},
				   {DMAP + K4, M2 - K4, PT_L1},
				   {DMAP + M2, M2, PT_L2}};
	CHECK_EQ(tally_ranges(unsorted, 2), 0);
	CHECK_EQ(tally_ranges(overlap, 2), 0);
	CHECK_EQ(tally_ranges(misaligned, 1), 0);
	CHECK_EQ(tally_ranges(empty, 1), 0);
	CHECK_EQ(tally_ranges(no_level, 1), 0);
	/* PML4, PDPT, PD, one PT. */
	CHECK_EQ(tally_ranges(touching, 3), 4);
	CHECK_EQ(tally_ranges(NULL, 0), 1);
}

/* Memory types: the PAT index from PWT, PCD and the level's PAT bit,
 * decoded through the power-on PAT and the kernel's. */
static void test_memtypes(void)
{
	const uint64_t leaf4k = 0x1000 | PTE_P, leaf2m = M2 | PTE_P | PTE_PS;
	CHECK_EQ(pt_pat_index(PT_L1, leaf4k), 0);
	CHECK_EQ(pt_pat_index(PT_L1, leaf4k | PTE_PWT), 1);
	CHECK_EQ(pt_pat_index(PT_L1, leaf4k | PTE_PCD), 2);
	CHECK_EQ(pt_pat_index(PT_L1, leaf4k | PTE_PS), 4); /* bit 7: PAT */
	CHECK_EQ(pt_pat_index(PT_L2, leaf2m), 0);          /* bit 7: PS */
	CHECK_EQ(pt_pat_index(PT_L2, leaf2m | PTE_PAT_LARGE | PTE_PCD), 6);
	CHECK_EQ(pt_pat_index(PT_L3, G1 | PTE_P | PTE_PS | PTE_PAT_LARGE), 4);

	CHECK_EQ(pt_memtype(PAT_POWER_ON, PT_L1, leaf4k), PAT_WB);
	CHECK_EQ(pt_memtype(PAT_POWER_ON, PT_L1, leaf4k | PTE_PWT), PAT_WT);
	CHECK_EQ(pt_memtype(PAT_POWER_ON, PT_L1, leaf4k | PTE_PCD),
		 PAT_UC_MINUS);
	CHECK_EQ(pt_memtype(PAT_KERNEL, PT_L1, leaf4k | PTE_CACHE_WB), PAT_WB);
	CHECK_EQ(pt_memtype(PAT_KERNEL, PT_L1, leaf4k | PTE_CACHE_WC), PAT_WC);
	CHECK_EQ(pt_memtype(PAT_KERNEL, PT_L2, leaf2m | PTE_CACHE_WC), PAT_WC);
	CHECK_EQ(pt_memtype(PAT_KERNEL, PT_L1, leaf4k | PTE_CACHE_UC), PAT_UC);
	CHECK_EQ(pt_memtype(PAT_POWER_ON, PT_L1, leaf4k | PTE_CACHE_UC),
		 PAT_UC);
	/* The kernel's PAT differs from power-on in entry 1 only. */
	CHECK_EQ(PAT_KERNEL ^ PAT_POWER_ON, (uint64_t)(PAT_WT ^ PAT_WC) << 8);
	CHECK_STR(pt_memtype_name(PAT_WC), "WC");
	CHECK_STR(pt_memtype_name(PAT_UC_MINUS), "UC-");
	CHECK_STR(pt_memtype_name(2), "?");
}

/* Names for dumps. */
static void test_names(void)
{
	CHECK_STR(pt_level_name(PT_L4), "PML4");
	CHECK_STR(pt_level_name(PT_L1), "PT");
	CHECK_STR(pt_leaf_name(PT_L3), "1G");
	CHECK_STR(pt_leaf_name(PT_L2), "2M");
	CHECK_STR(pt_leaf_name(PT_L1), "4K");
}

/* pt_cut: 4 KiB to the first 2 MiB line, 2 MiB to the 1 GiB line, 1 GiB
 * leaves, and back down; max_level caps it. */
struct cut_log {
	uint64_t base[8], size[8];
	int level[8];
	int n;
};

static int log_cut(void *ctx, uint64_t base, uint64_t size, int level)
{
	struct cut_log *c = ctx;
	if (c->n == 8)
		return 1;
	c->base[c->n] = base;
	c->size[c->n] = size;
	c->level[c->n++] = level;
	return 0;
}

static void test_cut(void)
{
	struct cut_log c = {.n = 0};
	CHECK_EQ(
	    pt_cut(G1 - M2 - K4, 2 * G1 + 2 * M2 + 2 * K4, PT_L3, log_cut, &c),
	    0);
	CHECK_EQ(c.n, 5);
	CHECK_EQ(c.base[0], G1 - M2 - K4);
	CHECK_EQ(c.level[0], PT_L1);
	CHECK_EQ(c.size[1], M2);
	CHECK_EQ(c.level[1], PT_L2);
	CHECK_EQ(c.base[2], G1);
	CHECK_EQ(c.size[2], 2 * G1);
	CHECK_EQ(c.level[2], PT_L3);
	CHECK_EQ(c.level[3], PT_L2);
	CHECK_EQ(c.size[4], K4);
	c.n = 0;
	CHECK_EQ(pt_cut(0, 4 * G1, PT_L2, log_cut, &c), 0);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.level[0], PT_L2);
	c.n = 8; /* full: the callback stops the cut */
	CHECK_EQ(pt_cut(0, K4, PT_L1, log_cut, &c), 1);
}

/* pt_cut refuses what it cannot cut into whole pages, before calling
 * anything: an unaligned base or size (a size of 1.5 pages once cut
 * forever at its last half page), a range that wraps or ends at 2^64,
 * and a level that is not a leaf level. Nothing at all is no piece. */
static void test_cut_refuses(void)
{
	static const struct {
		uint64_t base, size;
		int max;
	} bad[] = {
	    {K4, K4 + K4 / 2, PT_L2},
	    {K4 / 2, K4, PT_L2},
	    {K4, 1, PT_L1},
	    {0ull - K4, 2 * K4, PT_L2},
	    {0ull - K4, K4, PT_L1},
	    {0, K4, PT_L4},
	    {0, K4, 0},
	};
	struct cut_log c;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		c.n = 0;
		CHECK_EQ(
		    pt_cut(bad[i].base, bad[i].size, bad[i].max, log_cut, &c),
		    -ERR_INVALID);
		CHECK_EQ(c.n, 0);
	}
	c.n = 0;
	CHECK_EQ(pt_cut(M2, 0, PT_L2, log_cut, &c), 0);
	CHECK_EQ(c.n, 0);
}

/* ---- randomised run against a reference model ---- */

/* The model: four windows of WIN_PAGES pages in different PML4 slots and
 * both halves; each page is unmapped (pa == 0 means unmapped: frame 0 is
 * never used) or mapped to (pa, attr). */
#define WINDOWS   4
#define WIN_PAGES 4096u /* 16 MiB: eight 2 MiB-aligned regions */
static const uint64_t win_base[WINDOWS] = {
    0x0000000000400000ull,
    0x00007fffff000000ull,
    0xffff800000000000ull,
    0xffffffff80000000ull,
};

struct model_page {
	uint64_t pa;
	uint64_t attr;
};
static struct model_page model[WINDOWS][WIN_PAGES];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const uint64_t attr_choices[] = {
    0,
    PTE_W,
    PTE_W | PTE_NX,
    PTE_NX | PTE_G,
    PTE_W | PTE_G | PTE_NX,
    PTE_U | PTE_W,
    PTE_PCD | PTE_NX,
};

/* Page p of window w translates as the model says: the physical address
 * alone (pt_translate's path of its own), then with the entry. */
static int model_verify_page(struct fixture *f, int w, uint32_t p)
{
	uint64_t pa, pa_only = 0, e, va = win_base[w] + (uint64_t)p * K4;
	int rc_only = pt_translate(&f->pt, va, &pa_only, NULL, NULL, NULL);
	int rc = pt_translate(&f->pt, va, &pa, &e, NULL, NULL);
	const struct model_page *m = &model[w][p];
	if (!m->pa)
		return rc == -ERR_NOTFOUND && rc_only == -ERR_NOTFOUND;
	return rc == 0 && pa == m->pa && (e & PTE_ATTR_MASK) == m->attr &&
	       rc_only == 0 && pa_only == m->pa;
}

struct leaf_count {
	uint64_t pages;
	bool bad;
};

static int count_leaf(void *arg, const struct pt_leaf *leaf)
{
	struct leaf_count *c = arg;
	c->pages += leaf->size / K4;
	return 0;
}

/* Every table's count is its number of present entries, every table is
 * counted (this code made them all), and none is empty (the fixture's env
 * frees emptied tables, and every operation here leaves none linked).
 * Returns false, with a message naming op, when not. */
static bool counts_hold(struct fixture *f, uint32_t op)
{
	struct pt_audit a;
	pt_audit(&f->pt, &a);
	if (!a.wrong && !a.uncounted && !a.empty)
		return true;
	CHECK_MSG(0,
		  "after op %u: of %llu tables, %llu with a wrong count (the "
		  "first at 0x%llx), %llu not counted, %llu empty and linked",
		  op, (unsigned long long)a.linked, (unsigned long long)a.wrong,
		  (unsigned long long)a.first_wrong,
		  (unsigned long long)a.uncounted, (unsigned long long)a.empty);
	return false;
}

/* ops random operations against the model, over tables reached as mode
 * says. With single, three in four are of a single page (the fast paths
 * of pt_map, pt_unmap and pt_protect); otherwise ranges, mostly small.
 * Every COUNTS_EVERY operations, and at the end, the tables' counts are
 * audited (counts_hold). */
#define COUNTS_EVERY 16
static void random_model(enum table_mode mode, uint32_t ops, bool single)
{
	struct fixture *f = fixture_mode(true, true, mode);
	uint32_t done = 0, mismatches = 0;
	memset(model, 0, sizeof(model));

	for (uint32_t op = 0; op < ops; op++) {
		int w = (int)(rnd() % WINDOWS);
		/* Mostly small ranges, sometimes 2 MiB-sized ones. */
		uint32_t len = (rnd() % 4 == 0) ? 512 + (uint32_t)(rnd() % 600)
						: 1 + (uint32_t)(rnd() % 40);
		if (single && rnd() % 4 != 0)
			len = 1;
		uint32_t first = (uint32_t)(rnd() % WIN_PAGES);
		if (rnd() % 3 == 0)
			first &= ~511u; /* 2 MiB aligned */
		if (first + len > WIN_PAGES)
			len = WIN_PAGES - first;
		uint64_t va = win_base[w] + (uint64_t)first * K4;
		uint64_t attr = attr_choices[rnd() % ARRAY_SIZE(attr_choices)];
		int kind = (int)(rnd() % 3);
		int rc;

		if (kind == 0) { /* map */
			/* Physical address congruent to va modulo 2 MiB half
			 * the time, so 2 MiB leaves happen. */
			uint64_t pa = ((rnd() % 1024) + 1) * M2;
			if (rnd() % 2)
				pa += (va & (M2 - 1));
			else
				pa += ((rnd() % 511) + 1) * K4;
			uint64_t fail = 0;
			rc = pt_map(&f->pt, va, pa, (uint64_t)len * K4, attr,
				    (int)(rnd() % 2) + PT_L1, &fail);
			uint32_t stop = len;
			for (uint32_t i = 0; i < len; i++)
				if (model[w][first + i].pa) {
					stop = i;
					break;
				}
			/* The first page already mapped is exactly where
			 * the map must stop; the pages before it are mapped. */
			uint64_t conflict = va + (uint64_t)stop * K4;
			if (stop == len ? rc != 0
					: rc != -ERR_EXISTS || fail != conflict)
				mismatches++;
			uint32_t mapped =
			    rc == 0 ? len : (uint32_t)((fail - va) / K4);
			for (uint32_t i = 0; i < mapped; i++)
				model[w][first + i] = (struct model_page){
				    pa + (uint64_t)i * K4, attr};
		} else if (kind == 1) { /* unmap */
			rc = pt_unmap(&f->pt, va, (uint64_t)len * K4);
			if (rc)
				mismatches++;
			for (uint32_t i = 0; i < len; i++)
				model[w][first + i].pa = 0;
		} else { /* protect */
			rc = pt_protect(&f->pt, va, (uint64_t)len * K4, attr);
			uint32_t stop = len;
			for (uint32_t i = 0; i < len; i++)
				if (!model[w][first + i].pa) {
					stop = i;
					break;
				}
			if ((stop == len) != (rc == 0) ||
			    (rc && rc != -ERR_NOTFOUND))
				mismatches++;
			for (uint32_t i = 0; i < stop; i++)
				model[w][first + i].attr = attr;
		}
		/* Check the pages the operation touched, and a few others. */
		for (uint32_t i = 0; i < len; i++)
			if (!model_verify_page(f, w, first + i)) {
				mismatches++;
				break;
			}
		for (int k = 0; k < 4; k++) {
			int ww = (int)(rnd() % WINDOWS);
			if (!model_verify_page(f, ww,
					       (uint32_t)(rnd() % WIN_PAGES)))
				mismatches++;
		}
		done++;
		if (mismatches) {
			CHECK_MSG(0, "model mismatch at op %u (kind %d)", op,
				  kind);
			break;
		}
		if (op % COUNTS_EVERY == 0 && !counts_hold(f, op))
			break;
	}
	CHECK_EQ(done, ops);
	CHECK(counts_hold(f, ops));

	/* Full comparison: every page, and the leaf count. */
	uint64_t mapped = 0;
	for (int w = 0; w < WINDOWS; w++)
		for (uint32_t p = 0; p < WIN_PAGES; p++) {
			mapped += model[w][p].pa != 0;
			if (!model_verify_page(f, w, p)) {
				CHECK_MSG(0, "final mismatch window %d page %u",
					  w, p);
				w = WINDOWS;
				break;
			}
		}
	struct leaf_count c = {0, false};
	CHECK_EQ(pt_for_each_leaf(&f->pt, count_leaf, &c), 0);
	CHECK_EQ(c.pages, mapped);

	/* Unmapping everything returns every table but the root. */
	for (int w = 0; w < WINDOWS; w++)
		CHECK_EQ(pt_unmap(&f->pt, win_base[w], WIN_PAGES * K4), 0);
	CHECK_EQ(f->env.tables_allocated - f->env.tables_freed, 1);
	printf("  random%s%s: %u ops, %llu tables allocated, %llu splits\n",
	       single ? ", single pages" : "",
	       mode == TABLE_LINEAR ? ", linear tables" : "", ops,
	       (unsigned long long)f->env.tables_allocated,
	       (unsigned long long)f->env.splits);
	fixture_free(f);
}

/* The model run of the issue: 100,000 operations, table() calls. */
static void test_random_model(void)
{
	random_model(TABLE_CALL, 100000, false);
}

/* Single pages in both kinds of table access: the fast paths, and the
 * walk cache across maps, unmaps that free tables, splits and
 * protects. */
static void test_random_model_single(void)
{
	random_model(TABLE_CALL, 40000, true);
	random_model(TABLE_LINEAR, 40000, true);
}

/* Effective attributes: W and U only when every level has them. */
struct eff_find {
	uint64_t va;
	uint64_t effective;
	bool found;
};

static int find_leaf(void *arg, const struct pt_leaf *leaf)
{
	struct eff_find *q = arg;
	if (q->va >= leaf->va && q->va - leaf->va < leaf->size) {
		q->effective = leaf->effective;
		q->found = true;
		return 1;
	}
	return 0;
}

static void test_effective_attrs(void)
{
	struct fixture *f = fixture_new(true, true);
	CHECK_EQ(pt_map(&f->pt, KBASE, 0x1000, K4, PTE_W | PTE_NX, PT_L1, NULL),
		 0);
	/* A supervisor page first, so the user page below goes into tables
	 * that exist already: their entries must gain U. */
	CHECK_EQ(pt_map(&f->pt, 0x401000, 0x3000, K4, PTE_W, PT_L1, NULL), 0);
	CHECK_EQ(
	    pt_map(&f->pt, 0x400000, 0x2000, K4, PTE_U | PTE_W, PT_L1, NULL),
	    0);
	struct eff_find q = {KBASE, 0, false};
	CHECK_EQ(pt_for_each_leaf(&f->pt, find_leaf, &q), 1);
	CHECK(q.found);
	CHECK_EQ(q.effective, PTE_W | PTE_NX);
	q = (struct eff_find){0x400000, 0, false};
	CHECK_EQ(pt_for_each_leaf(&f->pt, find_leaf, &q), 1);
	CHECK_EQ(q.effective, PTE_W | PTE_U);
	/* The walk records each level for dumps. */
	struct pt_walk w;
	CHECK_EQ(pt_translate(&f->pt, KBASE, NULL, NULL, NULL, &w), 0);
	CHECK_EQ(w.levels, 4);
	CHECK_EQ(w.table[0], f->pt.root);
	CHECK_EQ(pt_translate(&f->pt, KBASE + G1, NULL, NULL, NULL, &w),
		 -ERR_NOTFOUND);
	CHECK_EQ(w.levels, 2); /* PML4, then the empty PDPT entry */
	fixture_free(f);
}

/* ---- the walk cache and the single-page paths ---- */

/* How many of n addresses translate differently through the walk cache
 * (as every call without w does) and by a walk from the root (w): every
 * cached answer is taken first, so no reference walk can refresh the
 * cache in between. */
static uint32_t cache_mismatches(struct fixture *f, const uint64_t *va,
				 uint32_t n)
{
	struct {
		int rc, level, rc_only;
		uint64_t pa, e, pa_only;
	} got[16];
	uint32_t bad = 0;
	if (n > ARRAY_SIZE(got))
		abort();
	for (uint32_t i = 0; i < n; i++) {
		/* The physical address alone has a path of its own. */
		got[i].rc_only = pt_translate(&f->pt, va[i], &got[i].pa_only,
					      NULL, NULL, NULL);
		got[i].rc = pt_translate(&f->pt, va[i], &got[i].pa, &got[i].e,
					 &got[i].level, NULL);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct pt_walk w;
		uint64_t pa = 0, e = 0;
		int level = 0;
		int rc = pt_translate(&f->pt, va[i], &pa, &e, &level, &w);
		if (rc != got[i].rc || rc != got[i].rc_only ||
		    (rc == 0 &&
		     (pa != got[i].pa || e != got[i].e ||
		      level != got[i].level || pa != got[i].pa_only)))
			bad++;
	}
	return bad;
}

/* The PT on va's path (walked from the root), or 0. The cache is left
 * as it was: the walk would record va's path in it. */
static uint64_t pt_of(struct fixture *f, uint64_t va)
{
	struct pt_walk w;
	struct pt_cache keep = f->pt.cache;
	pt_translate(&f->pt, va, NULL, NULL, NULL, &w);
	f->pt.cache = keep;
	return w.levels == PT_LEVELS ? w.table[PT_LEVELS - 1] : 0;
}

/*
 * Unmap frees the three tables of a page the cache knows; the next map,
 * one PML4 slot further with the same indexes below, gets the same three
 * pages back (the arena hands out the lowest free page first once its
 * search restarts) and fills them. Through a cache that was not dropped
 * (stale: put back as it was before the unmap, after the map), the first
 * address now
 * leads into the new page's PT and translates to the new page. Returns
 * the mismatches of cache_mismatches(); -1 when the pages were not
 * reused, so the scenario proved nothing.
 */
static int unmap_scenario(bool stale)
{
	struct fixture *f = fixture_mode(true, true, TABLE_LENIENT);
	const uint64_t va1 = DMAP + 5 * G1 + 7 * M2 + 3 * K4;
	const uint64_t va2 = va1 + 512 * G1;
	CHECK_EQ(pt_map(&f->pt, va1, 0x200000, K4, PTE_W, PT_L1, NULL), 0);
	uint64_t pt1 = pt_of(f, va1);
	CHECK_EQ(pt_translate(&f->pt, va1, NULL, NULL, NULL, NULL), 0);
	struct pt_cache before = f->pt.cache;
	CHECK_EQ(pt_unmap(&f->pt, va1, K4), 0);
	CHECK_EQ(f->env.tables_freed, 3);
	f->arena.next = 0;
	CHECK_EQ(pt_map(&f->pt, va2, 0x900000, K4, PTE_W, PT_L1, NULL), 0);
	/* Put back after the map, which records the tables of its walk. */
	if (stale)
		f->pt.cache = before;
	int rc = -1;
	if (pt_of(f, va2) == pt1) {
		const uint64_t va[] = {va1, va1 + K4, va2, va1 - M2};
		rc = (int)cache_mismatches(f, va, ARRAY_SIZE(va));
	}
	fixture_free(f);
	return rc;
}

static void test_cache_unmap(void)
{
	CHECK_EQ(unmap_scenario(false), 0);
	/* The check sees a cache that unmap left stale. */
	CHECK(unmap_scenario(true) > 0);
}

/*
 * A split makes the tables a page is reached through: protecting one
 * 4 KiB page of a 1 GiB leaf splits it into a PD of 2 MiB leaves and one
 * of those into a PT. Translations through the cache must see them; then
 * the 2 MiB around the page is unmapped, which frees that PT, and a page
 * elsewhere (under a PD made before) gets the PT's page back. A cache
 * kept from right after the split (stale) still leads through it.
 * Returns the mismatches, or -1 when the PT's page was not reused.
 */
static int split_scenario(bool stale)
{
	struct fixture *f = fixture_mode(true, true, TABLE_LENIENT);
	const uint64_t base = DMAP + G1, page = base + 9 * M2 + 5 * K4;
	const uint64_t other = DMAP + 2 * G1 + 9 * M2 + 5 * K4;
	int rc = -1;
	CHECK_EQ(pt_map(&f->pt, base, 3 * G1, G1, PTE_W | PTE_NX, PT_L3, NULL),
		 0);
	CHECK_EQ(
	    pt_map(&f->pt, DMAP + 2 * G1, 0x800000, K4, PTE_W, PT_L1, NULL), 0);
	const uint64_t va[] = {page,          page + K4,     page - K4,
			       base,          base + 9 * M2, base + 10 * M2,
			       base + G1 - K4};
	CHECK_EQ(cache_mismatches(f, va, ARRAY_SIZE(va)), 0);
	CHECK_EQ(pt_protect(&f->pt, page, K4, PTE_NX), 0);
	CHECK_EQ(f->env.splits, 2);
	CHECK_EQ(cache_mismatches(f, va, ARRAY_SIZE(va)), 0);
	uint64_t pt = pt_of(f, page);
	/* The cache holds page's PT (the last translation above ended at a
	 * 2 MiB leaf, which drops the cache's PT). */
	CHECK_EQ(pt_translate(&f->pt, page, NULL, NULL, NULL, NULL), 0);
	struct pt_cache after = f->pt.cache;
	CHECK_EQ(pt_unmap(&f->pt, base + 9 * M2, M2), 0);
	CHECK_EQ(f->env.tables_freed, 1);
	if (stale)
		f->pt.cache = after;
	f->arena.next = 0;
	CHECK_EQ(pt_map(&f->pt, other, 0x700000, K4, PTE_W, PT_L1, NULL), 0);
	if (pt_of(f, other) == pt)
		rc = (int)cache_mismatches(f, va, ARRAY_SIZE(va));
	fixture_free(f);
	return rc;
}

static void test_cache_split(void)
{
	CHECK_EQ(split_scenario(false), 0);
	CHECK(split_scenario(true) > 0);
}

/*
 * Protect writes through the table the walk (from the cache) found: one
 * page in each of 16 PTs, protected in an order that moves the cache
 * between them, every one checked at the end by a walk from the root.
 * With the cache made stale (the previous page's PT kept under this
 * page's key), the protect lands in the wrong PT: the page keeps its
 * attributes. Returns the pages whose attributes are wrong.
 */
static int protect_scenario(bool stale)
{
	struct fixture *f = fixture_mode(true, true, TABLE_LENIENT);
	uint64_t va[16];
	int wrong = 0;
	for (uint32_t i = 0; i < 16; i++) {
		va[i] = KBASE + (uint64_t)((i * 7) % 16) * M2 + 3 * K4;
		CHECK_EQ(pt_map(&f->pt, va[i], 0x100000 + i * K4, K4,
				PTE_W | PTE_NX, PT_L1, NULL),
			 0);
	}
	CHECK_EQ(pt_translate(&f->pt, va[0], NULL, NULL, NULL, NULL), 0);
	for (uint32_t i = 0; i < 16; i++) {
		if (stale && i > 0)
			f->pt.cache.key[PT_L1 - 1] = va[i] | (M2 - 1);
		CHECK_EQ(pt_protect(&f->pt, va[i], K4, PTE_G), 0);
	}
	for (uint32_t i = 0; i < 16; i++) {
		struct pt_walk w;
		uint64_t e = 0;
		pt_translate(&f->pt, va[i], NULL, &e, NULL, &w);
		wrong += (e & PTE_ATTR_MASK) != PTE_G;
	}
	fixture_free(f);
	return wrong;
}

static void test_cache_protect(void)
{
	CHECK_EQ(protect_scenario(false), 0);
	CHECK(protect_scenario(true) > 0);
}

/*
 * pt_translate of the physical address alone has a walk of its own, from
 * the PT, the PD or the PDPT the cache holds, or from the root. Every
 * ordered pair of addresses below, one translated after the other, makes
 * the second start from each of those (the same PT, PD, PDPT, or none),
 * and end at each kind of entry: a 4 KiB page, a 2 MiB and a 1 GiB leaf,
 * nothing at each level, a non-canonical address. Both answers must be
 * those of a walk from the root.
 */
static void test_translate_pa_paths(void)
{
	struct fixture *f = fixture_mode(true, true, TABLE_LINEAR);
	CHECK_EQ(pt_map(&f->pt, DMAP + G1, 3 * G1, G1, PTE_W, PT_L3, NULL), 0);
	CHECK_EQ(pt_map(&f->pt, DMAP + 2 * M2, 5 * M2, M2, PTE_W, PT_L2, NULL),
		 0);
	CHECK_EQ(
	    pt_map(&f->pt, DMAP + 5 * M2, 0x7000, 4 * K4, PTE_W, PT_L1, NULL),
	    0);
	CHECK_EQ(pt_map(&f->pt, DMAP + 2 * G1 + K4, 0x9000, K4, 0, PT_L1, NULL),
		 0);
	static const uint64_t va[] = {
	    DMAP + G1 + 0x123,         /* 1 GiB leaf */
	    DMAP + G1 + 7 * M2 + 5,    /* the same leaf, another PD's reach */
	    DMAP + 2 * M2 + 0x77,      /* 2 MiB leaf */
	    DMAP + 5 * M2 + K4 + 5,    /* 4 KiB page */
	    DMAP + 5 * M2 + 3 * K4,    /* 4 KiB page, same PT */
	    DMAP + 5 * M2 + 9 * K4,    /* nothing, in that PT */
	    DMAP + 9 * M2,             /* nothing, in the PD */
	    DMAP + 2 * G1 + K4 + 0x10, /* 4 KiB page, another PD */
	    DMAP + 7 * G1,             /* nothing, in the PDPT */
	    DMAP + 512 * G1,           /* nothing, in the PML4 */
	    0x0000000000001000ull,     /* nothing, lower half */
	    0x0000800000000000ull,     /* not canonical */
	};
	int want_rc[ARRAY_SIZE(va)];
	uint64_t want_pa[ARRAY_SIZE(va)];
	for (size_t i = 0; i < ARRAY_SIZE(va); i++) {
		struct pt_walk w;
		want_pa[i] = 0;
		want_rc[i] =
		    pt_translate(&f->pt, va[i], &want_pa[i], NULL, NULL, &w);
	}
	CHECK_EQ(want_rc[0], 0);
	CHECK_EQ(want_pa[0], 3 * G1 + 0x123);
	CHECK_EQ(want_pa[2], 5 * M2 + 0x77);
	CHECK_EQ(want_pa[3], 0x8005);
	CHECK_EQ(want_rc[5], -ERR_NOTFOUND);
	CHECK_EQ(want_rc[11], -ERR_INVALID);
	uint32_t bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(va); i++)
		for (size_t j = 0; j < ARRAY_SIZE(va); j++) {
			size_t k[2] = {i, j};
			for (int n = 0; n < 2; n++) {
				uint64_t pa = 0;
				int rc = pt_translate(&f->pt, va[k[n]], &pa,
						      NULL, NULL, NULL);
				if (rc != want_rc[k[n]] ||
				    (rc == 0 && pa != want_pa[k[n]]))
					bad++;
			}
		}
	CHECK_EQ(bad, 0);

	/* A PDPT entry not present but with other bits (the CPU ignores
	 * them): no walk may follow it. */
	struct pt_walk w;
	CHECK_EQ(pt_translate(&f->pt, DMAP + G1, NULL, NULL, NULL, &w), 0);
	uint64_t *pdpt =
	    (uint64_t *)(uintptr_t)(w.table[1] + f->env.table_offset);
	pdpt[7] = (3 * G1) | PTE_W;
	pt_forget(&f->pt);
	for (size_t i = 0; i < 2; i++) /* from the root, then the PDPT */
		CHECK_EQ(pt_translate(&f->pt, DMAP + 7 * G1 + K4, NULL, NULL,
				      NULL, NULL),
			 -ERR_NOTFOUND);
	pdpt[7] = 0;
	fixture_free(f);
}

/*
 * A walk that records a table and stops below it must drop the cache's
 * tables below: else the cache would hold a PT under another PD than the
 * one it holds, and a single-page unmap in that PT, which finds the PT's
 * link in the cache's PD, would change a count in the wrong PD. Here the
 * cache holds page a's PT and PD; the translation of an address under
 * another PD of the same PDPT, with nothing in that PD, records the
 * other PD and stops there; then a is unmapped, which must free its PT
 * and PD and leave every count right.
 */
static void test_translate_stop_drops_cache(void)
{
	struct fixture *f = fixture_mode(true, true, TABLE_LINEAR);
	const uint64_t a = DMAP + 5 * M2 + K4, b = DMAP + 2 * G1 + K4;
	CHECK_EQ(pt_map(&f->pt, a, 0x7000, K4, PTE_W, PT_L1, NULL), 0);
	CHECK_EQ(pt_map(&f->pt, b, 0x9000, K4, PTE_W, PT_L1, NULL), 0);
	uint64_t live = f->env.tables_allocated - f->env.tables_freed;
	CHECK_EQ(pt_translate(&f->pt, a, NULL, NULL, NULL, NULL), 0);
	CHECK_EQ(pt_translate(&f->pt, b - K4 + 9 * M2, NULL, NULL, NULL, NULL),
		 -ERR_NOTFOUND);
	CHECK_EQ(pt_unmap(&f->pt, a, K4), 0);
	CHECK_EQ(f->env.tables_allocated - f->env.tables_freed, live - 2);
	CHECK(counts_hold(f, 0));
	CHECK_EQ(pt_translate(&f->pt, b, NULL, NULL, NULL, NULL), 0);
	fixture_free(f);
}

/* A page_table filled by hand, not by pt_init or pt_attach, has a zeroed
 * cache: it must lead nowhere, and its zeroed masks must send every
 * single page to the checked path. pt_forget() reads the env again. */
static void test_cache_unset_and_forget(void)
{
	struct fixture *f = fixture_new(true, true);
	struct page_table byhand = {.env = &f->env, .root = f->pt.root};
	uint64_t pa;
	CHECK_EQ(pt_map(&byhand, 0x1000, 0x5000, K4, PTE_W, PT_L1, NULL), 0);
	CHECK_EQ(pt_map(&byhand, 0x2000, 1ull << 46, K4, 0, PT_L1, NULL),
		 -ERR_RANGE);
	CHECK_EQ(pt_map(&byhand, 0x3000, 0x5000, K4, PTE_PS, PT_L1, NULL),
		 -ERR_INVALID);
	CHECK_EQ(pt_translate(&byhand, 0x1000, &pa, NULL, NULL, NULL), 0);
	CHECK_EQ(pa, 0x5000);
	CHECK_EQ(pt_protect(&byhand, 0x1000, K4, 0), 0);
	CHECK_EQ(pt_unmap(&byhand, 0x1000, K4), 0);
	CHECK_EQ(pt_translate(&f->pt, 0x1000, NULL, NULL, NULL, NULL),
		 -ERR_NOTFOUND);

	/* NXE turned off after pt_init: pt_forget() makes the single-page
	 * path refuse NX again, as the validator does. */
	f->env.nx = false;
	pt_forget(&f->pt);
	CHECK_EQ(pt_map(&f->pt, 0x4000, 0x5000, K4, PTE_NX, PT_L1, NULL),
		 -ERR_RANGE);
	CHECK_EQ(pt_map(&f->pt, 0x4000, 0x5000, K4, PTE_W, PT_L1, NULL), 0);
	CHECK_EQ(pt_protect(&f->pt, 0x4000, K4, PTE_NX), -ERR_RANGE);
	fixture_free(f);
}

/* The result pt_map of one page must give, from the rules paging.h
 * states: bad arguments, then the validator, then a page mapped. */
static int single_map_expected(const struct pt_env *env, uint64_t va,
			       uint64_t pa, uint64_t attr, bool mapped)
{
	if ((attr & ~PTE_ATTR_MASK) || !IS_ALIGNED(va | pa, K4) ||
	    !va_canonical(va))
		return -ERR_INVALID;
	if (pt_entry_check(env, PT_L1, pa | attr | PTE_P))
		return -ERR_RANGE;
	return mapped ? -ERR_EXISTS : 0;
}

/*
 * The masks of the single-page paths against the rules, on values at
 * every edge: each attribute bit and the bits around them, physical
 * addresses at and around MAXPHYADDR and up to bit 63, misaligned ones,
 * canonical and non-canonical addresses. For both table modes, NXE on and
 * off, and 36 and 46 address bits. pt_protect of a mapped page is checked
 * the same way (its va is always good).
 */
static void test_single_page_checks(void)
{
	static const uint64_t vas[] = {0x1000,
				       0x0000800000000000ull,
				       0x00007ffffffff000ull,
				       0xffff800000000000ull,
				       0xffff7ffffffff000ull,
				       0x1800,
				       0xfffffffffffff000ull,
				       0x8000000000001000ull};
	uint64_t pas[] = {0x2000, 0x2001, 0x2800, 0, 0, 0, 0, 0, 0, 0};
	uint32_t cases = 0, wrong = 0;
	for (int mode = TABLE_CALL; mode <= TABLE_LINEAR; mode++) {
		for (int bits = 36; bits <= 46; bits += 10) {
			for (int nx = 0; nx <= 1; nx++) {
				struct fixture *f = fixture_mode(
				    true, nx, (enum table_mode)mode);
				f->env.phys_mask =
				    PTE_ADDR_MAX_MASK & ((1ull << bits) - 1);
				pt_forget(&f->pt);
				pas[3] = (1ull << bits) - K4;
				pas[4] = 1ull << bits;
				pas[5] = 1ull << 51;
				pas[6] = 1ull << 52;
				pas[7] = 1ull << 62;
				pas[8] = 1ull << 63;
				pas[9] = (1ull << bits) | 0x800;
				uint64_t mapped_va = 0x5000;
				CHECK_EQ(pt_map(&f->pt, mapped_va, 0x3000, K4,
						PTE_W, PT_L1, NULL),
					 0);
				for (size_t v = 0; v < ARRAY_SIZE(vas); v++)
					for (size_t p = 0; p < ARRAY_SIZE(pas);
					     p++)
						for (int b = 0; b < 64; b++) {
							uint64_t attr =
							    (1ull << b) |
							    ((b % 3) ? PTE_W
								     : 0);
							uint64_t va = vas[v];
							bool m =
							    va == mapped_va;
							int want =
							    single_map_expected(
								&f->env, va,
								pas[p], attr,
								m);
							int got = pt_map(
							    &f->pt, va, pas[p],
							    K4, attr, PT_L1,
							    NULL);
							if (got == 0)
								pt_unmap(&f->pt,
									 va,
									 K4);
							cases++;
							if (got != want) {
								wrong++;
								if (wrong < 5)
									printf(
									    "  "
									    "ma"
									    "p "
									    "va"
									    " %"
									    "#l"
									    "lx"
									    " p"
									    "a "
									    "%#"
									    "ll"
									    "x "
									    "at"
									    "tr"
									    " %"
									    "#l"
									    "lx"
									    ": "
									    "%d"
									    ", "
									    "wa"
									    "nt"
									    " %"
									    "d"
									    "\n",
									    (unsigned long long)
										va,
									    (unsigned long long)
										pas[p],
									    (unsigned long long)
										attr,
									    got,
									    want);
							}
						}
				for (int b = 0; b < 64; b++) {
					uint64_t attr = 1ull << b;
					int want = (attr & ~PTE_ATTR_MASK)
						       ? -ERR_INVALID
						   : pt_entry_check(
							 &f->env, PT_L1,
							 0x3000 | attr | PTE_P)
						       ? -ERR_RANGE
						       : 0;
					cases++;
					wrong += pt_protect(&f->pt, mapped_va,
							    K4, attr) != want;
				}
				fixture_free(f);
			}
		}
	}
	CHECK_MSG(wrong == 0, "%u of %u single-page results differ", wrong,
		  cases);
}

int main(void)
{
	RUN(test_entry_check);
	RUN(test_map_translate);
	RUN(test_no_1g_no_nx);
	RUN(test_split_keeps_neighbours);
	RUN(test_unmap_frees_tables);
	RUN(test_alloc_failure);
	RUN(test_review_cases);
	RUN(test_table_counts);
	RUN(test_min_tables_random);
	RUN(test_min_tables_refuses);
	RUN(test_memtypes);
	RUN(test_names);
	RUN(test_cut);
	RUN(test_cut_refuses);
	RUN(test_effective_attrs);
	RUN(test_cache_unmap);
	RUN(test_cache_split);
	RUN(test_cache_protect);
	RUN(test_cache_unset_and_forget);
	RUN(test_translate_pa_paths);
	RUN(test_translate_stop_drops_cache);
	RUN(test_single_page_checks);
	RUN(test_random_model);
	RUN(test_random_model_single);
	return check_summary();
}
