/*
 * The TSC's rate. See tsc.h.
 */
#include "kernel/cpu/tsc.h"

#include "kernel/boot/handoff.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/pit.h"
#include "kernel/dev/console.h"

#define CAL_US 10000u /* one PIT window */

static uint64_t hz;
static bool invariant;

uint64_t tsc_hz(void)
{
	return hz;
}

bool tsc_invariant(void)
{
	return invariant;
}

uint64_t tsc_cycles(uint64_t us)
{
	return us / 1000000 * hz + us % 1000000 * hz / 1000000;
}

uint64_t tsc_us(uint64_t cycles)
{
	if (!hz)
		return 0;
	return cycles / hz * 1000000 + cycles % hz * 1000000 / hz;
}

uint64_t tsc_deadline(uint64_t us)
{
	return rdtsc() + tsc_cycles(us);
}

bool tsc_passed(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

void tsc_delay_us(uint64_t us)
{
	uint64_t end = tsc_deadline(us);
	while (!tsc_passed(end))
		cpu_pause();
}

static uint64_t against_pit(void)
{
	uint64_t ticks, cycles;
	if (!pit_measure(CAL_US, NULL, &ticks, &cycles, NULL))
		return 0;
	return cycles * PIT_HZ / ticks;
}

/* What CPUID says, as loader/cpu.c reads it; 0 when it says nothing. */
static uint64_t from_cpuid(const struct cpu_features *cpu, const char **src)
{
	uint32_t r[4];
	if (cpu->max_leaf >= 0x15) {
		cpuid(0x15, 0, r);
		*src = "CPUID leaf 0x15 (crystal clock ratio)";
		if (r[0] && r[1] && r[2])
			return (uint64_t)r[2] * r[1] / r[0];
	}
	if (cpu->max_leaf >= 0x16) {
		cpuid(0x16, 0, r);
		*src = "CPUID leaf 0x16 (nominal frequency)";
		if (r[0] & 0xffff)
			return (uint64_t)(r[0] & 0xffff) * 1000000;
	}
	if (cpu->hypervisor) {
		cpuid(0x40000000, 0, r);
		*src = "the hypervisor's CPUID leaf 0x40000010";
		if (r[0] >= 0x40000010) {
			cpuid(0x40000010, 0, r);
			if (r[0])
				return (uint64_t)r[0] * 1000;
		}
	}
	return 0;
}

void tsc_init(const struct handoff *h, const struct cpu_features *cpu)
{
	const char *src = "calibrated against the PIT over 10 ms";
	uint64_t loader = h->info.tsc_hz;
	invariant = cpu->invariant_tsc;
	/* The PIT first, even when the loader measured: its figure is for
	 * boot-time reports (loader/cpu.c), from a 0.5 ms firmware Stall,
	 * and an emulator can be far off there (3500 MHz for a 2096 MHz TSC
	 * under OVMF and TCG). Every bound here depends on the rate. */
	hz = against_pit();
	if (hz && loader) {
		uint64_t diff = hz > loader ? hz - loader : loader - hz;
		kprintf("kernel: tsc: the loader measured %lu MHz, %lu.%lu%% "
			"off the PIT's\n",
			loader / 1000000, diff * 100 / hz,
			diff * 1000 / hz % 10);
	}
	if (!hz && loader) {
		hz = loader;
		src = "the loader's measurement (there is no PIT)";
	}
	if (!hz)
		hz = from_cpuid(cpu, &src);
	if (!hz) {
		kputs("kernel: tsc: rate unknown (no loader measurement, no "
		      "PIT, no CPUID leaf): no timer, one CPU\n");
		return;
	}
	kprintf("kernel: tsc: %lu.%03lu MHz, %s; invariant: %s\n", hz / 1000000,
		hz / 1000 % 1000, src, invariant ? "yes" : "no");
}
