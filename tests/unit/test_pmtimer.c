/*
 * The loader's PM timer (loader/pmtimer.c): finding it through ACPI tables
 * built here byte by byte, and the TSC rate from readings of a simulated
 * timer and TSC, including wraps, missed wraps and readings the host
 * delayed.
 */
#define _GNU_SOURCE /* MAP_32BIT */
#include "loader/pmtimer.h"
#include "tests/unit/check.h"

#include <sys/mman.h>

/* ---- ACPI tables ------------------------------------------------------ */

/* In one mapping below 2 GiB (MAP_32BIT), because the RSDT holds 32-bit
 * addresses: setup() carves them out. */
#define FADT_LEN 276u
static uint8_t *rsdp, *xsdt, *rsdt, *fadt, *other;
#define OTHER_LEN 40u
#define XSDT_LEN  (36 + 8 * 4)
#define RSDT_LEN  (36 + 4 * 4)

static void setup(void)
{
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap MAP_32BIT");
		exit(1);
	}
	/* Odd offsets: the tables need not be aligned. */
	rsdp = p + 1;
	xsdt = p + 64 + 3;
	rsdt = p + 256 + 5;
	fadt = p + 512 + 7;
	other = p + 1024 + 9;
}

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void checksum(uint8_t *p, uint32_t len, uint32_t at)
{
	uint8_t sum = 0;

	p[at] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[at] = (uint8_t)-sum;
}

static void header(uint8_t *t, const char *sig, uint32_t len)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = 1;
	memcpy(t + 10, "TESTID", 6);
}

static void seal(uint8_t *t)
{
	checksum(t, t[4] | t[5] << 8 | t[6] << 16, 9);
}

/* An FADT of len bytes with PM_TMR_BLK = pm_blk (length 4) and, when
 * len allows, X_PM_TMR_BLK in address space space at x_addr. */
static void make_fadt(uint32_t len, uint32_t flags, uint32_t pm_blk,
		      uint8_t space, uint64_t x_addr)
{
	memset(fadt, 0, FADT_LEN);
	header(fadt, "FACP", len);
	put32(fadt + 76, pm_blk);
	fadt[91] = 4;
	put32(fadt + 112, flags);
	if (len >= 220) {
		fadt[208] = space;
		fadt[209] = 32;
		fadt[211] = 3;
		put64(fadt + 212, x_addr);
	}
	seal(fadt);
}

/* An RSDP of revision rev whose RSDT and (rev >= 2) XSDT list the
 * tables given (and nothing else). */
static void make_rsdp(uint8_t rev, const void *t0, const void *t1)
{
	const void *tables[2] = {t0, t1};
	uint32_t n = t1 ? 2 : t0 ? 1 : 0;

	memset(rsdp, 0, 36);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "TESTID", 6);
	rsdp[15] = rev;
	put32(rsdp + 16, (uint32_t)addr(rsdt));
	memset(rsdt, 0, RSDT_LEN);
	memset(xsdt, 0, XSDT_LEN);
	header(rsdt, "RSDT", 36 + 4 * n);
	header(xsdt, "XSDT", 36 + 8 * n);
	for (uint32_t i = 0; i < n; i++) {
		put32(rsdt + 36 + 4 * i, (uint32_t)addr(tables[i]));
		put64(xsdt + 36 + 8 * i, addr(tables[i]));
	}
	seal(rsdt);
	seal(xsdt);
	checksum(rsdp, 20, 8);
	if (rev >= 2) {
		put32(rsdp + 20, 36);
		put64(rsdp + 24, addr(xsdt));
		checksum(rsdp, 36, 32);
	}
}

