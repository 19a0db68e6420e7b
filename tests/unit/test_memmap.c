/*
 * Memory-map normalisation: fixed cases, firmware-format input (EFI with
 * large descriptors, E820), capacity limits, and a randomised comparison
 * against a page-by-page model of what memmap_add promises.
 */
#include "common/mm/memmap.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <time.h>

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TOP (0ull - 0x1000) /* 2^64 - 4 KiB: where wrapping ranges stop */

/* Checks the invariants every map must keep: page-aligned, non-empty,
 * sorted, disjoint, adjacent ranges of one type and attribute merged,
 * known types and attribute bits. */
static void check_invariants(const struct memmap *m)
{
	for (uint32_t i = 0; i < m->count; i++) {
		const struct bi_mem_range *r = &m->ranges[i];

		CHECK_EQ(r->base % 0x1000, 0);
		CHECK_EQ(r->size % 0x1000, 0);
		CHECK(r->size > 0);
		CHECK(r->base + r->size > r->base);
		CHECK(r->base + r->size <= TOP);
		CHECK(r->type > MEM_NONE && r->type < MEM_TYPE_COUNT);
		CHECK_EQ(r->attr & ~BI_MEM_ATTR_MASK, 0);
		if (i == 0)
			continue;
		const struct bi_mem_range *p = &m->ranges[i - 1];
		CHECK(p->base + p->size <= r->base);
		if (p->base + p->size == r->base)
			CHECK(p->type != r->type || p->attr != r->attr);
	}
}

/* An expected type may carry NOT_WB or WB: the attribute it must have.
 * Without either it must have the type's default. */
#define NOT_WB       0x100u
#define WB           0x200u
#define TYPE_ONLY(t) ((t)&0xffu)

struct expect {
	uint64_t base, size;
	uint32_t type;
};

static uint32_t expected_attr(const struct expect *w)
{
	if (w->type & NOT_WB)
		return 0;
	if (w->type & WB)
		return BI_MEM_WB;
	return mem_type_default_attr(w->type);
}

static void check_map(const struct memmap *m, const struct expect *want,
		      uint32_t n)
{
	check_invariants(m);
	CHECK_EQ(m->count, n);
	for (uint32_t i = 0; i < n && i < m->count; i++) {
		CHECK_EQ(m->ranges[i].base, want[i].base);
		CHECK_EQ(m->ranges[i].size, want[i].size);
		CHECK_EQ(m->ranges[i].type, TYPE_ONLY(want[i].type));
		CHECK_EQ(m->ranges[i].attr, expected_attr(&want[i]));
	}
}

#define CHECK_MAP(m, ...)                                                      \
	do {                                                                   \
		static const struct expect want_[] = {__VA_ARGS__};            \
		check_map(m, want_, ARRAY_SIZE(want_));                        \
	} while (0)

static struct bi_mem_range storage[4096];

static void fresh(struct memmap *m, uint32_t cap)
{
	memset(storage, 0xee, sizeof(storage));
	memmap_init(m, storage, cap);
}

static void test_empty_and_noops(void)
{
	struct memmap m;

	fresh(&m, 8);
	CHECK_EQ(m.count, 0);
	CHECK_EQ(memmap_add(&m, 0x1000, 0, MEM_RESERVED), 0);
	CHECK_EQ(memmap_add(&m, 0x1800, 0x7ff, MEM_USABLE), 0);
	CHECK_EQ(memmap_add(&m, 0x1001, 0x1000, MEM_USABLE), 0);
	CHECK_EQ(memmap_add(&m, TOP, 0x1000, MEM_RESERVED), 0);
	CHECK_EQ(memmap_add(&m, UINT64_MAX, 1, MEM_RESERVED), 0);
	CHECK_EQ(m.count, 0);
	CHECK_EQ(memmap_add(&m, 0, 0x1000, MEM_NONE), -ERR_INVALID);
	CHECK_EQ(memmap_add(&m, 0, 0x1000, MEM_TYPE_COUNT), -ERR_INVALID);
	CHECK_EQ(memmap_add(&m, 0, 0x1000, 0xffffffffu), -ERR_INVALID);
	CHECK_EQ(m.count, 0);
}

/* Usable shrinks to whole pages, everything else grows to them. */
static void test_rounding(void)
{
	struct memmap m;

	fresh(&m, 8);
	memmap_add(&m, 0x1800, 0x2000, MEM_USABLE);
	CHECK_MAP(&m, {0x2000, 0x1000, MEM_USABLE});
	memmap_add(&m, 0x10010, 0x10, MEM_ACPI_NVS);
	CHECK_MAP(&m, {0x2000, 0x1000, MEM_USABLE},
		  {0x10000, 0x1000, MEM_ACPI_NVS});
	/* A reserved byte inside a usable page takes the whole page. */
	memmap_add(&m, 0x2fff, 1, MEM_RESERVED);
	CHECK_MAP(&m, {0x2000, 0x1000, MEM_RESERVED},
		  {0x10000, 0x1000, MEM_ACPI_NVS});
}

