/*
 * The kernel's memory: the frame allocator, its own page tables, and how
 * physical memory is reached.
 *
 * Virtual layout (see README.md, "Memory layout"):
 *   0xffff800000000000  direct map (DMAP_BASE + phys) of the memory map's
 *                       write-back RAM only (common/mm/dmap.h): RW, NX,
 *                       global, WB; the kernel image's frames read-only;
 *                       the largest leaf each aligned block allows (1 GiB
 *                       when CPUID has them, 2 MiB, 4 KiB at the edges).
 *                       Holes and MMIO are not in it. Room: 64 TiB.
 *   0xffffc00000000000  self-test scratch mappings (one PML4 slot)
 *   0xffffe00000000000  MMIO (mm_map_mmio): framebuffer, the xAPIC page,
 *                       ACPI tables outside the direct map; RW, NX,
 *                       global, WC or UC (the tables: read-only, WB); an
 *                       unmapped page between two mappings. Room: 512 GiB
 *                       (one PML4 slot).
 *   0xffffff0000000000  kernel stacks, 4 KiB pages RW NX, each with an
 *                       unmapped guard page below it
 *   0xffffffff80100000  the kernel image as linked, 4 KiB pages, text
 *                       R-X, rodata R-- NX, data/bss RW- NX, global
 *   lower half          nothing
 */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H

#include "common/boot/bootinfo.h"
#include "common/hw/cpu.h"
#include "common/lib/types.h"
#include "common/mm/dmap.h"
#include "common/mm/frames.h"
#include "common/mm/paging.h"

#define DMAP_BASE DMAP_VIRT_BASE
#define DMAP_END  (DMAP_VIRT_BASE + DMAP_VIRT_ROOM)
/* PML4 slot 384: scratch mappings of the self-tests, nothing else. */
#define SELFTEST_BASE 0xffffc00000000000ull
#define SELFTEST_END  0xffffc08000000000ull
#define MMIO_BASE     0xffffe00000000000ull
#define MMIO_END      0xffffe08000000000ull
#define STACKS_BASE   0xffffff0000000000ull
#define STACKS_END    0xffffff8000000000ull

struct handoff;

/*
 * Builds the frame allocator and the kernel's tables from the boot info
 * (the direct map as common/mm/dmap.c plans it, the framebuffer through
 * mm_map_mmio, the image per segment), checks that the segments cover
 * the running image exactly as the live tables do and that the tables
 * use the arithmetic minimum of pages, turns on EFER.NXE when the CPU has
 * NX, switches CR3, moves the allocator and the framebuffer console to
 * their new mappings, and reclaims the loader's memory. Panics with the
 * cause when it cannot: there is no way to boot on without its own
 * tables. Call after cpu_init_pat (the framebuffer's type depends on it).
 */
void mm_init(const struct handoff *h, const struct cpu_features *cpu);

/* A pointer to physical memory: through the loader's identity map before
 * the switch (unchecked: every address of the map is identity mapped
 * then), through the direct map after it. After the switch an address
 * the direct map does not cover (a hole, MMIO, RAM it refused) panics
 * naming it, instead of faulting somewhere later. */
void *phys_to_virt(uint64_t phys);

/* The same without the panic, for dumps, which must not stop half way:
 * NULL after the switch when phys is not in the direct map; before it
 * the identity pointer (NULL only for physical 0). */
void *phys_to_virt_or_null(uint64_t phys);

/*
 * A read-only view of the tables CR3 holds now (the loader's or the PVH
 * entry's early in boot, the kernel's later), for translating and
 * dumping. A table page phys_to_virt_or_null cannot reach (a corrupt
 * entry) reads as empty, so a walk through it ends "not present" rather
 * than stopping a dump half way with a panic. Only pt_translate and
 * pt_for_each_leaf may be used on it: it has no allocator.
 */
void mm_live_tables(struct page_table *pt);

/* The same view of the tables rooted at the PML4 root. */
void mm_tables_view(struct page_table *pt, uint64_t root);

/* True once the kernel runs on its own tables. */
bool mm_switched(void);

/* The live kernel tables, the allocator and the pt_env they use. */
struct page_table *mm_kernel_pt(void);
struct frames *mm_frames(void);

/* A zeroed frame, or 0 when out of memory. */
uint64_t mm_alloc_zeroed(void);

/*
 * Maps a new stack of `pages` 4 KiB pages in the stacks area with an
 * unmapped guard page below it. Returns its top (16-byte aligned, the
 * initial rsp) or 0 when out of memory; *guard gets the guard page's
 * address when guard is not NULL.
 */
uint64_t mm_alloc_stack(uint64_t pages, uint64_t *guard);

enum mm_cache {
	MM_UC, /* uncached: device registers */
	MM_WC, /* write-combining: framebuffers; UC without PAT */
	/*
	 * Read-only, write-back: firmware tables that are not in the direct
	 * map (ACPI in reserved memory or the BIOS area). They are memory,
	 * RAM or ROM, not registers: WB in the PAT defers to the MTRRs, which
	 * keep any real device range uncached, and a table parsed byte by
	 * byte is not read uncached for nothing (Linux maps them cached
	 * too). Read-only, since the kernel never writes them. Such a page
	 * is never also in the direct map, so no alias differs in type.
	 */
	MM_FW_RO,
};

/*
 * Maps the device memory [phys, phys + size) in the MMIO area with type
 * `type`, writable, never executable, and returns the virtual address of
 * phys (any offset in its page kept), or 0 when the area or the memory
 * for tables ran out. 2 MiB leaves where phys allows (the virtual address
 * is then chosen congruent to phys modulo 2 MiB); a range too small for
 * one goes on the next free page. Works before and after the switch.
 */
uint64_t mm_map_mmio(uint64_t phys, uint64_t size, enum mm_cache type);

/* The framebuffer's MMIO mapping (0 when there is none). */
uint64_t mm_framebuffer_va(void);

/* Invalidates the TLB for [va, va+size) on every online CPU before it
 * returns: this CPU's (tlb_flush_local), then every other one's through
 * a shootdown (kernel/cpu/shootdown.h), which panics naming a CPU that
 * does not acknowledge. What pt_unmap and pt_protect call, so a caller
 * may reuse a frame or table page once they return. */
void tlb_flush(uint64_t va, uint64_t size);

/* This CPU only: INVLPG per page up to the measured threshold, else a
 * full flush (global pages included). */
void tlb_flush_local(uint64_t va, uint64_t size);

/* Takes one of the pages below 1 MiB that mm_init set aside before it
 * reclaimed loader memory (the AP trampoline and its first table, whose
 * address goes into a 32-bit CR3): returns its physical address, or 0
 * when none is left (the map had no free low page). Give it back with
 * frames_free. */
uint64_t mm_take_low_page(void);

/* Pages above which tlb_flush reloads instead of INVLPG (measured at
 * boot). */
uint64_t tlb_threshold(void);

#endif
