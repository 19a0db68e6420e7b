/*
 * common/hw/acpi.c over tables the tests build in a fake physical memory.
 *
 * The read callback hands out a malloc'd copy of exactly the bytes asked
 * for and frees it at the next call, so ASan catches a read past what
 * the parser asked for and a pointer used after the next read.
 */
#include "common/hw/acpi.h"
#include "tests/unit/check.h"

enum { MEM_SIZE = 0x20000 };

static uint8_t mem[MEM_SIZE];
static void *last_copy;
static uint32_t reads;

static const void *phys_read(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx;
	free(last_copy);
	last_copy = NULL;
	reads++;
	if (phys > MEM_SIZE || len > MEM_SIZE - phys || len == 0)
		return NULL;
	last_copy = malloc(len);
	memcpy(last_copy, mem + phys, len);
	return last_copy;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* An RSDP at `at`: revision 0 (20 bytes) or 2 (36), both checksums. */
static void put_rsdp(uint32_t at, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	uint8_t *p = mem + at;
	memset(p, 0, 36);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "TESTOE", 6);
	p[15] = rev;
	put32(p + 16, rsdt);
	p[8] = (uint8_t)-sum(p, 20);
	if (rev >= 2) {
		put32(p + 20, 36);
		put64(p + 24, xsdt);
		p[32] = (uint8_t)-sum(p, 36);
	}
}

/* A table with a 36-byte header and body, checksum set. */
static void put_table(uint32_t at, const char *sig, const uint8_t *body,
		      uint32_t n)
{
	uint8_t *p = mem + at;
	memset(p, 0, 36);
	memcpy(p, sig, 4);
	put32(p + 4, 36 + n);
	p[8] = 1;
	memcpy(p + 10, "TESTOE", 6);
	memcpy(p + 36, body, n);
	p[9] = (uint8_t)-sum(p, 36 + n);
}

/* Rewrites the checksum of the table at `at` after an edit. */
static void fix_sum(uint32_t at)
{
	uint8_t *p = mem + at;
	uint32_t n = p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24;
	p[9] = 0;
	p[9] = (uint8_t)-sum(p, n);
}

/* A root table of addresses (8 bytes each for an XSDT, else 4). */
static void put_root(uint32_t at, bool xsdt, const uint64_t *tables, uint32_t n)
{
	uint8_t body[64];
	uint32_t e = xsdt ? 8 : 4;
	for (uint32_t i = 0; i < n; i++) {
		if (xsdt)
			put64(body + i * 8, tables[i]);
		else
			put32(body + i * 4, (uint32_t)tables[i]);
	}
	put_table(at, xsdt ? "XSDT" : "RSDT", body, n * e);
}

/* MADT bodies are built entry by entry. */
struct madt_body {
	uint8_t b[8192];
	uint32_t n;
};

static void madt_start(struct madt_body *m, uint32_t lapic, uint32_t flags)
{
	m->n = 0;
	put32(m->b, lapic);
	put32(m->b + 4, flags);
	m->n = 8;
}

static void madt_raw(struct madt_body *m, const uint8_t *e, uint32_t len)
{
	memcpy(m->b + m->n, e, len);
	m->n += len;
}

static void madt_lapic(struct madt_body *m, uint8_t uid, uint8_t id,
		       uint32_t flags)
{
	uint8_t e[8] = {0, 8, uid, id};
	put32(e + 4, flags);
	madt_raw(m, e, 8);
}

static void madt_x2apic(struct madt_body *m, uint32_t id, uint32_t flags,
			uint32_t uid)
{
	uint8_t e[16] = {9, 16};
	put32(e + 4, id);
	put32(e + 8, flags);
	put32(e + 12, uid);
	madt_raw(m, e, 16);
}

static void madt_ioapic(struct madt_body *m, uint8_t id, uint32_t phys,
			uint32_t gsi)
{
	uint8_t e[12] = {1, 12, id, 0};
	put32(e + 4, phys);
	put32(e + 8, gsi);
	madt_raw(m, e, 12);
}

