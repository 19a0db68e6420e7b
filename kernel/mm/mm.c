/*
 * The kernel's own page tables and frame allocator. See mm.h for the
 * layout and the contract.
 *
 * Sequence (mm_init):
 *   1. the frame allocator over the boot info's map, as the direct map
 *      will reach it (common/mm/dmap.c: RAM it refuses is never handed out);
 *      its storage and every table page written before the switch are
 *      reached through the identity map the loader left (UEFI
 *      identity-maps all memory in its map; the PVH entry maps [0, 1 GiB),
 *      so there frames must come from below 1 GiB);
 *   2. new tables, in virtual-address order so the table count can be
 *      tallied as they are made: the direct map (direct.c), the
 *      framebuffer (mmio.c), the image per segment with its checks
 *      (image.c); then the tables used must be the arithmetic minimum;
 *   3. EFER.NXE on (NX bits are reserved without it), CR3 switch. The code
 *      doing it runs at the same higher-half address in both tables, so no
 *      identity map is needed; global TLB entries the loader's tables made
 *      are then flushed;
 *   4. the allocator and the framebuffer console move to their new
 *      mappings, and the memory the loader's data and tables used is
 *      reclaimed.
 */
#include "kernel/mm/mm.h"

#include "common/lib/string.h"
#include "kernel/boot/handoff.h"
#include "kernel/boot/layout.h"
#include "kernel/boot/panic.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/cpu.h"
#include "kernel/cpu/shootdown.h"
#include "kernel/dev/console.h"
#include "kernel/dev/fbcon.h"
#include "kernel/mm/mm_internal.h"

static struct frames frames;
static struct pt_env env;
static struct page_table kpt;
static bool switched;
static uint64_t identity_end; /* frames above it are unreachable before */
static uint64_t stacks_next = STACKS_BASE;
static uint64_t flush_threshold = 32; /* until measured */
static uint64_t fb_va;
static enum mm_cache fb_type = MM_WC; /* what it got */
/* Pages below 1 MiB set aside before the reclaim, for mm_take_low_page:
 * the AP trampoline and its PML4. */
#define LOW_PAGES 2
static uint64_t low_pages[LOW_PAGES];

/* The allocator's view of the map: the boot info's, clipped to what the
 * direct map reaches. */
static struct bi_mem_range frames_map[DMAP_CLIP_MAX(HANDOFF_MMAP_MAX)];

bool mm_switched(void)
{
	return switched;
}

struct page_table *mm_kernel_pt(void)
{
	return &kpt;
}

struct frames *mm_frames(void)
{
	return &frames;
}

uint64_t mm_framebuffer_va(void)
{
	return fb_va;
}

uint64_t mm_nx(void)
{
	return env.nx ? PTE_NX : 0;
}

