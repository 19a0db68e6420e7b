/*
 * The TSC rate from the ACPI PM timer, measured across the loader's own
 * run instead of in a wait of its own.
 *
 * The PM timer counts at 3.579545 MHz on every ACPI PC that is not
 * "hardware-reduced" (ACPI 6.5, 4.8.3.3); the FADT says at which I/O
 * port. The loader reads it and the TSC at its start and at the end of
 * every phase, so the rate comes from milliseconds of counting at the
 * cost of a dozen port reads. The firmware's Stall(500), used before,
 * cost over half a millisecond under QEMU's TCG and read 20 to 250% high
 * there (the first call's own overhead and timer interrupts land inside
 * the wait); this reads the host's 2096 MHz to within 0.01% (README,
 * "The loader's phases").
 *
 * Pure code over memory and numbers: the loader passes the firmware's
 * tables (identity-mapped, so physical addresses are pointers) and the
 * values it read; the host unit test (tests/unit/test_pmtimer.c) passes
 * tables it built and values it chose.
 */
#ifndef LOADER_PMTIMER_H
#define LOADER_PMTIMER_H

#include "common/lib/types.h"

#define PM_TIMER_HZ 3579545u

struct pm_timer {
	uint16_t port;
	uint32_t mask; /* 0xffffff, or 0xffffffff with TMR_VAL_EXT */
};

/*
 * Finds the PM timer through the RSDP at rsdp (XSDT when the RSDP has
 * one, else the RSDT), the FADT and its X_PM_TMR_BLK (an I/O port) or
 * PM_TMR_BLK. Returns NULL and fills *t, or a static string saying why
 * there is none (a checksum or length that is wrong, no FADT, a
 * hardware-reduced platform, a timer that is not an I/O port).
 */
const char *pm_timer_find(uint64_t rsdp, struct pm_timer *t);

/*
 * The calibration: readings of the timer, each between two TSC reads
 * (the reading's time is their midpoint). Each reading's timer delta is
 * taken modulo the timer's width, so a reading must come less than one
 * wrap (4.69 s for 24 bits) after the one before. Once the rate is known
 * to 0.3% (358 timer ticks, 100 us), a reading whose TSC reads are more
 * than 10 us apart is skipped, and one whose delta is far from what the
 * TSC predicts restarts the calibration from itself while the readings
 * span under 1 ms (an early reading the host delayed set a wrong rate),
 * and after that stops it (a wrap was missed): the rate is the one
 * before. Only the first and last readings used set the rate;
 * the ones between catch wraps.
 */
struct tsc_cal {
	uint32_t mask;
	uint32_t pm_prev;
	uint64_t tsc_prev;
	uint64_t pm_ticks;  /* timer ticks accumulated so far */
	uint64_t tsc_ticks; /* TSC ticks over the same readings */
	bool stopped;       /* a reading disagreed with the TSC */
};

void tsc_cal_start(struct tsc_cal *c, uint32_t mask, uint32_t pm, uint64_t tsc);
void tsc_cal_sample(struct tsc_cal *c, uint32_t pm, uint64_t tsc_before,
		    uint64_t tsc_after);
/* The TSC rate in Hz, or 0 while the readings span fewer than 100 us of
 * the timer (358 ticks: not enough for 0.3%). */
uint64_t tsc_cal_hz(const struct tsc_cal *c);

#endif
