/*
 * cpu_features_probe against tables of fake CPUID leaves. A leaf missing
 * from the table answers like real Intel parts do (with the highest basic
 * leaf's data), and every call is logged, so a probe that reads a leaf
 * the CPU does not have is caught.
 */
#include "common/hw/cpu.h"
#include "tests/unit/check.h"

struct leaf {
	uint32_t leaf;
	uint32_t regs[4]; /* eax, ebx, ecx, edx */
};

static const struct leaf *cur_table;
static size_t cur_count;
static uint32_t called[64];
static size_t ncalled;

static void fake_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	const struct leaf *highest_basic = NULL;

	(void)subleaf;
	if (ncalled < ARRAY_SIZE(called))
		called[ncalled++] = leaf;
	for (size_t i = 0; i < cur_count; i++) {
		if (cur_table[i].leaf == leaf) {
			memcpy(regs, cur_table[i].regs, 16);
			return;
		}
		if (cur_table[i].leaf < 0x80000000u &&
		    (!highest_basic || cur_table[i].leaf > highest_basic->leaf))
			highest_basic = &cur_table[i];
	}
	if (highest_basic)
		memcpy(regs, highest_basic->regs, 16);
	else
		memset(regs, 0, 16);
}

static void probe(const struct leaf *t, size_t n, struct cpu_features *f)
{
	cur_table = t;
	cur_count = n;
	ncalled = 0;
	memset(f, 0x5a, sizeof(*f));
	cpu_features_probe(fake_cpuid, f);
}

/* Every leaf read was at most the maximum the CPU reported. */
static void check_guards(const struct cpu_features *f)
{
	for (size_t i = 0; i < ncalled; i++) {
		if (called[i] < 0x80000000u)
			CHECK(called[i] <= f->max_leaf);
		else if (called[i] != 0x80000000u)
			CHECK(called[i] <= f->max_ext_leaf);
	}
}

/* Four characters of a string as a register, low byte first. */
static uint32_t str4(const char *s)
{
	return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 |
	       (uint32_t)(uint8_t)s[2] << 16 | (uint32_t)(uint8_t)s[3] << 24;
}

#define B(n) (1u << (n))

static void test_modern_intel(void)
{
	/* "      Intel(R) Core(TM) i7 CPU" right-justified, 48 bytes. */
	static const char brand[49] =
	    "      Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz";
	struct leaf t[] = {
	    {0x0, {0x16, str4("Genu"), str4("ntel"), str4("ineI")}},
	    {0x1,
	     {0x806ea, 0, B(17) | B(21) | B(31),
	      B(3) | B(4) | B(6) | B(13) | B(16)}},
	    {0x7, {0, B(7) | B(20), B(2) | B(16), 0}},
	    {0x80000000u, {0x80000008u, 0, 0, 0}},
	    {0x80000001u, {0, 0, 0, B(20) | B(26) | B(29)}},
	    {0x80000002u,
	     {str4(brand), str4(brand + 4), str4(brand + 8), str4(brand + 12)}},
	    {0x80000003u,
	     {str4(brand + 16), str4(brand + 20), str4(brand + 24),
	      str4(brand + 28)}},
	    {0x80000004u,
	     {str4(brand + 32), str4(brand + 36), str4(brand + 40),
	      str4(brand + 44)}},
	    {0x80000007u, {0, 0, 0, B(8)}},
	    {0x80000008u, {0x3027, 0, 0, 0}},
	};
	struct cpu_features f;

	probe(t, ARRAY_SIZE(t), &f);
	check_guards(&f);
	CHECK_STR(f.vendor, "GenuineIntel");
	CHECK_STR(f.brand, "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz");
	CHECK_EQ(f.max_leaf, 0x16);
	CHECK_EQ(f.max_ext_leaf, 0x80000008u);
	CHECK_EQ(f.maxphyaddr, 39);
	CHECK_EQ(f.maxlinaddr, 48);
	CHECK(f.long_mode && f.nx && f.page1g);
	CHECK(f.pae && f.pse && f.pge && f.pat && f.tsc);
	CHECK(f.pcid && f.x2apic && f.hypervisor);
	CHECK(f.smep && f.smap && f.umip && f.la57);
	CHECK(f.invariant_tsc);
	CHECK_EQ(cpu_phys_addr_mask(&f), 0x7ffffff000ull);
}

