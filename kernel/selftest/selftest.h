/*
 * The in-kernel self-tests, run when `test` is on the command line. They
 * check from inside the running kernel what the host tests cannot: that
 * the CPU enforces the page tables the kernel built (W^X, NX, WP, SMEP,
 * SMAP, unmapped null page, guard pages), that exceptions are delivered
 * and decoded, and that the page-table code keeps the live tables, the
 * TLB and the allocator consistent.
 *
 * Output: one line per test, `selftest: PASS <name>`, `selftest: FAIL
 * <name>: <why>` or `selftest: SKIP <name>: <why>` (a protection the CPU
 * lacks: not a pass), then `selftest: N passed, M failed, K skipped`.
 */
#ifndef KERNEL_SELFTEST_H
#define KERNEL_SELFTEST_H

#include "common/hw/cpu.h"
#include "common/lib/types.h"

struct handoff;

/* Runs every self-test and prints the results. Returns the number that
 * failed. Needs the kernel's tables, the IST stacks and the CPU
 * protections in place (the end of kmain's sequence). */
uint32_t selftest_run(const struct handoff *h, const struct cpu_features *cpu);

#endif