static void test_split_in_three(void)
{
	struct memmap m;

	fresh(&m, 8);
	memmap_add(&m, 0, 16 * MiB, MEM_USABLE);
	memmap_add(&m, 1 * MiB, 1 * MiB, MEM_KERNEL);
	CHECK_MAP(&m, {0, 1 * MiB, MEM_USABLE}, {1 * MiB, 1 * MiB, MEM_KERNEL},
		  {2 * MiB, 14 * MiB, MEM_USABLE});
	/* Lower rank added later does not override. */
	memmap_add(&m, 0, 16 * MiB, MEM_USABLE);
	CHECK_MAP(&m, {0, 1 * MiB, MEM_USABLE}, {1 * MiB, 1 * MiB, MEM_KERNEL},
		  {2 * MiB, 14 * MiB, MEM_USABLE});
	/* Higher rank over everything replaces it all. */
	memmap_add(&m, 0, 16 * MiB, MEM_BAD);
	CHECK_MAP(&m, {0, 16 * MiB, MEM_BAD});
}

static void test_merge_adjacent(void)
{
	struct memmap m;

	fresh(&m, 8);
	memmap_add(&m, 0x3000, 0x1000, MEM_USABLE);
	memmap_add(&m, 0x1000, 0x1000, MEM_USABLE);
	memmap_add(&m, 0x2000, 0x1000, MEM_USABLE);
	CHECK_MAP(&m, {0x1000, 0x3000, MEM_USABLE});
	memmap_add(&m, 0x4000, 0x1000, MEM_RESERVED);
	memmap_add(&m, 0x5000, 0x1000, MEM_USABLE);
	CHECK_MAP(&m, {0x1000, 0x3000, MEM_USABLE},
		  {0x4000, 0x1000, MEM_RESERVED}, {0x5000, 0x1000, MEM_USABLE});
	/* Painting the middle usable joins all three. */
	memmap_add(&m, 0x4000, 0x1000, MEM_BAD);
	memmap_add(&m, 0, 0x10000, MEM_BAD);
	CHECK_MAP(&m, {0, 0x10000, MEM_BAD});
}

/* A low-ranked range over several higher ones fills only the holes, and
 * merges into ranges of its own type on the way. */
static void test_fill_holes(void)
{
	struct memmap m;

	fresh(&m, 16);
	memmap_add(&m, 0x1000, 0x1000, MEM_RESERVED);
	memmap_add(&m, 0x3000, 0x1000, MEM_USABLE);
	memmap_add(&m, 0x5000, 0x1000, MEM_ACPI_NVS);
	memmap_add(&m, 0x7000, 0x1000, MEM_USABLE);
	memmap_add(&m, 0x0, 0xa000, MEM_USABLE);
	CHECK_MAP(&m, {0x0, 0x1000, MEM_USABLE}, {0x1000, 0x1000, MEM_RESERVED},
		  {0x2000, 0x3000, MEM_USABLE}, {0x5000, 0x1000, MEM_ACPI_NVS},
		  {0x6000, 0x4000, MEM_USABLE});
}

/* Holes between ranges stay holes. */
static void test_holes_and_high_memory(void)
{
	struct memmap m;
	struct memmap_summary s;

	fresh(&m, 16);
	memmap_add(&m, 0x100000000ull, 4 * GiB, MEM_USABLE);
	memmap_add(&m, 0, 0x9f000, MEM_USABLE);
	memmap_add(&m, 0x100000, 0xbff00000ull, MEM_USABLE);
	memmap_add(&m, 0x800000000000ull, 16 * MiB, MEM_FRAMEBUFFER);
	memmap_add(&m, 0xfd00000000ull, 0x300000000ull, MEM_RESERVED);
	CHECK_MAP(&m, {0, 0x9f000, MEM_USABLE},
		  {0x100000, 0xbff00000ull, MEM_USABLE},
		  {0x100000000ull, 4 * GiB, MEM_USABLE},
		  {0xfd00000000ull, 0x300000000ull, MEM_RESERVED},
		  {0x800000000000ull, 16 * MiB, MEM_FRAMEBUFFER});
	memmap_summarise(m.ranges, m.count, &s);
	CHECK_EQ(s.usable_bytes, 0x9f000 + 0xbff00000ull + 4 * GiB);
	CHECK_EQ(s.highest_usable_end, 0x200000000ull);
	CHECK_EQ(s.highest_end, 0x800000000000ull + 16 * MiB);
}

