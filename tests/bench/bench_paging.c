/*
 * Benchmark of common/mm/paging.c on the host.
 *
 *   bench_paging MODE [--call] [--pages N]
 *
 *   contig4k          pt_map of 1 GiB with 4 KiB leaves in one call
 *   scatter4k         pt_map of N single 4 KiB pages (default 262,144),
 *                     one call each, at random distinct addresses in a
 *                     window of N x 2 MiB (512 GiB for the default)
 *   translate         the scattered set mapped, then pt_translate of each
 *                     page in the order they were mapped (random)
 *   translate-sorted  the same in ascending address order, as a scan of a
 *                     range asks
 *   protect           the set mapped, then pt_protect of each page on its
 *                     own, in the order mapped
 *   unmap             the set mapped, then pt_unmap of each page on its
 *                     own, in the order mapped, with env->free NULL (the
 *                     tables stay, as in the loader)
 *   unmap-free        the same with env->free set, as in the kernel: the
 *                     tables left empty are found and freed
 *   tables            count the table pages of direct maps with 1 GiB and
 *                     2 MiB leaves against the minimum
 *
 *   --call   reach tables through a table() callback that adds an offset
 *            (as every caller did before table_offset); by default
 *            env->table is NULL and the walker adds table_offset itself,
 *            as the kernel and the loader do
 *   --pages  the size of the scattered set: a power of two from 1024 to
 *            262144; the window grows with it, so the density, and with it
 *            the share of pages that need a new table, stays the same
 *
 * This program does not count anything itself in the operation modes: it
 * does the work, checks the result (outside the measured function) and
 * prints the number of pages, and tools/bench.sh runs it under callgrind
 * collecting only inside the function the mode measures (pt_map,
 * pt_translate, pt_protect or pt_unmap). So the environment is kept as
 * cheap as the kernel's own:
 *
 *  - "Physical memory" for table pages is one anonymous mmap, which the
 *    host kernel hands out zeroed, standing at PHYS_BASE. alloc is a bump
 *    pointer and clears nothing, so the figures are the mapper's work plus
 *    the call of an allocator, not the cost of clearing 4 KiB per table
 *    (which depends on the allocator, not the mapper).
 *  - Tables are at phys + offset, like a direct map; with --call through a
 *    table() of one addition. Neither checks its argument; a bad physical
 *    address would fault here, and the checks after mapping would catch a
 *    wrong one.
 *  - flush is set, as in the kernel, and counts its calls (a host has no
 *    TLB of these tables); free (unmap-free only) counts the pages handed
 *    back, and the arena goes away as a whole.
 *
 * The tables mode needs no valgrind: it compares env->tables_allocated
 * (which includes the PML4) with the arithmetic minimum and exits 1 when a
 * count differs. Every mode exits 1 when an operation fails or the tables
 * read back are not the ones asked for.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS under -std=c11 */

#include "common/mm/paging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Table pages live at PHYS_BASE and up: above 4 GiB, so nothing can
 * depend on low addresses, and far below the 46-bit limit. */
#define PHYS_BASE    0x0000000100000000ull
#define PHYS_MASK_46 (((1ull << 46) - 1) & PAGE_MASK)
/* Frames the leaves point to; never touched, only written into entries. */
#define DATA_BASE 0x0000001000000000ull

#define DIRECT_MAP 0xffff800000000000ull
/* The scattered window: within one PML4 slot (aligned to it). */
#define SCATTER_BASE    0xffff900000000000ull
#define SCATTER_SEED    0x2545f4914f6cdd1dull
#define SCATTER_DEFAULT 262144u /* pages; the window then is 512 GiB */

/* From the command line. */
static bool opt_call;                            /* --call */
static uint32_t scatter_pages = SCATTER_DEFAULT; /* --pages */
#define SCATTER_PAGES        scatter_pages
#define SCATTER_WINDOW_PAGES ((uint64_t)scatter_pages * PT_ENTRIES)

#define GIB         (1ull << 30)
#define CONTIG_SIZE GIB

