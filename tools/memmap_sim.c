/*
 * The loader's and the kernel's decisions on a firmware map, made by
 * their own common/ functions (see memmap_sim.h for the sequence). The
 * panic texts of the direct map and the allocator come from those
 * functions, so a refusal here reads as it would on the serial port.
 *
 * Page tables are built for real: pt_map writes them into host pages
 * found by physical address, and every table page comes from the
 * simulated frame allocator, as mm_alloc_zeroed takes it in the kernel.
 */
#include "tools/memmap_sim.h"

#include "common/hw/cpu.h"
#include "common/mm/frames.h"
#include "common/mm/memmap.h"
#include "common/mm/paging.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Host pages standing in for physical table pages: an open-addressing
 * table from physical address to page. */
struct hostmem {
	uint64_t *keys; /* physical address + 1; 0 = empty slot */
	uint64_t **pages;
	size_t cap, count;
};

static size_t hm_slot(const struct hostmem *h, uint64_t pa)
{
	size_t i = (size_t)((pa >> 12) * 0x9e3779b97f4a7c15ull) & (h->cap - 1);

	while (h->keys[i] && h->keys[i] != pa + 1)
		i = (i + 1) & (h->cap - 1);
	return i;
}

static bool hm_grow(struct hostmem *h)
{
	struct hostmem n = {.cap = h->cap ? h->cap * 2 : 1024};

	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.pages = calloc(n.cap, sizeof(*n.pages));
	if (!n.keys || !n.pages) {
		free(n.keys);
		free(n.pages);
		return false;
	}
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->keys[i])
			continue;
		size_t j = hm_slot(&n, h->keys[i] - 1);
		n.keys[j] = h->keys[i];
		n.pages[j] = h->pages[i];
	}
	n.count = h->count;
	free(h->keys);
	free(h->pages);
	*h = n;
	return true;
}

/* The zeroed page for pa (made on first use); NULL when out of memory. */
static uint64_t *hm_page(struct hostmem *h, uint64_t pa)
{
	size_t i;

	if ((h->count + 1) * 2 > h->cap && !hm_grow(h))
		return NULL;
	i = hm_slot(h, pa);
	if (!h->keys[i]) {
		h->pages[i] = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
		if (!h->pages[i])
			return NULL;
		h->keys[i] = pa + 1;
		h->count++;
	}
	return h->pages[i];
}

static void hm_free(struct hostmem *h)
{
	for (size_t i = 0; i < h->cap; i++)
		free(h->pages[i]);
	free(h->keys);
	free(h->pages);
	memset(h, 0, sizeof(*h));
}

/* One CPU's run of mm_init's memory steps. */
struct kernel_sim {
	struct msim *s;
	struct msim_cpu *c;
	struct frames fa;
	struct hostmem hm;
	struct page_table pt;
	void *store;           /* the allocator's storage, in host memory */
	bool host_oom;         /* a table page had no host page */
	bool collect_refusals; /* for the first CPU (they are the same) */
	uint32_t piece_cap;
};

static void set_panic(struct msim_cpu *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->panic, sizeof(c->panic), fmt, ap);
	va_end(ap);
}

/* mm_alloc_zeroed: a frame from the allocator (never below 1 MiB),
 * zeroed. On the UEFI path every frame is reachable before the switch. */
static uint64_t sim_alloc(void *ctx)
{
	struct kernel_sim *k = ctx;
	uint64_t pa = frames_alloc(&k->fa);
	uint64_t *page;

	if (!pa)
		return 0;
	page = hm_page(&k->hm, pa);
	if (!page) {
		k->host_oom = true;
		frames_free(&k->fa, pa, 1);
		return 0;
	}
	memset(page, 0, PAGE_SIZE);
	return pa;
}

static void sim_free(void *ctx, uint64_t pa)
{
	struct kernel_sim *k = ctx;

	frames_free(&k->fa, pa, 1);
}

static uint64_t *sim_table(void *ctx, uint64_t pa)
{
	struct kernel_sim *k = ctx;
	uint64_t *page = hm_page(&k->hm, pa);

	/* pt_* only reach tables they allocated, which exist. */
	if (!page)
		abort();
	return page;
}

