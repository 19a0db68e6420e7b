/*
 * The direct-map plan (common/mm/dmap.c): fixed maps with the pieces and
 * refusals written out, and random maps checked page by page (exactly the
 * write-back RAM below the reach is covered, once, with the leaves pt_map
 * picks), against the real pt_map's table count and against the frame
 * allocator's clipped map. Then mm_init's two steps built on it
 * (dmap_frames_init, dmap_build), which the kernel and memmap-check call.
 */
#include "common/mm/dmap.h"
#include "common/mm/memmap.h"
#include "common/mm/paging.h"
#include "tests/unit/arena.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)

/* Pieces as the plan reports them. */
#define MAX_PIECES 8192
struct record {
	struct dmap_piece p[MAX_PIECES];
	uint32_t n;
	bool overflow;
};

static int record_piece(void *ctx, const struct dmap_piece *p)
{
	struct record *r = ctx;
	if (r->n == MAX_PIECES) {
		r->overflow = true;
		return 1;
	}
	r->p[r->n++] = *p;
	return 0;
}

static const struct dmap_params params_1g = {1ull << 46, DMAP_VIRT_ROOM, true};
static const struct dmap_params params_2m = {1ull << 46, DMAP_VIRT_ROOM, false};

struct want {
	uint64_t phys, size;
	uint32_t kind;
	int leaf; /* refusals: the type */
	bool ro;
};

#define MAPPED(phys, size, leaf)                                               \
	{                                                                      \
		phys, size, DMAP_MAP, leaf, false                              \
	}
#define MAPPED_RO(phys, size, leaf)                                            \
	{                                                                      \
		phys, size, DMAP_MAP, leaf, true                               \
	}
#define REFUSED(phys, size, kind, type)                                        \
	{                                                                      \
		phys, size, kind, type, false                                  \
	}

static void check_pieces(const struct record *r, const struct want *w,
			 uint32_t n)
{
	CHECK_EQ(r->n, n);
	for (uint32_t i = 0; i < n && i < r->n; i++) {
		const struct dmap_piece *p = &r->p[i];
		CHECK_MSG(p->phys == w[i].phys && p->size == w[i].size &&
			      p->kind == w[i].kind,
			  "piece %u: %#llx+%#llx kind %u, expected %#llx+%#llx "
			  "kind %u",
			  i, (unsigned long long)p->phys,
			  (unsigned long long)p->size, p->kind,
			  (unsigned long long)w[i].phys,
			  (unsigned long long)w[i].size, w[i].kind);
		if (w[i].kind == DMAP_MAP) {
			CHECK_EQ(p->leaf, w[i].leaf);
			CHECK_EQ(p->readonly, w[i].ro);
		} else {
			CHECK_EQ(p->type, (uint32_t)w[i].leaf);
		}
	}
}

#define CHECK_PIECES(r, ...)                                                   \
	do {                                                                   \
		static const struct want want_[] = {__VA_ARGS__};              \
		check_pieces(r, want_, ARRAY_SIZE(want_));                     \
	} while (0)

static struct record rec;

static int plan(const struct bi_mem_range *map, uint32_t n,
		const struct dmap_params *p, struct dmap_summary *sum)
{
	memset(&rec, 0, sizeof(rec));
	return dmap_plan(map, n, p, record_piece, &rec, sum);
}

#define R(base, size, type)                                                    \
	{                                                                      \
		base, size, type, BI_MEM_WB                                    \
	}
#define R_UC(base, size, type)                                                 \
	{                                                                      \
		base, size, type, 0                                            \
	}

/* One run cut into the largest leaves: 4 KiB up to 2 MiB alignment,
 * 2 MiB up to 1 GiB, 1 GiB leaves, then down again. */