static void madt_iso(struct madt_body *m, uint8_t src, uint32_t gsi,
		     uint16_t flags)
{
	uint8_t e[10] = {2, 10, 0, src};
	put32(e + 4, gsi);
	e[8] = (uint8_t)flags;
	e[9] = (uint8_t)(flags >> 8);
	madt_raw(m, e, 10);
}

static void madt_nmi(struct madt_body *m, uint8_t uid, uint16_t flags,
		     uint8_t lint)
{
	uint8_t e[6] = {4, 6, uid, (uint8_t)flags, (uint8_t)(flags >> 8), lint};
	madt_raw(m, e, 6);
}

/* The layout most tests use: RSDP at 0x100, root at 0x1000, a FACP at
 * 0x2000 and the MADT at 0x3000. */
enum { RSDP = 0x100, ROOT = 0x1000, FACP = 0x2000, MADT = 0x3000 };

static void put_facp(void)
{
	uint8_t body[8] = {0};
	put_table(FACP, "FACP", body, sizeof(body));
}

/* A MADT like QEMU's q35 with two CPUs. */
static void put_qemu_madt(void)
{
	struct madt_body m;
	madt_start(&m, 0xfee00000, 1);
	madt_lapic(&m, 0, 0, 1);
	madt_lapic(&m, 1, 1, 1);
	madt_ioapic(&m, 0, 0xfec00000, 0);
	madt_iso(&m, 0, 2, 0);
	madt_iso(&m, 9, 9, 0xd);
	madt_nmi(&m, 0xff, 0, 1);
	put_table(MADT, "APIC", m.b, m.n);
}

struct result {
	int rc;
	struct acpi_root root;
	struct acpi_madt madt;
	char why[160];
};

static struct result res;

static int run(void)
{
	memset(&res, 0, sizeof(res));
	res.rc = acpi_read_madt(phys_read, NULL, RSDP, &res.root, &res.madt,
				res.why, sizeof(res.why));
	return res.rc;
}

static void reset(void)
{
	memset(mem, 0, sizeof(mem));
}

/* ACPI 1.0: RSDT, 32-bit entries; every entry type the MADT of a QEMU
 * PC has. */
static void test_v1_rsdt(void)
{
	uint64_t tables[] = {FACP, MADT};
	reset();
	put_rsdp(RSDP, 0, ROOT, 0);
	put_root(ROOT, false, tables, 2);
	put_facp();
	put_qemu_madt();
	CHECK_EQ(run(), 0);
	CHECK_STR(res.why, "");
	CHECK_EQ(res.root.revision, 0);
	CHECK(!res.root.xsdt);
	CHECK_EQ(res.root.phys, ROOT);
	CHECK_EQ(res.root.entries, 2);
	CHECK_STR(res.root.oem, "TESTOE");
	CHECK_EQ(res.madt.lapic_phys, 0xfee00000);
	CHECK_EQ(res.madt.flags, ACPI_MADT_PCAT_COMPAT);
	CHECK_EQ(res.madt.cpu_count, 2);
	CHECK_EQ(res.madt.cpu[1].apic_id, 1);
	CHECK_EQ(res.madt.cpu[1].uid, 1);
	CHECK_EQ(res.madt.cpu[1].flags, ACPI_CPU_ENABLED);
	CHECK(!res.madt.cpu[1].x2apic);
	CHECK_EQ(res.madt.ioapic_count, 1);
	CHECK_EQ(res.madt.ioapic[0].phys, 0xfec00000);
	CHECK_EQ(res.madt.iso_count, 2);
	CHECK_EQ(res.madt.iso[0].source, 0);
	CHECK_EQ(res.madt.iso[0].gsi, 2);
	CHECK_EQ(res.madt.iso[1].source, 9);
	CHECK_EQ(res.madt.iso[1].flags, 0xd);
	CHECK_EQ(res.madt.nmi_count, 1);
	CHECK_EQ(res.madt.nmi[0].uid, ACPI_NMI_ALL_CPUS);
	CHECK_EQ(res.madt.nmi[0].lint, 1);
	CHECK_EQ(res.madt.unknown, 0);
	CHECK_EQ(res.madt.dropped, 0);
}

/* ACPI 2.0+: XSDT with 64-bit entries (one null, skipped), x2APIC
 * entries, a local APIC address override, an x2APIC NMI, an entry type
 * this parser does not know (skipped by its length) and a local APIC
 * entry longer than its type's size. */