static void test_find_xsdt(void)
{
	struct pm_timer t = {0, 0};

	/* OVMF on q35: revision 2, the timer at I/O 0x608 in both fields. */
	make_fadt(276, 0, 0x608, 1, 0x608);
	header(other, "APIC", OTHER_LEN);
	seal(other);
	make_rsdp(2, other, fadt);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), NULL);
	CHECK_EQ(t.port, 0x608);
	CHECK_EQ(t.mask, 0xffffff);
	/* TMR_VAL_EXT: 32 bits. */
	make_fadt(276, 1u << 8, 0x608, 1, 0x608);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), NULL);
	CHECK_EQ(t.mask, 0xffffffffu);
	/* X_PM_TMR_BLK wins over PM_TMR_BLK. */
	make_fadt(276, 0, 0xb008, 1, 0x1808);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), NULL);
	CHECK_EQ(t.port, 0x1808);
	/* X_PM_TMR_BLK empty: PM_TMR_BLK. */
	make_fadt(276, 0, 0xb008, 0, 0);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), NULL);
	CHECK_EQ(t.port, 0xb008);
}

static void test_find_rsdt(void)
{
	struct pm_timer t = {0, 0};

	/* ACPI 1.0: revision 0, RSDT only, a 116-byte FADT. */
	make_fadt(116, 0, 0xb008, 0, 0);
	make_rsdp(0, fadt, NULL);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), NULL);
	CHECK_EQ(t.port, 0xb008);
	CHECK_EQ(t.mask, 0xffffff);
	/* An XSDT without the FADT, an RSDT with it: the XSDT is the one
	 * read, unless the RSDP's extended checksum is wrong. */
	make_fadt(276, 0, 0x608, 1, 0x608);
	header(other, "APIC", OTHER_LEN);
	seal(other);
	make_rsdp(2, fadt, NULL);
	put64(xsdt + 36, addr(other));
	seal(xsdt);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "no valid FADT");
	rsdp[33] ^= 0xff;
	t.port = 0;
	CHECK_STR(pm_timer_find(addr(rsdp), &t), NULL);
	CHECK_EQ(t.port, 0x608);
	/* An XSDT whose checksum is wrong: the RSDT instead. The XSDT lists
	 * only a table that is not the FADT, so a finder that used the
	 * broken XSDT would find none. */
	make_rsdp(2, fadt, NULL);
	put64(xsdt + 36, addr(other));
	seal(xsdt);
	t.port = 0;
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "no valid FADT");
	xsdt[20] ^= 1;
	CHECK_STR(pm_timer_find(addr(rsdp), &t), NULL);
	CHECK_EQ(t.port, 0x608);
	/* A broken first FACP entry is passed over for a good one. */
	memcpy(other, "FACP", 4);
	put32(other + 4, OTHER_LEN); /* too short for the flags */
	checksum(other, OTHER_LEN, 9);
	make_rsdp(0, other, fadt);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), NULL);
	CHECK_EQ(t.port, 0x608);
}