static void test_leaves(void)
{
	const struct bi_mem_range map[] = {
	    R(0x1000, 3 * GiB + 2 * MiB + 0x3000 - 0x1000, MEM_USABLE)};
	struct dmap_summary s;

	CHECK_EQ(plan(map, 1, &params_1g, &s), 0);
	CHECK_PIECES(&rec, MAPPED(0x1000, 0x1ff000, PT_L1),
		     MAPPED(2 * MiB, GiB - 2 * MiB, PT_L2),
		     MAPPED(GiB, 2 * GiB, PT_L3),
		     MAPPED(3 * GiB, 2 * MiB, PT_L2),
		     MAPPED(3 * GiB + 2 * MiB, 0x3000, PT_L1));
	CHECK_EQ(s.mapped_bytes, map[0].size);
	CHECK_EQ(s.leaves[PT_L3], 2);
	CHECK_EQ(s.leaves[PT_L2], 511 + 1);
	CHECK_EQ(s.leaves[PT_L1], 511 + 3);
	/* PML4, PDPT, 2 PDs (first and fourth GiB), 2 PTs. */
	CHECK_EQ(s.min_tables, 6);

	/* Without 1 GiB pages the middle is 2 MiB leaves. */
	CHECK_EQ(plan(map, 1, &params_2m, &s), 0);
	CHECK_PIECES(&rec, MAPPED(0x1000, 0x1ff000, PT_L1),
		     MAPPED(2 * MiB, 3 * GiB, PT_L2),
		     MAPPED(3 * GiB + 2 * MiB, 0x3000, PT_L1));
	CHECK_EQ(s.min_tables, 1 + 1 + 4 + 2);

	/* A 1 GiB boundary inside a run too short for a 1 GiB leaf after
	 * it: the 2 MiB leaves go straight through. */
	const struct bi_mem_range shortish[] = {
	    R(GiB - 4 * MiB, 8 * MiB, MEM_USABLE)};
	CHECK_EQ(plan(shortish, 1, &params_1g, &s), 0);
	CHECK_PIECES(&rec, MAPPED(GiB - 4 * MiB, 8 * MiB, PT_L2));
}

/* Contiguous RAM of different types is one run; a gap, MMIO or a
 * reserved range ends it; the kernel image is a read-only run of its
 * own. */
static void test_runs(void)
{
	const struct bi_mem_range map[] = {
	    R(0x0, 0x9f000, MEM_USABLE),
	    R_UC(0x9f000, 0x1000, MEM_RESERVED),
	    R(0x100000, 0x100000, MEM_LOADER_RECLAIM),
	    R(0x200000, 0x3000, MEM_KERNEL),
	    R(0x203000, 0x1fd000, MEM_USABLE),
	    R(0x400000, 0x200000, MEM_ACPI_RECLAIM),
	    R(0x600000, 0x200000, MEM_ACPI_NVS),
	    R_UC(0x800000, 0x400000, MEM_FRAMEBUFFER),
	    R(0xc00000, 0x400000, MEM_FW_RUNTIME_DATA),
	    R(0x1000000, 0x1000, MEM_BAD),
	    R(0x1001000, 0x1000, MEM_PAGE_TABLES),
	};
	struct dmap_summary s;

	CHECK_EQ(plan(map, ARRAY_SIZE(map), &params_1g, &s), 0);
	CHECK_PIECES(&rec, MAPPED(0x0, 0x9f000, PT_L1),
		     MAPPED(0x100000, 0x100000, PT_L1),
		     MAPPED_RO(0x200000, 0x3000, PT_L1),
		     MAPPED(0x203000, 0x1fd000, PT_L1),
		     MAPPED(0x400000, 0x400000, PT_L2),
		     MAPPED(0xc00000, 0x400000, PT_L2),
		     MAPPED(0x1001000, 0x1000, PT_L1));
	CHECK_EQ(s.refusals, 0);
	/* Reserved, framebuffer and bad RAM are not refusals: they are not
	 * RAM the kernel could use. */
	CHECK_EQ(s.mapped_bytes,
		 0x9f000 + 0x100000 + 0x200000 + 0x400000 + 0x400000 + 0x1000);
}

/* Each refusal with its reason and the range's type, in address order
 * with the pieces. */