static void test_wrap(void)
{
	struct memmap m;

	fresh(&m, 8);
	CHECK_EQ(
	    memmap_add(&m, 0xffffffff00000000ull, 0x200000000ull, MEM_RESERVED),
	    0);
	CHECK_MAP(&m, {0xffffffff00000000ull, TOP - 0xffffffff00000000ull,
		       MEM_RESERVED});
	/* Not wrapping, but ending in the last page. */
	fresh(&m, 8);
	memmap_add(&m, TOP - 0x1000, 0x1fff, MEM_USABLE);
	CHECK_MAP(&m, {TOP - 0x1000, 0x1000, MEM_USABLE});
	fresh(&m, 8);
	memmap_add(&m, 0x1000, UINT64_MAX, MEM_USABLE);
	CHECK_MAP(&m, {0x1000, TOP - 0x1000, MEM_USABLE});
	memmap_add(&m, 0, UINT64_MAX, MEM_BAD);
	CHECK_MAP(&m, {0, TOP, MEM_BAD});
}

/* On -ERR_TOOBIG the map is exactly as before. */
static void test_capacity(void)
{
	struct memmap m;
	struct bi_mem_range before[8];

	fresh(&m, 3);
	memmap_add(&m, 0, 0x10000, MEM_USABLE);
	memmap_add(&m, 0x20000, 0x1000, MEM_RESERVED);
	memcpy(before, storage, sizeof(before));
	/* The split in three needs two more entries; one is free. */
	CHECK_EQ(memmap_add(&m, 0x4000, 0x1000, MEM_KERNEL), -ERR_TOOBIG);
	CHECK_EQ(m.count, 2);
	CHECK(memcmp(before, storage, sizeof(before)) == 0);
	/* Filling the hole merges into one neighbour: fits. */
	CHECK_EQ(memmap_add(&m, 0x10000, 0x10000, MEM_USABLE), 0);
	CHECK_MAP(&m, {0, 0x20000, MEM_USABLE},
		  {0x20000, 0x1000, MEM_RESERVED});
	/* Two holes need two entries: too many. */
	memmap_add(&m, 0x30000, 0x1000, MEM_RESERVED);
	memcpy(before, storage, sizeof(before));
	CHECK_EQ(memmap_add(&m, 0x18000, 0x20000, MEM_ACPI_RECLAIM),
		 -ERR_TOOBIG);
	CHECK(memcmp(before, storage, sizeof(before)) == 0);
	/* cap 0. */
	fresh(&m, 0);
	CHECK_EQ(memmap_add(&m, 0, 0x1000, MEM_USABLE), -ERR_TOOBIG);
}

/* The final map fits even though painting passes through more pieces
 * than there is room for: the count is computed up front. */
static void test_capacity_exact_fit(void)
{
	struct memmap m;

	fresh(&m, 5);
	memmap_add(&m, 0x1000, 0x1000, MEM_RESERVED);
	memmap_add(&m, 0x2000, 0x1000, MEM_ACPI_RECLAIM);
	memmap_add(&m, 0x3000, 0x1000, MEM_USABLE);
	memmap_add(&m, 0x4000, 0x1000, MEM_ACPI_RECLAIM);
	memmap_add(&m, 0x5000, 0x1000, MEM_USABLE);
	CHECK_EQ(m.count, 5);
	/* Paint [0, 0x8000) acpi-nvs: reserved stays, the rest merges. */
	CHECK_EQ(memmap_add(&m, 0, 0x8000, MEM_ACPI_NVS), 0);
	CHECK_MAP(&m, {0, 0x1000, MEM_ACPI_NVS}, {0x1000, 0x1000, MEM_RESERVED},
		  {0x2000, 0x6000, MEM_ACPI_NVS});

	/* One gap merges two usable ranges (-1), another needs a new
	 * entry (+1): the map stays exactly full. */
	fresh(&m, 4);
	memmap_add(&m, 0x0, 0x1000, MEM_USABLE);
	memmap_add(&m, 0x2000, 0x1000, MEM_USABLE);
	memmap_add(&m, 0x4000, 0x1000, MEM_RESERVED);
	memmap_add(&m, 0x6000, 0x1000, MEM_RESERVED);
	CHECK_EQ(memmap_add(&m, 0, 0x7000, MEM_USABLE), 0);
	CHECK_MAP(&m, {0x0, 0x4000, MEM_USABLE}, {0x4000, 0x1000, MEM_RESERVED},
		  {0x5000, 0x1000, MEM_USABLE}, {0x6000, 0x1000, MEM_RESERVED});
}