struct arena {
	uint8_t *mem;
	uint64_t pages; /* capacity */
	uint64_t used;
	/* host address - physical address, so table() is one addition */
	uint64_t offset;
	uint64_t freed;   /* pages handed back (never reused) */
	uint64_t flushes; /* flush calls */
};

static uint64_t arena_alloc(void *ctx)
{
	struct arena *a = ctx;
	if (a->used == a->pages)
		return 0;
	return PHYS_BASE + a->used++ * PAGE_SIZE;
}

/* The kernel's env_free returns the frame to its allocator; here the
 * arena goes away as a whole, so a free is counted and nothing else. */
static void arena_free(void *ctx, uint64_t phys)
{
	struct arena *a = ctx;
	a->freed++;
}

/* The kernel's env_flush is an INVLPG per page (or a full flush); a host
 * has no TLB of these tables to flush, so the call is counted. */
static void arena_flush(void *ctx, uint64_t va, uint64_t size)
{
	struct arena *a = ctx;
	a->flushes++;
}

static uint64_t *arena_table(void *ctx, uint64_t phys)
{
	const struct arena *a = ctx;
	return (uint64_t *)(uintptr_t)(phys + a->offset);
}

/* Reserves room for `pages` table pages; the host kernel backs (and
 * zeroes) only those that are touched. */
static void arena_init(struct arena *a, uint64_t pages)
{
	void *m = mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		perror("bench_paging: mmap of the table arena");
		exit(2);
	}
	a->mem = m;
	a->pages = pages;
	a->used = 0;
	a->freed = 0;
	a->flushes = 0;
	a->offset = (uint64_t)(uintptr_t)m - PHYS_BASE;
}

static void arena_fini(struct arena *a)
{
	munmap(a->mem, a->pages * PAGE_SIZE);
	a->mem = NULL;
}

/* One page table over a fresh arena. */
struct bench {
	struct arena arena;
	struct pt_env env;
	struct page_table pt;
};

static void bench_init(struct bench *b, uint64_t arena_pages, bool page1g)
{
	arena_init(&b->arena, arena_pages);
	b->env = (struct pt_env){
	    .alloc = arena_alloc,
	    .free = arena_free,
	    .table = arena_table,
	    .flush = arena_flush,
	    .ctx = &b->arena,
	    .phys_mask = PHYS_MASK_46,
	    .nx = true,
	    .page1g = page1g,
	};
	if (!opt_call) {
		b->env.table = NULL;
		b->env.table_offset = b->arena.offset;
	}
	if (pt_init(&b->pt, &b->env) != 0) {
		fprintf(stderr, "bench_paging: pt_init failed\n");
		exit(2);
	}
}

static void bench_fini(struct bench *b)
{
	arena_fini(&b->arena);
}

/* Reports a failed pt_map with everything paging.h says about it. */
static void map_failed(const struct bench *b, const char *what, int rc,
		       uint64_t fail_va)
{
	fprintf(stderr, "bench_paging: %s: pt_map returned %d at va %#llx",
		what, rc, (unsigned long long)fail_va);
	if (rc == -ERR_RANGE && b->env.last_error)
		fprintf(stderr, " (%s)", b->env.last_error);
	fprintf(stderr, "\n");
}

/* Checks that va translates to pa through a leaf at `level`. */
static bool maps_to(const struct bench *b, uint64_t va, uint64_t pa, int level)
{
	uint64_t got;
	int got_level;
	if (pt_translate(&b->pt, va, &got, NULL, &got_level, NULL) != 0 ||
	    got != pa || got_level != level) {
		fprintf(stderr,
			"bench_paging: va %#llx does not map to %#llx at "
			"level %d\n",
			(unsigned long long)va, (unsigned long long)pa, level);
		return false;
	}
	return true;
}

/* Counts present leaves and their bytes, to prove nothing else got
 * mapped. */
struct leaf_count {
	uint64_t leaves;
	uint64_t bytes;
	int level; /* the level all leaves should have */
	bool wrong_level;
};

static int count_leaf(void *arg, const struct pt_leaf *leaf)
{
	struct leaf_count *c = arg;
	c->leaves++;
	c->bytes += leaf->size;
	if (leaf->level != c->level)
		c->wrong_level = true;
	return 0;
}

