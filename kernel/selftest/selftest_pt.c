/*
 * Self-tests of the page-table code and the allocator against the live
 * kernel: the direct map and the image alias the same frames, map /
 * translate / unmap round trips keep the TLB in step, a 2 MiB leaf splits
 * without losing a page, the validator refuses what hardware would, the
 * allocators report exhaustion instead of failing silently, and reclaimed
 * memory is real memory.
 *
 * The tests that change the live tables use SELFTEST_VA and undo every
 * change; the last two check that nothing was left behind (no W^X
 * violation, no table page beyond the arithmetic minimum).
 */
#include "common/mm/frames.h"
#include "common/mm/paging.h"
#include "kernel/boot/handoff.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/ptdump.h"
#include "kernel/selftest/selftest_lib.h"

static uint64_t va_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* --- the page-table code against the live tables --- */

static volatile uint64_t alias_word = 1;

/* The kernel image and the direct map reach the same frame, and the
 * direct map's alias of the image is read-only: a write through it
 * faults and changes nothing. */
static const char *direct_map_alias(struct st_ctx *c)
{
	uint64_t pa;
	if (pt_translate(mm_kernel_pt(), va_of((const void *)&alias_word), &pa,
			 NULL, NULL, NULL))
		return "the kernel's own .data does not translate";
	volatile uint64_t *dmap = phys_to_virt(pa);
	alias_word = 0x5eed0001;
	if (*dmap != 0x5eed0001)
		return st_fail(c, "direct map at 0x%lx reads 0x%lx",
			       va_of((const void *)dmap), *dmap);
	const char *why = st_expect(c, st_write, (void *)dmap, TRAP_PF,
				    PF_CHECKED, PF_P | PF_W, NULL);
	if (why)
		return why;
	if (alias_word != 0x5eed0001)
		return "the faulting direct-map write changed the image";
	return NULL;
}

/* Map, translate, use, unmap; the unmapped page must fault although it
 * was just used (so was in the TLB) and is global (so a CR3 write would
 * not have dropped it): pt_unmap's INVLPG is what makes it fault. */
static const char *map_unmap_tlb(struct st_ctx *c)
{
	uint64_t va = SELFTEST_VA, pa, got, entry;
	int level;
	pa = st_map_page(c, va, st_data_attr(c));
	if (!pa)
		return c->why;
	if (pt_translate(mm_kernel_pt(), va + 0x10, &got, &entry, &level,
			 NULL) ||
	    got != pa + 0x10 || level != PT_L1 || !(entry & PTE_W)) {
		st_unmap_page(va, pa);
		return st_fail(c, "translate gave 0x%lx level %d entry 0x%lx",
			       got, level, entry);
	}
	*(volatile uint64_t *)va = 0xfeedface;
	uint64_t seen = *(volatile uint64_t *)phys_to_virt(pa);
	st_unmap_page(va, pa);
	if (seen != 0xfeedface)
		return st_fail(c, "direct map read 0x%lx", seen);
	if (pt_translate(mm_kernel_pt(), va, NULL, NULL, NULL, NULL) !=
	    -ERR_NOTFOUND)
		return "still translates after pt_unmap";
	return st_expect(c, st_read, (void *)va, TRAP_PF, PF_CHECKED, 0, NULL);
}

static const char *remap_refused(struct st_ctx *c)
{
	uint64_t pa = st_map_page(c, SELFTEST_VA, st_data_attr(c));
	if (!pa)
		return c->why;
	int rc = pt_map(mm_kernel_pt(), SELFTEST_VA, pa, PAGE_SIZE,
			st_data_attr(c), PT_L1, NULL);
	st_unmap_page(SELFTEST_VA, pa);
	return rc == -ERR_EXISTS
		   ? NULL
		   : st_fail(c, "remap returned %d, not -ERR_EXISTS", rc);
}

#define SPLIT_PAGES 512
#define SPLIT_RO    5 /* the page made read-only */

/*
 * The pages whose contents are written before the split and read after
 * it, through the CPU: the first and last, the read-only one and its
 * neighbours, the middle pair, and a few between. Not all 512: the
 * frames are fresh, and where a hypervisor backs guest memory only when
 * it is first touched, touching 512 of them took seconds (README, "What
 * page-table updates cost"). Every one of the 512 entries is still
 * checked for its frame and attributes.
 */