/* The allocator's storage: host memory, up to the tool's limit. */
static void *sim_store(void *ctx, uint64_t phys, uint64_t bytes)
{
	struct kernel_sim *k = ctx;

	k->c->store_phys = phys;
	k->c->store_bytes = bytes;
	if (bytes > MSIM_MAX_STORE_BYTES) {
		snprintf(k->s->tool_error, sizeof(k->s->tool_error),
			 "the frame allocator's storage for this map is %llu "
			 "MiB; this tool simulates up to %llu MiB",
			 (unsigned long long)(bytes >> 20),
			 (unsigned long long)(MSIM_MAX_STORE_BYTES >> 20));
		return NULL;
	}
	k->store = aligned_alloc(PAGE_SIZE, bytes);
	if (!k->store)
		snprintf(k->s->tool_error, sizeof(k->s->tool_error),
			 "out of host memory for %llu bytes of frame storage",
			 (unsigned long long)bytes);
	return k->store;
}

static int collect_refusal(struct msim *s, const struct dmap_piece *p)
{
	if ((s->refusal_count & (s->refusal_count - 1)) == 0) {
		uint32_t cap = s->refusal_count ? s->refusal_count * 2 : 1;
		struct dmap_piece *r =
		    realloc(s->refusals, cap * sizeof(*s->refusals));

		if (!r)
			return -1;
		s->refusals = r;
	}
	s->refusals[s->refusal_count++] = *p;
	return 0;
}

/* Each piece dmap_build mapped, and the refusals the kernel prints. */
static int record_piece(void *ctx, const struct dmap_piece *p)
{
	struct kernel_sim *k = ctx;
	struct msim_cpu *c = k->c;

	if (p->kind != DMAP_MAP) {
		if (k->collect_refusals && collect_refusal(k->s, p))
			goto oom;
		return 0;
	}
	if (c->piece_count == k->piece_cap) {
		uint32_t ncap = k->piece_cap ? k->piece_cap * 2 : 64;
		struct dmap_piece *n =
		    realloc(c->pieces, ncap * sizeof(*c->pieces));

		if (!n)
			goto oom;
		c->pieces = n;
		k->piece_cap = ncap;
	}
	c->pieces[c->piece_count++] = *p;
	return 0;
oom:
	snprintf(k->s->tool_error, sizeof(k->s->tool_error),
		 "out of host memory");
	return -ERR_NOMEM;
}

/*
 * mm_init's memory steps for one CPU, through the functions mm_init
 * calls (common/mm/dmap.c): the allocator over the map as the direct map
 * reaches it, the PML4, the direct map; then whether the image still
 * gets its tables, and what reclaim would give back.
 */
