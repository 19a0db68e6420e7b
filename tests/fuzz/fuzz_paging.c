/*
 * pt_map, pt_unmap, pt_protect and pt_translate in any order, against a
 * model of every page, through the walk cache and the single-page paths.
 *
 * Input: byte 0 picks the setup (bit 0: tables at phys + table_offset,
 * else through table(); bit 1: NXE; bit 2: 1 GiB pages); then 4 bytes per
 * operation:
 *
 *   byte 0  bits 0-1 what: map, unmap, protect, translate
 *           bits 2-3 how many pages: 1, 1, 2..17 (byte 3 bits 4-7 + 2),
 *                    512 (2 MiB aligned)
 *           bit 4    a bad argument: an attribute outside PTE_ATTR_MASK,
 *                    or a va off by 0x800 (both must be -ERR_INVALID)
 *           bits 5-7 attributes (an index into attrs[])
 *   byte 1, byte 2 bits 0-4: the first page, of 2 windows x 8192 pages
 *           (32 MiB each, in the lower and the upper half)
 *   byte 3  bits 0-3: the frame, and whether it is congruent to va
 *           modulo 2 MiB (so that 2 MiB leaves happen)
 *
 * After every operation its result is checked against the model, every
 * table's count of present entries (PTE_COUNTED) against the table, then
 * the pages it touched and two others are translated three times,
 * through the cache for the physical address alone and with the entry,
 * and by a walk from the PML4 (w), and each compared with the model. At the end
 * every leaf is compared with the model and everything unmapped, which must
 * free every table but the root.
 */
#include "common/mm/paging.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/unit/arena.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PHYS_BASE   0x0000000200000000ull
#define ARENA_PAGES 2048u
#define WIN_PAGES   8192u
#define K4          PAGE_SIZE_4K
#define M2          PAGE_SIZE_2M

static const uint64_t win_base[2] = {0x0000000040000000ull,
				     0xffffffffc0000000ull};
static const uint64_t attrs[8] = {
    0,     PTE_W,         PTE_W | PTE_NX,    PTE_NX | PTE_G,
    PTE_U, PTE_U | PTE_W, PTE_PCD | PTE_PWT, PTE_W | PTE_G | PTE_NX,
};

struct page {
	uint64_t pa; /* 0: not mapped (frame 0 is never used) */
	uint64_t attr;
};

static struct page model[2][WIN_PAGES];
static struct arena arena;

static uint64_t page_va(uint32_t p)
{
	return win_base[p / WIN_PAGES] + (uint64_t)(p % WIN_PAGES) * K4;
}

static struct page *model_of(uint32_t p)
{
	return &model[p / WIN_PAGES][p % WIN_PAGES];
}

/* Page p translates, through the cache and from the root, as the model
 * says. */
static void check_page(struct page_table *pt, uint32_t p)
{
	const struct page *m = model_of(p);
	struct pt_walk w;
	uint64_t pa[3] = {0, 0, 0}, e[3] = {0, 0, 0};
	int rc[3];
	/* The physical address alone (its own path), then with the entry,
	 * then with a walk from the root. */
	rc[2] = pt_translate(pt, page_va(p) + 0x123, &pa[2], NULL, NULL, NULL);
	rc[0] = pt_translate(pt, page_va(p) + 0x123, &pa[0], &e[0], NULL, NULL);
	rc[1] = pt_translate(pt, page_va(p) + 0x123, &pa[1], &e[1], NULL, &w);
	e[2] = e[0];
	for (int i = 0; i < 3; i++) {
		if (!m->pa) {
			FUZZ_ASSERT(rc[i] == -ERR_NOTFOUND);
			continue;
		}
		FUZZ_ASSERT(rc[i] == 0);
		FUZZ_ASSERT(pa[i] == m->pa + 0x123);
		FUZZ_ASSERT((e[i] & PTE_ATTR_MASK) == m->attr);
	}
}

