/*
 * memmap_add_efi / memmap_add_e820 on arbitrary descriptors.
 *
 * Input: byte 0 picks the format (bit 0: 0 EFI, 1 E820) and, for EFI, the
 * descriptor size (40 + 8 * bits 1..3, so 40..96 bytes); byte 1 is the
 * map's capacity (0 means 4096); the rest are the descriptors.
 *
 * Beyond the map's invariants, two properties of painting by rank catch
 * wrong merges and splits: adding the same input again changes nothing,
 * and adding it in reverse order gives the same map.
 *
 * The normalised map then goes through the direct-map plan (bits 4..7 of
 * byte 0 pick 1 GiB pages and a MAXPHYADDR of 32..39): its pieces are
 * ascending, disjoint, aligned to their leaf, and cover exactly the
 * write-back RAM below the reach; the allocator's clipped map is sorted
 * and has at most one entry more.
 */
#include "common/mm/dmap.h"
#include "common/mm/memmap.h"
#include "common/mm/paging.h"
#include "tests/fuzz/fuzz_check.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { STORAGE = 4096 };
static struct bi_mem_range a[STORAGE], b[STORAGE];

/* Adds entry k of the input to m. */
static int add_one(struct memmap *m, bool e820, const uint8_t *p,
		   uint64_t desc_size, uint32_t k)
{
	if (e820) {
		struct e820_entry e;

		memcpy(&e, p + k * sizeof(e), sizeof(e));
		return memmap_add_e820(m, &e, 1);
	}
	return memmap_add_efi(m, p + k * desc_size, desc_size, desc_size);
}

struct plan_check {
	uint64_t next;   /* lowest address the next piece may start at */
	uint64_t mapped; /* bytes */
};

static int check_piece(void *ctx, const struct dmap_piece *p)
{
	struct plan_check *c = ctx;

	FUZZ_ASSERT(p->size > 0 && p->phys >= c->next);
	FUZZ_ASSERT(!add_overflows(p->phys, p->size));
	c->next = p->phys + p->size;
	if (p->kind == DMAP_MAP) {
		FUZZ_ASSERT(p->leaf >= PT_L1 && p->leaf <= PT_L3);
		FUZZ_ASSERT(IS_ALIGNED(p->phys | p->size, PT_SIZE(p->leaf)));
		c->mapped += p->size;
	} else {
		FUZZ_ASSERT(p->kind < DMAP_KIND_COUNT);
		FUZZ_ASSERT(dmap_type_mapped(p->type));
	}
	return 0;
}

static void check_plan(const struct memmap *m, uint8_t knobs)
{
	static struct bi_mem_range clipped[STORAGE + 1];
	struct dmap_params p = {1ull << (32 + (knobs >> 5)), DMAP_VIRT_ROOM,
				(knobs >> 4) & 1};
	struct plan_check c = {0, 0};
	struct dmap_summary s;
	uint64_t ram = 0, reach = dmap_reach(&p);
	int n;

	FUZZ_ASSERT(dmap_plan(m->ranges, m->count, &p, check_piece, &c, &s) ==
		    0);
	for (uint32_t i = 0; i < m->count; i++) {
		const struct bi_mem_range *r = &m->ranges[i];
		uint64_t end =
		    r->base + r->size < reach ? r->base + r->size : reach;
		if (dmap_type_mapped(r->type) && (r->attr & BI_MEM_WB) &&
		    r->base < end)
			ram += end - r->base;
	}
	FUZZ_ASSERT(c.mapped == ram && s.mapped_bytes == ram);
	FUZZ_ASSERT(s.min_tables >= 1);
	n = dmap_clip_map(m->ranges, m->count, &p, clipped, m->count + 1);
	FUZZ_ASSERT(n >= (int)m->count && n <= (int)m->count + 1);
	for (int i = 1; i < n; i++)
		FUZZ_ASSERT(clipped[i - 1].base + clipped[i - 1].size <=
			    clipped[i].base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memmap m, r;
	const uint8_t *body;
	uint64_t desc_size, body_size;
	uint32_t cap, n;
	bool e820;
	int rc;

	if (size < 2)
		return 0;
	e820 = data[0] & 1;
	desc_size = e820 ? sizeof(struct e820_entry)
			 : 40 + 8 * (uint64_t)((data[0] >> 1) & 7);
	cap = data[1] ? data[1] : STORAGE;
	body_size = size - 2;
	/* A copy of exactly the body, so ASan sees any overread. */
	body = memcpy(malloc(body_size ? body_size : 1), data + 2, body_size);
	n = (uint32_t)(body_size / desc_size);

	memmap_init(&m, a, cap);
	if (e820) {
		struct e820_entry *e = malloc(n * sizeof(*e) + 1);

		memcpy(e, body, n * sizeof(*e));
		rc = memmap_add_e820(&m, e, n);
		free(e);
	} else {
		rc = memmap_add_efi(&m, body, body_size, desc_size);
	}
	FUZZ_ASSERT(rc == 0 || rc == -ERR_TOOBIG);
	fuzz_check_memmap(&m);
	check_plan(&m, data[0]);

	if (rc == 0) {
		static struct bi_mem_range before[STORAGE];
		uint32_t count = m.count;

		/* Idempotent: everything is already painted. */
		memcpy(before, a, count * sizeof(a[0]));
		for (uint32_t k = 0; k < n; k++)
			FUZZ_ASSERT(add_one(&m, e820, body, desc_size, k) == 0);
		FUZZ_ASSERT(m.count == count);
		FUZZ_ASSERT(memcmp(before, a, count * sizeof(a[0])) == 0);
		/* Order does not matter. The other order passes through
		 * other intermediate maps, so it gets all the room there is:
		 * n entries never make more than 2n + 1 ranges. */
		if (n < STORAGE / 2) {
			memmap_init(&r, b, STORAGE);
			for (uint32_t k = n; k-- > 0;)
				FUZZ_ASSERT(
				    add_one(&r, e820, body, desc_size, k) == 0);
			FUZZ_ASSERT(r.count == m.count);
			FUZZ_ASSERT(memcmp(a, b, m.count * sizeof(a[0])) == 0);
		}
	}
	free((void *)body);
	return 0;
}