static void test_v2_xsdt(void)
{
	uint64_t tables[] = {0, FACP, MADT};
	struct madt_body m;
	uint8_t unknown[7] = {0x7f, 7, 1, 2, 3, 4, 5};
	uint8_t long_lapic[10] = {0, 10, 3, 3, 1, 0, 0, 0, 0xaa, 0xbb};
	uint8_t override[12] = {5, 12, 0, 0};
	uint8_t x2nmi[12] = {10, 12, 5, 0, 7, 0, 0, 0, 0};

	reset();
	put_rsdp(RSDP, 2, 0x7000, ROOT);
	put_root(ROOT, true, tables, 3);
	put_facp();
	madt_start(&m, 0xfee00000, 0);
	madt_x2apic(&m, 0x100, 1, 10);
	madt_raw(&m, unknown, sizeof(unknown));
	madt_x2apic(&m, 0x101, 2, 11);
	madt_raw(&m, long_lapic, sizeof(long_lapic));
	put64(override + 4, 0x1fee00000ull);
	madt_raw(&m, override, sizeof(override));
	madt_raw(&m, x2nmi, sizeof(x2nmi));
	put_table(MADT, "APIC", m.b, m.n);

	CHECK_EQ(run(), 0);
	CHECK_EQ(res.root.revision, 2);
	CHECK(res.root.xsdt);
	CHECK_EQ(res.root.phys, ROOT);
	CHECK_EQ(res.root.entries, 3);
	CHECK_EQ(res.madt.lapic_phys, 0x1fee00000ull);
	CHECK_EQ(res.madt.cpu_count, 3);
	CHECK_EQ(res.madt.cpu[0].apic_id, 0x100);
	CHECK_EQ(res.madt.cpu[0].uid, 10);
	CHECK(res.madt.cpu[0].x2apic);
	CHECK_EQ(res.madt.cpu[1].flags, ACPI_CPU_ONLINE_CAPABLE);
	CHECK_EQ(res.madt.cpu[2].apic_id, 3);
	CHECK_EQ(res.madt.cpu[2].flags, ACPI_CPU_ENABLED);
	CHECK_EQ(res.madt.nmi_count, 1);
	CHECK_EQ(res.madt.nmi[0].uid, 7);
	CHECK_EQ(res.madt.nmi[0].flags, 5);
	CHECK_EQ(res.madt.unknown, 1);
}

/* Revision 2 with no XSDT address: the RSDT is used. */
static void test_v2_without_xsdt_uses_rsdt(void)
{
	uint64_t tables[] = {MADT};
	reset();
	put_rsdp(RSDP, 2, ROOT, 0);
	put_root(ROOT, false, tables, 1);
	put_qemu_madt();
	CHECK_EQ(run(), 0);
	CHECK(!res.root.xsdt);
	CHECK_EQ(res.madt.cpu_count, 2);
}

