/*
 * CPU exceptions: the saved state, the vectors, set-up, and the decoders
 * the exception dump and the self-tests share.
 *
 * Every exception enters through a stub in kernel/cpu/isr.S, which makes the
 * stack look the same for all vectors (a dummy error code where the CPU
 * pushes none), saves the general registers into a struct trap_frame and
 * calls trap_dispatch. An exception a self-test provoked (kernel/cpu/catch.h)
 * is recorded and unwound; any other prints a decoded dump and panics.
 */
#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H

#include "common/lib/types.h"

enum trap_vector {
	TRAP_DE = 0,  /* divide error */
	TRAP_DB = 1,  /* debug */
	TRAP_NMI = 2, /* non-maskable interrupt */
	TRAP_BP = 3,  /* breakpoint (int3) */
	TRAP_OF = 4,  /* overflow (into) */
	TRAP_BR = 5,  /* bound range */
	TRAP_UD = 6,  /* invalid opcode */
	TRAP_NM = 7,  /* device not available */
	TRAP_DF = 8,  /* double fault */
	TRAP_TS = 10, /* invalid TSS */
	TRAP_NP = 11, /* segment not present */
	TRAP_SS = 12, /* stack-segment fault */
	TRAP_GP = 13, /* general protection */
	TRAP_PF = 14, /* page fault */
	TRAP_MF = 16, /* x87 floating point */
	TRAP_AC = 17, /* alignment check */
	TRAP_MC = 18, /* machine check */
	TRAP_XM = 19, /* SIMD floating point */
	TRAP_VE = 20, /* virtualization exception */
	TRAP_CP = 21, /* control protection */
	TRAP_HV = 28, /* hypervisor injection */
	TRAP_VC = 29, /* VMM communication */
	TRAP_SX = 30, /* security exception */
};

/* #PF error-code bits (SDM Vol. 3A, 4.7). */
#define PF_P    (1u << 0)  /* 1: protection violation; 0: not present */
#define PF_W    (1u << 1)  /* write access */
#define PF_U    (1u << 2)  /* from ring 3 */
#define PF_RSVD (1u << 3)  /* a reserved bit was set in an entry */
#define PF_I    (1u << 4)  /* instruction fetch (with NXE or SMEP) */
#define PF_PK   (1u << 5)  /* protection key */
#define PF_SS   (1u << 6)  /* shadow-stack access */
#define PF_SGX  (1u << 15) /* SGX access-control violation */

/* Selector error codes (#TS, #NP, #SS, #GP; SDM Vol. 3A, 6.13). */
#define SEL_EXT      (1u << 0) /* raised while delivering an external event */
#define SEL_IDT      (1u << 1) /* index names an IDT gate (the vector) */
#define SEL_TI       (1u << 2) /* index is in the LDT (when IDT is clear) */
#define SEL_INDEX(e) (((e) >> 3) & 0x1fff)

#define RFLAGS_RESERVED (1ull << 1) /* always 1 */
#define RFLAGS_AC       (1ull << 18)

/*
 * What the stubs save, lowest address first: the general registers (the
 * stub pushes rax first, r15 last), the vector and error code, then the
 * frame the CPU pushed. In 64-bit mode the CPU always pushes SS:RSP, so
 * rsp and ss are valid for ring-0 exceptions too. kernel/cpu/isr.S depends on
 * this layout.
 */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error; /* 0 for vectors without an error code */
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "isr.S frame layout");

/*
 * Loads the boot CPU's GDT, TSS and GS base (its struct percpu) and the
 * IDT: from here on every CPU exception is dumped instead of
 * triple-faulting (or, on the UEFI path, running the
 * firmware's handlers from memory the kernel will reuse). Needs only the
 * serial console; runs before mm_init so its faults are dumped too.
 */
void trap_init(void);

/*
 * Gives #DF, NMI and #MC their own guarded stacks (IST), so a kernel stack
 * overflow is reported as a #DF instead of a triple fault. Needs the frame
 * allocator and the kernel's tables (mm_init). Panics without memory.
 */
void trap_init_stacks(void);

/* Called by kernel/cpu/isr.S with the saved state. Interrupts (vectors
 * 32 and up) go to irq_dispatch and return. An exception returns only to
 * resume (a caught self-test exception or an int3 it expects). */
void trap_dispatch(struct trap_frame *f);

/* "#PF", "#GP", ... ("#?" for reserved vectors). */
const char *trap_mnemonic(uint64_t vector);
/* "page fault", "general protection", ... */
const char *trap_name(uint64_t vector);
/* True for the vectors whose error code the CPU pushes. */
bool trap_has_error_code(uint64_t vector);
/* Decodes an error code of vector into buf (e.g. "0x3: P W -- ring 0
 * write, protection violation"); empty for vectors without one. */
void trap_error_text(char *buf, size_t cap, uint64_t vector, uint64_t err);

#endif