static void test_unsorted_same_result(void)
{
	static const struct expect in[] = {
	    {0x9000, 0x3000, MEM_USABLE},
	    {0x0, 0x4000, MEM_USABLE},
	    {0x3000, 0x2000, MEM_ACPI_RECLAIM},
	    {0x20000, 0x1000, MEM_RESERVED},
	    {0x6000, 0x8000, MEM_LOADER_RECLAIM},
	    {0x1f000, 0x3000, MEM_USABLE},
	};
	struct bi_mem_range first[16];
	uint32_t first_count;
	struct memmap m;

	fresh(&m, 16);
	for (size_t i = 0; i < ARRAY_SIZE(in); i++)
		memmap_add(&m, in[i].base, in[i].size, in[i].type);
	check_invariants(&m);
	first_count = m.count;
	memcpy(first, storage, sizeof(first));
	fresh(&m, 16);
	for (size_t i = ARRAY_SIZE(in); i-- > 0;)
		memmap_add(&m, in[i].base, in[i].size, in[i].type);
	CHECK_EQ(m.count, first_count);
	CHECK(memcmp(first, storage, first_count * sizeof(first[0])) == 0);
}

/* 2000 disjoint ranges in shuffled order, then one range over all. */
static void test_many_entries(void)
{
	enum { N = 2000 };
	static uint32_t order[N];
	struct memmap m;
	clock_t t0 = clock();

	srand(1);
	for (uint32_t i = 0; i < N; i++)
		order[i] = i;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j = (uint32_t)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	fresh(&m, 4096);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t k = order[i];

		CHECK_EQ(memmap_add(&m, 0x100000000ull + k * 0x3000ull, 0x2000,
				    k % 2 ? MEM_USABLE : MEM_RESERVED),
			 0);
	}
	check_invariants(&m);
	CHECK_EQ(m.count, N);
	/* Filling the N-1 holes with usable joins each usable range with the
	 * holes beside it: reserved ranges stay, usable ones grow. */
	CHECK_EQ(memmap_add(&m, 0x100000000ull, N * 0x3000ull, MEM_USABLE), 0);
	check_invariants(&m);
	CHECK_EQ(m.count, N);
	CHECK_EQ(memmap_add(&m, 0, 1ull << 48, MEM_BAD), 0);
	CHECK_EQ(m.count, 1);
	/* Generous: O(n^2) on 2000 entries takes milliseconds. */
	CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
}

static void test_efi_types(void)
{
	static const uint32_t want[] = {
	    MEM_RESERVED,        MEM_LOADER_RECLAIM, MEM_LOADER_RECLAIM,
	    MEM_LOADER_RECLAIM,  MEM_LOADER_RECLAIM, MEM_FW_RUNTIME_CODE,
	    MEM_FW_RUNTIME_DATA, MEM_USABLE,         MEM_BAD,
	    MEM_ACPI_RECLAIM,    MEM_ACPI_NVS,       MEM_RESERVED,
	    MEM_RESERVED,        MEM_RESERVED,       MEM_RESERVED,
	    MEM_RESERVED,
	};

	for (uint32_t t = 0; t < ARRAY_SIZE(want); t++)
		CHECK_EQ(mem_type_from_efi(t), want[t]);
	CHECK_EQ(mem_type_from_efi(EFI_TYPE_LOADER_KERNEL), MEM_KERNEL);
	CHECK_EQ(mem_type_from_efi(EFI_TYPE_LOADER_PAGE_TABLES),
		 MEM_PAGE_TABLES);
	CHECK_EQ(mem_type_from_efi(EFI_TYPE_LOADER_BOOTINFO),
		 MEM_LOADER_RECLAIM);
	CHECK_EQ(mem_type_from_efi(0x80000000u), MEM_RESERVED);
	CHECK_EQ(mem_type_from_efi(0x70000000u), MEM_RESERVED);
	CHECK_EQ(mem_type_from_efi(0xffffffffu), MEM_RESERVED);

	CHECK_EQ(mem_type_from_e820(E820_RAM), MEM_USABLE);
	CHECK_EQ(mem_type_from_e820(E820_RESERVED), MEM_RESERVED);
	CHECK_EQ(mem_type_from_e820(E820_ACPI), MEM_ACPI_RECLAIM);
	CHECK_EQ(mem_type_from_e820(E820_NVS), MEM_ACPI_NVS);
	CHECK_EQ(mem_type_from_e820(E820_UNUSABLE), MEM_BAD);
	CHECK_EQ(mem_type_from_e820(0), MEM_RESERVED);
	CHECK_EQ(mem_type_from_e820(7), MEM_RESERVED);
}

static void test_ranks(void)
{
	static const uint32_t low_to_high[] = {
	    MEM_USABLE,
	    MEM_LOADER_RECLAIM,
	    MEM_ACPI_RECLAIM,
	    MEM_PAGE_TABLES,
	    MEM_KERNEL,
	    MEM_FRAMEBUFFER,
	    MEM_ACPI_NVS,
	    MEM_FW_RUNTIME_CODE,
	    MEM_FW_RUNTIME_DATA,
	    MEM_RESERVED,
	    MEM_BAD,
	};

	for (size_t i = 1; i < ARRAY_SIZE(low_to_high); i++)
		CHECK(mem_type_rank(low_to_high[i - 1]) <
		      mem_type_rank(low_to_high[i]));
	CHECK_EQ(mem_type_rank(MEM_NONE), 0);
	CHECK_EQ(mem_type_rank(1000), 0);
}