static const uint16_t split_sampled[] = {
    0, 1, SPLIT_RO - 1, SPLIT_RO, SPLIT_RO + 1, 97, 255, 256, 383, 510, 511,
};

static uint64_t pattern(uint64_t page, uint64_t word)
{
	return 0xa5a5000000000000ull | page << 16 | word;
}

/* Every page of the split leaf: same frame and the attributes it had
 * (the read-only one excepted); the sampled ones, the same contents. */
static const char *check_split(struct st_ctx *c, uint64_t va, uint64_t pa)
{
	for (uint64_t i = 0; i < SPLIT_PAGES; i++) {
		uint64_t got, entry, want = st_data_attr(c);
		int level;
		if (i == SPLIT_RO)
			want &= ~PTE_W;
		if (pt_translate(mm_kernel_pt(), va + i * PAGE_SIZE, &got,
				 &entry, &level, NULL) ||
		    level != PT_L1 || got != pa + i * PAGE_SIZE ||
		    (entry & PTE_ATTR_MASK) != want)
			return st_fail(c, "page %lu: level %d entry 0x%lx", i,
				       level, entry);
	}
	for (size_t s = 0; s < ARRAY_SIZE(split_sampled); s++) {
		uint64_t i = split_sampled[s];
		const volatile uint64_t *p =
		    (const volatile uint64_t *)(va + i * PAGE_SIZE);
		for (uint64_t w = 0; w < PAGE_SIZE / 8; w++)
			if (p[w] != pattern(i, w))
				return st_fail(c, "page %lu word %lu is 0x%lx",
					       i, w, p[w]);
	}
	return NULL;
}

static const char *split_2m(struct st_ctx *c)
{
	struct page_table *pt = mm_kernel_pt();
	uint64_t va = SELFTEST_VA, ro = va + SPLIT_RO * PAGE_SIZE;
	int level = 0;
	uint64_t pa = frames_alloc_run(mm_frames(), SPLIT_PAGES, PAGE_SIZE_2M);
	if (!pa)
		return "no free 2 MiB run";
	const char *why = NULL;
	int rc = pt_map(pt, va, pa, PAGE_SIZE_2M, st_data_attr(c), PT_L2, NULL);
	if (rc || pt_translate(pt, va, NULL, NULL, &level, NULL) ||
	    level != PT_L2) {
		why = st_fail(c, "pt_map %d, leaf level %d", rc, level);
		goto out;
	}
	for (size_t s = 0; s < ARRAY_SIZE(split_sampled); s++) {
		uint64_t i = split_sampled[s];
		for (uint64_t w = 0; w < PAGE_SIZE / 8; w++)
			((volatile uint64_t *)(va + i * PAGE_SIZE))[w] =
			    pattern(i, w);
	}
	rc = pt_protect(pt, ro, PAGE_SIZE, st_data_attr(c) & ~PTE_W);
	if (rc) {
		why = st_fail(c, "pt_protect returned %d", rc);
		goto out;
	}
	why = check_split(c, va, pa);
	if (!why)
		why = st_expect(c, st_write, (void *)ro, TRAP_PF, PF_CHECKED,
				PF_P | PF_W, NULL);
	if (!why) { /* the neighbours stayed writable */
		st_write((void *)(ro - PAGE_SIZE));
		st_write((void *)(ro + PAGE_SIZE));
	}
out:
	pt_unmap(pt, va, PAGE_SIZE_2M);
	frames_free(mm_frames(), pa, SPLIT_PAGES);
	return why;
}

/* The validator refuses what a CPU would reject (or misread), and
 * pt_map reports it instead of writing it. */
