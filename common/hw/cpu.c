/*
 * CPU feature probing (see cpu.h). Every leaf is read only when the
 * maximum leaf says it exists: on CPUs (and hypervisors) without a leaf,
 * CPUID returns the highest basic leaf's data instead, which would read as
 * random feature bits.
 */
#include "common/hw/cpu.h"
#include "common/lib/string.h"

#define LEAF_VENDOR       0x0u
#define LEAF_FEATURES     0x1u
#define LEAF_EXT_FEATURES 0x7u
#define LEAF_EXT_MAX      0x80000000u
#define LEAF_EXT_INFO     0x80000001u
#define LEAF_BRAND_FIRST  0x80000002u
#define LEAF_BRAND_LAST   0x80000004u
#define LEAF_POWER        0x80000007u
#define LEAF_ADDR_SIZES   0x80000008u

enum { EAX, EBX, ECX, EDX };

#define BIT(n) (1u << (n))

/* Architectural defaults when leaf 0x80000008 is missing (SDM Vol. 3A
 * 4.1.4) and the largest values the paging structures can hold. */
#define DEFAULT_MAXPHYADDR 36
#define DEFAULT_MAXLINADDR 48
#define MAXPHYADDR_MIN     32
#define MAXPHYADDR_LIMIT   52
#define MAXLINADDR_LIMIT   57

static bool has(uint32_t reg, unsigned int bit)
{
	return (reg & BIT(bit)) != 0;
}

/* Copies the 4 bytes of reg, low byte first. */
static void put_reg(char *dst, uint32_t reg)
{
	for (int i = 0; i < 4; i++)
		dst[i] = (char)(reg >> (8 * i));
}

/* The brand string is 48 bytes, NUL-padded, and on some Intel parts
 * right-justified with leading spaces: keep only the text. */
static void read_brand(cpuid_fn cpuid, char brand[49])
{
	uint32_t r[4];
	char raw[49];
	size_t start = 0, end;

	for (uint32_t leaf = LEAF_BRAND_FIRST; leaf <= LEAF_BRAND_LAST;
	     leaf++) {
		cpuid(leaf, 0, r);
		for (int i = 0; i < 4; i++)
			put_reg(&raw[(leaf - LEAF_BRAND_FIRST) * 16 + i * 4],
				r[i]);
	}
	raw[48] = '\0';
	end = str_len(raw);
	while (start < end && raw[start] == ' ')
		start++;
	while (end > start && raw[end - 1] == ' ')
		end--;
	mem_copy(brand, raw + start, end - start);
	brand[end - start] = '\0';
}

void cpu_features_probe(cpuid_fn cpuid, struct cpu_features *f)
{
	uint32_t r[4];

	mem_set(f, 0, sizeof(*f));
	f->maxphyaddr = DEFAULT_MAXPHYADDR;
	f->maxlinaddr = DEFAULT_MAXLINADDR;

	cpuid(LEAF_VENDOR, 0, r);
	f->max_leaf = r[EAX];
	put_reg(&f->vendor[0], r[EBX]);
	put_reg(&f->vendor[4], r[EDX]);
	put_reg(&f->vendor[8], r[ECX]);
	f->vendor[12] = '\0';

	if (f->max_leaf >= LEAF_FEATURES) {
		cpuid(LEAF_FEATURES, 0, r);
		f->pse = has(r[EDX], 3);
		f->tsc = has(r[EDX], 4);
		f->pae = has(r[EDX], 6);
		f->pge = has(r[EDX], 13);
		f->pat = has(r[EDX], 16);
		f->pcid = has(r[ECX], 17);
		f->x2apic = has(r[ECX], 21);
		f->hypervisor = has(r[ECX], 31);
	}
	if (f->max_leaf >= LEAF_EXT_FEATURES) {
		cpuid(LEAF_EXT_FEATURES, 0, r);
		f->smep = has(r[EBX], 7);
		f->smap = has(r[EBX], 20);
		f->umip = has(r[ECX], 2);
		f->la57 = has(r[ECX], 16);
	}

	/* A valid maximum extended leaf is 0x8000xxxx; anything else means
	 * there are no extended leaves (max_ext_leaf stays 0). */
	cpuid(LEAF_EXT_MAX, 0, r);
	if ((r[EAX] & 0xffff0000u) == LEAF_EXT_MAX)
		f->max_ext_leaf = r[EAX];

	if (f->max_ext_leaf >= LEAF_EXT_INFO) {
		cpuid(LEAF_EXT_INFO, 0, r);
		f->nx = has(r[EDX], 20);
		f->page1g = has(r[EDX], 26);
		f->long_mode = has(r[EDX], 29);
	}
	if (f->max_ext_leaf >= LEAF_BRAND_LAST)
		read_brand(cpuid, f->brand);
	if (f->max_ext_leaf >= LEAF_POWER) {
		cpuid(LEAF_POWER, 0, r);
		f->invariant_tsc = has(r[EDX], 8);
	}
	/* Implausible sizes (a misconfigured hypervisor) keep the defaults
	 * rather than produce an address mask the paging code cannot use. */
	if (f->max_ext_leaf >= LEAF_ADDR_SIZES) {
		uint32_t phys, lin;

		cpuid(LEAF_ADDR_SIZES, 0, r);
		phys = r[EAX] & 0xff;
		lin = (r[EAX] >> 8) & 0xff;
		if (phys >= MAXPHYADDR_MIN && phys <= MAXPHYADDR_LIMIT)
			f->maxphyaddr = (uint8_t)phys;
		if (lin >= DEFAULT_MAXLINADDR && lin <= MAXLINADDR_LIMIT)
			f->maxlinaddr = (uint8_t)lin;
	}
}

/* maxphyaddr is clamped to what an entry's address field can hold, so a
 * hand-filled struct cannot produce a shift past 63. */
uint64_t cpu_phys_addr_mask(const struct cpu_features *f)
{
	unsigned int bits = f->maxphyaddr;

	if (bits > MAXPHYADDR_LIMIT)
		bits = MAXPHYADDR_LIMIT;
	if (bits <= PAGE_SHIFT)
		return 0;
	return ((1ull << bits) - 1) & PAGE_MASK;
}
