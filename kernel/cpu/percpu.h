/*
 * Per-CPU state: one struct percpu per CPU, found through the GS base
 * (IA32_GS_BASE), which every CPU points at its own block as soon as its
 * GDT is loaded. this_cpu() is one instruction (mov %gs:0), so exception
 * entry, run_catching and the interrupt handlers use it freely.
 *
 * The blocks are a static array indexed by CPU number: 0 is the boot CPU,
 * the others are numbered in the MADT's order as smp.c starts them. A
 * number whose CPU failed to start stays unused (state CPU_FAILED), so
 * the numbers the kernel prints never move.
 */
#ifndef KERNEL_PERCPU_H
#define KERNEL_PERCPU_H

/* Offsets assembly uses (kernel/cpu/catch.S). */
#define PERCPU_SELF      0
#define PERCPU_CATCH_TOP 8

#ifndef __ASSEMBLER__

#include "common/hw/cpu.h"
#include "common/lib/types.h"
#include "kernel/cpu/gdt.h"

/* CPUs the kernel can run; the MADT may list more (they are left out,
 * with a line). 64 keeps the shootdown's CPU set one word. */
#define SMP_MAX_CPUS 64

enum cpu_state {
	CPU_ABSENT = 0,   /* no CPU has this number */
	CPU_STARTING = 1, /* INIT and SIPI sent, not checked in yet */
	CPU_ONLINE = 2,   /* checked in: takes IPIs, runs calls, ticks */
	CPU_FAILED = 3,   /* did not check in in time: left out */
};

struct catch_record;

struct percpu {
	struct percpu *self;            /* PERCPU_SELF: gs:0 */
	struct catch_record *catch_top; /* PERCPU_CATCH_TOP: catch.S */
	uint32_t index;                 /* CPU number, 0 = the boot CPU */
	uint32_t apic_id;
	volatile uint32_t state;  /* enum cpu_state */
	uint32_t trap_depth;      /* exception dumps in progress */
	uint64_t stack_bottom;    /* its kernel stack (the boot CPU's */
	uint64_t stack_top;       /* after main.c's switch) */
	uint64_t online_tsc;      /* TSC when it checked in */
	volatile uint64_t ticks;  /* timer interrupts taken */
	uint64_t irqs_unexpected; /* interrupts no handler claimed */
	uint64_t apic_errors;     /* error interrupts (ESR != 0) */
	uint32_t last_esr;
	/* smp_call: the function the CPU is asked to run (NULL once it
	 * finished) and its argument. */
	void (*volatile call_fn)(void *);
	void *volatile call_arg;
	/* What this CPU's CPUID says differs from the boot CPU's ("" when
	 * nothing does), for the boot CPU to print. */
	char differs[128];
	struct cpu_features features;
	struct cpu_gdt gdt;
};
_Static_assert(__builtin_offsetof(struct percpu, self) == PERCPU_SELF,
	       "catch.S offsets");
_Static_assert(__builtin_offsetof(struct percpu, catch_top) == PERCPU_CATCH_TOP,
	       "catch.S offsets");

/* This CPU's block. Valid from percpu_init_boot (boot CPU) or the AP's
 * entry on; before that GS's base is whatever the firmware left. */
static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* Block number i (0 <= i < SMP_MAX_CPUS), whatever its state. */
struct percpu *percpu_get(uint32_t i);

/* Sets up the boot CPU's block (number 0, state CPU_ONLINE) and loads its
 * GDT and GS base. The first thing trap_init does. */
void percpu_init_boot(void);

/* Points this CPU's GS base at c (after its GDT is loaded: loading the
 * null selector into GS may clear the base). */
void percpu_activate(struct percpu *c);

/* How many CPUs are online, and the set of their numbers. */
uint32_t percpu_online_count(void);
uint64_t percpu_online_mask(void);

#endif /* !__ASSEMBLER__ */

#endif
