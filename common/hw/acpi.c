/*
 * ACPI: the RSDP, the root table and the MADT. See acpi.h for the
 * contract. Offsets and sizes are from the ACPI specification (6.5):
 * 5.2.5 (RSDP), 5.2.6 (table header), 5.2.7/5.2.8 (RSDT/XSDT), 5.2.12
 * (MADT and its entry types).
 */
#include "common/hw/acpi.h"

#include "common/lib/fmt.h"
#include "common/lib/string.h"

/* RSDP: "RSD PTR ", checksum, OEM ID, revision, RSDT address (the ACPI
 * 1.0 part, 20 bytes); then length, XSDT address, extended checksum. */
#define RSDP_V1_LEN       20
#define RSDP_V2_LEN       36
#define RSDP_OEM          9
#define RSDP_REVISION     15
#define RSDP_RSDT         16
#define RSDP_LENGTH       20
#define RSDP_XSDT         24
#define RSDP_SIGNATURE    "RSD PTR "
#define RSDP_SIGNATURE_SZ 8

/* Every system description table starts with this header. */
#define HDR_LEN      36
#define HDR_LENGTH   4
#define HDR_CHECKSUM 9

/* MADT: the header, the local APIC address, flags, then entries. */
#define MADT_LAPIC   36
#define MADT_FLAGS   40
#define MADT_ENTRIES 44

enum madt_type {
	MADT_LAPIC_ENTRY = 0,
	MADT_IOAPIC = 1,
	MADT_ISO = 2,
	MADT_NMI_SOURCE = 3,
	MADT_LAPIC_NMI = 4,
	MADT_LAPIC_OVERRIDE = 5,
	MADT_X2APIC = 9,
	MADT_X2APIC_NMI = 10,
};

/* The size each known entry type has at least (a later revision may
 * make one longer; the extra bytes are skipped). */
