/*
 * The local APIC timer. See timer.h. Registers: SDM Vol. 3A, 11.5.4.
 */
#include "kernel/cpu/timer.h"

#include "kernel/cpu/apic.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/irq.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/pit.h"
#include "kernel/cpu/tsc.h"
#include "kernel/dev/console.h"

#define DIV_16    0x3u /* the divide configuration's encoding of 16 */
#define CAL_US    10000u
#define COUNT_MAX 0xffffffffu

static uint32_t initial_count;
static bool running;

uint32_t timer_hz(void)
{
	return running ? TIMER_HZ : 0;
}

static void tick(void)
{
	this_cpu()->ticks++;
}

void timer_start_cpu(void)
{
	apic_write(APIC_TIMER_DIV, DIV_16);
	apic_write(APIC_LVT_TIMER, VEC_TIMER | APIC_LVT_PERIODIC);
	apic_write(APIC_TIMER_INIT, initial_count);
}

static uint32_t current_count(void)
{
	return apic_read(APIC_TIMER_CUR);
}

/* APIC timer counts per second against the PIT (pit.h brackets the
 * window); 0 when there is no PIT. */
static uint64_t against_pit(void)
{
	uint64_t ticks, cycles, counted;
	apic_write(APIC_TIMER_INIT, COUNT_MAX);
	bool ok = pit_measure(CAL_US, current_count, &ticks, &cycles, &counted);
	return ok ? counted * PIT_HZ / ticks : 0;
}

/* The same against the TSC: each end of the window is a TSC read on
 * either side of reading the count; a window whose brackets take more
 * than 1% of it is measured again (up to 10 times). */
static uint64_t against_tsc(void)
{
	uint64_t want = tsc_cycles(CAL_US), best_slack = ~0ull, best = 0;
	for (int i = 0; i < 10; i++) {
		apic_write(APIC_TIMER_INIT, COUNT_MAX);
		uint64_t t0 = rdtsc();
		uint32_t c0 = current_count();
		uint64_t t1 = rdtsc(), t2, t3;
		while ((t2 = rdtsc()) - t1 < want)
			cpu_pause();
		uint32_t c1 = current_count();
		t3 = rdtsc();
		uint64_t slack = (t1 - t0) + (t3 - t2);
		uint64_t mid = (t2 + t3) / 2 - (t0 + t1) / 2;
		if (slack < best_slack) {
			best_slack = slack;
			best = (uint64_t)(c0 - c1) * tsc_hz() / mid;
		}
		if (slack * 100 < mid)
			break;
	}
	return best;
}

bool timer_init(const struct cpu_features *cpu)
{
	const char *ref;
	uint64_t per_sec = 0;

	if (!apic_ready() || !tsc_hz()) {
		kprintf("kernel: timer: none (%s)\n",
			apic_ready() ? "no TSC rate" : "no local APIC");
		return false;
	}
	apic_write(APIC_TIMER_DIV, DIV_16);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VEC_TIMER); /* one-shot */
	ref = "the TSC (invariant)";
	if (!tsc_invariant()) {
		per_sec = against_pit();
		ref = per_sec ? "the PIT, as the TSC is not invariant"
			      : "the TSC (not invariant, but there is no PIT)";
	}
	if (!per_sec)
		per_sec = against_tsc();
	apic_write(APIC_TIMER_INIT, 0);
	uint64_t count = per_sec / TIMER_HZ;
	if (count == 0 || count > COUNT_MAX) {
		kprintf("kernel: timer: none (the APIC timer counts %lu per "
			"second with divider 16: no usable %u Hz count)\n",
			per_sec, (uint32_t)TIMER_HZ);
		return false;
	}
	initial_count = (uint32_t)count;
	irq_set_handler(VEC_TIMER, tick);
	running = true;
	timer_start_cpu();
	irq_enable();
	kprintf("kernel: timer: %u Hz on each CPU, calibrated against %s: "
		"local APIC timer at %lu.%03lu MHz, divider 16, %u counts per "
		"tick\n",
		(uint32_t)TIMER_HZ, ref, per_sec * 16 / 1000000,
		per_sec * 16 / 1000 % 1000, initial_count);
	return true;
}
