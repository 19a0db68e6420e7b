/*
 * The kernel's own page tables and frame allocator. See mm.h for the
 * layout and the contract.
 *
 * Sequence (mm_init):
 *   1. the frame allocator over the boot info's map; its storage and every
 *      table page written before the switch are reached through the
 *      identity map the loader left (UEFI identity-maps all memory in its
 *      map; the PVH entry maps [0, 1 GiB), so there frames must come from
 *      below 1 GiB);
 *   2. new tables: direct map, kernel image per segment, one counted
 *      against the arithmetic minimum;
 *   3. EFER.NXE on (NX bits are reserved without it), CR3 switch. The code
 *      doing it runs at the same higher-half address in both tables, so no
 *      identity map is needed; global TLB entries the loader's tables made
 *      are then flushed;
 *   4. the allocator and the framebuffer console move to the direct map,
 *      and the memory the loader's data and tables used is reclaimed.
 */
#include "kernel/mm/mm.h"

#include "common/string.h"
#include "kernel/cpu/arch.h"
#include "kernel/dev/console.h"
#include "kernel/cpu/cpu.h"
#include "kernel/dev/fbcon.h"
#include "kernel/boot/handoff.h"
#include "kernel/boot/layout.h"
#include "kernel/boot/panic.h"

/* The PVH entry's identity map (kernel/boot/pvh.S): physical [0, 1 GiB). */
#define PVH_IDENTITY_END (1ull << 30)

static struct frames frames;
static struct pt_env env;
static struct page_table kpt;
static uint64_t phys_offset;   /* 0 before the switch, DMAP_BASE after */
static uint64_t identity_end;  /* frames above it are unreachable before */
static uint64_t stacks_next = STACKS_BASE;
static uint64_t flush_threshold = 32; /* until measured */

void *phys_to_virt(uint64_t phys)
{
	return (void *)(uintptr_t)(phys + phys_offset);
}

bool mm_switched(void)
{
	return phys_offset != 0;
}

struct page_table *mm_kernel_pt(void)
{
	return &kpt;
}