static void test_find_refused(void)
{
	struct pm_timer t = {0, 0};

	CHECK_STR(pm_timer_find(0, &t), "no ACPI RSDP");
	make_fadt(276, 0, 0x608, 1, 0x608);
	make_rsdp(2, fadt, NULL);
	rsdp[0] = 'X';
	CHECK_STR(pm_timer_find(addr(rsdp), &t),
		  "RSDP signature or checksum wrong");
	make_rsdp(2, fadt, NULL);
	rsdp[10] ^= 1; /* the first 20 bytes' checksum */
	CHECK_STR(pm_timer_find(addr(rsdp), &t),
		  "RSDP signature or checksum wrong");
	/* Both tables broken. */
	make_rsdp(2, fadt, NULL);
	xsdt[0] = 'Y';
	rsdt[0] = 'Y';
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "no valid RSDT or XSDT");
	/* No FADT listed; an FADT with a wrong checksum. */
	header(other, "APIC", OTHER_LEN);
	seal(other);
	make_rsdp(2, other, NULL);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "no valid FADT");
	make_rsdp(2, fadt, NULL);
	fadt[100] ^= 1;
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "no valid FADT");
	/* Hardware-reduced ACPI has no PM timer, whatever the fields say. */
	make_fadt(276, 1u << 20, 0x608, 1, 0x608);
	CHECK_STR(pm_timer_find(addr(rsdp), &t),
		  "hardware-reduced ACPI: no PM timer");
	/* In memory space, or beyond the 16-bit port space. */
	make_fadt(276, 0, 0x608, 0, 0xfed00000);
	CHECK_STR(pm_timer_find(addr(rsdp), &t),
		  "the PM timer is not an I/O port");
	make_fadt(276, 0, 0x608, 0, 0x608);
	CHECK_STR(pm_timer_find(addr(rsdp), &t),
		  "the PM timer is not an I/O port");
	make_fadt(276, 0, 0x608, 1, 0x10000);
	CHECK_STR(pm_timer_find(addr(rsdp), &t),
		  "the PM timer is not an I/O port");
	make_fadt(276, 0, 0x10008, 0, 0);
	CHECK_STR(pm_timer_find(addr(rsdp), &t),
		  "the PM timer is not an I/O port");
	/* Lengths far beyond what the tables can be are refused before the
	 * checksum reads them (under ASan, reading 2 GiB would crash). */
	make_fadt(276, 0, 0x608, 0, 0);
	make_rsdp(2, fadt, NULL);
	put32(fadt + 4, 0x7fffffff);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "no valid FADT");
	make_fadt(276, 0, 0x608, 0, 0);
	make_rsdp(2, fadt, NULL);
	put32(xsdt + 4, 0x7fffffff);
	put32(rsdt + 4, 0x7fffffff);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "no valid RSDT or XSDT");
	make_rsdp(2, fadt, NULL);
	/* No timer at all, or one of the wrong length. */
	make_fadt(276, 0, 0, 0, 0);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "the FADT has no PM timer");
	make_fadt(276, 0, 0xb008, 0, 0);
	fadt[91] = 2;
	seal(fadt);
	CHECK_STR(pm_timer_find(addr(rsdp), &t), "the FADT has no PM timer");
}

/* ---- the rate --------------------------------------------------------- */

#define TSC_HZ 2096000000ull

/* The simulated clocks at time ns: the TSC, and the PM timer as the
 * hardware shows it (its low 24 bits, garbage above them). */
static uint64_t tsc_at(uint64_t ns)
{
	return 1000000 + ns / 1000 * (TSC_HZ / 1000000) +
	       ns % 1000 * (TSC_HZ / 1000000) / 1000;
}

static uint32_t pm_at(uint64_t ns)
{
	uint64_t ticks = 12345678 + ns / 1000 * PM_TIMER_HZ / 1000000;

	return (uint32_t)ticks | 0xab000000u;
}

/* A reading at ns whose second TSC read comes skew_ns later. */
static void read_at(struct tsc_cal *c, uint64_t ns, uint64_t skew_ns)
{
	tsc_cal_sample(c, pm_at(ns), tsc_at(ns), tsc_at(ns + skew_ns));
}

/* Within ppm parts per million of TSC_HZ. */
static bool close(uint64_t hz, uint64_t ppm)
{
	uint64_t off = hz > TSC_HZ ? hz - TSC_HZ : TSC_HZ - hz;

	return off <= TSC_HZ / 1000000 * ppm;
}

static void test_rate(void)
{
	struct tsc_cal c;
	uint64_t ms = 1000000;

	/* A loader run: phases of 0.05 to 3 ms, 12 readings, 8 ms. */
	static const uint64_t ends_us[] = {50,   300,  1200, 1900, 2500, 4800,
					   5100, 5600, 6100, 6400, 7000, 8000};
	tsc_cal_start(&c, 0xffffff, pm_at(0), tsc_at(0));
	CHECK_EQ(tsc_cal_hz(&c), 0);
	read_at(&c, 50 * 1000, 200);
	CHECK_EQ(tsc_cal_hz(&c), 0); /* 179 ticks: not yet */
	for (size_t i = 1; i < ARRAY_SIZE(ends_us); i++)
		read_at(&c, ends_us[i] * 1000, 200);
	CHECK(!c.stopped);
	CHECK(close(tsc_cal_hz(&c), 300));
	/* Long runs are as close as the timer's tick allows. */
	read_at(&c, 900 * ms, 200);
	CHECK(close(tsc_cal_hz(&c), 5));
	/* 24-bit wraps (every 4.69 s) between readings 3 s apart. */
	for (uint64_t t = 3000; t <= 30000; t += 3000)
		read_at(&c, t * ms, 200);
	CHECK(!c.stopped);
	CHECK(close(tsc_cal_hz(&c), 1));
}