static void test_refusals(void)
{
	const struct bi_mem_range map[] = {
	    R(0x0, 4 * MiB, MEM_USABLE),
	    R_UC(4 * MiB, 2 * MiB, MEM_USABLE),
	    R(6 * MiB, 2 * MiB, MEM_ACPI_RECLAIM),
	    R(1 * GiB - 2 * MiB, 4 * MiB, MEM_USABLE),
	    R(3 * GiB, GiB, MEM_FW_RUNTIME_CODE),
	    R(5 * GiB, GiB, MEM_USABLE),
	};
	/* Room for 1 GiB + 1 MiB of direct map, MAXPHYADDR 32. */
	const struct dmap_params small = {4 * GiB, GiB + MiB, true};
	struct dmap_summary s;

	CHECK_EQ(plan(map, ARRAY_SIZE(map), &small, &s), 0);
	CHECK_PIECES(
	    &rec, MAPPED(0x0, 4 * MiB, PT_L2),
	    REFUSED(4 * MiB, 2 * MiB, DMAP_REFUSED_NOT_WB, MEM_USABLE),
	    MAPPED(6 * MiB, 2 * MiB, PT_L2),
	    MAPPED(GiB - 2 * MiB, 2 * MiB, PT_L2), MAPPED(GiB, MiB, PT_L1),
	    REFUSED(GiB + MiB, MiB, DMAP_REFUSED_NO_ROOM, MEM_USABLE),
	    REFUSED(3 * GiB, GiB, DMAP_REFUSED_NO_ROOM, MEM_FW_RUNTIME_CODE),
	    REFUSED(5 * GiB, GiB, DMAP_REFUSED_ABOVE_MAXPHYADDR, MEM_USABLE));
	CHECK_EQ(s.refusals, 4);
	CHECK_EQ(s.refused_bytes[DMAP_REFUSED_NOT_WB], 2 * MiB);
	CHECK_EQ(s.refused_bytes[DMAP_REFUSED_NO_ROOM], GiB + MiB);
	CHECK_EQ(s.refused_bytes[DMAP_REFUSED_ABOVE_MAXPHYADDR], GiB);

	/* A range across MAXPHYADDR and the room at once. */
	const struct bi_mem_range across[] = {R(0, 8 * GiB, MEM_USABLE)};
	const struct dmap_params tiny = {4 * GiB, 2 * GiB, false};
	CHECK_EQ(plan(across, 1, &tiny, &s), 0);
	CHECK_PIECES(
	    &rec, MAPPED(0, 2 * GiB, PT_L2),
	    REFUSED(2 * GiB, 2 * GiB, DMAP_REFUSED_NO_ROOM, MEM_USABLE),
	    REFUSED(4 * GiB, 4 * GiB, DMAP_REFUSED_ABOVE_MAXPHYADDR,
		    MEM_USABLE));
	CHECK_EQ(dmap_reach(&tiny), 2 * GiB);

	/* MAXPHYADDR below the room: only that reason. */
	const struct dmap_params narrow = {2 * GiB, 4 * GiB, false};
	CHECK_EQ(plan(across, 1, &narrow, &s), 0);
	CHECK_PIECES(&rec, MAPPED(0, 2 * GiB, PT_L2),
		     REFUSED(2 * GiB, 6 * GiB, DMAP_REFUSED_ABOVE_MAXPHYADDR,
			     MEM_USABLE));
	CHECK_STR(dmap_kind_text(DMAP_REFUSED_NO_ROOM),
		  "beyond the direct map's virtual room");
	CHECK_STR(dmap_kind_text(99), "unknown");
}

static void test_bad_input(void)
{
	const struct bi_mem_range unsorted[] = {R(0x2000, 0x1000, MEM_USABLE),
						R(0x0, 0x1000, MEM_USABLE)};
	const struct bi_mem_range overlap[] = {R(0x0, 0x2000, MEM_USABLE),
					       R(0x1000, 0x1000, MEM_KERNEL)};
	const struct bi_mem_range unaligned[] = {R(0x800, 0x1000, MEM_USABLE)};
	const struct bi_mem_range wraps[] = {
	    R(0xfffffffffffff000ull, 0x2000, MEM_USABLE)};
	const struct bi_mem_range empty_ok[] = {R(0x1000, 0, MEM_USABLE),
						R(0x1000, 0x1000, MEM_USABLE)};
	struct bi_mem_range out[4];

	CHECK_EQ(plan(unsorted, 2, &params_1g, NULL), -ERR_INVALID);
	CHECK_EQ(plan(overlap, 2, &params_1g, NULL), -ERR_INVALID);
	CHECK_EQ(plan(unaligned, 1, &params_1g, NULL), -ERR_INVALID);
	CHECK_EQ(plan(wraps, 1, &params_1g, NULL), -ERR_INVALID);
	CHECK_EQ(rec.n, 0);
	CHECK_EQ(dmap_clip_map(unsorted, 2, &params_1g, out, 4), -ERR_INVALID);
	CHECK_EQ(plan(empty_ok, 2, &params_1g, NULL), 0);
	CHECK_PIECES(&rec, MAPPED(0x1000, 0x1000, PT_L1));
	/* An empty map: nothing but the PML4. */
	struct dmap_summary s;
	CHECK_EQ(plan(NULL, 0, &params_1g, &s), 0);
	CHECK_EQ(s.min_tables, 1);
	CHECK_EQ(s.pieces, 0);
}