uint64_t mm_alloc_zeroed(void)
{
	uint64_t pa = frames_alloc(&frames);
	if (!pa)
		return 0;
	if (!mm_switched() && pa + PAGE_SIZE > identity_end) {
		/* Lowest-first allocation: nothing below the limit is left. */
		frames_free(&frames, pa, 1);
		return 0;
	}
	mem_set(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

static uint64_t env_alloc(void *ctx)
{
	return mm_alloc_zeroed();
}

static void env_free(void *ctx, uint64_t pa)
{
	if (frames_free(&frames, pa, 1))
		panic("mm", "table page 0x%lx freed twice", pa);
}

/* pt_unmap and pt_protect flush once per call, before they return and
 * so before their caller frees a frame; pt_unmap frees emptied table
 * pages during the walk, but nothing can take them before the flush:
 * the kernel's tables are changed by one CPU at a time, and only it
 * allocates. */
static void env_flush(void *ctx, uint64_t va, uint64_t size)
{
	if (mm_switched())
		tlb_flush(va, size);
}

/* Flushes every TLB entry, global ones too: toggling CR4.PGE does that
 * (SDM 4.10.4.1); a CR3 write alone keeps global entries. */
static void flush_all(void)
{
	uint64_t cr4 = read_cr4();
	if (cr4 & CR4_PGE) {
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
	} else {
		write_cr3(read_cr3());
	}
}

void tlb_flush_local(uint64_t va, uint64_t size)
{
	uint64_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	if (pages > flush_threshold) {
		flush_all();
		return;
	}
	for (uint64_t i = 0; i < pages; i++)
		invlpg(va + i * PAGE_SIZE);
}

void tlb_flush(uint64_t va, uint64_t size)
{
	tlb_flush_local(va, size);
	tlb_shootdown(va, size);
}

uint64_t tlb_threshold(void)
{
	return flush_threshold;
}

/*
 * The threshold: INVLPG costs about the same per page, a full flush costs
 * its own time plus refilling what it threw away. Measured here as the
 * cycles of a full flush followed by touching 64 pages again, against 64
 * INVLPGs; the threshold is where they cross, clamped to [8, 512]. The
 * 64 pages are read through the direct map, in one run of it.
 */
#define TLB_PROBE_PAGES 64

static void measure_tlb(void)
{
	uint64_t run = mm_direct_find_run(TLB_PROBE_PAGES * PAGE_SIZE);
	if (run == ~0ull) {
		kprintf("kernel: TLB: no direct-map run of %u pages to measure "
			"with; flush threshold stays %lu pages\n",
			TLB_PROBE_PAGES, flush_threshold);
		return;
	}
	volatile const uint8_t *probe = phys_to_virt(run);
	uint64_t t0, t1, t2;
	for (int i = 0; i < TLB_PROBE_PAGES; i++)
		(void)probe[i * PAGE_SIZE];
	t0 = rdtsc();
	for (int i = 0; i < TLB_PROBE_PAGES; i++)
		invlpg((uint64_t)(uintptr_t)(probe + i * PAGE_SIZE));
	t1 = rdtsc();
	flush_all();
	for (int i = 0; i < TLB_PROBE_PAGES; i++)
		(void)probe[i * PAGE_SIZE];
	t2 = rdtsc();
	uint64_t per_page =
	    (t1 - t0) / TLB_PROBE_PAGES ? (t1 - t0) / TLB_PROBE_PAGES : 1;
	uint64_t t = (t2 - t1) / per_page;
	flush_threshold = t < 8 ? 8 : t > 512 ? 512 : t;
	kprintf("kernel: TLB: invlpg %lu cycles/page, full flush + refill %lu "
		"cycles: flush threshold %lu pages\n",
		per_page, t2 - t1, flush_threshold);
}

void mm_map_or_panic(uint64_t va, uint64_t pa, uint64_t size, uint64_t attr,
		     int max_level, const char *what)
{
	uint64_t fail = va;
	int rc = pt_map(&kpt, va, pa, size, attr, max_level, &fail);
	if (rc == -ERR_NOMEM)
		panic("mm",
		      "out of memory for page tables mapping %s at 0x%lx"
		      "%s",
		      what, fail,
		      mm_switched() ? ""
				    : " (before the switch only memory "
				      "under the boot identity map can "
				      "be used)");
	if (rc == -ERR_RANGE)
		panic("mm", "%s: entry for 0x%lx refused: %s", what, fail,
		      env.last_error);
	if (rc == -ERR_EXISTS)
		panic("mm",
		      "%s at 0x%lx overlaps an earlier mapping (a kernel "
		      "must be linked outside the direct map 0x%lx-0x%lx, the "
		      "MMIO area and the stacks area)",
		      what, fail, DMAP_BASE, DMAP_END);
	if (rc)
		panic("mm", "mapping %s at 0x%lx failed (error %d)", what, fail,
		      rc);
}

/* Where the allocator's bitmaps are written before the switch: through
 * the identity map, which on the PVH path ends at 1 GiB. */
static void *frames_store(void *ctx, uint64_t phys, uint64_t bytes)
{
	if (phys + bytes > identity_end)
		panic("mm",
		      "frame bitmaps at 0x%lx (%lu bytes) are above the "
		      "boot identity map (0x%lx)",
		      phys, bytes, identity_end);
	return phys_to_virt(phys);
}

static void init_frames(const struct handoff *h, const struct dmap_params *p)
{
	char why[192];
	if (dmap_frames_init(&frames, h->mmap, h->mmap_count, p, frames_map,
			     ARRAY_SIZE(frames_map), frames_store, NULL, why,
			     sizeof(why)))
		panic("mm", "%s", why);
}

static void report_frames(const char *when)
{
	kprintf("kernel: frames %s: %lu free (%lu MiB; %lu below 1 MiB kept "
		"for explicit requests), %lu used, %lu reclaimable pending, "
		"%lu MiB reserved\n",
		when, frames.free_frames, frames.free_frames >> 8,
		frames_free_low(&frames),
		frames.usable_frames - frames.free_frames,
		frames.pending_frames, frames.reserved_bytes >> 20);
}

void mm_init(const struct handoff *h, const struct cpu_features *cpu)
{
	const struct boot_info *bi = &h->info;
	const struct dmap_params dp = dmap_params_of(cpu);
	identity_end = bi->source == BOOT_SOURCE_PVH ? PVH_IDENTITY_END : ~0ull;
	init_frames(h, &dp);
	report_frames("at boot");

	env = (struct pt_env){
	    .alloc = env_alloc,
	    .free = env_free,
	    /* Tables at phys + table_offset: the walker adds instead of
	     * calling. No check: table pages come from the frame
	     * allocator, whose map init_frames cut to what the direct map
	     * covers (and before the switch, to the identity map). */
	    .table = NULL,
	    .table_offset = 0,
	    .flush = env_flush,
	    .phys_mask = cpu_phys_addr_mask(cpu),
	    .nx = cpu->nx,
	    .page1g = cpu->page1g,
	};
	if (pt_init(&kpt, &env))
		panic("mm", "no frame for the PML4");

	/* In ascending virtual order: direct map, MMIO, image. */
	struct pt_tally tally;
	pt_tally_init(&tally);
	mm_direct_build(h, &dp, &tally);
	if (bi->fb.base) {
		const char *why;
		fb_va = mm_mmio_map(bi->fb.base, bi->fb.size, &fb_type, &tally,
				    &why);
		if (!fb_va)
			panic("mm",
			      "cannot map the framebuffer at 0x%lx (%lu "
			      "bytes): %s",
			      bi->fb.base, bi->fb.size, why);
	}
	mm_image_build(h, &tally);

	uint64_t used = env.tables_allocated;
	uint64_t min = pt_tally_result(&tally);
	kprintf("kernel: page tables: %lu table pages used, arithmetic "
		"minimum %lu: %s\n",
		used, min, used == min ? "match" : "MISMATCH");
	if (used != min)
		panic("mm", "%lu table pages used where %lu suffice%s", used,
		      min, min ? "" : " (ranges out of order)");

	/* NX bits are reserved until EFER.NXE is set: set it before the
	 * tables that use them go live. */
	if (cpu->nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr3(kpt.root);
	flush_all(); /* the loader's global entries */
	switched = true;
	env.table_offset = DMAP_BASE; /* tables through the direct map now */
	frames_rebase(&frames, phys_to_virt(frames.store_phys));
	if (fb_va)
		fbcon_set_base(fb_va);
	kprintf("kernel: page tables: switched to CR3 0x%lx; %u kernel "
		"segments with 4 KiB pages\n",
		kpt.root, bi->segment_count);
	if (fb_va)
		kprintf("kernel: framebuffer 0x%lx mapped %s at 0x%lx\n",
			bi->fb.base,
			fb_type == MM_WC ? "write-combining" : "uncached",
			fb_va);

	/* The trampoline's pages: free below 1 MiB in the map as handed
	 * over, taken before the reclaim adds loader and boot-services
	 * memory there, which firmware's parked APs might still run from
	 * until the kernel's INIT reaches them. */
	for (int i = 0; i < LOW_PAGES; i++)
		low_pages[i] = frames_alloc_low(&frames);

	/* Nothing lives in the loader's memory any more: the boot info,
	 * map and command line were copied, the old tables are not loaded. */
	uint64_t got = frames_reclaim(&frames, MEM_LOADER_RECLAIM);
	got += frames_reclaim(&frames, MEM_PAGE_TABLES);
	kprintf("kernel: reclaimed %lu frames (%lu MiB) of loader memory "
		"and boot page tables\n",
		got, got >> 8);
	report_frames("after the switch");
	measure_tlb();
}

uint64_t mm_take_low_page(void)
{
	for (int i = 0; i < LOW_PAGES; i++) {
		uint64_t pa = low_pages[i];
		if (pa) {
			low_pages[i] = 0;
			return pa;
		}
	}
	return 0;
}

uint64_t mm_alloc_stack(uint64_t pages, uint64_t *guard)
{
	uint64_t guard_va = stacks_next;
	uint64_t base = guard_va + PAGE_SIZE;
	if (!pages || base + pages * PAGE_SIZE > STACKS_END)
		return 0;
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pa = mm_alloc_zeroed();
		if (!pa || pt_map(&kpt, base + i * PAGE_SIZE, pa, PAGE_SIZE,
				  PTE_W | PTE_G | mm_nx(), PT_L1, NULL)) {
			/* Give back what this stack took. */
			if (pa)
				frames_free(&frames, pa, 1);
			for (uint64_t j = 0; j < i; j++) {
				uint64_t va = base + j * PAGE_SIZE, p;
				if (pt_translate(&kpt, va, &p, NULL, NULL,
						 NULL) == 0) {
					pt_unmap(&kpt, va, PAGE_SIZE);
					frames_free(&frames, p, 1);
				}
			}
			return 0;
		}
	}
	/* The guard page stays unmapped; the next stack starts above. */
	stacks_next = base + pages * PAGE_SIZE;
	if (guard)
		*guard = guard_va;
	return base + pages * PAGE_SIZE;
}