static bool leaves_are(const struct bench *b, uint64_t leaves, int level)
{
	struct leaf_count c = {.level = level};
	pt_for_each_leaf(&b->pt, count_leaf, &c);
	if (c.leaves != leaves || c.wrong_level) {
		fprintf(stderr,
			"bench_paging: %llu leaves mapped (want %llu at "
			"level %d)%s\n",
			(unsigned long long)c.leaves,
			(unsigned long long)leaves, level,
			c.wrong_level ? ", some at another level" : "");
		return false;
	}
	return true;
}

static int run_contig4k(void)
{
	const uint64_t pages = CONTIG_SIZE / PAGE_SIZE;
	struct bench b;
	/* PML4 + PDPT + PD + 512 PTs, and some slack. */
	bench_init(&b, 1024, true);

	uint64_t fail_va = 0;
	int rc = pt_map(&b.pt, DIRECT_MAP, DATA_BASE, CONTIG_SIZE,
			PTE_W | PTE_NX, PT_L1, &fail_va);
	if (rc) {
		map_failed(&b, "contig4k", rc, fail_va);
		return 1;
	}

	bool ok = leaves_are(&b, pages, PT_L1);
	for (uint64_t i = 0; ok && i < pages; i += 4099)
		ok = maps_to(&b, DIRECT_MAP + i * PAGE_SIZE,
			     DATA_BASE + i * PAGE_SIZE, PT_L1);
	ok = ok && maps_to(&b, DIRECT_MAP + CONTIG_SIZE - PAGE_SIZE,
			   DATA_BASE + CONTIG_SIZE - PAGE_SIZE, PT_L1);
	printf("contig4k: pages=%llu calls=1 tables=%llu (minimum 515)%s\n",
	       (unsigned long long)pages,
	       (unsigned long long)b.env.tables_allocated,
	       ok ? "" : " CHECK FAILED");
	bench_fini(&b);
	return ok ? 0 : 1;
}

/* splitmix64: a fixed seed gives the same addresses on every run. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* SCATTER_PAGES distinct page indexes in the window, in random order.
 * Duplicates are dropped here, so every pt_map call below succeeds. */
static uint32_t *scatter_indexes(void)
{
	uint32_t *idx = malloc(SCATTER_PAGES * sizeof(*idx));
	uint8_t *seen = calloc(SCATTER_WINDOW_PAGES / 8, 1);
	if (!idx || !seen) {
		fprintf(stderr, "bench_paging: out of memory\n");
		exit(2);
	}
	uint64_t state = SCATTER_SEED;
	for (uint32_t n = 0; n < SCATTER_PAGES;) {
		uint32_t i = (uint32_t)(next_random(&state) &
					(SCATTER_WINDOW_PAGES - 1));
		if (seen[i / 8] & (1u << (i % 8)))
			continue;
		seen[i / 8] |= (uint8_t)(1u << (i % 8));
		idx[n++] = i;
	}
	free(seen);
	return idx;
}

/* The scattered set: page n of the mapping order is at scatter_va(idx, n)
 * and maps frame DATA_BASE + n pages. */
static uint64_t scatter_va(const uint32_t *idx, uint32_t n)
{
	return SCATTER_BASE + (uint64_t)idx[n] * PAGE_SIZE;
}

static uint64_t scatter_pa(uint32_t n)
{
	return DATA_BASE + (uint64_t)n * PAGE_SIZE;
}

/* Maps the scattered set, one pt_map call per page, in the order of idx.
 * Returns false (with a message) when a call fails. */
static bool map_scattered(struct bench *b, const uint32_t *idx)
{
	for (uint32_t n = 0; n < SCATTER_PAGES; n++) {
		uint64_t fail_va = 0;
		int rc = pt_map(&b->pt, scatter_va(idx, n), scatter_pa(n),
				PAGE_SIZE, PTE_W | PTE_NX, PT_L1, &fail_va);
		if (rc) {
			map_failed(b, "scattered set", rc, fail_va);
			return false;
		}
	}
	return true;
}