/* The callback's nonzero value stops the plan and comes back. */
static int stop_at_second(void *ctx, const struct dmap_piece *p)
{
	int *seen = ctx;
	return ++*seen == 2 ? 42 : 0;
}

static void test_stop(void)
{
	const struct bi_mem_range map[] = {R(0x0, 0x1000, MEM_USABLE),
					   R(0x3000, 0x1000, MEM_USABLE),
					   R(0x5000, 0x1000, MEM_USABLE)};
	int seen = 0;
	CHECK_EQ(dmap_plan(map, 3, &params_1g, stop_at_second, &seen, NULL),
		 42);
	CHECK_EQ(seen, 2);
}

/* The allocator's view: refused RAM becomes reserved, split at the
 * reach; everything else is unchanged. */
static void test_clip_map(void)
{
	const struct bi_mem_range map[] = {
	    R(0x0, 2 * GiB, MEM_USABLE),
	    R_UC(2 * GiB, GiB, MEM_USABLE),
	    R_UC(3 * GiB, MiB, MEM_FRAMEBUFFER),
	    R(4 * GiB, 4 * GiB, MEM_LOADER_RECLAIM),
	    R(8 * GiB, GiB, MEM_USABLE),
	};
	const struct dmap_params p = {6 * GiB, 64 * TiB, true};
	struct bi_mem_range out[8];

	CHECK_EQ(dmap_clip_map(map, 5, &p, out, 8), 6);
	const struct bi_mem_range want[] = {
	    R(0x0, 2 * GiB, MEM_USABLE),
	    R_UC(2 * GiB, GiB, MEM_RESERVED),
	    R_UC(3 * GiB, MiB, MEM_FRAMEBUFFER),
	    R(4 * GiB, 2 * GiB, MEM_LOADER_RECLAIM),
	    R(6 * GiB, 2 * GiB, MEM_RESERVED),
	    R(8 * GiB, GiB, MEM_RESERVED),
	};
	for (uint32_t i = 0; i < 6; i++) {
		CHECK_EQ(out[i].base, want[i].base);
		CHECK_EQ(out[i].size, want[i].size);
		CHECK_EQ(out[i].type, want[i].type);
		CHECK_EQ(out[i].attr, want[i].attr);
	}
	CHECK_EQ(dmap_clip_map(map, 5, &p, out, 5), -ERR_TOOBIG);
}

/* ---- random maps, checked page by page and against pt_map ---- */

/* Physical memory for table pages. */
#define ARENA_BASE  0x0000000140000000ull
#define ARENA_PAGES 4096u
static struct arena arena;

static uint64_t rng = 0x853c49e6748fea9bull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A map like firmware's: RAM of several types with odd alignments,
 * holes, MMIO, the odd range without WB; unsorted input, normalised by
 * memmap (as every loader does). */
static uint32_t random_map(struct bi_mem_range *storage, uint32_t cap,
			   uint64_t span)
{
	static const uint32_t types[] = {
	    MEM_USABLE,
	    MEM_USABLE,
	    MEM_USABLE,
	    MEM_LOADER_RECLAIM,
	    MEM_ACPI_RECLAIM,
	    MEM_ACPI_NVS,
	    MEM_KERNEL,
	    MEM_PAGE_TABLES,
	    MEM_FW_RUNTIME_CODE,
	    MEM_FW_RUNTIME_DATA,
	    MEM_RESERVED,
	    MEM_FRAMEBUFFER,
	    MEM_BAD,
	};
	static const uint64_t sizes[] = {PAGE_SIZE, 0x7000,  0x9f000,
					 MiB,       2 * MiB, 0x3ff000,
					 64 * MiB,  GiB,     3 * GiB + 0x5000};
	struct memmap m;
	uint32_t adds = 1 + rnd() % 40;
	memmap_init(&m, storage, cap);
	for (uint32_t k = 0; k < adds; k++) {
		uint64_t base = rnd() % span & ~(PAGE_SIZE - 1);
		if (rnd() % 2)
			base &= ~(2 * MiB - 1);
		uint64_t size = sizes[rnd() % ARRAY_SIZE(sizes)];
		uint32_t type = types[rnd() % ARRAY_SIZE(types)];
		uint32_t attr = rnd() % 8 ? mem_type_default_attr(type) : 0;
		memmap_add_attr(&m, base, size, type, attr);
	}
	return m.count;
}

/* Intervals with a read-only flag, adjacent equal ones merged. */
struct spans {
	uint64_t s[512], e[512];
	bool ro[512];
	uint32_t n;
};

