/*
 * acpi_read_madt over fake physical memory, and acpi_madt_parse over the
 * same bytes taken as a MADT.
 *
 * Input: byte 0 holds flags, the rest is physical memory from address 0,
 * with the RSDP at 0. Random bytes almost never pass a checksum, so with
 * flag bit 0 the harness first makes them pass: it sets the RSDP's two
 * checksums, then the checksum of every table the root names whose
 * header is in the buffer (the root's own last), the way a firmware that
 * computes them over garbage would. The parser must then get past the
 * checksums into the lengths and the MADT's entries. Reads outside the
 * buffer fail, as they would past the end of RAM; each read hands out an
 * exact-size copy that the next read frees, so ASan catches a read past
 * what was asked for and a pointer kept too long.
 */
#include "common/hw/acpi.h"
#include "tests/fuzz/fuzz_check.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct phys {
	const uint8_t *mem;
	uint64_t size;
	void *copy;
};

static const void *phys_read(void *ctx, uint64_t phys, uint64_t len)
{
	struct phys *p = ctx;

	free(p->copy);
	p->copy = NULL;
	if (len == 0 || phys > p->size || len > p->size - phys)
		return NULL;
	p->copy = malloc(len);
	memcpy(p->copy, p->mem + phys, len);
	return p->copy;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Sets byte `at` so that the n bytes from base sum to 0, when they are
 * all in the buffer. */
static void fix(uint8_t *mem, size_t size, uint64_t base, uint64_t n,
		uint64_t at)
{
	if (base > size || n > size - base || at >= n)
		return;
	mem[base + at] = 0;
	mem[base + at] = (uint8_t)-acpi_checksum(mem + base, n);
}

static void fix_checksums(uint8_t *mem, size_t size)
{
	if (size < 36)
		return;
	fix(mem, size, 0, 20, 8);
	fix(mem, size, 0, get32(mem + 20), 32);
	uint64_t root =
	    mem[15] >= 2 && get64(mem + 24) ? get64(mem + 24) : get32(mem + 16);
	uint32_t entry = mem[15] >= 2 && get64(mem + 24) ? 8 : 4;
	if (root > size || size - root < 36)
		return;
	uint32_t len = get32(mem + root + 4);
	for (uint64_t at = root + 36;
	     at + entry <= root + len && at + entry <= size; at += entry) {
		uint64_t t = entry == 8 ? get64(mem + at) : get32(mem + at);
		if (t < size && size - t >= 36 && t != root)
			fix(mem, size, t, get32(mem + t + 4), 9);
	}
	fix(mem, size, root, len, 9);
}

static void check_madt(const struct acpi_madt *m, int rc)
{
	FUZZ_ASSERT(m->cpu_count <= ACPI_MAX_CPUS);
	FUZZ_ASSERT(m->ioapic_count <= ACPI_MAX_IOAPICS);
	FUZZ_ASSERT(m->iso_count <= ACPI_MAX_ISOS);
	FUZZ_ASSERT(m->nmi_count <= ACPI_MAX_NMIS);
	if (rc)
		FUZZ_ASSERT(m->cpu_count == 0 && m->ioapic_count == 0 &&
			    m->lapic_phys == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phys phys = {0};
	struct acpi_root root;
	struct acpi_madt *m;
	char why[160];
	uint8_t *mem;
	int rc;

	if (size < 1)
		return 0;
	m = malloc(sizeof(*m));
	phys.size = size - 1;
	mem = malloc(phys.size ? phys.size : 1);
	memcpy(mem, data + 1, phys.size);
	if (data[0] & 1)
		fix_checksums(mem, phys.size);
	phys.mem = mem;

	why[0] = '\0';
	rc = acpi_read_madt(phys_read, &phys, 0, &root, m, why, sizeof(why));
	FUZZ_ASSERT(rc == 0 || rc == -ERR_INVALID || rc == -ERR_NOTFOUND);
	FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL);
	FUZZ_ASSERT(rc == 0 ? why[0] == '\0' : why[0] != '\0');
	check_madt(m, rc);

	/* The whole buffer as a MADT, checksum made to pass, length made
	 * to agree: straight into the entries. */
	if (phys.size >= 44 && phys.size <= ACPI_TABLE_MAX) {
		uint8_t *t = malloc(phys.size);
		memcpy(t, mem, phys.size);
		memcpy(t, "APIC", 4);
		for (int i = 0; i < 4; i++)
			t[4 + i] = (uint8_t)(phys.size >> (8 * i));
		fix(t, phys.size, 0, phys.size, 9);
		rc = acpi_madt_parse(t, (uint32_t)phys.size, m, why,
				     sizeof(why));
		FUZZ_ASSERT(rc == 0 || rc == -ERR_INVALID);
		check_madt(m, rc);
		free(t);
	}
	free(phys.copy);
	free(mem);
	free(m);
	return 0;
}
