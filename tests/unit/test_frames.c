/*
 * Host tests of the frame allocator (common/mm/frames.c). The allocator never
 * touches the frames it manages, only its storage, so "physical memory"
 * here is just the map; the storage is a malloc'd block.
 */
#include "check.h"
#include "common/mm/frames.h"

#include <stdlib.h>
#include <string.h>

#define K4 4096ull
#define M1 (1ull << 20)
#define M2 (2ull << 20)
#define G1 (1ull << 30)

struct fa_fixture {
	struct frames fa;
	void *store;
};

static int setup(struct fa_fixture *f, const struct bi_mem_range *map,
		 uint32_t n)
{
	uint64_t phys, bytes;
	int rc = frames_plan(map, n, &phys, &bytes);
	if (rc)
		return rc;
	f->store = aligned_alloc(K4, bytes);
	return frames_init(&f->fa, map, n, f->store, phys, bytes);
}

static void teardown(struct fa_fixture *f)
{
	free(f->store);
	f->store = NULL;
}

static bool in_type(const struct bi_mem_range *map, uint32_t n, uint64_t pa,
		    uint32_t type)
{
	for (uint32_t i = 0; i < n; i++)
		if (pa >= map[i].base && pa - map[i].base < map[i].size)
			return map[i].type == type;
	return false;
}

static const struct bi_mem_range small_map[] = {
    {0x0, 0xa0000, MEM_USABLE, 0},
    {0xa0000, 0x60000, MEM_RESERVED, 0},
    {0x100000, 0x300000, MEM_USABLE, 0}, /* 1 MiB .. 4 MiB */
    {0x400000, 0x100000, MEM_KERNEL, 0},
    {0x500000, 0x80000, MEM_LOADER_RECLAIM, 0},
    {0x580000, 0x10000, MEM_PAGE_TABLES, 0},
    {0x590000, 0x70000, MEM_USABLE, 0},
    {0x600000, 0x20000, MEM_ACPI_RECLAIM, 0},
    {0x620000, 0x1e0000, MEM_USABLE, 0},
    {0x800000, 0x10000, MEM_ACPI_NVS, 0},
    {0x80000000, 0x1000000, MEM_FRAMEBUFFER, 0},
};

