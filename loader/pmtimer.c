/*
 * The ACPI PM timer and the TSC rate measured against it (pmtimer.h).
 *
 * Table layouts from the ACPI specification 6.5: the RSDP (5.2.5.3),
 * the common table header (5.2.6), the RSDT and XSDT (5.2.7, 5.2.8), the
 * FADT (5.2.9: PM_TMR_BLK at byte 76, PM_TMR_LEN at 91, Flags at 112,
 * X_PM_TMR_BLK at 208) and the Generic Address Structure (5.2.3.2). The
 * bytes are read one field at a time at their offsets: the tables are
 * packed and need not be aligned.
 */
#include "loader/pmtimer.h"

#include "common/lib/string.h"

#define SDT_HEADER_LEN 36u
/* An XSDT longer than this is refused (OVMF's has 6 to 10 entries;
 * large servers a few dozen). */
#define SDT_MAX_ENTRIES 512u
#define SDT_MAX_LEN     (SDT_HEADER_LEN + SDT_MAX_ENTRIES * 8u)
/* The FADT of ACPI 6.5 is 276 bytes; later revisions may grow it. */
#define FADT_MAX_LEN 4096u

#define FADT_PM_TMR_BLK   76u
#define FADT_PM_TMR_LEN   91u
#define FADT_FLAGS        112u
#define FADT_X_PM_TMR_BLK 208u
#define FADT_TMR_VAL_EXT  (1u << 8)
#define FADT_HW_REDUCED   (1u << 20)
#define GAS_LEN           12u
#define GAS_SYSTEM_IO     1u

/* The rate is trusted once the readings span this many timer ticks
 * (100 us): one tick of error is then under 0.3%. */
#define CAL_MIN_TICKS 358u
/* A reading whose two TSC reads are further apart than this many timer
 * ticks (10 us) is not used: the timer was read somewhere in between. */
#define CAL_MAX_SKEW 36u
/* Until the readings span this many ticks (1 ms), a reading that
 * disagrees with the rate so far restarts the calibration from itself
 * instead of stopping it: the rate then rests on a reading or two, and
 * one the host delayed may be what is wrong, not this one. A missed
 * wrap needs a gap of seconds, so it cannot hide in the first 1 ms. */
#define CAL_RESTART_TICKS 3580u