static void run_kernel(struct msim *s, struct msim_cpu *c)
{
	const struct bi_mem_range *map = s->loader_map;
	struct cpu_features cf = {
	    .maxphyaddr = (uint8_t)s->params.phys_bits,
	    .page1g = c->page1g,
	};
	const struct dmap_params p = dmap_params_of(&cf);
	struct kernel_sim k = {
	    .s = s, .c = c, .collect_refusals = c == &s->cpu[0]};
	struct pt_env env = {
	    .alloc = sim_alloc,
	    .free = sim_free,
	    .table = sim_table,
	    .ctx = &k,
	    .phys_mask = cpu_phys_addr_mask(&cf),
	    .nx = true,
	    .page1g = c->page1g,
	};
	/* As the kernel's frames_map and runs (static: 20 KiB). */
	static struct bi_mem_range clip[DMAP_CLIP_MAX(BI_MMAP_KERNEL_MAX)];
	static struct dmap_run runs[BI_MMAP_KERNEL_MAX];
	struct pt_tally tally;
	struct dmap_build b = {
	    .pt = &k.pt,
	    .nx = PTE_NX,
	    .tally = &tally,
	    .runs = runs,
	    .run_cap = ARRAY_SIZE(runs),
	    .fn = record_piece,
	    .ctx = &k,
	};
	char why[sizeof(c->panic) - 4];
	int rc;

	c->ran = true;
	rc = dmap_frames_init(&k.fa, map, s->kept, &p, clip, ARRAY_SIZE(clip),
			      sim_store, &k, why, sizeof(why));
	if (s->tool_error[0])
		goto out;
	if (rc) {
		set_panic(c, "mm: %s", why);
		goto out;
	}
	for (uint32_t i = 0; i < k.fa.count; i++)
		c->managed_frames += k.fa.region[i].frames;
	c->free_frames = k.fa.free_frames;
	c->low_frames = k.fa.low_frames;
	c->free_low_frames = frames_free_low(&k.fa);
	c->used_frames = k.fa.usable_frames - k.fa.free_frames;
	c->pending_frames = k.fa.pending_frames;
	c->reserved_bytes = k.fa.reserved_bytes;

	if (pt_init(&k.pt, &env)) {
		set_panic(c, "mm: no frame for the PML4");
		goto out;
	}
	pt_tally_init(&tally);
	rc = dmap_build(map, s->kept, &p, &b);
	c->plan = b.sum;
	c->runs = b.run_count;
	if (k.collect_refusals)
		s->refusals_complete = rc == 0;
	if (s->tool_error[0])
		goto out;
	if (rc == -ERR_NOMEM && k.host_oom) {
		snprintf(s->tool_error, sizeof(s->tool_error),
			 "out of host memory for page tables");
		goto out;
	}
	if (rc) {
		set_panic(c, "mm: %s", b.why);
		goto out;
	}
	c->tables_used = env.tables_allocated;
	if (c->tables_used != c->plan.min_tables) {
		set_panic(c, "mm: %llu table pages used where %llu suffice",
			  (unsigned long long)c->tables_used,
			  (unsigned long long)c->plan.min_tables);
		goto out;
	}
	c->free_after_tables = k.fa.free_frames - frames_free_low(&k.fa);
	if (c->free_after_tables < MSIM_IMAGE_TABLES) {
		set_panic(c,
			  "mm: out of memory for page tables mapping a "
			  "kernel segment (%llu free frames above 1 MiB "
			  "after the direct map; the image needs at least "
			  "%u table pages)",
			  (unsigned long long)c->free_after_tables,
			  MSIM_IMAGE_TABLES);
		goto out;
	}
	c->reclaimed = frames_reclaim(&k.fa, MEM_LOADER_RECLAIM) +
		       frames_reclaim(&k.fa, MEM_PAGE_TABLES);
out:
	hm_free(&k.hm);
	free(k.store);
}

static uint64_t entry_end(const struct mlog_entry *e)
{
	if (e->kind == MLOG_EFI) {
		if (e->pages > (UINT64_MAX >> PAGE_SHIFT) ||
		    add_overflows(e->base, e->pages << PAGE_SHIFT))
			return UINT64_MAX;
		return e->base + (e->pages << PAGE_SHIFT);
	}
	return add_overflows(e->base, e->size) ? UINT64_MAX : e->base + e->size;
}

/* The entries by_base compares (qsort passes no context). */
static const struct mlog_entry *sort_base;

static int by_base(const void *a, const void *b)
{
	const struct mlog_entry *x = &sort_base[*(const uint32_t *)a];
	const struct mlog_entry *y = &sort_base[*(const uint32_t *)b];

	if (x->base != y->base)
		return x->base < y->base ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Zero-length entries, entries out of order, and overlapping pairs: each
 * entry against the earlier-starting one that reaches furthest. */
static int survey(struct msim *s, const struct mlog_entry *e, uint32_t n)
{
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));
	uint32_t reach = UINT32_MAX;

	s->zero = malloc((n ? n : 1) * sizeof(*s->zero));
	s->overlaps = malloc((n ? n : 1) * sizeof(*s->overlaps));
	if (!order || !s->zero || !s->overlaps) {
		free(order);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		order[i] = i;
		if (mlog_entry_empty(&e[i]))
			s->zero[s->zero_length++] = i;
		if (i > 0 && e[i].base < e[i - 1].base)
			s->unsorted++;
	}
	sort_base = e;
	qsort(order, n, sizeof(*order), by_base);
	for (uint32_t k = 0; k < n; k++) {
		const struct mlog_entry *x = &e[order[k]];
		uint64_t end = entry_end(x);

		if (mlog_entry_empty(x))
			continue;
		if (reach != UINT32_MAX && x->base < entry_end(&e[reach])) {
			uint64_t r = entry_end(&e[reach]);

			s->overlaps[s->overlap_count++] = (struct msim_overlap){
			    .a = reach,
			    .b = order[k],
			    .base = x->base,
			    .end = end < r ? end : r,
			};
		}
		if (reach == UINT32_MAX || end > entry_end(&e[reach]))
			reach = order[k];
	}
	free(order);
	return 0;
}