/* Checks every page of the scattered set: mapped to its frame with
 * attributes attr. */
static bool scattered_mapped(const struct bench *b, const uint32_t *idx,
			     uint64_t attr)
{
	if (!leaves_are(b, SCATTER_PAGES, PT_L1))
		return false;
	for (uint32_t n = 0; n < SCATTER_PAGES; n++) {
		uint64_t e;
		if (!maps_to(b, scatter_va(idx, n), scatter_pa(n), PT_L1))
			return false;
		pt_translate(&b->pt, scatter_va(idx, n), NULL, &e, NULL, NULL);
		if ((e & PTE_ATTR_MASK) != attr) {
			fprintf(stderr,
				"bench_paging: va %#llx has attributes %#llx, "
				"want %#llx\n",
				(unsigned long long)scatter_va(idx, n),
				(unsigned long long)(e & PTE_ATTR_MASK),
				(unsigned long long)attr);
			return false;
		}
	}
	return true;
}

/* The positions n of the scattered set (0..SCATTER_PAGES-1) in
 * ascending order of their addresses. */
static uint32_t *by_address(const uint32_t *idx)
{
	uint32_t *pos = malloc(SCATTER_PAGES * sizeof(*pos));
	uint32_t *at = malloc(SCATTER_WINDOW_PAGES / 64 * sizeof(*at));
	uint64_t *bits = calloc(SCATTER_WINDOW_PAGES / 64, sizeof(*bits));
	if (!pos || !at || !bits) {
		fprintf(stderr, "bench_paging: out of memory\n");
		exit(2);
	}
	/* A counting pass over the window's pages: a bit per page mapped,
	 * then the pages in order. The window is 2^27 pages, so this is a
	 * 16 MiB bitmap, and no sort. */
	for (uint32_t n = 0; n < SCATTER_PAGES; n++)
		bits[idx[n] / 64] |= 1ull << (idx[n] % 64);
	uint32_t k = 0;
	for (uint64_t w = 0; w < SCATTER_WINDOW_PAGES / 64; w++) {
		at[w] = k;
		k += (uint32_t)__builtin_popcountll(bits[w]);
	}
	for (uint32_t n = 0; n < SCATTER_PAGES; n++) {
		uint64_t w = idx[n] / 64;
		uint64_t below = bits[w] & ((1ull << (idx[n] % 64)) - 1);
		pos[at[w] + (uint32_t)__builtin_popcountll(below)] = n;
	}
	free(at);
	free(bits);
	return pos;
}

enum scatter_op {
	OP_MAP,
	OP_TRANSLATE,
	OP_TRANSLATE_SORTED,
	OP_PROTECT,
	OP_UNMAP,
	OP_UNMAP_FREE
};

/* Maps the scattered set, then (unless op is OP_MAP) runs op once per
 * page of it, in the same order; checks the result and prints the
 * figures tools/bench.sh reads (pages=, calls=, tables=). */