static void spans_add(struct spans *x, uint64_t s, uint64_t e, bool ro)
{
	if (x->n && x->e[x->n - 1] == s && x->ro[x->n - 1] == ro) {
		x->e[x->n - 1] = e;
		return;
	}
	if (x->n < ARRAY_SIZE(x->s)) {
		x->s[x->n] = s;
		x->e[x->n] = e;
		x->ro[x->n++] = ro;
	}
}

/* Pieces are ascending, disjoint and aligned to their leaf, and together
 * cover exactly the write-back RAM below the reach (the kernel's part
 * read-only): computed here from the map directly, as merged intervals,
 * and compared. */
static void check_plan_pages(const struct bi_mem_range *map, uint32_t n,
			     const struct dmap_params *p, int round)
{
	uint64_t reach = dmap_reach(p), prev_end = 0;
	static struct spans want, got;

	want.n = got.n = 0;
	for (uint32_t i = 0; i < rec.n; i++) {
		const struct dmap_piece *x = &rec.p[i];
		CHECK_MSG(x->phys >= prev_end && x->size > 0,
			  "round %d piece %u out of order", round, i);
		prev_end = x->phys + x->size;
		if (x->kind != DMAP_MAP)
			continue;
		CHECK_MSG(IS_ALIGNED(x->phys | x->size, PT_SIZE(x->leaf)),
			  "round %d piece %u not aligned to its leaf", round,
			  i);
		CHECK(x->leaf == PT_L1 || x->leaf == PT_L2 ||
		      (x->leaf == PT_L3 && p->page1g));
		spans_add(&got, x->phys, x->phys + x->size, x->readonly);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct bi_mem_range *r = &map[i];
		uint64_t end =
		    r->base + r->size < reach ? r->base + r->size : reach;
		if (dmap_type_mapped(r->type) && (r->attr & BI_MEM_WB) &&
		    r->base < end)
			spans_add(&want, r->base, end, r->type == MEM_KERNEL);
	}
	CHECK_MSG(got.n == want.n, "round %d: %u mapped spans, %u expected",
		  round, got.n, want.n);
	for (uint32_t i = 0; i < got.n && i < want.n; i++)
		CHECK_MSG(got.s[i] == want.s[i] && got.e[i] == want.e[i] &&
			      got.ro[i] == want.ro[i],
			  "round %d span %u: %#llx-%#llx ro %d, expected "
			  "%#llx-%#llx ro %d",
			  round, i, (unsigned long long)got.s[i],
			  (unsigned long long)got.e[i], got.ro[i],
			  (unsigned long long)want.s[i],
			  (unsigned long long)want.e[i], want.ro[i]);
}

/* Maps the pieces with pt_map (each at its leaf) and, separately, each
 * run with pt_map choosing its own leaves: the tables used must be the
 * plan's minimum, and the leaves the same as the plan's. */
struct leaf_count {
	uint64_t n[4];
};

static int count_leaf(void *arg, const struct pt_leaf *l)
{
	((struct leaf_count *)arg)->n[l->level]++;
	return 0;
}

static void check_against_pt_map(const struct dmap_params *p,
				 const struct dmap_summary *s, int round)
{
	struct pt_env env = {
	    .alloc = arena_alloc,
	    .table = arena_table,
	    .ctx = &arena,
	    .phys_mask = 0x000ffffffffff000ull & ((1ull << 46) - 1),
	    .nx = true,
	    .page1g = p->page1g,
	};
	struct page_table pt;

	arena_reset(&arena);
	CHECK_EQ(pt_init(&pt, &env), 0);
	for (uint32_t i = 0; i < rec.n; i++) {
		const struct dmap_piece *x = &rec.p[i];
		if (x->kind != DMAP_MAP)
			continue;
		CHECK_EQ(pt_map(&pt, DMAP_VIRT_BASE + x->phys, x->phys, x->size,
				(x->readonly ? 0 : PTE_W) | PTE_NX, x->leaf,
				NULL),
			 0);
	}
	CHECK_MSG(env.tables_allocated == s->min_tables,
		  "round %d: pt_map used %llu tables, plan says %llu", round,
		  (unsigned long long)env.tables_allocated,
		  (unsigned long long)s->min_tables);

	/* pt_map left to choose, run by run (contiguous pieces). */
	arena_reset(&arena);
	env.tables_allocated = 0;
	CHECK_EQ(pt_init(&pt, &env), 0);
	for (uint32_t i = 0; i < rec.n;) {
		if (rec.p[i].kind != DMAP_MAP) {
			i++;
			continue;
		}
		uint64_t start = rec.p[i].phys, end = start + rec.p[i].size;
		bool ro = rec.p[i].readonly;
		for (i++; i < rec.n && rec.p[i].kind == DMAP_MAP &&
			  rec.p[i].phys == end && rec.p[i].readonly == ro;
		     i++)
			end += rec.p[i].size;
		CHECK_EQ(pt_map(&pt, DMAP_VIRT_BASE + start, start, end - start,
				PTE_W, PT_L3, NULL),
			 0);
	}
	struct leaf_count c = {{0}};
	pt_for_each_leaf(&pt, count_leaf, &c);
	for (int l = PT_L1; l <= PT_L3; l++)
		CHECK_MSG(c.n[l] == s->leaves[l],
			  "round %d: %s leaves: pt_map %llu, plan %llu", round,
			  pt_level_name(l), (unsigned long long)c.n[l],
			  (unsigned long long)s->leaves[l]);
}