/* QEMU's default model: no 1 GiB pages, no SMEP/SMAP, no invariant TSC. */
static void test_qemu64(void)
{
	static const char brand[49] = "QEMU Virtual CPU version 2.5+";
	struct leaf t[] = {
	    {0x0, {0xd, str4("Auth"), str4("cAMD"), str4("enti")}},
	    {0x1, {0x663, 0, B(31), B(3) | B(4) | B(6) | B(13) | B(16)}},
	    {0x7, {0, 0, 0, 0}},
	    {0x80000000u, {0x8000000au, 0, 0, 0}},
	    {0x80000001u, {0, 0, 0, B(20) | B(29)}},
	    {0x80000002u,
	     {str4(brand), str4(brand + 4), str4(brand + 8), str4(brand + 12)}},
	    {0x80000003u,
	     {str4(brand + 16), str4(brand + 20), str4(brand + 24),
	      str4(brand + 28)}},
	    {0x80000004u,
	     {str4(brand + 32), str4(brand + 36), str4(brand + 40),
	      str4(brand + 44)}},
	    {0x80000007u, {0, 0, 0, 0}},
	    {0x80000008u, {0x3028, 0, 0, 0}},
	};
	struct cpu_features f;

	probe(t, ARRAY_SIZE(t), &f);
	check_guards(&f);
	CHECK_STR(f.vendor, "AuthenticAMD");
	CHECK_STR(f.brand, "QEMU Virtual CPU version 2.5+");
	CHECK(f.long_mode && f.nx);
	CHECK(!f.page1g && !f.smep && !f.smap && !f.la57 && !f.pcid);
	CHECK(!f.invariant_tsc);
	CHECK(f.hypervisor);
	CHECK_EQ(f.maxphyaddr, 40);
	CHECK_EQ(cpu_phys_addr_mask(&f), 0xfffffff000ull);
}

/*
 * An old CPU: basic leaves up to 1, no extended leaves. Leaf 7 and
 * 0x80000000 answer with leaf 1's data (full of set bits), which must not
 * be taken for features.
 */
static void test_old_cpu(void)
{
	struct leaf t[] = {
	    {0x0, {0x1, str4("Genu"), str4("ntel"), str4("ineI")}},
	    {0x1, {0xffffffffu, 0xffffffffu, 0xffffffffu, B(6)}},
	};
	struct cpu_features f;

	probe(t, ARRAY_SIZE(t), &f);
	check_guards(&f);
	CHECK_EQ(f.max_leaf, 1);
	CHECK_EQ(f.max_ext_leaf, 0);
	CHECK(f.pae);
	CHECK(!f.smep && !f.smap && !f.long_mode && !f.nx && !f.page1g);
	CHECK_STR(f.brand, "");
	CHECK_EQ(f.maxphyaddr, 36);
	CHECK_EQ(f.maxlinaddr, 48);
	CHECK_EQ(cpu_phys_addr_mask(&f), 0xffffff000ull);
}

/* Max leaf 0 and extended leaves only up to 0x80000001. */
static void test_partial_leaves(void)
{
	struct leaf t[] = {
	    {0x0, {0x0, str4("Hygo"), str4("uine"), str4("nGen")}},
	    {0x80000000u, {0x80000001u, 0, 0, 0}},
	    {0x80000001u, {0, 0, 0, B(29)}},
	};
	struct cpu_features f;

	probe(t, ARRAY_SIZE(t), &f);
	check_guards(&f);
	CHECK_STR(f.vendor, "HygonGenuine");
	CHECK(f.long_mode && !f.pae && !f.tsc);
	CHECK_STR(f.brand, "");
	CHECK_EQ(f.maxphyaddr, 36);
}

/* Implausible address sizes keep the defaults. */
static void test_bogus_address_sizes(void)
{
	static const uint32_t eax[] = {0x0, 0x63, 0x1f1f, 0xff40};

	for (size_t i = 0; i < ARRAY_SIZE(eax); i++) {
		struct leaf t[] = {
		    {0x0, {0x1, 0, 0, 0}},
		    {0x80000000u, {0x80000008u, 0, 0, 0}},
		    {0x80000008u, {eax[i], 0, 0, 0}},
		};
		struct cpu_features f;

		probe(t, ARRAY_SIZE(t), &f);
		CHECK_EQ(f.maxphyaddr, 36);
		CHECK_EQ(f.maxlinaddr, 48);
	}
	/* 52 and 57 are valid. */
	{
		struct leaf t[] = {
		    {0x0, {0x1, 0, 0, 0}},
		    {0x80000000u, {0x80000008u, 0, 0, 0}},
		    {0x80000008u, {0x3934, 0, 0, 0}},
		};
		struct cpu_features f;

		probe(t, ARRAY_SIZE(t), &f);
		CHECK_EQ(f.maxphyaddr, 52);
		CHECK_EQ(f.maxlinaddr, 57);
		CHECK_EQ(cpu_phys_addr_mask(&f), 0x000ffffffffff000ull);
	}
}

static void test_phys_mask_clamped(void)
{
	struct cpu_features f;

	memset(&f, 0, sizeof(f));
	f.maxphyaddr = 64;
	CHECK_EQ(cpu_phys_addr_mask(&f), 0x000ffffffffff000ull);
	f.maxphyaddr = 255;
	CHECK_EQ(cpu_phys_addr_mask(&f), 0x000ffffffffff000ull);
	f.maxphyaddr = 12;
	CHECK_EQ(cpu_phys_addr_mask(&f), 0);
	f.maxphyaddr = 13;
	CHECK_EQ(cpu_phys_addr_mask(&f), 0x1000);
}

int main(void)
{
	RUN(test_modern_intel);
	RUN(test_qemu64);
	RUN(test_old_cpu);
	RUN(test_partial_leaves);
	RUN(test_bogus_address_sizes);
	RUN(test_phys_mask_clamped);
	return check_summary();
}
