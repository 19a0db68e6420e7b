/*
 * Every CPU: starting the application processors the MADT lists, and
 * running functions on them.
 *
 * Bring-up (smp_init, on the boot CPU): a page below 1 MiB gets the
 * trampoline (kernel/cpu/trampoline.S) and temporary tables of its own
 * (that page identity-mapped plus the kernel's higher-half PML4 entries);
 * each AP gets its stack, IST stacks and struct percpu; INIT goes to all
 * of them, then 10 ms later each in turn gets SIPI, SIPI (200 us apart,
 * the second only when the first did not start it) and has 100 ms to
 * check in, or it is reported, sent INIT again and left out. Then the
 * trampoline page and the temporary tables are freed, and the kernel's
 * PML4 is checked to have no lower half and its tables to pass the W^X
 * check again.
 *
 * An online AP idles with interrupts on (its tick, shootdowns, calls)
 * and runs what smp_call posts to it.
 */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include "common/hw/acpi.h"
#include "common/hw/cpu.h"
#include "common/lib/types.h"

struct handoff;

/* How long an AP has to check in after its first SIPI. */
#define SMP_CHECKIN_US 100000

/*
 * Starts the APs (none with `nosmp`; at most N - 1 with `maxcpus=N`),
 * printing `kernel: cpu N online (APIC id X)` for each, one line for each
 * that is left out and why, and at the end `kernel: cpus: N online` with
 * the TSC cycles from the first INIT to the last AP online. With no MADT,
 * APIC, TSC rate or free low page it says why and keeps one CPU. Call
 * last in the boot CPU's set-up: APs copy its CR0, PAT, protections and
 * tables. cpu is the boot CPU's CPUID.
 */
void smp_init(const struct handoff *h, const struct cpu_features *cpu,
	      const struct acpi_madt *madt);

/* TSC cycles from the first INIT to the last AP online (0: none). */
uint64_t smp_startup_cycles(void);

/* Posts fn(arg) to online CPU `cpu` (not this one) and wakes it. Returns
 * 0; -ERR_INVALID when it is not online or is this CPU; -ERR_EXISTS when
 * it has not finished an earlier call. */
int smp_call(uint32_t cpu, void (*fn)(void *), void *arg);

/* Wakes online CPU `cpu` from hlt (the call IPI with nothing posted):
 * for code it runs that halts until there is something to do. */
void smp_kick(uint32_t cpu);

/* Waits until `cpu` finished its posted call; false after timeout_us. */
bool smp_call_wait(uint32_t cpu, uint64_t timeout_us);

/* Runs fn(arg) on every online CPU, this one included (last, while the
 * others run), and waits for all of them. Returns -1, or the number of
 * the first CPU that did not finish within timeout_us. */
int smp_run_all(void (*fn)(void *), void *arg, uint64_t timeout_us);

#endif