/* The allocator's view agrees with the plan: the parts of the clipped
 * map that keep a RAM type are exactly the mapped pieces (the rest of
 * the RAM became reserved), and the clip covers what the map covers. */
static void check_clip_matches_plan(const struct bi_mem_range *map, uint32_t n,
				    const struct dmap_params *p, int round)
{
	static struct bi_mem_range clip[DMAP_CLIP_MAX(256)];
	static struct spans ram, mapped;
	uint64_t map_bytes = 0, clip_bytes = 0;
	int k = dmap_clip_map(map, n, p, clip, DMAP_CLIP_MAX(n));

	CHECK_MSG(k >= 0, "round %d: clip refused (%d)", round, k);
	ram.n = mapped.n = 0;
	for (int i = 0; i < k; i++) {
		clip_bytes += clip[i].size;
		if (dmap_type_mapped(clip[i].type) && clip[i].size)
			spans_add(&ram, clip[i].base,
				  clip[i].base + clip[i].size,
				  clip[i].type == MEM_KERNEL);
	}
	for (uint32_t i = 0; i < n; i++)
		map_bytes += map[i].size;
	for (uint32_t i = 0; i < rec.n; i++)
		if (rec.p[i].kind == DMAP_MAP)
			spans_add(&mapped, rec.p[i].phys,
				  rec.p[i].phys + rec.p[i].size,
				  rec.p[i].readonly);
	CHECK_MSG(clip_bytes == map_bytes,
		  "round %d: clip covers %#llx of %#llx", round,
		  (unsigned long long)clip_bytes,
		  (unsigned long long)map_bytes);
	CHECK_MSG(ram.n == mapped.n,
		  "round %d: %u RAM spans in the clip, %u mapped", round, ram.n,
		  mapped.n);
	for (uint32_t i = 0; i < ram.n && i < mapped.n; i++)
		CHECK_MSG(ram.s[i] == mapped.s[i] && ram.e[i] == mapped.e[i],
			  "round %d span %u: clip %#llx-%#llx, mapped "
			  "%#llx-%#llx",
			  round, i, (unsigned long long)ram.s[i],
			  (unsigned long long)ram.e[i],
			  (unsigned long long)mapped.s[i],
			  (unsigned long long)mapped.e[i]);
}

static void test_random_maps(void)
{
	static struct bi_mem_range storage[256];
	arena_init(&arena, ARENA_BASE, ARENA_PAGES);
	for (int round = 0; round < 2000 && check_case_ok; round++) {
		/* Small spans keep the pt_map comparison fast; some rounds
		 * shrink MAXPHYADDR or the room to force refusals. */
		uint64_t span = round % 3 ? 8 * GiB : 64 * GiB;
		struct dmap_params p = {1ull << 46, DMAP_VIRT_ROOM,
					round % 2 == 0};
		if (round % 5 == 1)
			p.phys_limit = 4 * GiB;
		if (round % 7 == 2)
			p.virt_room = 3 * GiB + 2 * MiB;
		uint32_t n = random_map(storage, ARRAY_SIZE(storage), span);
		struct dmap_summary s;
		CHECK_EQ(plan(storage, n, &p, &s), 0);
		CHECK(!rec.overflow);
		check_plan_pages(storage, n, &p, round);
		check_clip_matches_plan(storage, n, &p, round);
		if (span == 8 * GiB)
			check_against_pt_map(&p, &s, round);
	}
	arena_fini(&arena);
}

