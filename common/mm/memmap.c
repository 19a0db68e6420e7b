/*
 * Memory-map normalisation (see memmap.h).
 *
 * The map is kept sorted, disjoint and merged after every memmap_add, in
 * the caller's fixed array. Adding [s, e) of type t is "painting": every
 * address in [s, e) ends up with whichever of t and its old type ranks
 * higher. Concretely, the ranges that overlap or touch [s, e) (the "run")
 * are replaced by:
 *   - the ranges of the run that rank at least as high as t, unchanged
 *     (they may stick out of [s, e));
 *   - what lower-ranked ranges of the run have outside [s, e) ("remnants":
 *     only the run's first and last range can have any);
 *   - t in every gap left in [s, e), merged into neighbours of type t.
 * Call the first two the "kept" ranges. "Type" here means the class, the
 * pair (type, attribute), packed into one key; classes have distinct
 * ranks, so two adjacent kept ranges never have the same class.
 *
 * The array is rewritten in place in two passes, so that no temporary
 * storage is needed and reads never see clobbered entries: a forward pass
 * that can only shrink the run (drop what is painted over, clip remnants,
 * stretch type-t ranges over the gaps next to them and merge them), then
 * a backward pass that can only grow it (insert t into the gaps that are
 * left). The final size is computed first, so a map that would overflow
 * is left untouched. Each add costs O(n) (the array shifts), so building
 * an n-entry map costs O(n^2).
 */
#include "common/mm/memmap.h"
#include "common/lib/string.h"

/* The top page is never part of the map, so rounding an end up to a page
 * boundary cannot overflow. */
#define ADDR_LIMIT (0ull - PAGE_SIZE)

/* Ranks, low to high: the more a range must be left alone, the higher. */
static const uint8_t ranks[MEM_TYPE_COUNT] = {
    [MEM_NONE] = 0,
    [MEM_USABLE] = 1,
    [MEM_LOADER_RECLAIM] = 2,
    [MEM_ACPI_RECLAIM] = 3,
    [MEM_PAGE_TABLES] = 4,
    [MEM_KERNEL] = 5,
    [MEM_FRAMEBUFFER] = 6,
    [MEM_ACPI_NVS] = 7,
    [MEM_FW_RUNTIME_CODE] = 8,
    [MEM_FW_RUNTIME_DATA] = 9,
    [MEM_RESERVED] = 10,
    [MEM_BAD] = 11,
};

uint32_t mem_type_rank(uint32_t type)
{
	return type < MEM_TYPE_COUNT ? ranks[type] : 0;
}

uint32_t mem_type_default_attr(uint32_t type)
{
	return mem_type_is_ram(type) ? BI_MEM_WB : 0;
}

/* A class: type and attribute in one value, so the painting below
 * compares one thing. Types fit in 16 bits (MEM_TYPE_COUNT). */
#define KEY_ATTR_SHIFT 16

static uint32_t key_of(uint32_t type, uint32_t attr)
{
	return type | attr << KEY_ATTR_SHIFT;
}

static uint32_t key_type(uint32_t key)
{
	return key & ((1u << KEY_ATTR_SHIFT) - 1);
}

static uint32_t key_attr(uint32_t key)
{
	return key >> KEY_ATTR_SHIFT;
}

static uint32_t range_key(const struct bi_mem_range *r)
{
	return key_of(r->type, r->attr);
}

/* The type's rank first; within a type, not-WB above WB. Distinct for
 * distinct classes. */
static uint32_t key_rank(uint32_t key)
{
	return ranks[key_type(key)] * 2 + !(key_attr(key) & BI_MEM_WB);
}

void memmap_init(struct memmap *m, struct bi_mem_range *storage, uint32_t cap)
{
	m->ranges = storage;
	m->count = 0;
	m->cap = cap;
}

static uint64_t range_end(const struct bi_mem_range *r)
{
	return r->base + r->size;
}

/* One range as [base, end) of one class (key_of), the form the
 * algorithm below works in. */
struct span {
	uint64_t base, end;
	uint32_t key;
};

static void store(struct bi_mem_range *r, const struct span *sp)
{
	r->base = sp->base;
	r->size = sp->end - sp->base;
	r->type = key_type(sp->key);
	r->attr = key_attr(sp->key);
}

/* What the run's range r keeps when [s, e) is painted with class t.
 * Returns false when nothing is kept. */
