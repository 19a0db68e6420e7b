/*
 * TLB shootdown: after the kernel's tables lose a mapping or a
 * permission, every other online CPU flushes the range before the change
 * counts as done (tlb_flush in kernel/mm/mm.c calls this after flushing
 * its own CPU), so no CPU keeps using a translation to a frame or table
 * page that is about to be reused.
 *
 * One request at a time (a lock; a CPU waiting for it answers requests
 * meanwhile, so two CPUs flushing at once cannot wait on each other): the
 * range goes into a shared slot, each target's bit into a pending set,
 * an IPI (VEC_TLB) to each target, and each target flushes (INVLPG per
 * page up to the measured threshold, a full flush above it) and clears
 * its bit. The sender waits for the set to empty.
 */
#ifndef KERNEL_SHOOTDOWN_H
#define KERNEL_SHOOTDOWN_H

#include "common/lib/types.h"

/* How long a CPU has to acknowledge before the sender panics naming it:
 * far beyond an IPI's microseconds, short enough to stop a hung test. */
#define SHOOTDOWN_TIMEOUT_US 1000000

/* Flushes [va, va + size) on every online CPU but this one and returns
 * once all acknowledged. Nothing to do with one CPU online. Panics when
 * an IPI cannot be delivered or a CPU does not acknowledge in time. */
void tlb_shootdown(uint64_t va, uint64_t size);

/* Installs the IPI handler (with the other APIC vectors). */
void shootdown_init(void);

/* Shootdowns sent and IPIs they took, for the self-tests and reports. */
uint64_t shootdown_count(void);
uint64_t shootdown_ipis(void);

#endif