static const char *reserved_refused(struct st_ctx *c)
{
	const struct pt_env *env = mm_kernel_pt()->env;
	const struct {
		int level;
		uint64_t entry;
		bool ok;
	} cases[] = {
	    {PT_L1, PTE_P | PTE_W | 0x1000, true},   /* a plain page */
	    {PT_L4, PTE_P | PTE_PS | 0x1000, false}, /* PS in a PML4E */
	    {PT_L2, PTE_P | PTE_PS | 0x200000 | 1ull << 13, false},
	    {PT_L3, PTE_P | PTE_PS | PAGE_SIZE_1G | 1ull << 21, false},
	    {PT_L1, PTE_P | 1ull << 52 | 0x1000, false},
	    {PT_L1, PTE_P | PTE_NX | 0x1000, env->nx},
	    {PT_L3, PTE_P | PTE_PS | PAGE_SIZE_1G, env->page1g},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *why =
		    pt_entry_check(env, cases[i].level, cases[i].entry);
		if ((why == NULL) != cases[i].ok)
			return st_fail(
			    c, "%s entry 0x%lx %s%s",
			    pt_level_name(cases[i].level), cases[i].entry,
			    why ? "refused: " : "accepted", why ? why : "");
	}

	/* An address above MAXPHYADDR, when the entry format has room for
	 * one. */
	if (c->cpu->maxphyaddr >= 52)
		return NULL;
	uint64_t above = 1ull << c->cpu->maxphyaddr, fail = 0;
	if (!pt_entry_check(env, PT_L1, PTE_P | above))
		return st_fail(c, "phys 0x%lx accepted", above);
	int rc = pt_map(mm_kernel_pt(), SELFTEST_VA, above, PAGE_SIZE,
			st_data_attr(c), PT_L1, &fail);
	bool mapped = pt_translate(mm_kernel_pt(), SELFTEST_VA, NULL, NULL,
				   NULL, NULL) == 0;
	/* Frees the tables the walk created before the leaf was refused. */
	pt_unmap(mm_kernel_pt(), SELFTEST_VA, PAGE_SIZE);
	if (rc != -ERR_RANGE || fail != SELFTEST_VA || mapped)
		return st_fail(c, "pt_map(phys 0x%lx): %d, fail_va 0x%lx%s",
			       above, rc, fail,
			       mapped ? ", and mapped it" : "");
	return NULL;
}

/* --- the allocator --- */

/* A scratch allocator over a made-up 16-frame map: its frames are never
 * touched, only counted (the bitmaps live in fake_store). */
#define FAKE_FRAMES 16
static uint64_t fake_store[PAGE_SIZE / 8];

static const char *frames_exhaust(struct st_ctx *c)
{
	const struct bi_mem_range map[] = {
	    {.base = 0x100000,
	     .size = FAKE_FRAMES * PAGE_SIZE,
	     .type = MEM_USABLE},
	};
	struct frames fa;
	uint64_t n = 0, last = 0, pa;

	/* store_phys outside the map, so no frame is reserved for it */
	if (frames_init(&fa, map, ARRAY_SIZE(map), fake_store, 0x40000000,
			sizeof(fake_store)))
		return "frames_init refused the map";
	while ((pa = frames_alloc(&fa)) != 0 && n <= FAKE_FRAMES) {
		last = pa;
		n++;
	}
	if (n != FAKE_FRAMES || pa != 0)
		return st_fail(c, "%lu frames before 0, expected %u", n,
			       FAKE_FRAMES);
	if (frames_alloc_run(&fa, 1, PAGE_SIZE) || fa.free_frames)
		return "an exhausted allocator still hands out a run";
	if (frames_free(&fa, last, 1) || frames_alloc(&fa) != last)
		return "a freed frame did not come back";
	if (frames_free(&fa, last, 1))
		return "freeing an allocated frame failed";
	if (frames_free(&fa, last, 1) != -ERR_INVALID)
		return "a double free was not refused";
	return NULL;
}

/* A pt_env whose table allocator gives out `left` more pages. */
struct budget {
	uint64_t left;
};

static uint64_t budget_alloc(void *ctx)
{
	struct budget *b = ctx;
	if (!b->left)
		return 0;
	b->left--;
	return mm_alloc_zeroed();
}

static void budget_free(void *ctx, uint64_t pa)
{
	frames_free(mm_frames(), pa, 1);
}

static uint64_t *budget_table(void *ctx, uint64_t pa)
{
	return phys_to_virt(pa);
}

/* One 4 KiB page needs four tables (PML4, PDPT, PD, PT): with fewer,
 * pt_map returns -ERR_NOMEM and reports the page; nothing leaks. The
 * scratch tables are never loaded. */