static const struct {
	uint8_t type, len;
	const char *name;
} madt_sizes[] = {
    {MADT_LAPIC_ENTRY, 8, "local APIC"},
    {MADT_IOAPIC, 12, "IOAPIC"},
    {MADT_ISO, 10, "interrupt source override"},
    {MADT_NMI_SOURCE, 8, "NMI source"},
    {MADT_LAPIC_NMI, 6, "local APIC NMI"},
    {MADT_LAPIC_OVERRIDE, 12, "local APIC address override"},
    {MADT_X2APIC, 16, "local x2APIC"},
    {MADT_X2APIC_NMI, 12, "local x2APIC NMI"},
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

uint8_t acpi_checksum(const uint8_t *p, uint64_t n)
{
	uint8_t sum = 0;
	for (uint64_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

/* A signature, printable. */
static void sig_raw(char out[5], const uint8_t *sig)
{
	for (int i = 0; i < 4; i++)
		out[i] = sig[i] >= 0x20 && sig[i] < 0x7f ? (char)sig[i] : '?';
	out[4] = '\0';
}

/* A table's name for messages: its signature, except that the MADT's is
 * "APIC", which reads like the device. */
static void sig_text(char out[5], const uint8_t *sig)
{
	if (mem_cmp(sig, "APIC", 4) == 0)
		str_copy(out, "MADT", 5);
	else
		sig_raw(out, sig);
}

static int fail(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -ERR_INVALID;
}

/*
 * Reads the table at phys: its header first, for the length, then all
 * of it, whose checksum must be 0. want is the signature expected. On
 * success *t points at the whole table (valid until the next read) and
 * *len is its length.
 */
static int read_table(acpi_read_fn read, void *ctx, uint64_t phys,
		      const char *want, uint32_t min_len, const uint8_t **t,
		      uint32_t *len, char *why, size_t cap)
{
	char sig[5], name[5];
	const uint8_t *h = read(ctx, phys, HDR_LEN);
	sig_text(name, (const uint8_t *)want);
	if (!h)
		return fail(why, cap,
			    "%s at 0x%lx: header cannot be read (36 bytes)",
			    name, phys);
	sig_raw(sig, h);
	if (mem_cmp(h, want, 4) != 0)
		return fail(why, cap, "%s at 0x%lx: signature \"%s\"", name,
			    phys, sig);
	uint32_t n = get32(h + HDR_LENGTH);
	if (n < min_len)
		return fail(why, cap,
			    "%s at 0x%lx: length %u, shorter than the %u "
			    "bytes it must have",
			    name, phys, n, min_len);
	if (n > ACPI_TABLE_MAX)
		return fail(why, cap,
			    "%s at 0x%lx: length %u, over the %u bytes a "
			    "table may have here",
			    name, phys, n, (uint32_t)ACPI_TABLE_MAX);
	if (add_overflows(phys, n))
		return fail(why, cap, "%s at 0x%lx: length %u wraps", name,
			    phys, n);
	const uint8_t *all = read(ctx, phys, n);
	if (!all)
		return fail(why, cap,
			    "%s at 0x%lx: its %u bytes cannot be read", name,
			    phys, n);
	uint8_t sum = acpi_checksum(all, n);
	if (sum)
		return fail(why, cap,
			    "%s at 0x%lx: checksum fails (its %u bytes sum "
			    "to 0x%x, not 0)",
			    name, phys, n, (uint32_t)sum);
	*t = all;
	*len = n;
	return 0;
}

int acpi_find_root(acpi_read_fn read, void *ctx, uint64_t rsdp_phys,
		   struct acpi_root *root, char *why, size_t cap)
{
	mem_set(root, 0, sizeof(*root));
	const uint8_t *p = read(ctx, rsdp_phys, RSDP_V1_LEN);
	if (!p)
		return fail(why, cap, "RSDP at 0x%lx: cannot be read",
			    rsdp_phys);
	if (mem_cmp(p, RSDP_SIGNATURE, RSDP_SIGNATURE_SZ) != 0)
		return fail(why, cap,
			    "RSDP at 0x%lx: no \"RSD PTR \" signature",
			    rsdp_phys);
	uint8_t sum = acpi_checksum(p, RSDP_V1_LEN);
	if (sum)
		return fail(why, cap,
			    "RSDP at 0x%lx: checksum of its first 20 bytes "
			    "is 0x%x, not 0",
			    rsdp_phys, (uint32_t)sum);
	root->revision = p[RSDP_REVISION];
	mem_copy(root->oem, p + RSDP_OEM, 6);
	for (int i = 0; i < 6; i++)
		if (root->oem[i] < 0x20 || root->oem[i] >= 0x7f)
			root->oem[i] = '?';
	uint64_t rsdt = get32(p + RSDP_RSDT), xsdt = 0;

	if (root->revision >= 2) {
		p = read(ctx, rsdp_phys, RSDP_V2_LEN);
		if (!p)
			return fail(why, cap,
				    "RSDP at 0x%lx: revision %u but its 36 "
				    "bytes cannot be read",
				    rsdp_phys, (uint32_t)root->revision);
		uint32_t n = get32(p + RSDP_LENGTH);
		if (n < RSDP_V2_LEN || n > PAGE_SIZE)
			return fail(why, cap,
				    "RSDP at 0x%lx: revision %u with length "
				    "%u (36 to 4096 expected)",
				    rsdp_phys, (uint32_t)root->revision, n);
		p = read(ctx, rsdp_phys, n);
		if (!p)
			return fail(why, cap,
				    "RSDP at 0x%lx: its %u bytes cannot be "
				    "read",
				    rsdp_phys, n);
		sum = acpi_checksum(p, n);
		if (sum)
			return fail(why, cap,
				    "RSDP at 0x%lx: extended checksum of its "
				    "%u bytes is 0x%x, not 0",
				    rsdp_phys, n, (uint32_t)sum);
		xsdt = get64(p + RSDP_XSDT);
	}

	root->xsdt = xsdt != 0;
	root->phys = xsdt ? xsdt : rsdt;
	const char *name = xsdt ? "XSDT" : "RSDT";
	uint32_t entry = xsdt ? 8 : 4;
	if (!root->phys)
		return fail(why, cap, "RSDP at 0x%lx: RSDT address is 0",
			    rsdp_phys);
	const uint8_t *t;
	uint32_t len;
	int rc = read_table(read, ctx, root->phys, name, HDR_LEN, &t, &len, why,
			    cap);
	if (rc)
		return rc;
	if ((len - HDR_LEN) % entry)
		return fail(why, cap,
			    "%s at 0x%lx: length %u is not the header and a "
			    "whole number of %u-byte entries",
			    name, root->phys, len, entry);
	root->entries = (len - HDR_LEN) / entry;
	return 0;
}

int acpi_find_table(acpi_read_fn read, void *ctx, const struct acpi_root *root,
		    const char *sig, uint64_t *phys, uint32_t *len, char *why,
		    size_t cap)
{
	const char *name = root->xsdt ? "XSDT" : "RSDT";
	uint32_t entry = root->xsdt ? 8 : 4;

	for (uint32_t i = 0; i < root->entries; i++) {
		/* Read one entry at a time: each read may reuse the last
		 * one's mapping. */
		uint64_t at = root->phys + HDR_LEN + (uint64_t)i * entry;
		const uint8_t *e = read(ctx, at, entry);
		if (!e)
			return fail(why, cap,
				    "%s at 0x%lx: entry %u cannot be read",
				    name, root->phys, i);
		uint64_t table = entry == 8 ? get64(e) : get32(e);
		if (!table)
			continue; /* a null entry names nothing */
		const uint8_t *h = read(ctx, table, 4);
		if (!h)
			return fail(why, cap,
				    "%s entry %u: table at 0x%lx cannot be "
				    "read",
				    name, i, table);
		if (mem_cmp(h, sig, 4) != 0)
			continue;
		const uint8_t *t;
		int rc = read_table(read, ctx, table, sig, HDR_LEN, &t, len,
				    why, cap);
		if (rc)
			return rc;
		*phys = table;
		return 0;
	}
	char want[5];
	sig_text(want, (const uint8_t *)sig);
	fmt_snprintf(why, cap, "no %s among the %u entries of the %s", want,
		     root->entries, name);
	return -ERR_NOTFOUND;
}

/* Stores one entry of a known type; e has at least its type's size. */
static void madt_entry(struct acpi_madt *m, uint8_t type, const uint8_t *e)
{
	switch (type) {
	case MADT_LAPIC_ENTRY:
	case MADT_X2APIC:
		if (m->cpu_count == ACPI_MAX_CPUS) {
			m->dropped++;
			return;
		}
		m->cpu[m->cpu_count++] =
		    type == MADT_X2APIC
			? (struct acpi_cpu){.apic_id = get32(e + 4),
					    .flags = get32(e + 8),
					    .uid = get32(e + 12),
					    .x2apic = true}
			: (struct acpi_cpu){.uid = e[2],
					    .apic_id = e[3],
					    .flags = get32(e + 4)};
		return;
	case MADT_IOAPIC:
		if (m->ioapic_count == ACPI_MAX_IOAPICS) {
			m->dropped++;
			return;
		}
		m->ioapic[m->ioapic_count++] = (struct acpi_ioapic){
		    .id = e[2], .phys = get32(e + 4), .gsi_base = get32(e + 8)};
		return;
	case MADT_ISO:
		if (m->iso_count == ACPI_MAX_ISOS) {
			m->dropped++;
			return;
		}
		m->iso[m->iso_count++] =
		    (struct acpi_iso){.bus = e[2],
				      .source = e[3],
				      .gsi = get32(e + 4),
				      .flags = get16(e + 8)};
		return;
	case MADT_NMI_SOURCE:
		m->nmi_sources++;
		return;
	case MADT_LAPIC_NMI:
	case MADT_X2APIC_NMI:
		if (m->nmi_count == ACPI_MAX_NMIS) {
			m->dropped++;
			return;
		}
		/* The xAPIC form names every processor with UID 0xff. */
		m->nmi[m->nmi_count++] =
		    type == MADT_X2APIC_NMI
			? (struct acpi_nmi){.flags = get16(e + 2),
					    .uid = get32(e + 4),
					    .lint = e[8]}
			: (struct acpi_nmi){
			      .uid = e[2] == 0xff ? ACPI_NMI_ALL_CPUS : e[2],
			      .flags = get16(e + 3),
			      .lint = e[5]};
		return;
	case MADT_LAPIC_OVERRIDE:
		m->lapic_phys = get64(e + 4);
		return;
	}
}

static int parse_madt(const uint8_t *t, uint32_t len, struct acpi_madt *m,
		      char *why, size_t cap)
{
	if (len < MADT_ENTRIES || get32(t + HDR_LENGTH) != len)
		return fail(why, cap,
			    "MADT: length %u (header says %u), at least %u "
			    "needed",
			    len, len >= HDR_LEN ? get32(t + HDR_LENGTH) : 0,
			    (uint32_t)MADT_ENTRIES);
	if (mem_cmp(t, "APIC", 4) != 0)
		return fail(why, cap, "MADT: signature is not \"APIC\"");
	if (acpi_checksum(t, len))
		return fail(why, cap, "MADT: checksum fails");
	m->lapic_phys = get32(t + MADT_LAPIC);
	m->flags = get32(t + MADT_FLAGS);

	for (uint32_t off = MADT_ENTRIES; off < len;) {
		if (len - off < 2)
			return fail(why, cap,
				    "MADT: entry at offset %u: 1 byte left "
				    "before the end, too short for an entry",
				    off);
		uint8_t type = t[off], elen = t[off + 1];
		if (elen < 2)
			return fail(why, cap,
				    "MADT: entry at offset %u (type %u): "
				    "length %u",
				    off, (uint32_t)type, (uint32_t)elen);
		if (elen > len - off)
			return fail(why, cap,
				    "MADT: entry at offset %u (type %u): "
				    "length %u runs past the table's end "
				    "(%u)",
				    off, (uint32_t)type, (uint32_t)elen, len);
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(madt_sizes); i++) {
			if (madt_sizes[i].type != type)
				continue;
			known = true;
			if (elen < madt_sizes[i].len)
				return fail(why, cap,
					    "MADT: entry at offset %u (%s): "
					    "length %u, needs %u",
					    off, madt_sizes[i].name,
					    (uint32_t)elen,
					    (uint32_t)madt_sizes[i].len);
		}
		if (known)
			madt_entry(m, type, t + off);
		else
			m->unknown++;
		off += elen;
	}
	return 0;
}

int acpi_madt_parse(const uint8_t *t, uint32_t len, struct acpi_madt *m,
		    char *why, size_t cap)
{
	mem_set(m, 0, sizeof(*m));
	int rc = parse_madt(t, len, m, why, cap);
	if (rc)
		mem_set(m, 0, sizeof(*m)); /* half a MADT is no MADT */
	return rc;
}

int acpi_read_madt(acpi_read_fn read, void *ctx, uint64_t rsdp_phys,
		   struct acpi_root *root, struct acpi_madt *m, char *why,
		   size_t cap)
{
	uint64_t phys;
	uint32_t len;
	const uint8_t *t;

	mem_set(m, 0, sizeof(*m));
	int rc = acpi_find_root(read, ctx, rsdp_phys, root, why, cap);
	if (rc)
		return rc;
	rc = acpi_find_table(read, ctx, root, "APIC", &phys, &len, why, cap);
	if (rc)
		return rc;
	/* Read again: acpi_find_table's pointer may be gone. */
	t = read(ctx, phys, len);
	if (!t)
		return fail(why, cap,
			    "MADT at 0x%lx: its %u bytes cannot be "
			    "read",
			    phys, len);
	return acpi_madt_parse(t, len, m, why, cap);
}