static bool kept(const struct bi_mem_range *r, uint64_t s, uint64_t e,
		 uint32_t t, struct span *out)
{
	out->base = r->base;
	out->end = range_end(r);
	out->key = range_key(r);
	if (key_rank(out->key) >= key_rank(t))
		return true;
	/* Lower rank: keep the part outside [s, e). The run's ranges all
	 * touch [s, e) and a single range sticking out on both sides is
	 * handled by the caller, so at most one side is left. */
	if (out->base < s) {
		out->end = s;
		return true;
	}
	if (out->end > e) {
		out->base = e;
		return true;
	}
	return false;
}

/*
 * Entries the run [i, j) becomes: the kept ranges, plus one per gap (in
 * [s, e)) with no type-t neighbour, minus one per gap between two type-t
 * ranges (both merge into one).
 */
static uint32_t painted_count(const struct memmap *m, uint32_t i, uint32_t j,
			      uint64_t s, uint64_t e, uint32_t t)
{
	uint32_t n = 0, fills = 0, merges = 0;
	struct span prev = {0, 0, 0}, cur;
	bool have_prev = false;

	for (uint32_t k = i; k < j; k++) {
		if (!kept(&m->ranges[k], s, e, t, &cur))
			continue;
		if (!have_prev) {
			if (s < cur.base && cur.key != t)
				fills++;
		} else if (prev.end < cur.base) {
			if (prev.key == t && cur.key == t)
				merges++;
			else if (prev.key != t && cur.key != t)
				fills++;
		}
		n++;
		prev = cur;
		have_prev = true;
	}
	if (!have_prev)
		return 1;
	if (prev.end < e && prev.key != t)
		fills++;
	return n + fills - merges;
}

/* Moves the entries from index from to the end of the map to index to. */
static void move_tail(struct memmap *m, uint32_t from, uint32_t to)
{
	mem_copy(&m->ranges[to], &m->ranges[from],
		 (size_t)(m->count - from) * sizeof(m->ranges[0]));
	m->count = m->count - from + to;
}

/*
 * Forward pass over the run [i, j): drops and clips what [s, e) paints
 * over and stretches type-t ranges over the gaps beside them (merging two
 * type-t ranges that a gap separated). Writes never overtake reads: each
 * range produces at most one. Returns the run's new length.
 */
static uint32_t shrink_run(struct memmap *m, uint32_t i, uint32_t j, uint64_t s,
			   uint64_t e, uint32_t t)
{
	uint32_t w = i; /* next entry to write */
	struct span cur;

	for (uint32_t k = i; k < j; k++) {
		struct bi_mem_range *last = w > i ? &m->ranges[w - 1] : NULL;

		if (!kept(&m->ranges[k], s, e, t, &cur))
			continue;
		if (!last) {
			if (cur.key == t && s < cur.base)
				cur.base = s;
		} else if (range_end(last) < cur.base) {
			if (range_key(last) == t && cur.key == t) {
				last->size = cur.end - last->base;
				continue;
			}
			if (range_key(last) == t)
				last->size = cur.base - last->base;
			else if (cur.key == t)
				cur.base = range_end(last);
		}
		store(&m->ranges[w++], &cur);
	}
	if (w > i && range_key(&m->ranges[w - 1]) == t &&
	    range_end(&m->ranges[w - 1]) < e)
		m->ranges[w - 1].size = e - m->ranges[w - 1].base;
	return w - i;
}

/* Backward pass over the run [i, i+n) after shrink_run: inserts t into
 * every gap left in [s, e) (their neighbours are never of type t now).
 * Writes never fall behind reads: the tail moves up first by the number of
 * insertions. */
static void fill_run(struct memmap *m, uint32_t i, uint32_t n, uint64_t s,
		     uint64_t e, uint32_t t)
{
	uint32_t fills = 0, w;
	uint64_t cursor = s;

	for (uint32_t k = i; k < i + n; k++) {
		if (cursor < m->ranges[k].base)
			fills++;
		cursor = range_end(&m->ranges[k]);
	}
	if (cursor < e)
		fills++;
	if (fills == 0)
		return;
	move_tail(m, i + n, i + n + fills);

	/* From the top: the gap above each range, then the range. */
	w = i + n + fills;
	cursor = e;
	for (uint32_t k = i + n; k-- > i;) {
		struct bi_mem_range r = m->ranges[k];
		struct span fill = {range_end(&r), cursor, t};

		if (fill.base < fill.end)
			store(&m->ranges[--w], &fill);
		m->ranges[--w] = r;
		cursor = r.base;
	}
	if (s < cursor) {
		struct span fill = {s, cursor, t};

		store(&m->ranges[--w], &fill);
	}
}

