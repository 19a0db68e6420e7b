/*
 * The AP trampoline's page: code (kernel/cpu/trampoline.S) followed by a
 * data block the boot CPU fills before each SIPI. Offsets are shared by
 * the assembly and smp.c, which checks them against struct
 * trampoline_data.
 */
#ifndef KERNEL_TRAMPOLINE_H
#define KERNEL_TRAMPOLINE_H

/* Data block fields, from the block's start. */
#define TD_STAGE  0  /* u32, written by the AP: how far it got */
#define TD_CR3    4  /* u32: the temporary PML4 (below 4 GiB) */
#define TD_EFER   8  /* u32: EFER bits to set: LME, and NXE if used */
#define TD_CR0    12 /* u32: CR0 for long mode (the boot CPU's) */
#define TD_STACK  16 /* u64: the AP's stack top (higher half) */
#define TD_PERCPU 24 /* u64: its struct percpu */
#define TD_ENTRY  32 /* u64: smp_ap_entry */
#define TD_SIZE   40

/* TD_STAGE values: where an AP that never checked in stopped. */
#define STAGE_NONE      0 /* never ran the trampoline */
#define STAGE_REAL      1 /* in real mode */
#define STAGE_PROTECTED 2 /* in 32-bit protected mode */
#define STAGE_NO_LM     3 /* CPUID lacks long mode or the NX its tables need */
#define STAGE_LONG                                                             \
	4 /* about to enable paging; smp.c takes over from                     \
	     here through struct percpu */

/* Trampoline GDT selectors. */
#define TR_CODE32 0x08
#define TR_DATA   0x10
#define TR_CODE64 0x18

#ifndef __ASSEMBLER__

#include "common/lib/types.h"

struct trampoline_data {
	uint32_t stage;
	uint32_t cr3;
	uint32_t efer;
	uint32_t cr0;
	uint64_t stack;
	uint64_t percpu;
	uint64_t entry;
};
_Static_assert(
    __builtin_offsetof(struct trampoline_data, stage) == TD_STAGE &&
	__builtin_offsetof(struct trampoline_data, cr3) == TD_CR3 &&
	__builtin_offsetof(struct trampoline_data, efer) == TD_EFER &&
	__builtin_offsetof(struct trampoline_data, cr0) == TD_CR0 &&
	__builtin_offsetof(struct trampoline_data, stack) == TD_STACK &&
	__builtin_offsetof(struct trampoline_data, percpu) == TD_PERCPU &&
	__builtin_offsetof(struct trampoline_data, entry) == TD_ENTRY &&
	sizeof(struct trampoline_data) == TD_SIZE,
    "trampoline.S data layout");

/* kernel/cpu/trampoline.S: the code and data to copy, and the places
 * smp.c patches with the page's physical address. */
extern const char trampoline_start[], trampoline_end[];
extern const char trampoline_data[];
extern const char trampoline_gdt[], trampoline_gdt_desc[];
extern const char trampoline_far32[], trampoline_pm32[];
extern const char trampoline_far64[], trampoline_lm64[];

#endif /* !__ASSEMBLER__ */

#endif
