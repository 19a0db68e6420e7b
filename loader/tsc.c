/*
 * The TSC rate the boot info reports (tsc_hz), at as little cost to the
 * loader's time as possible. In order of preference:
 *
 *   1. CPUID's exact leaves (0x15, a hypervisor's timing leaf): free;
 *   2. the ACPI PM timer, read at the loader's start and at the end of
 *      each phase (loader/pmtimer.c): a dozen port reads, and the
 *      measurement spans the whole run, so it is also the most accurate
 *      where CPUID is silent (QEMU's TCG: 2096.02 MHz on a 2096 MHz
 *      host, boot after boot);
 *   3. CPUID leaf 0x16's nominal base frequency;
 *   4. ticks across a 0.5 ms Stall (what the loader always did before).
 *
 * Nothing here prints; tsc_rate_finish records which one was used.
 */
#include "loader.h"

/* Readings whose TSC reads are tightest of this many, at the start and
 * at the end: only those two set the rate (pmtimer.h). */
#define READ_TRIES 3

static struct {
	bool on; /* calibrating against the PM timer */
	struct pm_timer pm;
	struct tsc_cal cal;
} rate;

/* One reading: the timer between two TSC reads, the tightest of tries. */
static void reading(uint32_t *pm, uint64_t *t0, uint64_t *t1, int tries)
{
	for (int i = 0; i < tries; i++) {
		uint64_t a = cpu_rdtsc();
		uint32_t v = cpu_inl(rate.pm.port);
		uint64_t b = cpu_rdtsc();

		if (i == 0 || b - a < *t1 - *t0) {
			*pm = v;
			*t0 = a;
			*t1 = b;
		}
	}
}

void tsc_rate_start(struct loader *l)
{
	uint32_t pm;
	uint64_t t0, t1;

	l->tsc_hz = cpu_tsc_hz_cpuid();
	if (l->tsc_hz) {
		l->tsc_how = "CPUID";
		return;
	}
	l->tsc_why = pm_timer_find(l->rsdp, &rate.pm);
	if (l->tsc_why)
		return;
	reading(&pm, &t0, &t1, READ_TRIES);
	tsc_cal_start(&rate.cal, rate.pm.mask, pm, t0 + (t1 - t0) / 2);
	rate.on = true;
}

void tsc_rate_sample(void)
{
	uint32_t pm;
	uint64_t t0, t1;

	if (!rate.on)
		return;
	/* The tightest of a few while there is no rate to judge a delayed
	 * reading by; one port read each after that. */
	reading(&pm, &t0, &t1, tsc_cal_hz(&rate.cal) ? 1 : READ_TRIES);
	tsc_cal_sample(&rate.cal, pm, t0, t1);
}

void tsc_rate_finish(struct loader *l)
{
	uint32_t pm;
	uint64_t t0, t1;

	if (l->tsc_hz)
		return;
	if (rate.on) {
		reading(&pm, &t0, &t1, READ_TRIES);
		tsc_cal_sample(&rate.cal, pm, t0, t1);
		rate.on = false;
		l->tsc_hz = tsc_cal_hz(&rate.cal);
		l->tsc_how = "the ACPI PM timer";
		if (l->tsc_hz)
			return;
		l->tsc_why = rate.cal.stopped ? "PM timer readings disagree"
					      : "PM timer: too short a run";
	}
	l->tsc_hz = cpu_tsc_hz_nominal();
	l->tsc_how = "CPUID leaf 0x16 (nominal)";
	if (l->tsc_hz)
		return;
	l->tsc_hz = cpu_tsc_hz_stall();
	l->tsc_how = "a 0.5 ms Stall";
}
