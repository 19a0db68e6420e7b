/*
 * The periodic tick: each CPU's local APIC timer, all at one rate,
 * calibrated once on the boot CPU (every local APIC timer of a machine
 * counts the same bus or crystal clock).
 */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include "common/hw/cpu.h"
#include "common/lib/types.h"

#define TIMER_HZ 100

/*
 * Calibrates the local APIC timer against the TSC when it is invariant,
 * else against the PIT (a TSC that changes rate with power states is no
 * reference; the PIT's 1.193182 MHz is), starts the tick on this CPU,
 * enables its interrupts, and prints one line: "kernel: timer: 100 Hz on
 * each CPU, calibrated against ...". Returns false, with a line saying
 * why, when there is no APIC or no TSC rate (no tick anywhere).
 */
bool timer_init(const struct cpu_features *cpu);

/* Starts the tick on this CPU (an AP coming online). */
void timer_start_cpu(void);

/* TIMER_HZ once timer_init succeeded, else 0. */
uint32_t timer_hz(void);

#endif