static int run_scattered(enum scatter_op op, const char *mode)
{
	uint32_t *idx = scatter_indexes();
	struct bench b;
	/* At worst one PT per page, plus the PDs, the PDPT and the PML4. */
	bench_init(&b, SCATTER_PAGES + 1024, true);
	if (op != OP_UNMAP_FREE) /* as the loader: tables stay */
		b.env.free = NULL;
	bool ok = map_scattered(&b, idx);
	uint64_t tables = b.env.tables_allocated;
	uint32_t *order = NULL;

	switch (op) {
	case OP_MAP:
		ok = ok && scattered_mapped(&b, idx, PTE_W | PTE_NX);
		break;
	case OP_TRANSLATE:
	case OP_TRANSLATE_SORTED:
		/* The translation a kernel asks for most: the physical
		 * address alone (that every leaf is a 4 KiB one is checked
		 * first, outside the count). In the order of mapping
		 * (random), or of the addresses, as a scan of a range asks. */
		ok = ok && leaves_are(&b, SCATTER_PAGES, PT_L1);
		order = op == OP_TRANSLATE_SORTED ? by_address(idx) : NULL;
		for (uint32_t k = 0; ok && k < SCATTER_PAGES; k++) {
			uint32_t n = order ? order[k] : k;
			uint64_t pa = 0;
			int rc = pt_translate(&b.pt, scatter_va(idx, n), &pa,
					      NULL, NULL, NULL);
			if (rc || pa != scatter_pa(n)) {
				fprintf(stderr,
					"bench_paging: translate of %#llx: "
					"rc %d, pa %#llx, want %#llx\n",
					(unsigned long long)scatter_va(idx, n),
					rc, (unsigned long long)pa,
					(unsigned long long)scatter_pa(n));
				ok = false;
			}
		}
		free(order);
		break;
	case OP_PROTECT:
		/* Read-only, global: a different attribute set for every
		 * page, through its own call. */
		for (uint32_t n = 0; ok && n < SCATTER_PAGES; n++) {
			int rc = pt_protect(&b.pt, scatter_va(idx, n),
					    PAGE_SIZE, PTE_NX | PTE_G);
			if (rc) {
				fprintf(stderr,
					"bench_paging: protect of %#llx: rc "
					"%d\n",
					(unsigned long long)scatter_va(idx, n),
					rc);
				ok = false;
			}
		}
		ok = ok && scattered_mapped(&b, idx, PTE_NX | PTE_G);
		ok = ok && b.arena.flushes == SCATTER_PAGES;
		break;
	case OP_UNMAP:
	case OP_UNMAP_FREE:
		for (uint32_t n = 0; ok && n < SCATTER_PAGES; n++) {
			int rc = pt_unmap(&b.pt, scatter_va(idx, n), PAGE_SIZE);
			if (rc) {
				fprintf(stderr,
					"bench_paging: unmap of %#llx: rc %d\n",
					(unsigned long long)scatter_va(idx, n),
					rc);
				ok = false;
			}
		}
		/* Nothing mapped, one flush per call, and every table but
		 * the PML4 freed (unmap-free) or none (unmap). */
		ok = ok && leaves_are(&b, 0, PT_L1);
		uint64_t want = op == OP_UNMAP_FREE ? tables - 1 : 0;
		if (ok &&
		    (b.env.tables_freed != want || b.arena.freed != want ||
		     b.arena.flushes != SCATTER_PAGES)) {
			fprintf(stderr,
				"bench_paging: unmap freed %llu of %llu "
				"tables (want %llu), %llu flushes\n",
				(unsigned long long)b.arena.freed,
				(unsigned long long)tables,
				(unsigned long long)want,
				(unsigned long long)b.arena.flushes);
			ok = false;
		}
		break;
	}
	printf("%s: pages=%u calls=%u tables=%llu window=%lluGiB access=%s%s"
	       "\n",
	       mode, SCATTER_PAGES, SCATTER_PAGES, (unsigned long long)tables,
	       (unsigned long long)(SCATTER_WINDOW_PAGES * PAGE_SIZE >> 30),
	       opt_call ? "call" : "add", ok ? "" : " CHECK FAILED");
	bench_fini(&b);
	free(idx);
	return ok ? 0 : 1;
}

/* The fewest table pages a map of `gib` GiB from DIRECT_MAP (aligned to a
 * PML4 slot) can use: the PML4, one PDPT per 512 GiB, and for 2 MiB leaves
 * one PD per GiB. */
static uint64_t min_tables(uint64_t gib, int leaf_level)
{
	uint64_t n = 1 + (gib + PT_ENTRIES - 1) / PT_ENTRIES;
	if (leaf_level == PT_L2)
		n += gib;
	return n;
}