/* Writes an EFI descriptor at p (desc_size apart from the previous). */
static void put_desc(uint8_t *p, uint32_t type, uint64_t start, uint64_t pages)
{
	struct efi_mem_desc d = {type, 0, start, 0, pages, 0xf};

	memcpy(p, &d, sizeof(d));
}

static void test_efi_descriptor_size(void)
{
	static const uint64_t sizes[] = {40, 48, 56, 80};

	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		uint64_t ds = sizes[k];
		/* Exactly 3 descriptors plus a partial one, in a buffer of
		 * exactly that size (ASan checks the walk stays inside). */
		uint64_t size = 3 * ds + 20;
		uint8_t *buf = malloc(size);
		struct memmap m;

		memset(buf, 0x5a, size);
		put_desc(buf, 7, 0x100000, 0x100);
		put_desc(buf + ds, 3, 0x200000, 0x10);
		put_desc(buf + 2 * ds, EFI_TYPE_LOADER_KERNEL, 0x180000, 0x10);
		fresh(&m, 16);
		CHECK_EQ(memmap_add_efi(&m, buf, size, ds), 0);
		CHECK_MAP(&m, {0x100000, 0x80000, MEM_USABLE},
			  {0x180000, 0x10000, MEM_KERNEL},
			  {0x190000, 0x70000, MEM_USABLE},
			  {0x200000, 0x10000, MEM_LOADER_RECLAIM});
		free(buf);
	}
}

static void test_efi_bad_args(void)
{
	uint8_t buf[128] = {0};
	struct memmap m;

	fresh(&m, 16);
	CHECK_EQ(memmap_add_efi(&m, buf, sizeof(buf), 0), -ERR_INVALID);
	CHECK_EQ(memmap_add_efi(&m, buf, sizeof(buf), 32), -ERR_INVALID);
	CHECK_EQ(memmap_add_efi(&m, buf, sizeof(buf), 44), -ERR_INVALID);
	CHECK_EQ(memmap_add_efi(&m, buf, 0, 48), 0);
	CHECK_EQ(memmap_add_efi(&m, buf, 39, 40), 0);
	CHECK_EQ(m.count, 0);
	/* Page counts past 2^52 wrap: clipped at the top. */
	put_desc(buf, 0, 0x1000, 1ull << 60);
	CHECK_EQ(memmap_add_efi(&m, buf, 40, 40), 0);
	CHECK_MAP(&m, {0x1000, TOP - 0x1000, MEM_RESERVED | WB});
	/* A full map stops the walk with -ERR_TOOBIG. */
	fresh(&m, 1);
	put_desc(buf, 7, 0x0, 1);
	put_desc(buf + 40, 0, 0x10000, 1);
	CHECK_EQ(memmap_add_efi(&m, buf, 80, 40), -ERR_TOOBIG);
	CHECK_EQ(m.count, 1);
}

static void test_e820(void)
{
	static const struct e820_entry e[] = {
	    {0, 0x9fc00, E820_RAM, 0},
	    {0x9fc00, 0x400, E820_RESERVED, 0},
	    {0xf0000, 0x10000, E820_RESERVED, 0},
	    {0x100000, 0x7ee0000, E820_RAM, 0},
	    {0x7fe0000, 0x20000, E820_ACPI, 0},
	    {0xfffc0000, 0x40000, E820_RESERVED, 0},
	};
	struct memmap m;

	fresh(&m, 16);
	CHECK_EQ(memmap_add_e820(&m, e, ARRAY_SIZE(e)), 0);
	CHECK_MAP(&m, {0, 0x9f000, MEM_USABLE}, {0x9f000, 0x1000, MEM_RESERVED},
		  {0xf0000, 0x10000, MEM_RESERVED},
		  {0x100000, 0x7ee0000, MEM_USABLE},
		  {0x7fe0000, 0x20000, MEM_ACPI_RECLAIM},
		  {0xfffc0000, 0x40000, MEM_RESERVED});
	fresh(&m, 2);
	CHECK_EQ(memmap_add_e820(&m, e, ARRAY_SIZE(e)), -ERR_TOOBIG);
}

/*
 * The model: one class (type and attribute) per page of a small address
 * space; an add paints each page of its (rounded) range with the
 * higher-ranked class: the type's rank first, then not-WB over WB.
 */
enum { MODEL_PAGES = 64 };

static uint32_t model_key(uint32_t type, uint32_t attr)
{
	return type | attr << 16;
}