/* Each page of each leaf is as the model says; counts them. */
static int check_leaf(void *arg, const struct pt_leaf *leaf)
{
	for (uint64_t off = 0; off < leaf->size; off += K4) {
		uint64_t va = leaf->va + off;
		int w = va >= win_base[1];
		FUZZ_ASSERT(va >= win_base[w] &&
			    va - win_base[w] < WIN_PAGES * K4);
		const struct page *m = &model[w][(va - win_base[w]) / K4];
		FUZZ_ASSERT(m->pa == leaf->pa + off);
		FUZZ_ASSERT((leaf->entry & PTE_ATTR_MASK) == m->attr);
	}
	*(uint64_t *)arg += leaf->size / K4;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!arena.mem)
		arena_init(&arena, PHYS_BASE, ARENA_PAGES);
	arena_reset(&arena);
	memset(model, 0, sizeof(model));
	struct pt_env env = {
	    .alloc = arena_alloc,
	    .free = arena_free,
	    .table = arena_table,
	    .ctx = &arena,
	    .phys_mask = PTE_ADDR_MAX_MASK & ((1ull << 46) - 1),
	    .nx = data[0] & 2,
	    .page1g = data[0] & 4,
	};
	if (data[0] & 1) {
		env.table = NULL;
		env.table_offset = (uint64_t)(uintptr_t)arena.mem - PHYS_BASE;
	}
	struct page_table pt;
	FUZZ_ASSERT(pt_init(&pt, &env) == 0);

	for (size_t at = 1; at + 4 <= size; at += 4) {
		const uint8_t *op = data + at;
		int what = op[0] & 3, how = (op[0] >> 2) & 3;
		bool bad = op[0] & 0x10;
		uint64_t attr = attrs[op[0] >> 5];
		uint32_t first = (op[1] | (uint32_t)(op[2] & 0x1f) << 8);
		uint32_t n = how < 2 ? 1 : how == 2 ? 2 + (op[3] >> 4) : 512;
		if (how == 3)
			first &= ~511u;
		if (first % WIN_PAGES + n > WIN_PAGES)
			n = WIN_PAGES - first % WIN_PAGES;
		uint64_t va = page_va(first), len = (uint64_t)n * K4;
		if (!env.nx)
			attr &= ~PTE_NX;
		if (bad && (op[3] & 1))
			va += 0x800;
		else if (bad)
			attr |= PTE_PS;

		uint32_t stop = n; /* the first page the model says stops it */
		int rc;
		switch (what) {
		case 0: { /* map */
			uint64_t pa = (1 + (op[3] & 7)) * 64 * M2;
			pa += (op[3] & 8) ? va % M2 : (1 + (op[3] & 7)) * K4;
			uint64_t fail = 0;
			rc = pt_map(&pt, va, pa, len, attr, PT_L2, &fail);
			for (uint32_t i = 0; i < n && stop == n; i++)
				if (model_of(first + i)->pa)
					stop = i;
			if (bad) {
				FUZZ_ASSERT(rc == -ERR_INVALID);
				break;
			}
			/* The first page mapped already stops it; the
			 * tables are plenty for what fits in the windows. */
			FUZZ_ASSERT(stop == n ? rc == 0
					      : rc == -ERR_EXISTS &&
						    fail == va + stop * K4);
			for (uint32_t i = 0; i < stop; i++)
				*model_of(first + i) =
				    (struct page){pa + i * K4, attr};
			break;
		}
		case 1: /* unmap */
			rc = pt_unmap(&pt, va, len);
			FUZZ_ASSERT(rc ==
				    (bad && (op[3] & 1) ? -ERR_INVALID : 0));
			if (rc == 0)
				for (uint32_t i = 0; i < n; i++)
					model_of(first + i)->pa = 0;
			break;
		case 2: /* protect */
			rc = pt_protect(&pt, va, len, attr);
			if (bad) {
				FUZZ_ASSERT(rc == -ERR_INVALID);
				break;
			}
			for (uint32_t i = 0; i < n && stop == n; i++)
				if (!model_of(first + i)->pa)
					stop = i;
			FUZZ_ASSERT(rc == (stop == n ? 0 : -ERR_NOTFOUND));
			for (uint32_t i = 0; i < stop; i++)
				model_of(first + i)->attr = attr;
			break;
		default: /* translate only */
			break;
		}
		/* Every table's count is right, and none is left empty. */
		struct pt_audit a;
		pt_audit(&pt, &a);
		FUZZ_ASSERT(!a.wrong && !a.uncounted && !a.empty);
		for (uint32_t i = 0; i < n && i < 4; i++)
			check_page(&pt, first + i);
		check_page(&pt, (first + n) % (2 * WIN_PAGES));
		check_page(&pt,
			   (first + 512 * (op[3] & 0xf)) % (2 * WIN_PAGES));
	}

	uint64_t mapped = 0, counted = 0;
	for (uint32_t p = 0; p < 2 * WIN_PAGES; p++)
		mapped += model_of(p)->pa != 0;
	FUZZ_ASSERT(pt_for_each_leaf(&pt, check_leaf, &counted) == 0);
	FUZZ_ASSERT(counted == mapped);
	for (int w = 0; w < 2; w++)
		FUZZ_ASSERT(pt_unmap(&pt, win_base[w], WIN_PAGES * K4) == 0);
	FUZZ_ASSERT(env.tables_allocated - env.tables_freed == 1);
	FUZZ_ASSERT(arena.in_use == 1);
	return 0;
}
