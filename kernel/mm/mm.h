/*
 * The kernel's memory: the frame allocator, its own page tables, and how
 * physical memory is reached.
 *
 * Virtual layout (see README.md, "Memory layout"):
 *   0xffff800000000000  direct map of [0, top of the memory map), RW, NX,
 *                       global; 1 GiB leaves when CPUID has them, else
 *                       2 MiB
 *   0xffffff0000000000  kernel stacks, 4 KiB pages RW NX, each with an
 *                       unmapped guard page below it
 *   0xffffffff80100000  the kernel image as linked, 4 KiB pages, text
 *                       R-X, rodata R-- NX, data/bss RW- NX, global
 *   lower half          nothing
 */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H

#include "common/bootinfo.h"
#include "common/cpu.h"
#include "common/frames.h"
#include "common/paging.h"
#include "common/types.h"

#define DMAP_BASE 0xffff800000000000ull
#define STACKS_BASE 0xffffff0000000000ull
#define STACKS_END 0xffffff8000000000ull

struct handoff;

/*
 * Builds the frame allocator and the kernel's tables from the boot info,
 * turns on EFER.NXE when the CPU has NX, switches CR3, moves the consoles
 * and the allocator to the direct map, and reclaims the loader's memory.
 * Panics with the cause when it cannot (no memory for tables, a refused
 * entry): there is no way to boot on without its own tables.
 */
void mm_init(const struct handoff *h, const struct cpu_features *cpu);

/* A pointer to physical memory: through the loader's identity map before
 * the switch, through the direct map after it. */
void *phys_to_virt(uint64_t phys);

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

/* Invalidates the TLB for [va, va+size): INVLPG per page up to the
 * measured threshold, else a full flush (global pages included). */
void tlb_flush(uint64_t va, uint64_t size);

/* Pages above which tlb_flush reloads instead of INVLPG (measured at
 * boot). */
uint64_t tlb_threshold(void);

#endif