static int run_tables(void)
{
	static const uint64_t sizes[] = {1, 64, 1024};
	static const int levels[] = {PT_L3, PT_L2};
	int failed = 0, passed = 0;

	printf("tables: direct map from %#llx, pa 0\n",
	       (unsigned long long)DIRECT_MAP);
	printf("tables: %-7s %9s %8s %8s  %s\n", "leaves", "size", "tables",
	       "minimum", "result");
	for (size_t l = 0; l < ARRAY_SIZE(levels); l++) {
		int level = levels[l];
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			uint64_t gib = sizes[s];
			uint64_t want = min_tables(gib, level);
			struct bench b;
			/* 1 GiB leaves are asked for with the CPU feature that
			 * allows them; 2 MiB ones as on a CPU without it. */
			bench_init(&b, 4 * want + 16, level == PT_L3);

			uint64_t fail_va = 0;
			int rc = pt_map(&b.pt, DIRECT_MAP, 0, gib * GIB,
					PTE_W | PTE_NX, level, &fail_va);
			bool ok = rc == 0;
			if (!ok)
				map_failed(&b, "tables", rc, fail_va);
			ok = ok &&
			     leaves_are(&b, gib * GIB / PT_SIZE(level), level);
			ok = ok && maps_to(&b, DIRECT_MAP + gib * GIB - 1,
					   gib * GIB - 1, level);
			uint64_t got = b.env.tables_allocated;
			ok = ok && got == want;
			printf("tables: %-7s %5llu GiB %8llu %8llu  %s\n",
			       level == PT_L3 ? "1 GiB" : "2 MiB",
			       (unsigned long long)gib, (unsigned long long)got,
			       (unsigned long long)want, ok ? "PASS" : "FAIL");
			if (ok)
				passed++;
			else
				failed++;
			bench_fini(&b);
		}
	}
	printf("tables: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_paging MODE [--call] [--pages N]\n"
		"  contig4k          pt_map of 1 GiB with 4 KiB leaves (one "
		"call)\n"
		"  scatter4k         pt_map of N single 4 KiB pages at "
		"distinct random\n"
		"                    addresses in a window of N x 2 MiB (fixed "
		"seed)\n"
		"  translate         those pages mapped, then pt_translate of "
		"each, in\n"
		"                    the order mapped\n"
		"  translate-sorted  the same in address order\n"
		"  protect           those pages mapped, then pt_protect of "
		"each\n"
		"  unmap             those pages mapped, then pt_unmap of each "
		"(tables\n"
		"                    kept: env->free NULL)\n"
		"  unmap-free        the same, emptied tables freed\n"
		"  tables            table pages of 1/64/1024 GiB direct maps "
		"with 1 GiB\n"
		"                    and 2 MiB leaves against the minimum; "
		"exits 1 on a\n"
		"                    difference\n"
		"  --call            tables through a table() callback, not at "
		"phys +\n"
		"                    table_offset\n"
		"  --pages N         N a power of two, 1024..262144 (default "
		"%u)\n"
		"The other modes print pages=N; run them under tools/bench.sh "
		"to count\nthe instructions inside the function measured.\n",
		SCATTER_DEFAULT);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum scatter_op op;
	} ops[] = {
	    {"scatter4k", OP_MAP},
	    {"translate", OP_TRANSLATE},
	    {"translate-sorted", OP_TRANSLATE_SORTED},
	    {"protect", OP_PROTECT},
	    {"unmap", OP_UNMAP},
	    {"unmap-free", OP_UNMAP_FREE},
	};
	if (argc >= 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--call")) {
			opt_call = true;
		} else if (!strcmp(argv[i], "--pages") && i + 1 < argc) {
			unsigned long n = strtoul(argv[++i], &end, 10);
			if (*end || n < 1024 || n > SCATTER_DEFAULT ||
			    (n & (n - 1))) {
				fprintf(stderr,
					"bench_paging: --pages takes a power "
					"of two from 1024 to %u, not '%s'\n",
					SCATTER_DEFAULT, argv[i]);
				return 2;
			}
			scatter_pages = (uint32_t)n;
		} else {
			fprintf(stderr,
				"bench_paging: unknown argument '%s' (try "
				"--help)\n",
				argv[i]);
			return 2;
		}
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "contig4k"))
		return run_contig4k();
	if (!strcmp(argv[1], "tables"))
		return run_tables();
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(argv[1], ops[i].name))
			return run_scattered(ops[i].op, ops[i].name);
	fprintf(stderr, "bench_paging: no mode '%s' (try --help)\n", argv[1]);
	return 2;
}
