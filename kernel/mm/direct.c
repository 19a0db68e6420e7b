/*
 * The direct map: built from the plan common/mm/dmap.c makes (the same one
 * tools run over real firmware maps), and the one checked way the kernel
 * turns a physical address into a pointer.
 *
 * phys_to_virt's check runs wherever a caller holds a physical address
 * that might not be RAM, so it is cheap: the run of the direct map that
 * answered last is tried first, then a binary search over the runs (a few
 * dozen at most). Runs are the plan's pieces merged where they touch.
 * Page-table pages do not need it (mm.c reaches them unchecked): they
 * come from the frame allocator, whose map dmap_clip_map cut to the
 * direct map.
 */
#include "common/lib/string.h"
#include "common/mm/dmap.h"
#include "kernel/boot/handoff.h"
#include "kernel/boot/panic.h"
#include "kernel/cpu/arch.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm_internal.h"

/* Every run holds at least one map range, so the map's length bounds
 * them. Written before the switch, read-only after it. */
static struct dmap_run runs[HANDOFF_MMAP_MAX];
static uint32_t run_count;
/* The run that answered last. One word, read and written whole, so a
 * reader never pairs one run's start with another's end. */
static uint32_t hit;

/* True when phys is in a run of the direct map. */
static bool in_direct_map(uint64_t phys)
{
	uint32_t i = __atomic_load_n(&hit, __ATOMIC_RELAXED);
	uint32_t lo = 0, hi = run_count;

	if (i < run_count && phys - runs[i].start < runs[i].end - runs[i].start)
		return true;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (phys < runs[mid].start) {
			hi = mid;
		} else if (phys >= runs[mid].end) {
			lo = mid + 1;
		} else {
			__atomic_store_n(&hit, mid, __ATOMIC_RELAXED);
			return true;
		}
	}
	return false;
}

void *phys_to_virt_or_null(uint64_t phys)
{
	if (!mm_switched())
		return (void *)(uintptr_t)phys; /* the loader's identity map */
	return in_direct_map(phys) ? (void *)(uintptr_t)(DMAP_BASE + phys)
				   : NULL;
}

void *phys_to_virt(uint64_t phys)
{
	/* Before the switch every address of the map is identity mapped,
	 * and there is nothing to check against yet. */
	if (!mm_switched())
		return (void *)(uintptr_t)phys;
	if (!in_direct_map(phys))
		panic("mm",
		      "phys_to_virt(0x%lx): not in the direct map (not "
		      "write-back RAM in the memory map)",
		      phys);
	return (void *)(uintptr_t)(DMAP_BASE + phys);
}

/* A table page outside the direct map (a corrupt entry, or a bad CR3)
 * reads as one of no present entries. */
static uint64_t *tolerant_table(void *ctx, uint64_t phys)
{
	static uint64_t empty[PT_ENTRIES];
	uint64_t *t = phys_to_virt_or_null(phys);
	return t ? t : empty;
}

static struct pt_env live_env = {.table = tolerant_table};

void mm_tables_view(struct page_table *pt, uint64_t root)
{
	pt_attach(pt, &live_env, root);
}

void mm_live_tables(struct page_table *pt)
{
	mm_tables_view(pt, read_cr3() & PTE_ADDR_MAX_MASK);
}

uint64_t mm_direct_find_run(uint64_t bytes)
{
	for (uint32_t i = 0; i < run_count; i++)
		if (runs[i].end - runs[i].start >= bytes)
			return runs[i].start;
	return ~0ull;
}

static int report_refusal(void *ctx, const struct dmap_piece *p)
{
	if (p->kind != DMAP_MAP)
		kprintf("kernel: direct map: not mapping %s 0x%lx-0x%lx (%lu "
			"KiB): %s\n",
			mem_type_name(p->type), p->phys, p->phys + p->size,
			p->size >> 10, dmap_kind_text(p->kind));
	return 0;
}

void mm_direct_build(const struct handoff *h, const struct dmap_params *p,
		     struct pt_tally *t)
{
	struct dmap_build b = {
	    .pt = mm_kernel_pt(),
	    .nx = mm_nx(),
	    .tally = t,
	    .runs = runs,
	    .run_cap = ARRAY_SIZE(runs),
	    .fn = report_refusal,
	};
	if (dmap_build(h->mmap, h->mmap_count, p, &b))
		panic("mm", "%s", b.why);
	run_count = b.run_count;
	kprintf("kernel: direct map: %lu MiB of RAM in %u runs, %lu pieces: "
		"%lu 1G, %lu 2M, %lu 4K leaves; %u refusals\n",
		b.sum.mapped_bytes >> 20, run_count, b.sum.pieces,
		b.sum.leaves[PT_L3], b.sum.leaves[PT_L2], b.sum.leaves[PT_L1],
		b.sum.refusals);
}