static const uint8_t *at(uint64_t phys)
{
	return (const uint8_t *)(uintptr_t)phys;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool sums_to_zero(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

/* A table at phys with signature sig, a length from min_len to max_len
 * and a checksum that holds; its length in *len. The length is checked
 * before the checksum reads that many bytes: a corrupt one (0x7fffffff)
 * would otherwise walk through RAM and MMIO until it faulted. */
static bool table_ok(uint64_t phys, const char *sig, uint32_t min_len,
		     uint32_t max_len, uint32_t *len)
{
	const uint8_t *t = at(phys);

	if (phys == 0 || mem_cmp(t, sig, 4) != 0)
		return false;
	*len = le32(t + 4);
	return *len >= min_len && *len <= max_len && sums_to_zero(t, *len);
}

/* The FADT among the RSDT's (entry 4 bytes) or XSDT's (8) entries. */
static uint64_t find_fadt(uint64_t sdt, uint32_t len, uint32_t entry)
{
	uint32_t n = (len - SDT_HEADER_LEN) / entry;
	uint32_t fadt_len;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = at(sdt) + SDT_HEADER_LEN + i * entry;
		uint64_t phys = entry == 8 ? le64(e) : le32(e);

		if (table_ok(phys, "FACP", FADT_FLAGS + 4, FADT_MAX_LEN,
			     &fadt_len))
			return phys;
	}
	return 0;
}

const char *pm_timer_find(uint64_t rsdp, struct pm_timer *t)
{
	const uint8_t *r = at(rsdp);
	uint64_t sdt, fadt_phys;
	uint32_t len, flags;
	const uint8_t *fadt;

	if (rsdp == 0)
		return "no ACPI RSDP";
	if (mem_cmp(r, "RSD PTR ", 8) != 0 || !sums_to_zero(r, 20))
		return "RSDP signature or checksum wrong";
	/* Revision 2 and later have the XSDT, and a checksum over all 36
	 * bytes; firmware with both tables lists the same ones in each. */
	sdt = 0;
	if (r[15] >= 2 && sums_to_zero(r, 36) &&
	    table_ok(le64(r + 24), "XSDT", SDT_HEADER_LEN, SDT_MAX_LEN, &len))
		sdt = le64(r + 24);
	if (sdt)
		fadt_phys = find_fadt(sdt, len, 8);
	else if (table_ok(le32(r + 16), "RSDT", SDT_HEADER_LEN, SDT_MAX_LEN,
			  &len))
		fadt_phys = find_fadt(le32(r + 16), len, 4);
	else
		return "no valid RSDT or XSDT";
	if (!fadt_phys)
		return "no valid FADT";
	fadt = at(fadt_phys);
	len = le32(fadt + 4);
	flags = le32(fadt + FADT_FLAGS);
	if (flags & FADT_HW_REDUCED)
		return "hardware-reduced ACPI: no PM timer";
	t->mask = flags & FADT_TMR_VAL_EXT ? 0xffffffffu : 0xffffffu;
	if (len >= FADT_X_PM_TMR_BLK + GAS_LEN &&
	    le64(fadt + FADT_X_PM_TMR_BLK + 4) != 0) {
		const uint8_t *gas = fadt + FADT_X_PM_TMR_BLK;
		uint64_t port = le64(gas + 4);

		if (gas[0] != GAS_SYSTEM_IO || port > 0xffff)
			return "the PM timer is not an I/O port";
		t->port = (uint16_t)port;
		return NULL;
	}
	if (le32(fadt + FADT_PM_TMR_BLK) == 0 || fadt[FADT_PM_TMR_LEN] != 4)
		return "the FADT has no PM timer";
	if (le32(fadt + FADT_PM_TMR_BLK) > 0xffff)
		return "the PM timer is not an I/O port";
	t->port = (uint16_t)le32(fadt + FADT_PM_TMR_BLK);
	return NULL;
}

void tsc_cal_start(struct tsc_cal *c, uint32_t mask, uint32_t pm, uint64_t tsc)
{
	c->mask = mask;
	c->pm_prev = pm & mask;
	c->tsc_prev = tsc;
	c->pm_ticks = 0;
	c->tsc_ticks = 0;
	c->stopped = false;
}

/* TSC ticks as timer ticks at rate hz. */
static uint64_t as_pm_ticks(uint64_t tsc_ticks, uint64_t hz)
{
	return tsc_ticks / hz * PM_TIMER_HZ + tsc_ticks % hz * PM_TIMER_HZ / hz;
}

void tsc_cal_sample(struct tsc_cal *c, uint32_t pm, uint64_t tsc_before,
		    uint64_t tsc_after)
{
	uint64_t tsc = tsc_before + (tsc_after - tsc_before) / 2;
	uint32_t delta = ((pm & c->mask) - c->pm_prev) & c->mask;
	uint64_t dtsc = tsc - c->tsc_prev;
	uint64_t hz = tsc_cal_hz(c);

	if (c->stopped || tsc_after < tsc_before || tsc < c->tsc_prev)
		return;
	if (hz) {
		/* Read while the CPU was away for more than a few ticks
		 * (a host that preempted it): the next reading will do. */
		if (as_pm_ticks(tsc_after - tsc_before, hz) > CAL_MAX_SKEW)
			return;
		/* The TSC says how many ticks to expect; a missed wrap is
		 * off by a whole wrap, far beyond an eighth. */
		uint64_t want = as_pm_ticks(dtsc, hz);
		uint64_t off = want > delta ? want - delta : delta - want;

		if (off > want / 8 + CAL_MAX_SKEW) {
			if (c->pm_ticks < CAL_RESTART_TICKS)
				tsc_cal_start(c, c->mask, pm, tsc);
			else
				c->stopped = true;
			return;
		}
	}
	c->pm_ticks += delta;
	c->tsc_ticks += dtsc;
	c->pm_prev = pm & c->mask;
	c->tsc_prev = tsc;
}

uint64_t tsc_cal_hz(const struct tsc_cal *c)
{
	if (c->pm_ticks < CAL_MIN_TICKS)
		return 0;
	/* tsc_ticks * PM_TIMER_HZ / pm_ticks, split so that no product
	 * overflows for any run shorter than years. */
	return c->tsc_ticks / c->pm_ticks * PM_TIMER_HZ +
	       c->tsc_ticks % c->pm_ticks * PM_TIMER_HZ / c->pm_ticks;
}
