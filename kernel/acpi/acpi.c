/*
 * Reaching ACPI tables. See acpi.h.
 */
#include "kernel/acpi/acpi.h"

#include "common/lib/fmt.h"
#include "kernel/boot/handoff.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm.h"

/* Firmware memory mapped so far (never unmapped: a few pages, and
 * tables are read again when the same window covers them). */
#define WINDOWS 8

struct window {
	uint64_t pa, end; /* page-aligned */
	uint64_t va;      /* of pa */
};

struct reader {
	struct window w[WINDOWS];
	uint32_t windows;
	uint64_t pages; /* mapped read-only for the tables */
	bool exhausted; /* the window list was full */
};

static struct acpi_madt madt;
static struct reader rd;

/* True when every page of [pa, end) is in the direct map. */
static bool all_direct(uint64_t pa, uint64_t end)
{
	for (; pa < end; pa += PAGE_SIZE)
		if (!phys_to_virt_or_null(pa))
			return false;
	return true;
}

static const void *read_phys(void *ctx, uint64_t phys, uint64_t len)
{
	struct reader *r = ctx;

	if (!len || add_overflows(phys, len) || phys + len > 0ull - PAGE_SIZE)
		return NULL;
	uint64_t pa = ALIGN_DOWN(phys, PAGE_SIZE);
	uint64_t end = ALIGN_UP(phys + len, PAGE_SIZE);
	if (all_direct(pa, end))
		return phys_to_virt(phys);
	for (uint32_t i = 0; i < r->windows; i++)
		if (pa >= r->w[i].pa && end <= r->w[i].end)
			return (const void *)(uintptr_t)(r->w[i].va + phys -
							 r->w[i].pa);
	if (r->windows == WINDOWS) {
		r->exhausted = true; /* a loop through many tables: stop */
		return NULL;
	}
	uint64_t va = mm_map_mmio(pa, end - pa, MM_FW_RO);
	if (!va)
		return NULL;
	r->w[r->windows++] = (struct window){pa, end, va};
	r->pages += (end - pa) / PAGE_SIZE;
	return (const void *)(uintptr_t)(va + phys - pa);
}

/* "0 1 2 3" (the first 16, then "..."). */
static void list_ids(char *buf, size_t cap, const struct acpi_madt *m)
{
	size_t len = 0;
	uint32_t shown = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < m->cpu_count && len < cap; i++) {
		if (!(m->cpu[i].flags & ACPI_CPU_ENABLED))
			continue;
		if (shown++ == 16) {
			fmt_snprintf(buf + len, cap - len, " ...");
			break;
		}
		len += fmt_snprintf(buf + len, cap - len, "%s%u",
				    shown > 1 ? " " : "", m->cpu[i].apic_id);
	}
}

const struct acpi_madt *acpi_init(const struct handoff *h)
{
	struct acpi_root root;
	char why[192], ids[128];
	uint64_t rsdp = h->info.rsdp;

	if (!rsdp) {
		kputs("kernel: acpi: no RSDP from the loader: one CPU\n");
		return NULL;
	}
	int rc = acpi_read_madt(read_phys, &rd, rsdp, &root, &madt, why,
				sizeof(why));
	if (rc) {
		kprintf("kernel: acpi: %s%s; one CPU\n", why,
			rd.exhausted ? " (too many tables outside the direct "
				       "map)"
				     : "");
		return NULL;
	}
	uint32_t enabled = 0;
	for (uint32_t i = 0; i < madt.cpu_count; i++)
		enabled += (madt.cpu[i].flags & ACPI_CPU_ENABLED) != 0;
	list_ids(ids, sizeof(ids), &madt);
	kprintf("kernel: acpi: RSDP revision %u (OEM \"%s\"), %s of %u "
		"tables; MADT: %u CPUs enabled (APIC ids %s)%s, %u IOAPIC, %u "
		"overrides, %u NMI entries\n",
		(uint32_t)root.revision, root.oem, root.xsdt ? "XSDT" : "RSDT",
		root.entries, enabled, ids,
		madt.cpu_count > enabled ? ", more disabled" : "",
		madt.ioapic_count, madt.iso_count, madt.nmi_count);
	if (rd.pages)
		kprintf("kernel: acpi: %lu pages of firmware memory outside "
			"the direct map mapped read-only to reach them\n",
			rd.pages);
	if (madt.dropped || madt.unknown)
		kprintf("kernel: acpi: MADT: %u entries past what is kept, %u "
			"of unknown types skipped\n",
			madt.dropped, madt.unknown);
	return &madt;
}