static const char *pt_map_nomem(struct st_ctx *c)
{
	uint64_t free_before = mm_frames()->free_frames;
	for (uint64_t tables = 1; tables <= 4; tables++) {
		struct budget b = {tables};
		struct pt_env env = *mm_kernel_pt()->env;
		env.alloc = budget_alloc;
		env.free = budget_free;
		env.table = budget_table;
		env.flush = NULL;
		env.ctx = &b;
		struct page_table pt;
		uint64_t fail = 0;
		if (pt_init(&pt, &env))
			return "no frame for a scratch PML4";
		int rc = pt_map(&pt, SELFTEST_VA, 0x1000, PAGE_SIZE, PTE_W,
				PT_L1, &fail);
		pt_destroy(&pt);
		int want = tables < 4 ? -ERR_NOMEM : 0;
		if (rc != want || (rc && fail != SELFTEST_VA))
			return st_fail(
			    c,
			    "%lu tables: pt_map %d, fail_va 0x%lx, expected %d",
			    tables, rc, fail, want);
	}
	if (mm_frames()->free_frames != free_before)
		return st_fail(c, "%lu frames free before, %lu after",
			       free_before, mm_frames()->free_frames);
	return NULL;
}

/* True when the allocator manages the frame at pa (free or not). */
static bool managed(const struct frames *fa, uint64_t pa)
{
	for (uint32_t i = 0; i < fa->count; i++)
		if (pa >= fa->region[i].base &&
		    (pa - fa->region[i].base) / PAGE_SIZE <
			fa->region[i].frames)
			return true;
	return false;
}

/*
 * Memory the loader used (MEM_LOADER_RECLAIM; on the PVH path the boot
 * page tables, MEM_PAGE_TABLES) belongs to the allocator after mm_init:
 * nothing is left pending, and a free frame of it holds data through the
 * direct map and frees like any other. When no frame of it is free, all
 * of it has been handed out since, which shows it reused just as well.
 */
static const char *reclaimed_usable(struct st_ctx *c)
{
	const struct handoff *h = c->h;
	struct frames *fa = mm_frames();
	uint64_t frames = 0, probe = 0;

	if (fa->pending_frames)
		return st_fail(c, "%lu reclaimable frames never reclaimed",
			       fa->pending_frames);
	for (uint32_t i = 0; i < h->mmap_count && !probe; i++) {
		const struct bi_mem_range *r = &h->mmap[i];
		if (r->type != MEM_LOADER_RECLAIM && r->type != MEM_PAGE_TABLES)
			continue;
		for (uint64_t a = r->base; a < r->base + r->size;
		     a += PAGE_SIZE) {
			if (!managed(fa, a))
				continue;
			frames++;
			if (frames_take(fa, a) == 0) {
				probe = a;
				break;
			}
		}
	}
	if (!frames)
		return "the allocator manages no reclaimed memory";
	if (!probe)
		return NULL; /* every frame of it is in use */
	volatile uint64_t *p = phys_to_virt(probe);
	p[0] = 0xc1a1edc1a1edull;
	p[511] = ~0xc1a1edc1a1edull;
	if (p[0] != 0xc1a1edc1a1edull || p[511] != ~0xc1a1edc1a1edull)
		return st_fail(c, "frame 0x%lx does not hold data", probe);
	if (frames_free(fa, probe, 1) || !frames_is_free(fa, probe))
		return st_fail(
		    c, "frame 0x%lx did not go back to the allocator", probe);
	return NULL;
}

/* phys_to_virt's check: RAM of the map answers with its direct-map
 * address; the LAPIC, the framebuffer and a gap between map ranges do
 * not (phys_to_virt would panic on them). */
static const char *phys_to_virt_checks(struct st_ctx *c)
{
	const struct handoff *h = c->h;
	uint64_t ram = mm_frames()->store_phys;
	if (phys_to_virt_or_null(ram) != (void *)(uintptr_t)(DMAP_BASE + ram))
		return st_fail(c, "RAM 0x%lx not at its direct-map address",
			       ram);
	if (phys_to_virt_or_null(LAPIC_PHYS))
		return "the LAPIC has a direct-map address";
	if (h->info.fb.base && phys_to_virt_or_null(h->info.fb.base))
		return "the framebuffer has a direct-map address";
	for (uint32_t i = 1; i < h->mmap_count; i++) {
		uint64_t gap = h->mmap[i - 1].base + h->mmap[i - 1].size;
		if (gap < h->mmap[i].base && phys_to_virt_or_null(gap))
			return st_fail(c,
				       "the gap at 0x%lx has a direct-map "
				       "address",
				       gap);
	}
	return NULL;
}