static uint32_t model_rank(uint32_t key)
{
	return mem_type_rank(key & 0xffff) * 2 + !((key >> 16) & BI_MEM_WB);
}

static void model_add(uint32_t *pages, uint64_t base, uint64_t size,
		      uint32_t type, uint32_t attr)
{
	uint64_t s, e;

	if (size == 0)
		return;
	if (type == MEM_USABLE) {
		s = (base + 0xfff) / 0x1000;
		e = (base + size) / 0x1000;
	} else {
		s = base / 0x1000;
		e = (base + size + 0xfff) / 0x1000;
	}
	for (uint64_t p = s; p < e && p < MODEL_PAGES; p++) {
		if (!pages[p] ||
		    model_rank(model_key(type, attr)) > model_rank(pages[p]))
			pages[p] = model_key(type, attr);
	}
}

static void model_compare(const struct memmap *m, const uint32_t *pages)
{
	uint32_t from_map[MODEL_PAGES] = {0};

	for (uint32_t i = 0; i < m->count; i++) {
		for (uint64_t a = m->ranges[i].base;
		     a < m->ranges[i].base + m->ranges[i].size; a += 0x1000)
			if (a / 0x1000 < MODEL_PAGES)
				from_map[a / 0x1000] = model_key(
				    m->ranges[i].type, m->ranges[i].attr);
	}
	for (int p = 0; p < MODEL_PAGES; p++)
		CHECK_EQ(from_map[p], pages[p]);
}

/* How many ranges a map of the model's pages has. */
static uint32_t model_count(const uint32_t *pages)
{
	uint32_t n = 0;

	for (int p = 0; p < MODEL_PAGES; p++) {
		if (pages[p] && (p == 0 || pages[p - 1] != pages[p]))
			n++;
	}
	return n;
}

static void test_against_model(void)
{
	srand(12345);
	for (int round = 0; round < 3000; round++) {
		uint32_t pages[MODEL_PAGES] = {0};
		struct memmap m;
		int adds = 1 + rand() % 24;

		fresh(&m, 256);
		for (int k = 0; k < adds; k++) {
			/* Mostly whole pages (more touching ends), sometimes
			 * byte-granular. */
			uint64_t base =
			    (uint64_t)(rand() % (MODEL_PAGES - 8)) * 0x1000;
			uint64_t size = (uint64_t)(rand() % 12) * 0x1000;
			uint32_t type =
			    1 + (uint32_t)rand() % (MEM_TYPE_COUNT - 1);
			uint32_t attr = rand() % 3 ? BI_MEM_WB : 0;

			if (rand() % 4 == 0) {
				base += (uint64_t)(rand() % 0x1000);
				size += (uint64_t)(rand() % 0x1000);
			}
			CHECK_EQ(memmap_add_attr(&m, base, size, type, attr),
				 0);
			model_add(pages, base, size, type, attr);
			if (!check_case_ok)
				break;
		}
		check_invariants(&m);
		model_compare(&m, pages);
		if (!check_case_ok) {
			printf("  (round %d)\n", round);
			break;
		}
	}
}

/* Painting with small capacity: either the result equals the model, or
 * -ERR_TOOBIG and the map is unchanged. */
static void test_against_model_small_cap(void)
{
	srand(777);
	for (int round = 0; round < 3000 && check_case_ok; round++) {
		uint32_t pages[MODEL_PAGES] = {0};
		struct memmap m;
		uint32_t cap = 1 + (uint32_t)rand() % 6;

		fresh(&m, cap);
		for (int k = 0; k < 16; k++) {
			struct bi_mem_range before[8];
			uint32_t before_count = m.count;
			uint64_t base = (uint64_t)(rand() % 40) * 0x1000;
			uint64_t size = (uint64_t)(1 + rand() % 16) * 0x1000;
			uint32_t type =
			    1 + (uint32_t)rand() % (MEM_TYPE_COUNT - 1);
			uint32_t attr = rand() % 3 ? BI_MEM_WB : 0;
			int rc;

			uint32_t painted[MODEL_PAGES];

			memcpy(before, storage, sizeof(before));
			memcpy(painted, pages, sizeof(painted));
			model_add(painted, base, size, type, attr);
			rc = memmap_add_attr(&m, base, size, type, attr);
			if (rc == 0) {
				memcpy(pages, painted, sizeof(painted));
			} else {
				/* Refused only when the result does not fit. */
				CHECK(model_count(painted) > cap);
				CHECK_EQ(rc, -ERR_TOOBIG);
				CHECK_EQ(m.count, before_count);
				CHECK(memcmp(before, storage, sizeof(before)) ==
				      0);
			}
			check_invariants(&m);
			model_compare(&m, pages);
		}
	}
}

