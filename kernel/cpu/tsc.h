/*
 * The TSC as the kernel's clock: every wait and every bound (an AP's
 * check-in, an IPI's acknowledgement) is counted in TSC cycles.
 *
 * The kernel measures its rate against the PIT. Only without a PIT does
 * it take the loader's figure (boot info tsc_hz: an estimate for boot
 * reports, which under OVMF and TCG was 67% off), and without that
 * CPUID's leaves 0x15, 0x16 or the hypervisor's 0x40000010.
 */
#ifndef KERNEL_TSC_H
#define KERNEL_TSC_H

#include "common/hw/cpu.h"
#include "common/lib/types.h"

struct handoff;

/* Finds the rate and prints one line: "kernel: tsc: N MHz, <source>;
 * invariant: yes/no". Without one the kernel keeps one CPU and no
 * timer (tsc_hz() is 0). */
void tsc_init(const struct handoff *h, const struct cpu_features *cpu);

/* Cycles per second; 0 when unknown. */
uint64_t tsc_hz(void);

/* Whether CPUID says the TSC runs at a constant rate in every state. */
bool tsc_invariant(void);

/* Cycles in us microseconds at tsc_hz (never overflows for a plausible
 * rate and up to an hour). */
uint64_t tsc_cycles(uint64_t us);

/* Microseconds in cycles. */
uint64_t tsc_us(uint64_t cycles);

/* The TSC value us microseconds from now, and whether it has passed (on
 * the CPU that took it: TSCs of two CPUs need not agree). */
uint64_t tsc_deadline(uint64_t us);
bool tsc_passed(uint64_t deadline);

/* The spin-loop hint: lets a sibling hyperthread (or, under a
 * hypervisor, another vCPU) run. */
static inline void cpu_pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/* Spins for us microseconds. */
void tsc_delay_us(uint64_t us);

#endif
