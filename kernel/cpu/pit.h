/*
 * The 8254 PIT's channel 0 as a stopwatch, for calibrating the TSC and
 * the local APIC timer: a count in mode 0, whose output the read-back
 * command reports, so a wait is polling a port, with interrupts on or
 * off. Channel 0, not the usual channel 2: channel 2's gate and output
 * are in port 0x61, which QEMU microvm does not have (no PC speaker
 * logic), while its PIT is there. Channel 0's output is IRQ 0, which
 * reaches no CPU: the 8259s are masked and no IOAPIC input is set up.
 */
#ifndef KERNEL_PIT_H
#define KERNEL_PIT_H

#include "common/lib/types.h"

#define PIT_HZ 1193182u

/*
 * Times one PIT window of about us microseconds (at most 54000: 16 bits
 * of count): *ticks gets its exact length in PIT ticks, *tsc the TSC
 * cycles it took and, when probe is not NULL, *probed how far the
 * down-counter probe() returns went down in it.
 *
 * Each end of the window is bracketed by TSC reads (the start by the
 * reads around programming the count, the end by the last poll that saw
 * the output low and the one that saw it high). A window whose brackets
 * add up to more than 1% of it was stretched by something (an SMI, a
 * hypervisor that did not run this CPU) and is measured again, up to 10
 * times; the tightest is used. Returns false when there is no PIT (a
 * missing port reads 0xff) or no window ever ended.
 */
bool pit_measure(uint32_t us, uint32_t (*probe)(void), uint64_t *ticks,
		 uint64_t *tsc, uint64_t *probed);

#endif