/* A map of 1,500 entries: the plan is linear and needs no storage. */
static void test_long_map(void)
{
	static struct bi_mem_range map[1500];
	struct dmap_summary s;
	for (uint32_t i = 0; i < 1500; i++)
		map[i] = (struct bi_mem_range){
		    (uint64_t)i * 4 * MiB, 2 * MiB,
		    i % 3 ? MEM_USABLE : MEM_ACPI_NVS, BI_MEM_WB};
	CHECK_EQ(dmap_plan(map, 1500, &params_1g, NULL, NULL, &s), 0);
	CHECK_EQ(s.pieces, 1500);
	CHECK_EQ(s.leaves[PT_L2], 1500);
	CHECK_EQ(s.mapped_bytes, 1500 * 2 * MiB);
}

/* ---- mm_init's steps: dmap_frames_init and dmap_build ---- */

/* The kernel's parameters for a CPU. */
static void test_params_of(void)
{
	struct cpu_features cpu = {.maxphyaddr = 39, .page1g = false};
	struct dmap_params p = dmap_params_of(&cpu);
	CHECK_EQ(p.phys_limit, 1ull << 39);
	CHECK_EQ(p.virt_room, DMAP_VIRT_ROOM);
	CHECK(!p.page1g);
	cpu.page1g = true;
	CHECK(dmap_params_of(&cpu).page1g);
}

struct store {
	void *mem;
	uint64_t phys, bytes;
	bool refuse;
};

static void *give_store(void *ctx, uint64_t phys, uint64_t bytes)
{
	struct store *st = ctx;
	st->phys = phys;
	st->bytes = bytes;
	if (st->refuse)
		return NULL;
	st->mem = aligned_alloc(PAGE_SIZE, bytes);
	return st->mem;
}

/* The allocator sees the map as the direct map reaches it: RAM above
 * MAXPHYADDR is never handed out. Each failure names its step. */
static void test_frames_init(void)
{
	const struct bi_mem_range map[] = {
	    R(0x1000, 0x9e000, MEM_USABLE),
	    R(MiB, 15 * MiB, MEM_USABLE),
	    R(4 * GiB - 2 * MiB, 4 * MiB, MEM_USABLE),
	};
	const struct dmap_params p = {4 * GiB, DMAP_VIRT_ROOM, false};
	struct bi_mem_range clip[DMAP_CLIP_MAX(3)];
	struct store st = {0};
	struct frames fa;
	char why[192] = "";
	uint64_t pa, highest = 0;

	CHECK_EQ(dmap_frames_init(&fa, map, 3, &p, clip, ARRAY_SIZE(clip),
				  give_store, &st, why, sizeof(why)),
		 0);
	CHECK_EQ(st.phys, MiB);
	CHECK_EQ(fa.store_phys, MiB);
	CHECK_EQ(fa.store_bytes, st.bytes);
	CHECK_EQ(fa.reserved_bytes, 2 * MiB); /* the part above 4 GiB */
	while ((pa = frames_alloc(&fa)) != 0)
		highest = pa > highest ? pa : highest;
	CHECK_EQ(highest, 4 * GiB - PAGE_SIZE);
	free(st.mem);

	/* The storage callback says no. */
	st.refuse = true;
	CHECK_EQ(dmap_frames_init(&fa, map, 3, &p, clip, ARRAY_SIZE(clip),
				  give_store, &st, why, sizeof(why)),
		 -ERR_NOMEM);
	CHECK_STR(why, "no way to write the frame allocator's bitmaps at "
		       "0x100000 (4096 bytes)");
	/* No room for the straddling range's two halves. */
	CHECK_EQ(dmap_frames_init(&fa, map, 3, &p, clip, 3, give_store, &st,
				  why, sizeof(why)),
		 -ERR_TOOBIG);
	CHECK_STR(why, "memory map refused by the direct-map plan (error -6)");
	/* Usable RAM only below 1 MiB. */
	CHECK_EQ(dmap_frames_init(&fa, map, 1, &p, clip, ARRAY_SIZE(clip),
				  give_store, &st, why, sizeof(why)),
		 -ERR_NOMEM);
	CHECK_STR(why, "no usable range above 1 MiB holds the frame "
		       "allocator's bitmaps");
}

static int count_refusals(void *ctx, const struct dmap_piece *p)
{
	*(int *)ctx += p->kind != DMAP_MAP;
	return 0;
}

