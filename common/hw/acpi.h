/*
 * ACPI tables, as far as the kernel needs them to find its CPUs: the
 * RSDP, the XSDT (or the RSDT of ACPI 1.0) and the MADT ("APIC"), with
 * its processor, IOAPIC, interrupt-source-override and NMI entries.
 *
 * Pure: physical memory is read through a callback (the kernel's reaches
 * RAM through the direct map and maps firmware memory read-only; the host
 * tests and the fuzzer hand in a buffer), so the same code runs over
 * tables the tests build and over what firmware left.
 *
 * Every table is distrusted: each length is checked against the smallest
 * the specification allows and against what can be read, each checksum
 * over exactly the bytes it covers, each MADT entry's length against the
 * table's end and its type's size. A failure is one message naming the
 * table (and the entry) and the fault; nothing found up to then is used.
 * Entry types this parser does not know are skipped by their length, as
 * the specification asks, and counted.
 */
#ifndef COMMON_ACPI_H
#define COMMON_ACPI_H

#include "common/lib/types.h"

/* Returns a pointer to the len bytes at physical address phys, or NULL
 * when any of them cannot be read. A pointer is used only until the
 * next call. */
typedef const void *(*acpi_read_fn)(void *ctx, uint64_t phys, uint64_t len);

/* A table longer than this is refused as corrupt rather than read: a
 * MADT of 4096 x2APIC entries is 64 KiB. */
#define ACPI_TABLE_MAX (1u << 20)

/* What is kept of a MADT; entries past each array are counted, not
 * stored (acpi_madt.dropped). */
#define ACPI_MAX_CPUS    256
#define ACPI_MAX_IOAPICS 16
#define ACPI_MAX_ISOS    32
#define ACPI_MAX_NMIS    32

/* Local APIC / x2APIC entry flags. */
#define ACPI_CPU_ENABLED        (1u << 0)
#define ACPI_CPU_ONLINE_CAPABLE (1u << 1) /* ACPI 6.3: may be enabled later */

/* An NMI entry's processor UID that means "every processor". */
#define ACPI_NMI_ALL_CPUS 0xffffffffu

/* The MADT's flags word: the PC has dual 8259s (PCAT_COMPAT). */
#define ACPI_MADT_PCAT_COMPAT (1u << 0)

/* The root of the tables, from the RSDP. */
struct acpi_root {
	uint8_t revision; /* the RSDP's: 0 is ACPI 1.0, 2 and up have XSDT */
	bool xsdt;        /* root is an XSDT (64-bit entries), else RSDT */
	uint64_t phys;    /* of the XSDT or RSDT */
	uint32_t entries; /* table addresses in it */
	char oem[7];      /* the RSDP's OEM ID, NUL-terminated */
};

struct acpi_cpu {
	uint32_t apic_id;
	uint32_t uid;   /* the processor's ACPI UID (NMI entries name it) */
	uint32_t flags; /* ACPI_CPU_* */
	bool x2apic;    /* from a local x2APIC entry (type 9) */
};

struct acpi_ioapic {
	uint32_t id;
	uint32_t phys; /* its registers */
	uint32_t gsi_base;
};

/* An interrupt source override: ISA IRQ `source` arrives at `gsi`. */
struct acpi_iso {
	uint8_t bus;
	uint8_t source;
	uint16_t flags; /* polarity (bits 1:0) and trigger mode (3:2) */
	uint32_t gsi;
};

/* A local APIC NMI: LINT`lint` of processor `uid` is wired to NMI. */
struct acpi_nmi {
	uint32_t uid; /* ACPI_NMI_ALL_CPUS: every processor */
	uint16_t flags;
	uint8_t lint; /* 0 or 1 */
};

struct acpi_madt {
	uint64_t lapic_phys; /* the 32-bit field, or a type 5 override */
	uint32_t flags;      /* ACPI_MADT_* */
	uint32_t cpu_count, ioapic_count, iso_count, nmi_count;
	uint32_t nmi_sources; /* type 3 entries (IOAPIC inputs as NMI) */
	uint32_t unknown;     /* entries of types not known here, skipped */
	uint32_t dropped;     /* entries past an array below */
	struct acpi_cpu cpu[ACPI_MAX_CPUS];
	struct acpi_ioapic ioapic[ACPI_MAX_IOAPICS];
	struct acpi_iso iso[ACPI_MAX_ISOS];
	struct acpi_nmi nmi[ACPI_MAX_NMIS];
};

/*
 * Checks the RSDP at rsdp_phys (signature, the ACPI 1.0 checksum over its
 * first 20 bytes, and from revision 2 its length and the extended
 * checksum over all of it) and the root table it names: the XSDT when
 * the revision is 2 or more and the XSDT address is not 0, else the RSDT
 * (signature, length, checksum, a whole number of entries). Returns 0,
 * or -ERR_INVALID with why (cap bytes) naming the table and the fault.
 */
int acpi_find_root(acpi_read_fn read, void *ctx, uint64_t rsdp_phys,
		   struct acpi_root *root, char *why, size_t cap);

/*
 * The first table with signature sig (4 characters) among root's
 * entries: its header's length and its checksum are checked. Returns 0
 * with *phys and *len set; -ERR_NOTFOUND (why says so) when no entry has
 * that signature; -ERR_INVALID with why for an entry that cannot be read
 * or a table that fails its checks.
 */
int acpi_find_table(acpi_read_fn read, void *ctx, const struct acpi_root *root,
		    const char *sig, uint64_t *phys, uint32_t *len, char *why,
		    size_t cap);

/*
 * Parses a MADT of len bytes at t (whose checksum acpi_find_table has
 * checked; this checks it again, and the signature and lengths). Returns
 * 0, or -ERR_INVALID with why naming the entry (by its offset) and the
 * fault; *m is then all zero (no CPU, no IOAPIC): half a MADT is none.
 */
int acpi_madt_parse(const uint8_t *t, uint32_t len, struct acpi_madt *m,
		    char *why, size_t cap);

/* acpi_find_root, acpi_find_table("APIC") and acpi_madt_parse in turn. */
int acpi_read_madt(acpi_read_fn read, void *ctx, uint64_t rsdp_phys,
		   struct acpi_root *root, struct acpi_madt *m, char *why,
		   size_t cap);

/* The byte sum of n bytes (a table is valid when it is 0 mod 256). */
uint8_t acpi_checksum(const uint8_t *p, uint64_t n);

#endif