/* More CPUs than kept: the rest are counted. */
static void test_many_cpus_dropped(void)
{
	uint64_t tables[] = {MADT};
	struct madt_body m;
	reset();
	put_rsdp(RSDP, 2, 0, ROOT);
	put_root(ROOT, true, tables, 1);
	madt_start(&m, 0xfee00000, 0);
	for (uint32_t i = 0; i < ACPI_MAX_CPUS + 44; i++)
		madt_x2apic(&m, i, 1, i);
	put_table(MADT, "APIC", m.b, m.n);
	CHECK_EQ(run(), 0);
	CHECK_EQ(res.madt.cpu_count, ACPI_MAX_CPUS);
	CHECK_EQ(res.madt.dropped, 44);
	CHECK_EQ(res.madt.cpu[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
}

/* A good v2 layout the failure cases below break one field of. */
static void good_v2(void)
{
	uint64_t tables[] = {FACP, MADT};
	reset();
	put_rsdp(RSDP, 2, 0, ROOT);
	put_root(ROOT, true, tables, 2);
	put_facp();
	put_qemu_madt();
}

/* Each case below breaks one thing: the message must name the table and
 * the fault, and no CPU may be reported. */
#define FAILS(rc_want, text)                                                   \
	do {                                                                   \
		CHECK_EQ(run(), (rc_want));                                    \
		CHECK_MSG(strstr(res.why, (text)) != NULL,                     \
			  "why \"%s\" lacks \"%s\"", res.why, (text));         \
		CHECK_EQ(res.madt.cpu_count, 0);                               \
	} while (0)

static void test_rsdp_unreadable(void)
{
	good_v2();
	memset(&res, 0, sizeof(res));
	res.rc = acpi_read_madt(phys_read, NULL, MEM_SIZE - 8, &res.root,
				&res.madt, res.why, sizeof(res.why));
	CHECK_EQ(res.rc, -ERR_INVALID);
	CHECK_STR(res.why, "RSDP at 0x1fff8: cannot be read");
}

static void test_rsdp_signature(void)
{
	good_v2();
	mem[RSDP] = 'r';
	FAILS(-ERR_INVALID, "RSDP at 0x100: no \"RSD PTR \" signature");
}

static void test_rsdp_v1_checksum(void)
{
	good_v2();
	mem[RSDP + 9] ^= 1; /* in the first 20 bytes */
	FAILS(-ERR_INVALID, "RSDP at 0x100: checksum of its first 20 bytes");
}

static void test_rsdp_v2_checksum(void)
{
	good_v2();
	mem[RSDP + 24] ^= 1; /* the XSDT address: extended part only */
	FAILS(-ERR_INVALID, "RSDP at 0x100: extended checksum of its 36");
}

static void test_rsdp_v2_length(void)
{
	good_v2();
	mem[RSDP + 20] = 20;
	mem[RSDP + 32] = (uint8_t)(mem[RSDP + 32] + 16);
	FAILS(-ERR_INVALID, "revision 2 with length 20");
}

static void test_rsdt_address_zero(void)
{
	reset();
	put_rsdp(RSDP, 0, 0, 0);
	FAILS(-ERR_INVALID, "RSDP at 0x100: RSDT address is 0");
}

static void test_xsdt_signature(void)
{
	good_v2();
	memcpy(mem + ROOT, "RSDT", 4);
	fix_sum(ROOT);
	FAILS(-ERR_INVALID, "XSDT at 0x1000: signature \"RSDT\"");
}

static void test_xsdt_checksum(void)
{
	good_v2();
	mem[ROOT + 40] ^= 0x10;
	FAILS(-ERR_INVALID, "XSDT at 0x1000: checksum fails (its 52 bytes");
}

static void test_xsdt_partial_entry(void)
{
	good_v2();
	mem[ROOT + 4] = 48; /* 12 bytes of entries */
	fix_sum(ROOT);
	FAILS(-ERR_INVALID, "XSDT at 0x1000: length 48 is not the header and "
			    "a whole number of 8-byte entries");
}

static void test_xsdt_short(void)
{
	good_v2();
	mem[ROOT + 4] = 30;
	FAILS(-ERR_INVALID, "XSDT at 0x1000: length 30, shorter than the 36");
}

static void test_xsdt_huge(void)
{
	good_v2();
	put32(mem + ROOT + 4, ACPI_TABLE_MAX + 1);
	FAILS(-ERR_INVALID, "XSDT at 0x1000: length 1048577, over the");
}

static void test_xsdt_past_memory(void)
{
	good_v2();
	put32(mem + ROOT + 4, MEM_SIZE);
	FAILS(-ERR_INVALID, "XSDT at 0x1000: its 131072 bytes cannot be read");
}

static void test_entry_unreadable(void)
{
	uint64_t tables[] = {FACP, 0x123456789ull};
	good_v2();
	put_root(ROOT, true, tables, 2);
	FAILS(-ERR_INVALID, "XSDT entry 1: table at 0x123456789 cannot be "
			    "read");
}

static void test_no_madt(void)
{
	uint64_t tables[] = {FACP};
	good_v2();
	put_root(ROOT, true, tables, 1);
	FAILS(-ERR_NOTFOUND, "no MADT among the 1 entries of the XSDT");
}

static void test_madt_checksum(void)
{
	good_v2();
	mem[MADT + 36] ^= 1;
	FAILS(-ERR_INVALID, "MADT at 0x3000: checksum fails");
}

static void test_madt_short(void)
{
	uint8_t body[4] = {0};
	good_v2();
	put_table(MADT, "APIC", body, sizeof(body));
	FAILS(-ERR_INVALID, "MADT: length 40 (header says 40), at least 44");
}

/* A MADT whose entries are the given bytes after a good QEMU entry. */
static void madt_with(const uint8_t *tail, uint32_t n)
{
	struct madt_body m;
	good_v2();
	madt_start(&m, 0xfee00000, 1);
	madt_lapic(&m, 0, 0, 1);
	madt_raw(&m, tail, n);
	put_table(MADT, "APIC", m.b, m.n);
}

static void test_madt_entry_length_zero(void)
{
	uint8_t e[8] = {0, 0};
	madt_with(e, sizeof(e));
	FAILS(-ERR_INVALID, "MADT: entry at offset 52 (type 0): length 0");
}

static void test_madt_entry_length_one(void)
{
	uint8_t e[4] = {0x55, 1};
	madt_with(e, sizeof(e));
	FAILS(-ERR_INVALID, "MADT: entry at offset 52 (type 85): length 1");
}

static void test_madt_entry_overruns(void)
{
	uint8_t e[6] = {1, 12, 0, 0, 0, 0};
	madt_with(e, sizeof(e));
	FAILS(-ERR_INVALID, "MADT: entry at offset 52 (type 1): length 12 "
			    "runs past the table's end (58)");
}

static void test_madt_entry_too_short_for_type(void)
{
	uint8_t e[6] = {0, 6, 1, 1, 1, 0};
	madt_with(e, sizeof(e));
	FAILS(-ERR_INVALID,
	      "MADT: entry at offset 52 (local APIC): length 6, needs 8");
}

static void test_madt_trailing_byte(void)
{
	uint8_t e[1] = {0};
	madt_with(e, sizeof(e));
	FAILS(-ERR_INVALID, "MADT: entry at offset 52: 1 byte left");
}

/* The parser on its own, with a table whose checksum is broken after
 * acpi_find_table's check (a table firmware changes under us). */
static void test_madt_parse_rechecks(void)
{
	struct acpi_madt m;
	char why[128] = "";
	good_v2();
	mem[MADT + 40] ^= 1;
	uint32_t len = mem[MADT + 4];
	CHECK_EQ(len, 36 + 8 + 2 * 8 + 12 + 2 * 10 + 6);
	CHECK_EQ(acpi_madt_parse(mem + MADT, len, &m, why, sizeof(why)),
		 -ERR_INVALID);
	CHECK_STR(why, "MADT: checksum fails");
}

static void test_checksum(void)
{
	uint8_t b[4] = {0x10, 0xf0, 0x01, 0xff};
	CHECK_EQ(acpi_checksum(b, 4), 0);
	CHECK_EQ(acpi_checksum(b, 3), 1);
	CHECK_EQ(acpi_checksum(b, 0), 0);
}

int main(void)
{
	RUN(test_v1_rsdt);
	RUN(test_v2_xsdt);
	RUN(test_v2_without_xsdt_uses_rsdt);
	RUN(test_many_cpus_dropped);
	RUN(test_rsdp_unreadable);
	RUN(test_rsdp_signature);
	RUN(test_rsdp_v1_checksum);
	RUN(test_rsdp_v2_checksum);
	RUN(test_rsdp_v2_length);
	RUN(test_rsdt_address_zero);
	RUN(test_xsdt_signature);
	RUN(test_xsdt_checksum);
	RUN(test_xsdt_partial_entry);
	RUN(test_xsdt_short);
	RUN(test_xsdt_huge);
	RUN(test_xsdt_past_memory);
	RUN(test_entry_unreadable);
	RUN(test_no_madt);
	RUN(test_madt_checksum);
	RUN(test_madt_short);
	RUN(test_madt_entry_length_zero);
	RUN(test_madt_entry_length_one);
	RUN(test_madt_entry_overruns);
	RUN(test_madt_entry_too_short_for_type);
	RUN(test_madt_trailing_byte);
	RUN(test_madt_parse_rechecks);
	RUN(test_checksum);
	free(last_copy);
	return check_summary();
}