/*
 * The view of the tables that exception dumps walk (mm_live_tables): an
 * entry that points a "table" outside the direct map (a corrupt entry;
 * here the LAPIC page) reads as not present, where phys_to_virt would
 * panic half way through the dump, and good entries still translate.
 * The scratch PML4 is never loaded.
 */
static const char *tables_view_tolerant(struct st_ctx *c)
{
	uint64_t root = mm_alloc_zeroed(), pa, want;
	uint64_t image = va_of((const void *)&alias_word);
	const uint64_t *live = phys_to_virt(mm_kernel_pt()->root);
	const char *why = NULL;
	struct page_table view;

	if (!root)
		return "no frame for a scratch PML4";
	uint64_t *pml4 = phys_to_virt(root);
	pml4[PT_INDEX(SELFTEST_VA, PT_L4)] = LAPIC_PHYS | PTE_P | PTE_W;
	pml4[PT_INDEX(image, PT_L4)] = live[PT_INDEX(image, PT_L4)];
	mm_tables_view(&view, root);
	if (pt_translate(&view, SELFTEST_VA, NULL, NULL, NULL, NULL) !=
	    -ERR_NOTFOUND)
		why = "an address under a table outside the direct map "
		      "translates";
	else if (pt_translate(mm_kernel_pt(), image, &want, NULL, NULL, NULL) ||
		 pt_translate(&view, image, &pa, NULL, NULL, NULL) ||
		 pa != want)
		why = "the kernel's .data does not translate through the view";
	frames_free(mm_frames(), root, 1);
	return why;
}

/* [0, 1 MiB) is handed out only on request: the kernel's own tables
 * (allocated from boot on) are above it, and frames_alloc_low gives a
 * page below it that frees back. */
static const char *low_memory_on_request(struct st_ctx *c)
{
	struct frames *fa = mm_frames();
	uint64_t root = mm_kernel_pt()->root;
	if (root < FRAMES_LOW_LIMIT)
		return st_fail(c, "the PML4 is at 0x%lx, in low memory", root);
	if (!fa->low_frames)
		return NULL; /* a map without low RAM: nothing to hand out */
	uint64_t low = frames_alloc_low(fa);
	if (!low || low >= FRAMES_LOW_LIMIT)
		return st_fail(c, "frames_alloc_low gave 0x%lx", low);
	if (frames_free(fa, low, 1))
		return "a low frame did not free";
	return NULL;
}

/* --- nothing left behind --- */

static const char *wx_holds(struct st_ctx *c)
{
	return wx_check(mm_kernel_pt(), c->cpu->nx) ? "W^X violated" : NULL;
}

/* Each leaf, in address order, is a range of its own for the tally. */
static int tally_leaf(void *arg, const struct pt_leaf *l)
{
	pt_tally_add(arg, l->va, l->size, l->level);
	return 0;
}

/* The live tables use exactly the fewest table pages their mappings
 * need: no test (and no boot step) leaked or left an empty table. */
static const char *table_count(struct st_ctx *c)
{
	struct pt_tally t;
	const struct page_table *pt = mm_kernel_pt();
	pt_tally_init(&t);
	pt_for_each_leaf(pt, tally_leaf, &t);
	uint64_t used = pt->env->tables_allocated - pt->env->tables_freed;
	uint64_t min = pt_tally_result(&t);
	if (used != min)
		return st_fail(c, "%lu table pages live, the leaves need %lu",
			       used, min);
	return NULL;
}

const struct selftest selftest_pt_tests[] = {
    {"direct-map-aliases-image", .body = direct_map_alias},
    {"map-translate-unmap-flushes-tlb", .body = map_unmap_tlb},
    {"remap-returns-exists", .body = remap_refused},
    {"split-2m-keeps-pages", .body = split_2m},
    {"reserved-bits-refused", .body = reserved_refused},
    {"frames-exhaustion-returns-0", .body = frames_exhaust},
    {"pt-map-out-of-tables-returns-nomem", .body = pt_map_nomem},
    {"reclaimed-memory-usable", .body = reclaimed_usable},
    {"phys-to-virt-refuses-non-ram", .body = phys_to_virt_checks},
    {"tables-view-reads-bad-tables-as-empty", .body = tables_view_tolerant},
    {"low-memory-only-on-request", .body = low_memory_on_request},
    {"wx-check", .body = wx_holds},
    {"table-count-is-minimum", .body = table_count},
};
const uint32_t selftest_pt_count = ARRAY_SIZE(selftest_pt_tests);