/* The map must never hold more than cap entries, nor write past them. */
static void test_never_writes_past_cap(void)
{
	srand(4242);
	for (int round = 0; round < 500; round++) {
		struct bi_mem_range *heap;
		struct memmap m;
		uint32_t cap = 1 + (uint32_t)rand() % 5;

		heap = malloc(cap * sizeof(*heap));
		memmap_init(&m, heap, cap);
		for (int k = 0; k < 20; k++) {
			memmap_add(&m, (uint64_t)(rand() % 30) * 0x1000,
				   (uint64_t)(rand() % 10) * 0x1000,
				   1 + (uint32_t)rand() % (MEM_TYPE_COUNT - 1));
			CHECK(m.count <= cap);
		}
		free(heap);
	}
}

/* Edge cases next to the bounds checks. Inputs that crash a fuzz target
 * (tests/fuzz/) are added here once fixed. */
static void test_edges(void)
{
	struct memmap m;

	/* Usable filling the hole between two higher-ranked ranges of one
	 * type: both stay, nothing merges across it. */
	fresh(&m, 8);
	memmap_add(&m, 0x0, 0x1000, MEM_LOADER_RECLAIM);
	memmap_add(&m, 0x2000, 0x1000, MEM_LOADER_RECLAIM);
	memmap_add(&m, 0x1000, 0x1000, MEM_USABLE);
	CHECK_MAP(&m, {0x0, 0x1000, MEM_LOADER_RECLAIM},
		  {0x1000, 0x1000, MEM_USABLE},
		  {0x2000, 0x1000, MEM_LOADER_RECLAIM});
}

/* Type and attribute paint together: equal neighbours merge, unequal
 * ones do not; within one type not-WB wins; a higher-ranked type wins
 * with its own attribute. */
static void test_attributes(void)
{
	struct memmap m;

	fresh(&m, 8);
	CHECK_EQ(memmap_add_attr(&m, 0x0, 0x2000, MEM_USABLE, BI_MEM_WB), 0);
	CHECK_EQ(memmap_add_attr(&m, 0x2000, 0x2000, MEM_USABLE, 0), 0);
	CHECK_EQ(memmap_add_attr(&m, 0x4000, 0x1000, MEM_USABLE, BI_MEM_WB), 0);
	CHECK_MAP(&m, {0x0, 0x2000, MEM_USABLE | WB},
		  {0x2000, 0x2000, MEM_USABLE | NOT_WB},
		  {0x4000, 0x1000, MEM_USABLE | WB});
	/* WB over not-WB of the same type changes nothing... */
	CHECK_EQ(memmap_add_attr(&m, 0x0, 0x5000, MEM_USABLE, BI_MEM_WB), 0);
	CHECK_MAP(&m, {0x0, 0x2000, MEM_USABLE | WB},
		  {0x2000, 0x2000, MEM_USABLE | NOT_WB},
		  {0x4000, 0x1000, MEM_USABLE | WB});
	/* ... not-WB over WB takes the page. */
	CHECK_EQ(memmap_add_attr(&m, 0x1000, 0x1000, MEM_USABLE, 0), 0);
	CHECK_MAP(&m, {0x0, 0x1000, MEM_USABLE | WB},
		  {0x1000, 0x3000, MEM_USABLE | NOT_WB},
		  {0x4000, 0x1000, MEM_USABLE | WB});
	/* A higher-ranked type keeps its own attribute. */
	CHECK_EQ(memmap_add_attr(&m, 0x2000, 0x1000, MEM_KERNEL, BI_MEM_WB), 0);
	CHECK_MAP(&m, {0x0, 0x1000, MEM_USABLE | WB},
		  {0x1000, 0x1000, MEM_USABLE | NOT_WB},
		  {0x2000, 0x1000, MEM_KERNEL | WB},
		  {0x3000, 0x1000, MEM_USABLE | NOT_WB},
		  {0x4000, 0x1000, MEM_USABLE | WB});
	/* Unknown attribute bits are refused. */
	CHECK_EQ(memmap_add_attr(&m, 0x8000, 0x1000, MEM_USABLE, 2),
		 -ERR_INVALID);
	CHECK_EQ(m.count, 5);
	/* memmap_add gives the type's default. */
	CHECK_EQ(mem_type_default_attr(MEM_USABLE), BI_MEM_WB);
	CHECK_EQ(mem_type_default_attr(MEM_ACPI_NVS), BI_MEM_WB);
	CHECK_EQ(mem_type_default_attr(MEM_FW_RUNTIME_CODE), BI_MEM_WB);
	CHECK_EQ(mem_type_default_attr(MEM_RESERVED), 0);
	CHECK_EQ(mem_type_default_attr(MEM_FRAMEBUFFER), 0);
	CHECK_EQ(mem_type_default_attr(MEM_BAD), 0);
}

