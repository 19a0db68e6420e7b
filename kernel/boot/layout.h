/*
 * Where the kernel image lives, for C, assembly and (by hand) the linker
 * script.
 *
 * The image is linked at KERNEL_VMA_BASE + KERNEL_PHYS_LOAD and its load
 * addresses (p_paddr) are the link addresses minus KERNEL_VMA_BASE, so
 * the PVH entry finds it at physical KERNEL_PHYS_LOAD. The UEFI loader
 * ignores p_paddr and may put each segment anywhere: on that path only
 * the boot info's segment list says where the image is physically.
 *
 * kernel/boot/linker.ld cannot include this file; it checks its own copy of
 * KERNEL_VMA_BASE against the absolute symbol __layout_vma_base that
 * kernel/boot/pvh.S exports from here, so the two cannot drift apart.
 */
#ifndef KERNEL_LAYOUT_H
#define KERNEL_LAYOUT_H

#ifdef __ASSEMBLER__
#define KERNEL_U64(x) x
#else
#define KERNEL_U64(x) x##ull
#endif

/* Virtual address of physical 0 in the image's window (the top 2 GiB,
 * which -mcmodel=kernel requires). */
#define KERNEL_VMA_BASE KERNEL_U64(0xffffffff80000000)
/* Physical load address of the first segment on the PVH path. */
#define KERNEL_PHYS_LOAD KERNEL_U64(0x100000)

/* The end of the identity map the PVH entry builds (kernel/boot/pvh.S:
 * one page directory of 512 2 MiB pages from physical 0). Until the
 * kernel's own tables are live, nothing above it is reachable there. */
#define PVH_IDENTITY_END KERNEL_U64(0x40000000)

/* The kernel stack both entries switch to (in .bss). */
#define KERNEL_STACK_SIZE 0x8000

#ifndef __ASSEMBLER__

#include "common/lib/types.h"

/* Section bounds from kernel/boot/linker.ld. Only their addresses mean
 * anything. */
extern const char __kernel_start[], __kernel_end[];
extern const char __text_start[], __text_end[];
extern const char __rodata_start[], __rodata_end[];
extern const char __data_start[], __data_end[];
extern const char __bss_start[], __bss_end[];
/* The PVH entry's page tables: after .bss, outside every segment the
 * boot info lists (see kernel/boot/pvh.c). */
extern const char __boot_tables_start[], __boot_tables_end[];

/* The kernel stack (kernel/boot/entry.S). */
extern const char boot_stack_bottom[], boot_stack_top[];

/* TSC value taken by whichever entry ran (kernel/boot/entry.S,
 * kernel/boot/pvh.S), as early as the CPU allows. */
extern uint64_t kernel_entry_tsc;

#endif /* !__ASSEMBLER__ */

#endif