static void test_rate_refusals(void)
{
	struct tsc_cal c;
	uint64_t ms = 1000000, hz;

	/* Readings the host delayed between the TSC reads are skipped once
	 * the rate is known; the next good one covers the gap. */
	tsc_cal_start(&c, 0xffffff, pm_at(0), tsc_at(0));
	read_at(&c, 2 * ms, 100);
	hz = tsc_cal_hz(&c);
	CHECK(close(hz, 1000));
	/* Its timer value is from the start of the delay, its midpoint
	 * 1 ms later: used, it would read a third high. */
	tsc_cal_sample(&c, pm_at(3 * ms), tsc_at(3 * ms), tsc_at(5 * ms));
	CHECK_EQ(tsc_cal_hz(&c), hz);
	CHECK(!c.stopped);
	read_at(&c, 6 * ms, 100);
	CHECK(close(tsc_cal_hz(&c), 300));

	/* A phase longer than a wrap (5 s): the delta is 0.31 s of ticks,
	 * the TSC says 5 s. The rate stays the one before. */
	read_at(&c, 10 * ms, 100);
	hz = tsc_cal_hz(&c);
	read_at(&c, 5010 * ms, 100);
	CHECK(c.stopped);
	CHECK_EQ(tsc_cal_hz(&c), hz);
	read_at(&c, 5020 * ms, 100); /* ignored from now on */
	CHECK_EQ(tsc_cal_hz(&c), hz);

	/* A TSC that goes backwards, a reading with its TSC reads swapped:
	 * ignored. */
	tsc_cal_start(&c, 0xffffff, pm_at(0), tsc_at(10 * ms));
	read_at(&c, 5 * ms, 100);
	CHECK_EQ(c.pm_ticks, 0);
	tsc_cal_start(&c, 0xffffff, pm_at(0), tsc_at(0));
	tsc_cal_sample(&c, pm_at(5 * ms), tsc_at(5 * ms), tsc_at(4 * ms));
	CHECK_EQ(c.pm_ticks, 0);
	CHECK_EQ(tsc_cal_hz(&c), 0);

	/* An early reading the host delayed (the timer read at 150 us, the
	 * TSC's midpoint 20 us later) sets a rate 13% high; the next good
	 * reading disagrees and, the readings spanning under 1 ms, restarts
	 * the calibration instead of stopping it on the wrong rate. */
	tsc_cal_start(&c, 0xffffff, pm_at(0), tsc_at(0));
	tsc_cal_sample(&c, pm_at(150000), tsc_at(150000), tsc_at(190000));
	CHECK(!close(tsc_cal_hz(&c), 100000));
	for (uint64_t at = 1; at <= 8; at++)
		read_at(&c, at * ms, 100);
	CHECK(!c.stopped);
	CHECK(close(tsc_cal_hz(&c), 100));

	/* A 32-bit timer whose value passes 2^32. */
	tsc_cal_start(&c, 0xffffffffu, 0xfffffff0u, tsc_at(0));
	tsc_cal_sample(&c, 0xfffffff0u + 35795, tsc_at(10 * ms),
		       tsc_at(10 * ms));
	CHECK_EQ(c.pm_ticks, 35795);
	CHECK(close(tsc_cal_hz(&c), 100));
}

int main(void)
{
	setup();
	RUN(test_find_xsdt);
	RUN(test_find_rsdt);
	RUN(test_find_refused);
	RUN(test_rate);
	RUN(test_rate_refusals);
	return check_summary();
}