static void test_never_hands_out_reserved(void)
{
	struct fa_fixture f;
	uint32_t n = ARRAY_SIZE(small_map);
	CHECK_EQ(setup(&f, small_map, n), 0);
	uint64_t expect_usable = (0xa0000 + 0x300000 + 0x70000 + 0x1e0000) / K4;
	CHECK_EQ(f.fa.usable_frames, expect_usable);
	/* Page 0 and the storage are used from the start. */
	uint64_t store_frames = f.fa.store_bytes / K4;
	CHECK_EQ(f.fa.free_frames, expect_usable - 1 - store_frames);
	CHECK(!frames_is_free(&f.fa, 0));
	CHECK(!frames_is_free(&f.fa, f.fa.store_phys));

	/* Low memory (here [4 KiB, 640 KiB)) is never handed out by
	 * frames_alloc. */
	uint64_t low_free = 0xa0000 / K4 - 1;
	CHECK_EQ(f.fa.low_frames, 0xa0000 / K4);
	uint64_t got = 0, bad = 0, prev = 0;
	for (uint64_t pa; (pa = frames_alloc(&f.fa)) != 0; got++) {
		if (!in_type(small_map, n, pa, MEM_USABLE) ||
		    (pa >= f.fa.store_phys &&
		     pa < f.fa.store_phys + f.fa.store_bytes) ||
		    pa <= prev || pa < FRAMES_LOW_LIMIT)
			bad++;
		prev = pa;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(got, expect_usable - 1 - store_frames - low_free);
	CHECK_EQ(f.fa.free_frames, low_free);
	CHECK_EQ(frames_alloc(&f.fa), 0); /* out of memory is an answer */
	CHECK_EQ(frames_alloc_run(&f.fa, 1, K4), 0);

	/* Free and reuse; a double free is refused and changes nothing. */
	CHECK_EQ(frames_free(&f.fa, 0x200000, 1), 0);
	CHECK_EQ(frames_free(&f.fa, 0x200000, 1), -ERR_INVALID);
	CHECK_EQ(frames_free(&f.fa, 0x400000, 1), -ERR_INVALID); /* kernel */
	CHECK_EQ(frames_free(&f.fa, 0, 1), -ERR_INVALID);
	/* Frames never handed out: reclaimable ones still pending, and the
	 * allocator's own storage. */
	CHECK_EQ(frames_free(&f.fa, 0x500000, 1), -ERR_INVALID);
	CHECK_EQ(frames_free(&f.fa, f.fa.store_phys, 1), -ERR_INVALID);
	CHECK_EQ(f.fa.free_frames, low_free + 1);
	CHECK_EQ(frames_alloc(&f.fa), 0x200000);

	/* Reclaimable memory appears only when reclaimed. */
	CHECK_EQ(frames_reclaim(&f.fa, MEM_LOADER_RECLAIM), 0x80000 / K4);
	CHECK_EQ(frames_reclaim(&f.fa, MEM_LOADER_RECLAIM), 0);
	uint64_t pa = frames_alloc(&f.fa);
	CHECK(in_type(small_map, n, pa, MEM_LOADER_RECLAIM));
	CHECK_EQ(frames_reclaim(&f.fa, MEM_PAGE_TABLES), 0x10000 / K4);
	CHECK_EQ(f.fa.pending_frames, 0);
	teardown(&f);
}

static void test_runs_above_4g(void)
{
	static const struct bi_mem_range map[] = {
	    {0x1000, 0x9f000, MEM_USABLE, 0},
	    {0x100000, 0x7ff00000, MEM_USABLE, 0},
	    {0xfec00000, 0x1400000, MEM_RESERVED, 0},
	    {0x100000000ull, 0x80000000ull, MEM_USABLE, 0},
	};
	struct fa_fixture f;
	CHECK_EQ(setup(&f, map, ARRAY_SIZE(map)), 0);
	uint64_t a = frames_alloc_run(&f.fa, 512, M2);
	CHECK(a != 0 && a % M2 == 0);
	uint64_t b = frames_alloc_run(&f.fa, 512, M2);
	CHECK(b != 0 && b % M2 == 0 && b != a);
	CHECK(!frames_is_free(&f.fa, a + 511 * K4));
	CHECK_EQ(frames_free(&f.fa, a, 512), 0);
	CHECK(frames_is_free(&f.fa, a + 100 * K4));
	/* A run bigger than any region is refused. */
	CHECK_EQ(frames_alloc_run(&f.fa, (3ull << 30) / K4, M2), 0);
	/* 1 GiB aligned: the lowest fit is 1 GiB..2 GiB, the next ones are
	 * above 4 GiB. */
	CHECK_EQ(frames_alloc_run(&f.fa, G1 / K4, G1), G1);
	CHECK_EQ(frames_alloc_run(&f.fa, G1 / K4, G1), 0x100000000ull);

	/* Drain everything: every frame once, none twice, quickly; low
	 * memory stays. */
	uint64_t count = 0, before = f.fa.free_frames;
	while (frames_alloc(&f.fa))
		count++;
	CHECK_EQ(f.fa.free_frames, 0x9f000 / K4);
	CHECK_EQ(count, before - 0x9f000 / K4);
	CHECK(count > 500000);
	teardown(&f);
}

static void test_long_map(void)
{
	/* 3,000 entries: usable, reserved, usable, ... with holes. */
	enum { N = 3000 };
	static struct bi_mem_range map[N];
	uint64_t base = 0x100000, usable = 0;
	for (uint32_t i = 0; i < N; i++) {
		uint64_t size = i == 0 ? 64 * K4 /* room for the storage */
				       : (1 + i % 7) * K4;
		map[i] = (struct bi_mem_range){
		    base, size, i % 2 ? MEM_RESERVED : MEM_USABLE, 0};
		if (i % 2 == 0)
			usable += size / K4;
		base += size + (i % 5 == 0 ? 0x10000 : 0); /* holes */
	}
	struct fa_fixture f;
	CHECK_EQ(setup(&f, map, N), 0);
	CHECK_EQ(f.fa.usable_frames, usable);
	uint64_t got = 0, bad = 0;
	for (uint64_t pa; (pa = frames_alloc(&f.fa)) != 0; got++)
		if (!in_type(map, N, pa, MEM_USABLE))
			bad++;
	CHECK_EQ(bad, 0);
	CHECK_EQ(got, usable - f.fa.store_bytes / K4);
	teardown(&f);
}

static void test_refuses_bad_maps(void)
{
	struct fa_fixture f;
	static const struct bi_mem_range unsorted[] = {
	    {0x200000, 0x100000, MEM_USABLE, 0},
	    {0x100000, 0x100000, MEM_USABLE, 0},
	};
	static const struct bi_mem_range overlap[] = {
	    {0x100000, 0x200000, MEM_USABLE, 0},
	    {0x200000, 0x100000, MEM_RESERVED, 0},
	};
	static const struct bi_mem_range tiny[] = {
	    {0x1000, 0x1000, MEM_USABLE, 0},
	};
	static const struct bi_mem_range none[] = {
	    {0x100000, 0x100000, MEM_RESERVED, 0},
	};
	CHECK_EQ(setup(&f, unsorted, 2), -ERR_INVALID);
	teardown(&f);
	CHECK_EQ(setup(&f, overlap, 2), -ERR_INVALID);
	teardown(&f);
	/* No usable memory at or above 1 MiB for the storage. */
	uint64_t phys, bytes;
	CHECK_EQ(frames_plan(tiny, 1, &phys, &bytes), -ERR_NOMEM);
	CHECK_EQ(frames_plan(none, 1, &phys, &bytes), -ERR_NOMEM);
}

static void test_hint_after_free(void)
{
	static const struct bi_mem_range map[] = {
	    {0x100000, 0x1000000, MEM_USABLE, 0},
	    {0x2000000, 0x1000000, MEM_USABLE, 0},
	};
	struct fa_fixture f;
	CHECK_EQ(setup(&f, map, 2), 0);
	uint64_t first = frames_alloc(&f.fa);
	for (int i = 0; i < 5000; i++)
		frames_alloc(&f.fa);
	/* Freeing a low frame makes it the next one handed out. */
	CHECK_EQ(frames_free(&f.fa, first, 1), 0);
	CHECK_EQ(frames_alloc(&f.fa), first);
	teardown(&f);
}

/* [0, 1 MiB) only through frames_alloc_low, whatever the order of
 * requests; a range across 1 MiB is split there; low frames come back to
 * the low pool when freed, and reclaimed low memory joins it. */
static void test_low_memory(void)
{
	static const struct bi_mem_range map[] = {
	    {0x0, 0x9f000, MEM_USABLE, BI_MEM_WB},
	    {0x9f000, 0x1000, MEM_RESERVED, 0},
	    {0xe0000, 0x10000, MEM_LOADER_RECLAIM, BI_MEM_WB},
	    {0xf0000, 0x20000, MEM_USABLE, BI_MEM_WB}, /* across 1 MiB */
	    {0x110000, 0x100000, MEM_USABLE, BI_MEM_WB},
	};
	struct fa_fixture f;
	CHECK_EQ(setup(&f, map, ARRAY_SIZE(map)), 0);
	CHECK_EQ(f.fa.count, 5); /* 0, 0xe0000, 0xf0000, 0x100000, 0x110000 */
	CHECK_EQ(f.fa.low_frames, (0x9f000 + 0x10000 + 0x10000) / K4);
	/* Free: the usable ones but page 0 (reclaimable ones wait). */
	CHECK_EQ(frames_free_low(&f.fa), (0x9f000 + 0x10000) / K4 - 1);
	/* Every frame at or above 1 MiB, then nothing. */
	uint64_t n = 0, pa, lowest = ~0ull;
	while ((pa = frames_alloc(&f.fa)) != 0) {
		n++;
		if (pa < lowest)
			lowest = pa;
	}
	/* The storage took the first frames above 1 MiB. */
	CHECK_EQ(f.fa.store_phys, FRAMES_LOW_LIMIT);
	CHECK_EQ(lowest, FRAMES_LOW_LIMIT + f.fa.store_bytes);
	CHECK_EQ(n, (0x10000 + 0x100000 - f.fa.store_bytes) / K4);
	CHECK_EQ(frames_alloc_run(&f.fa, 1, K4), 0);
	/* The low pool, lowest first, never page 0. */
	CHECK_EQ(frames_alloc_low(&f.fa), 0x1000);
	CHECK_EQ(frames_alloc_low(&f.fa), 0x2000);
	CHECK_EQ(frames_free(&f.fa, 0x1000, 1), 0);
	CHECK_EQ(frames_alloc(&f.fa), 0); /* freed low stays low */
	CHECK_EQ(frames_alloc_low(&f.fa), 0x1000);
	CHECK_EQ(frames_free_low(&f.fa), (0x9f000 + 0x10000) / K4 - 3);
	uint64_t low = 2;
	while ((pa = frames_alloc_low(&f.fa)) != 0) {
		CHECK(pa < FRAMES_LOW_LIMIT && pa != 0);
		low++;
	}
	CHECK_EQ(low, (0x9f000 - K4 + 0x10000) / K4);
	/* Reclaimed low memory joins the low pool only. */
	CHECK_EQ(frames_reclaim(&f.fa, MEM_LOADER_RECLAIM), 0x10000 / K4);
	CHECK_EQ(frames_alloc(&f.fa), 0);
	CHECK_EQ(frames_alloc_low(&f.fa), 0xe0000);
	teardown(&f);
}

/* frames_take: exactly one named free frame, refused otherwise. */
static void test_take(void)
{
	struct fa_fixture f;
	CHECK_EQ(setup(&f, small_map, ARRAY_SIZE(small_map)), 0);
	uint64_t before = f.fa.free_frames;
	CHECK_EQ(frames_take(&f.fa, 0x300000), 0);
	CHECK(!frames_is_free(&f.fa, 0x300000));
	CHECK_EQ(f.fa.free_frames, before - 1);
	CHECK_EQ(frames_take(&f.fa, 0x300000), -ERR_INVALID); /* taken */
	CHECK_EQ(frames_take(&f.fa, 0x400000), -ERR_INVALID); /* kernel */
	CHECK_EQ(frames_take(&f.fa, 0x500000), -ERR_INVALID); /* pending */
	CHECK_EQ(frames_take(&f.fa, 0x300800), -ERR_INVALID); /* unaligned */
	CHECK_EQ(frames_take(&f.fa, 0x90000000), -ERR_INVALID);
	CHECK_EQ(f.fa.free_frames, before - 1);
	CHECK_EQ(frames_free(&f.fa, 0x300000, 1), 0);
	/* After reclaim its frames can be taken. */
	frames_reclaim(&f.fa, MEM_LOADER_RECLAIM);
	CHECK_EQ(frames_take(&f.fa, 0x500000), 0);
	CHECK_EQ(frames_free(&f.fa, 0x500000, 1), 0);
	teardown(&f);
}

int main(void)
{
	RUN(test_never_hands_out_reserved);
	RUN(test_runs_above_4g);
	RUN(test_long_map);
	RUN(test_refuses_bad_maps);
	RUN(test_hint_after_free);
	RUN(test_low_memory);
	RUN(test_take);
	return check_summary();
}