/* The direct map built into real tables: pieces touching each other
 * are one run (the image's read-only ones too), every piece goes into
 * the caller's tally, the image is read-only and everything NX; each
 * failure names its cause in the kernel's words. */
static void test_build(void)
{
	const struct bi_mem_range map[] = {
	    R(0x1000, 0x9e000, MEM_USABLE),
	    R(MiB, 3 * MiB, MEM_USABLE),
	    R(4 * MiB, 2 * MiB, MEM_KERNEL),
	    R_UC(6 * MiB, PAGE_SIZE, MEM_FW_RUNTIME_DATA),
	};
	struct pt_env env = {
	    .alloc = arena_alloc,
	    .table = arena_table,
	    .ctx = &arena,
	    .phys_mask = 0x000ffffffffff000ull & ((1ull << 46) - 1),
	    .nx = true,
	};
	struct page_table pt;
	struct dmap_run runs[4];
	struct pt_tally tally;
	int refusals = 0;
	struct dmap_build b = {
	    .pt = &pt,
	    .nx = PTE_NX,
	    .tally = &tally,
	    .runs = runs,
	    .run_cap = ARRAY_SIZE(runs),
	    .fn = count_refusals,
	    .ctx = &refusals,
	};
	uint64_t entry;

	arena_init(&arena, ARENA_BASE, 64);
	CHECK_EQ(pt_init(&pt, &env), 0);
	pt_tally_init(&tally);
	CHECK_EQ(dmap_build(map, ARRAY_SIZE(map), &params_2m, &b), 0);
	CHECK_STR(b.why, "");
	CHECK_EQ(b.run_count, 2);
	CHECK_EQ(runs[0].start, 0x1000);
	CHECK_EQ(runs[0].end, 0x9f000);
	CHECK_EQ(runs[1].start, MiB);
	CHECK_EQ(runs[1].end, 6 * MiB);
	CHECK_EQ(refusals, 1);
	CHECK_EQ(b.sum.refusals, 1);
	CHECK_EQ(pt_tally_result(&tally), env.tables_allocated);
	CHECK_EQ(b.sum.min_tables, env.tables_allocated);
	CHECK_EQ(pt_translate(&pt, DMAP_VIRT_BASE + 4 * MiB, NULL, &entry, NULL,
			      NULL),
		 0);
	CHECK((entry & (PTE_W | PTE_NX | PTE_G)) == (PTE_NX | PTE_G));
	CHECK_EQ(pt_translate(&pt, DMAP_VIRT_BASE + 2 * MiB, NULL, &entry, NULL,
			      NULL),
		 0);
	CHECK((entry & (PTE_W | PTE_NX)) == (PTE_W | PTE_NX));

	/* One run of room for two. */
	arena_reset(&arena);
	CHECK_EQ(pt_init(&pt, &env), 0);
	b.tally = NULL;
	b.run_cap = 1;
	CHECK_EQ(dmap_build(map, ARRAY_SIZE(map), &params_2m, &b), -ERR_TOOBIG);
	CHECK_STR(b.why, "direct map: more than 1 runs");

	/* No table pages. */
	arena_reset(&arena);
	CHECK_EQ(pt_init(&pt, &env), 0);
	arena.fail = true;
	b.run_cap = ARRAY_SIZE(runs);
	CHECK_EQ(dmap_build(map, ARRAY_SIZE(map), &params_2m, &b), -ERR_NOMEM);
	CHECK_EQ(b.fail_va, DMAP_VIRT_BASE + 0x1000);
	CHECK_STR(b.why, "out of memory for page tables mapping the direct "
			 "map at 0xffff800000001000 (before the switch only "
			 "memory under the boot identity map can be used)");
	arena.fail = false;

	/* A map out of order. */
	const struct bi_mem_range unsorted[] = {map[1], map[0]};
	CHECK_EQ(dmap_build(unsorted, 2, &params_2m, &b), -ERR_INVALID);
	CHECK_STR(b.why, "direct map: the memory map was refused (error -1)");
	CHECK_EQ(b.run_count, 0);
	arena_fini(&arena);
}

int main(void)
{
	RUN(test_leaves);
	RUN(test_runs);
	RUN(test_refusals);
	RUN(test_bad_input);
	RUN(test_stop);
	RUN(test_clip_map);
	RUN(test_random_maps);
	RUN(test_long_map);
	RUN(test_params_of);
	RUN(test_frames_init);
	RUN(test_build);
	return check_summary();
}