struct frames *mm_frames(void)
{
	return &frames;
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

static uint64_t *env_table(void *ctx, uint64_t pa)
{
	return phys_to_virt(pa);
}

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

void tlb_flush(uint64_t va, uint64_t size)
{
	uint64_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	if (pages > flush_threshold) {
		flush_all();
		return;
	}
	for (uint64_t i = 0; i < pages; i++)
		invlpg(va + i * PAGE_SIZE);
}

uint64_t tlb_threshold(void)
{
	return flush_threshold;
}

/*
 * The threshold: INVLPG costs about the same per page, a full flush costs
 * its own time plus refilling what it threw away. Measured here as the
 * cycles of a full flush followed by touching 64 pages again, against 64
 * INVLPGs; the threshold is where they cross, clamped to [8, 512].
 */
static void measure_tlb(void)
{
	volatile const uint8_t *probe = phys_to_virt(0x100000);
	uint64_t t0, t1, t2;
	for (int i = 0; i < 64; i++)
		(void)probe[i * PAGE_SIZE];
	t0 = rdtsc();
	for (int i = 0; i < 64; i++)
		invlpg((uint64_t)(uintptr_t)(probe + i * PAGE_SIZE));
	t1 = rdtsc();
	flush_all();
	for (int i = 0; i < 64; i++)
		(void)probe[i * PAGE_SIZE];
	t2 = rdtsc();
	uint64_t per_page = (t1 - t0) / 64 ? (t1 - t0) / 64 : 1;
	uint64_t t = (t2 - t1) / per_page;
	flush_threshold = t < 8 ? 8 : t > 512 ? 512 : t;
	kprintf("kernel: TLB: invlpg %lu cycles/page, full flush + refill %lu "
		"cycles: flush threshold %lu pages\n",
		per_page, t2 - t1, flush_threshold);
}

static void map_or_panic(uint64_t va, uint64_t pa, uint64_t size,
			 uint64_t attr, int max_level, const char *what)
{
	uint64_t fail = va;
	int rc = pt_map(&kpt, va, pa, size, attr, max_level, &fail);
	if (rc == -ERR_NOMEM)
		panic("mm", "out of memory for page tables mapping %s at 0x%lx"
		      "%s", what, fail,
		      mm_switched() ? "" : " (before the switch only memory "
					   "under the boot identity map can "
					   "be used)");
	if (rc == -ERR_RANGE)
		panic("mm", "%s: entry for 0x%lx refused: %s", what, fail,
		      env.last_error);
	if (rc == -ERR_EXISTS)
		panic("mm", "%s at 0x%lx overlaps an earlier mapping (a kernel "
		      "must be linked outside the direct map 0x%lx-0x%lx and "
		      "the stacks area)", what, fail, DMAP_BASE, STACKS_BASE);
	if (rc)
		panic("mm", "mapping %s at 0x%lx failed (error %d)", what,
		      fail, rc);
}

/* Attributes for a kernel segment: writable only if W, NX unless X (and
 * only when the CPU has NX), global always. */
static uint64_t segment_attr(uint32_t flags, bool nx)
{
	uint64_t attr = PTE_G;
	if (flags & BI_SEG_W)
		attr |= PTE_W;
	if (!(flags & BI_SEG_X) && nx)
		attr |= PTE_NX;
	return attr;
}

/* End of the direct map: the end of the highest range in the map or of
 * the framebuffer, rounded up to the leaf size. */
static uint64_t direct_map_end(const struct handoff *h, uint64_t leaf)
{
	uint64_t top = 0;
	for (uint32_t i = 0; i < h->mmap_count; i++)
		if (h->mmap[i].base + h->mmap[i].size > top)
			top = h->mmap[i].base + h->mmap[i].size;
	if (h->info.fb.base && h->info.fb.base + h->info.fb.size > top)
		top = h->info.fb.base + h->info.fb.size;
	/* Checked before rounding, which could wrap to 0 near 2^64; the
	 * limit is 1 GiB aligned, so rounding cannot cross it. */
	if (top > STACKS_BASE - DMAP_BASE)
		return top; /* mm_init panics naming it */
	return ALIGN_UP(top, leaf);
}

static void init_frames(const struct handoff *h)
{
	uint64_t store, bytes;
	if (frames_plan(h->mmap, h->mmap_count, &store, &bytes))
		panic("mm", "no usable range above 1 MiB holds the frame "
		      "allocator's bitmaps");
	if (store + bytes > identity_end)
		panic("mm", "frame bitmaps at 0x%lx (%lu bytes) are above the "
		      "boot identity map (0x%lx)", store, bytes, identity_end);
	if (frames_init(&frames, h->mmap, h->mmap_count, phys_to_virt(store),
			store, bytes))
		panic("mm", "memory map refused by the frame allocator");
}

static void report_frames(const char *when)
{
	kprintf("kernel: frames %s: %lu free (%lu MiB), %lu used, %lu "
		"reclaimable pending, %lu MiB reserved\n",
		when, frames.free_frames, frames.free_frames >> 8,
		frames.usable_frames - frames.free_frames,
		frames.pending_frames, frames.reserved_bytes >> 20);
}

void mm_init(const struct handoff *h, const struct cpu_features *cpu)
{
	const struct boot_info *bi = &h->info;
	identity_end = bi->source == BOOT_SOURCE_PVH ? PVH_IDENTITY_END
						     : ~0ull;
	init_frames(h);
	report_frames("at boot");

	env = (struct pt_env){
		.alloc = env_alloc,
		.free = env_free,
		.table = env_table,
		.flush = env_flush,
		.phys_mask = cpu_phys_addr_mask(cpu),
		.nx = cpu->nx,
		.page1g = cpu->page1g,
	};
	if (pt_init(&kpt, &env))
		panic("mm", "no frame for the PML4");

	/* Ranges in address order, for the minimum-table arithmetic. */
	struct pt_range ranges[2 + BI_MAX_SEGMENTS];
	uint32_t n = 0;
	int leaf = cpu->page1g ? PT_L3 : PT_L2;
	uint64_t top = direct_map_end(h, PT_SIZE(leaf));
	if (top > STACKS_BASE - DMAP_BASE)
		panic("mm", "physical memory up to 0x%lx does not fit the "
		      "direct map", top);
	map_or_panic(DMAP_BASE, 0, top,
		     PTE_W | PTE_G | (cpu->nx ? PTE_NX : 0), leaf,
		     "the direct map");
	ranges[n++] = (struct pt_range){DMAP_BASE, top, leaf};

	for (uint32_t i = 0; i < bi->segment_count; i++) {
		const struct bi_segment *s = &bi->segments[i];
		map_or_panic(s->virt, s->phys, ALIGN_UP(s->size, PAGE_SIZE),
			     segment_attr(s->flags, cpu->nx), PT_L1,
			     "a kernel segment");
		ranges[n++] = (struct pt_range){
			s->virt, ALIGN_UP(s->size, PAGE_SIZE), PT_L1};
	}
	/* pt_min_tables wants address order; the ELF's program headers may
	 * list segments in any order. */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j > 0 && ranges[j].va < ranges[j - 1].va;
		     j--) {
			struct pt_range t = ranges[j];
			ranges[j] = ranges[j - 1];
			ranges[j - 1] = t;
		}
	uint64_t used = env.tables_allocated;
	uint64_t min = pt_min_tables(ranges, n);

	/* NX bits are reserved until EFER.NXE is set: set it before the
	 * tables that use them go live. */
	if (cpu->nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr3(kpt.root);
	flush_all(); /* the loader's global entries */
	phys_offset = DMAP_BASE;
	frames_rebase(&frames, phys_to_virt(frames.store_phys));
	if (bi->fb.base)
		fbcon_set_base(DMAP_BASE + bi->fb.base);

	kprintf("kernel: page tables: switched to CR3 0x%lx; direct map "
		"0x%lx-0x%lx (%lu MiB) with %s pages, %u kernel segments "
		"with 4 KiB pages\n",
		kpt.root, DMAP_BASE, DMAP_BASE + top, top >> 20,
		cpu->page1g ? "1 GiB" : "2 MiB", bi->segment_count);
	kprintf("kernel: page tables: %lu table pages used, arithmetic "
		"minimum %lu: %s\n",
		used, min, used == min ? "match" : "MISMATCH");
	if (used != min)
		panic("mm", "%lu table pages used where %lu suffice", used,
		      min);

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

uint64_t mm_alloc_stack(uint64_t pages, uint64_t *guard)
{
	uint64_t guard_va = stacks_next;
	uint64_t base = guard_va + PAGE_SIZE;
	if (!pages || base + pages * PAGE_SIZE > STACKS_END)
		return 0;
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pa = mm_alloc_zeroed();
		if (!pa || pt_map(&kpt, base + i * PAGE_SIZE, pa, PAGE_SIZE,
				  PTE_W | PTE_G | (env.nx ? PTE_NX : 0), PT_L1,
				  NULL)) {
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