/* loader/firmware.c's normalise_map, without the framebuffer. */
static int run_loader(struct msim *s, const struct mlog_entry *e, uint32_t n)
{
	struct memmap m;

	s->loader_cap = MEMMAP_RANGES_FOR(n);
	s->loader_map = calloc(s->loader_cap, sizeof(*s->loader_map));
	if (!s->loader_map)
		return -1;
	memmap_init(&m, s->loader_map, s->loader_cap);
	if (s->params.e820) {
		struct e820_entry *buf = calloc(n ? n : 1, sizeof(*buf));

		if (!buf)
			return -1;
		for (uint32_t i = 0; i < n; i++)
			buf[i] = (struct e820_entry){e[i].base, e[i].size,
						     e[i].type, 0};
		s->loader_rc = memmap_add_e820(&m, buf, n);
		free(buf);
	} else {
		struct efi_mem_desc *buf = calloc(n ? n : 1, sizeof(*buf));

		if (!buf)
			return -1;
		for (uint32_t i = 0; i < n; i++)
			buf[i] = (struct efi_mem_desc){
			    .type = e[i].type,
			    .phys_start = e[i].base,
			    .pages = e[i].pages,
			    .attribute = e[i].attr,
			};
		s->loader_rc = memmap_add_efi(
		    &m, buf, (uint64_t)n * sizeof(*buf), sizeof(*buf));
		free(buf);
	}
	s->loader_count = m.count;
	return 0;
}

int msim_run(struct msim *s, const struct mlog *log,
	     const struct msim_params *params)
{
	const struct mlog_entry *e = params->e820 ? log->e820 : log->efi;
	uint32_t n = params->e820 ? log->e820_count : log->efi_count;
	struct memmap_summary sum;

	memset(s, 0, sizeof(*s));
	s->params = *params;
	s->entries = n;
	s->cpu[0].page1g = true;
	s->cpu[1].page1g = false;
	if (survey(s, e, n) || run_loader(s, e, n)) {
		snprintf(s->tool_error, sizeof(s->tool_error),
			 "out of host memory");
		return -1;
	}
	if (s->loader_rc)
		return 0; /* the loader stops: nothing is handed over */

	/* kernel/boot/handoff.c */
	if (s->loader_count == 0) {
		snprintf(s->handoff_panic, sizeof(s->handoff_panic),
			 "boot: boot info refused: no memory map (0 entries)");
		return 0;
	}
	s->kept = s->loader_count < BI_MMAP_KERNEL_MAX ? s->loader_count
						       : BI_MMAP_KERNEL_MAX;
	s->dropped = s->loader_count - s->kept;
	for (uint32_t i = s->kept; i < s->loader_count; i++)
		if (s->loader_map[i].type == MEM_USABLE)
			s->dropped_usable += s->loader_map[i].size;
	memmap_summarise(s->loader_map, s->kept, &sum);
	s->usable_bytes = sum.usable_bytes;
	s->highest_end = sum.highest_end;

	for (int i = 0; i < 2 && !s->tool_error[0]; i++)
		run_kernel(s, &s->cpu[i]);
	return s->tool_error[0] ? -1 : 0;
}

bool msim_refused(const struct msim *s)
{
	return s->loader_rc || s->handoff_panic[0] || s->cpu[0].panic[0] ||
	       s->cpu[1].panic[0];
}

void msim_free(struct msim *s)
{
	free(s->zero);
	free(s->overlaps);
	free(s->loader_map);
	free(s->refusals);
	free(s->cpu[0].pieces);
	free(s->cpu[1].pieces);
	memset(s, 0, sizeof(*s));
}