/* Index of the first range that ends at or after s (touching counts). */
static uint32_t first_touching(const struct memmap *m, uint64_t s)
{
	uint32_t lo = 0, hi = m->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (range_end(&m->ranges[mid]) < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int memmap_add(struct memmap *m, uint64_t base, uint64_t size, uint32_t type)
{
	return memmap_add_attr(m, base, size, type,
			       mem_type_default_attr(type));
}

int memmap_add_attr(struct memmap *m, uint64_t base, uint64_t size,
		    uint32_t type, uint32_t attr)
{
	uint64_t s, e;
	uint32_t i, j, n, key = key_of(type, attr);

	if (type == MEM_NONE || type >= MEM_TYPE_COUNT ||
	    (attr & ~BI_MEM_ATTR_MASK))
		return -ERR_INVALID;
	if (size == 0 || base >= ADDR_LIMIT)
		return 0;
	e = (add_overflows(base, size) || base + size > ADDR_LIMIT)
		? ADDR_LIMIT
		: base + size;
	/* A page is usable only if all of it is; anything else claims every
	 * page it touches. */
	if (type == MEM_USABLE) {
		s = ALIGN_UP(base, PAGE_SIZE);
		e = ALIGN_DOWN(e, PAGE_SIZE);
	} else {
		s = ALIGN_DOWN(base, PAGE_SIZE);
		e = ALIGN_UP(e, PAGE_SIZE);
	}
	if (s >= e)
		return 0;

	i = first_touching(m, s);
	for (j = i; j < m->count && m->ranges[j].base <= e; j++)
		;

	/* One lower-ranked range sticking out on both sides splits in
	 * three; nothing else in the run then. */
	if (j == i + 1 && key_rank(range_key(&m->ranges[i])) < key_rank(key) &&
	    m->ranges[i].base < s && range_end(&m->ranges[i]) > e) {
		struct span left = {m->ranges[i].base, s,
				    range_key(&m->ranges[i])};
		struct span mid = {s, e, key};
		struct span right = {e, range_end(&m->ranges[i]),
				     range_key(&m->ranges[i])};

		if (m->cap - m->count < 2)
			return -ERR_TOOBIG;
		move_tail(m, i + 1, i + 3);
		store(&m->ranges[i], &left);
		store(&m->ranges[i + 1], &mid);
		store(&m->ranges[i + 2], &right);
		return 0;
	}

	n = painted_count(m, i, j, s, e, key);
	if (m->count - (j - i) + n > m->cap)
		return -ERR_TOOBIG;
	n = shrink_run(m, i, j, s, e, key);
	move_tail(m, j, i + n);
	fill_run(m, i, n, s, e, key);
	return 0;
}

uint32_t mem_type_from_efi(uint32_t efi_type)
{
	switch (efi_type) {
	case 1: /* EfiLoaderCode */
	case 2: /* EfiLoaderData */
	case 3: /* EfiBootServicesCode */
	case 4: /* EfiBootServicesData */
		return MEM_LOADER_RECLAIM;
	case 5: /* EfiRuntimeServicesCode */
		return MEM_FW_RUNTIME_CODE;
	case 6: /* EfiRuntimeServicesData */
		return MEM_FW_RUNTIME_DATA;
	case 7: /* EfiConventionalMemory */
		return MEM_USABLE;
	case 8: /* EfiUnusableMemory: errors were detected in it */
		return MEM_BAD;
	case 9: /* EfiACPIReclaimMemory */
		return MEM_ACPI_RECLAIM;
	case 10: /* EfiACPIMemoryNVS */
		return MEM_ACPI_NVS;
	case EFI_TYPE_LOADER_KERNEL:
		return MEM_KERNEL;
	case EFI_TYPE_LOADER_PAGE_TABLES:
		return MEM_PAGE_TABLES;
	case EFI_TYPE_LOADER_BOOTINFO:
		return MEM_LOADER_RECLAIM;
	/*
	 * 0 EfiReservedMemoryType, 11 EfiMemoryMappedIO, 12
	 * EfiMemoryMappedIOPortSpace, 13 EfiPalCode, and:
	 * 14 EfiPersistentMemory is RAM that keeps its contents across
	 * reboots (NVDIMMs): using it as scratch memory would destroy
	 * someone's data, so it is reserved.
	 * 15 EfiUnacceptedMemoryType must be accepted (a confidential-VM
	 * protocol) before it can be touched.
	 * Anything newer or unknown is reserved to be safe.
	 */
	default:
		return MEM_RESERVED;
	}
}

uint32_t mem_attr_from_efi(uint64_t efi_attribute)
{
	return (efi_attribute & EFI_ATTRIBUTE_WB) ? BI_MEM_WB : 0;
}

uint32_t mem_attr_from_e820(uint32_t e820_type)
{
	switch (e820_type) {
	case E820_RAM:
	case E820_ACPI:
	case E820_NVS:
		return BI_MEM_WB;
	default:
		return 0;
	}
}

uint32_t mem_type_from_e820(uint32_t e820_type)
{
	switch (e820_type) {
	case E820_RAM:
		return MEM_USABLE;
	case E820_ACPI:
		return MEM_ACPI_RECLAIM;
	case E820_NVS:
		return MEM_ACPI_NVS;
	case E820_UNUSABLE:
		return MEM_BAD;
	default: /* E820_RESERVED, 7 (persistent) and anything unknown */
		return MEM_RESERVED;
	}
}

/* A trailing partial descriptor (map_size not a multiple of desc_size) is
 * ignored. Stops at the first descriptor that does not fit; those before
 * it stay in the map. */
int memmap_add_efi(struct memmap *m, const void *buf, uint64_t map_size,
		   uint64_t desc_size)
{
	const uint8_t *p = buf;

	if (desc_size < sizeof(struct efi_mem_desc) || desc_size % 8 != 0)
		return -ERR_INVALID;
	for (uint64_t off = 0; map_size - off >= desc_size; off += desc_size) {
		struct efi_mem_desc d;
		uint64_t size;
		int rc;

		/* The buffer may be unaligned (the fuzzer's is). */
		mem_copy(&d, p + off, sizeof(d));
		/* pages * 4 KiB past 2^64 is a range that wraps: memmap_add
		 * clips it. */
		size = d.pages > (~0ull >> PAGE_SHIFT) ? ~0ull
						       : d.pages << PAGE_SHIFT;
		rc = memmap_add_attr(m, d.phys_start, size,
				     mem_type_from_efi(d.type),
				     mem_attr_from_efi(d.attribute));
		if (rc)
			return rc;
	}
	return 0;
}

/* Stops at the first entry that does not fit, like memmap_add_efi. */
int memmap_add_e820(struct memmap *m, const struct e820_entry *e,
		    uint32_t count)
{
	for (uint32_t k = 0; k < count; k++) {
		int rc = memmap_add_attr(m, e[k].addr, e[k].size,
					 mem_type_from_e820(e[k].type),
					 mem_attr_from_e820(e[k].type));
		if (rc)
			return rc;
	}
	return 0;
}

void memmap_summarise(const struct bi_mem_range *r, uint32_t count,
		      struct memmap_summary *s)
{
	s->usable_bytes = 0;
	s->highest_end = 0;
	s->highest_usable_end = 0;
	for (uint32_t k = 0; k < count; k++) {
		uint64_t end = range_end(&r[k]);

		if (end > s->highest_end)
			s->highest_end = end;
		if (r[k].type != MEM_USABLE)
			continue;
		s->usable_bytes += r[k].size;
		if (end > s->highest_usable_end)
			s->highest_usable_end = end;
	}
}

bool memmap_covers(const struct bi_mem_range *map, uint32_t n, uint64_t base,
		   uint64_t size, memmap_pred ok, void *ctx)
{
	uint64_t a = base, end = base + size;

	if (add_overflows(base, size))
		return false;
	for (uint32_t i = 0; i < n && a < end; i++) {
		const struct bi_mem_range *r = &map[i];

		if (!r->size || range_end(r) <= a)
			continue;
		if (r->base > a || !ok(ctx, r))
			return false;
		a = range_end(r);
	}
	return a >= end;
}