/* The EFI Attribute's WB bit and the E820 RAM types decide BI_MEM_WB. */
static void test_firmware_attributes(void)
{
	uint8_t buf[3 * 40];
	struct efi_mem_desc d[3] = {
	    {7, 0, 0x100000, 0, 0x10, 0xf},                   /* UC WC WT WB */
	    {7, 0, 0x110000, 0, 0x10, 0x1},                   /* UC only */
	    {11, 0, 0xfee00000, 0, 1, 0x8000000000000001ull}, /* MMIO */
	};
	struct memmap m;

	memcpy(buf, d, sizeof(buf));
	fresh(&m, 8);
	CHECK_EQ(memmap_add_efi(&m, buf, sizeof(buf), 40), 0);
	CHECK_MAP(&m, {0x100000, 0x10000, MEM_USABLE | WB},
		  {0x110000, 0x10000, MEM_USABLE | NOT_WB},
		  {0xfee00000, 0x1000, MEM_RESERVED | NOT_WB});
	CHECK_EQ(mem_attr_from_efi(0x800000000000000full), BI_MEM_WB);
	CHECK_EQ(mem_attr_from_efi(0x7), 0);

	CHECK_EQ(mem_attr_from_e820(E820_RAM), BI_MEM_WB);
	CHECK_EQ(mem_attr_from_e820(E820_ACPI), BI_MEM_WB);
	CHECK_EQ(mem_attr_from_e820(E820_NVS), BI_MEM_WB);
	CHECK_EQ(mem_attr_from_e820(E820_RESERVED), 0);
	CHECK_EQ(mem_attr_from_e820(E820_UNUSABLE), 0);
	CHECK_EQ(mem_attr_from_e820(7), 0);
}

static bool is_kernel(void *ctx, const struct bi_mem_range *r)
{
	return r->type == MEM_KERNEL;
}

/* Counts the ranges it is asked about; RAM types pass. */
static bool ram_counted(void *ctx, const struct bi_mem_range *r)
{
	++*(int *)ctx;
	return mem_type_is_ram(r->type);
}

/* memmap_covers: within one range, across touching ones, not across a
 * gap or a range that fails, not past the map's end; the predicate sees
 * exactly the ranges the span meets. */
static void test_covers(void)
{
	const struct bi_mem_range map[] = {
	    {0x1000, 0x2000, MEM_KERNEL, BI_MEM_WB},
	    {0x3000, 0x1000, MEM_KERNEL, BI_MEM_WB},
	    {0x4000, 0, MEM_RESERVED, 0},
	    {0x4000, 0x1000, MEM_USABLE, BI_MEM_WB},
	    {0x6000, 0x1000, MEM_KERNEL, BI_MEM_WB},
	};
	int seen = 0;

	CHECK(memmap_covers(map, 5, 0x1000, 0x3000, is_kernel, NULL));
	CHECK(memmap_covers(map, 5, 0x2000, 0x1000, is_kernel, NULL));
	CHECK(!memmap_covers(map, 5, 0x1000, 0x4000, is_kernel, NULL));
	CHECK(!memmap_covers(map, 5, 0x0, 0x2000, is_kernel, NULL));
	CHECK(!memmap_covers(map, 5, 0x6000, 0x2000, is_kernel, NULL));
	CHECK(!memmap_covers(map, 5, 0x5000, 0x2000, is_kernel, NULL));
	CHECK(memmap_covers(map, 5, 0x6000, 0x1000, is_kernel, NULL));
	CHECK(memmap_covers(map, 5, 0x5000, 0, is_kernel, NULL));
	CHECK(!memmap_covers(map, 5, TOP, 0x2000, is_kernel, NULL));
	CHECK(!memmap_covers(map, 0, 0x1000, 0x1000, is_kernel, NULL));
	CHECK(memmap_covers(map, 5, 0x2000, 0x3000, ram_counted, &seen));
	CHECK_EQ(seen, 3); /* the empty range is not asked about */
}

int main(void)
{
	RUN(test_empty_and_noops);
	RUN(test_rounding);
	RUN(test_split_in_three);
	RUN(test_merge_adjacent);
	RUN(test_fill_holes);
	RUN(test_holes_and_high_memory);
	RUN(test_wrap);
	RUN(test_capacity);
	RUN(test_capacity_exact_fit);
	RUN(test_unsorted_same_result);
	RUN(test_many_entries);
	RUN(test_efi_types);
	RUN(test_ranks);
	RUN(test_efi_descriptor_size);
	RUN(test_efi_bad_args);
	RUN(test_e820);
	RUN(test_against_model);
	RUN(test_against_model_small_cap);
	RUN(test_never_writes_past_cap);
	RUN(test_edges);
	RUN(test_attributes);
	RUN(test_firmware_attributes);
	RUN(test_covers);
	return check_summary();
}
