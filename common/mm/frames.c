/*
 * The physical frame allocator. See frames.h for the contract and the
 * layout. Bit conventions: in a region's bitmap 1 = free; in its summary,
 * bit k of word j is set when bitmap word 64*j + k is non-zero.
 */
#include "common/mm/frames.h"
#include "common/lib/string.h"

#define BITS 64u

static inline uint64_t words_for(uint64_t bits)
{
	return (bits + BITS - 1) / BITS;
}

bool frames_type_managed(uint32_t type)
{
	return type == MEM_USABLE || type == MEM_LOADER_RECLAIM ||
	       type == MEM_PAGE_TABLES;
}

/* The regions of a managed map range: itself, or its parts below and
 * above FRAMES_LOW_LIMIT when it crosses it. Returns how many (0..2) and
 * fills base[] and size[]. */
static uint32_t pieces(const struct bi_mem_range *r, uint64_t base[2],
		       uint64_t size[2])
{
	uint64_t end = r->base + r->size;
	if (!frames_type_managed(r->type) || !r->size)
		return 0;
	if (r->base < FRAMES_LOW_LIMIT && end > FRAMES_LOW_LIMIT) {
		base[0] = r->base;
		size[0] = FRAMES_LOW_LIMIT - r->base;
		base[1] = FRAMES_LOW_LIMIT;
		size[1] = end - FRAMES_LOW_LIMIT;
		return 2;
	}
	base[0] = r->base;
	size[0] = r->size;
	return 1;
}

/* Region table and bitmaps for a map, in bytes, page rounded. */
static uint64_t storage_bytes(const struct bi_mem_range *map, uint32_t n)
{
	uint64_t regions = 0, words = 0, base[2], size[2];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = pieces(&map[i], base, size);
		for (uint32_t j = 0; j < k; j++) {
			uint64_t w = words_for(size[j] / PAGE_SIZE);
			regions++;
			words += w + words_for(w);
		}
	}
	return ALIGN_UP(regions * sizeof(struct frame_region) + words * 8,
			PAGE_SIZE);
}

int frames_plan(const struct bi_mem_range *map, uint32_t n, uint64_t *phys,
		uint64_t *bytes)
{
	uint64_t need = storage_bytes(map, n);
	for (uint32_t i = 0; i < n; i++) {
		if (map[i].type != MEM_USABLE)
			continue;
		uint64_t base = map[i].base, end = map[i].base + map[i].size;
		if (base < FRAMES_LOW_LIMIT) /* not in low memory */
			base = FRAMES_LOW_LIMIT;
		if (base < end && end - base >= need) {
			*phys = base;
			*bytes = need;
			return 0;
		}
	}
	return -ERR_NOMEM;
}

static inline uint64_t *bits_of(const struct frames *fa,
				const struct frame_region *r)
{
	return fa->store + r->bits;
}

static inline uint64_t *summary_of(const struct frames *fa,
				   const struct frame_region *r)
{
	return fa->store + r->summary;
}

/* Recomputes the summary bit of bitmap word w. */
static void sync_summary(struct frames *fa, struct frame_region *r, uint64_t w)
{
	uint64_t *s = &summary_of(fa, r)[w / BITS];
	uint64_t bit = 1ull << (w % BITS);
	if (bits_of(fa, r)[w])
		*s |= bit;
	else
		*s &= ~bit;
}

/* Marks frames [first, first+count) of r free (free=true) or used; the
 * caller knows they are in the opposite state. */
static void mark(struct frames *fa, struct frame_region *r, uint64_t first,
		 uint64_t count, bool free)
{
	uint64_t *b = bits_of(fa, r);
	for (uint64_t i = first; i < first + count;) {
		uint64_t w = i / BITS, off = i % BITS;
		uint64_t n = BITS - off < first + count - i ? BITS - off
							    : first + count - i;
		uint64_t m = (n == BITS ? ~0ull : ((1ull << n) - 1)) << off;
		b[w] = free ? b[w] | m : b[w] & ~m;
		sync_summary(fa, r, w);
		i += n;
	}
	if (free) {
		r->free += count;
		fa->free_frames += count;
		if (first / BITS / BITS < r->hint)
			r->hint = first / BITS / BITS;
		/* fa->hint serves frames_alloc, which skips low regions. */
		uint32_t idx = (uint32_t)(r - fa->region);
		if (idx < fa->hint && !r->low)
			fa->hint = idx;
	} else {
		r->free -= count;
		fa->free_frames -= count;
	}
}

/* True when every frame of [first, first+count) of r is free. */
static bool all_free(const struct frames *fa, const struct frame_region *r,
		     uint64_t first, uint64_t count)
{
	const uint64_t *b = bits_of(fa, r);
	for (uint64_t i = first; i < first + count;) {
		uint64_t w = i / BITS, off = i % BITS;
		uint64_t n = BITS - off < first + count - i ? BITS - off
							    : first + count - i;
		uint64_t m = (n == BITS ? ~0ull : ((1ull << n) - 1)) << off;
		if ((b[w] & m) != m)
			return false;
		i += n;
	}
	return true;
}

/* True when no frame of [first, first+count) of r is free. */
static bool none_free(const struct frames *fa, const struct frame_region *r,
		      uint64_t first, uint64_t count)
{
	for (uint64_t i = first; i < first + count; i++)
		if (bits_of(fa, r)[i / BITS] & (1ull << (i % BITS)))
			return false;
	return true;
}

/* The region holding phys, by binary search, or NULL. */
static struct frame_region *region_of(const struct frames *fa, uint64_t phys)
{
	uint32_t lo = 0, hi = fa->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct frame_region *r = &fa->region[mid];
		if (phys < r->base)
			hi = mid;
		else if (phys - r->base >= r->frames * PAGE_SIZE)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* Marks the free frames of [base, base+size) used (page 0, the storage).
 * Only usable regions have free frames at this point; page 0 in a
 * reclaimable region is skipped by frames_reclaim itself. */
static void reserve(struct frames *fa, uint64_t base, uint64_t size)
{
	for (uint64_t a = base; a < base + size; a += PAGE_SIZE) {
		struct frame_region *r = region_of(fa, a);
		if (r && !none_free(fa, r, (a - r->base) / PAGE_SIZE, 1))
			mark(fa, r, (a - r->base) / PAGE_SIZE, 1, false);
	}
}

int frames_init(struct frames *fa, const struct bi_mem_range *map, uint32_t n,
		void *store, uint64_t store_phys, uint64_t bytes)
{
	mem_set(fa, 0, sizeof(*fa));
	if (bytes < storage_bytes(map, n) || !IS_ALIGNED(store_phys, PAGE_SIZE))
		return -ERR_INVALID;
	for (uint32_t i = 0; i < n; i++) {
		if (!IS_ALIGNED(map[i].base | map[i].size, PAGE_SIZE) ||
		    add_overflows(map[i].base, map[i].size) ||
		    (i && map[i].base < map[i - 1].base + map[i - 1].size))
			return -ERR_INVALID; /* not a normalised map */
	}
	fa->store = store;
	fa->store_phys = store_phys;
	fa->store_bytes = bytes;
	fa->region = store;
	mem_set(store, 0, bytes);

	/* The region table first, then each region's bitmap and summary. */
	uint64_t regions = 0, base[2], size[2];
	for (uint32_t i = 0; i < n; i++)
		regions += pieces(&map[i], base, size);
	uint64_t next = (regions * sizeof(struct frame_region) + 7) / 8;
	for (uint32_t i = 0; i < n; i++) {
		const struct bi_mem_range *m = &map[i];
		uint32_t k = pieces(m, base, size);
		if (!k)
			fa->reserved_bytes += m->size;
		for (uint32_t j = 0; j < k; j++) {
			struct frame_region *r = &fa->region[fa->count++];
			r->base = base[j];
			r->frames = size[j] / PAGE_SIZE;
			r->type = m->type;
			r->low = base[j] < FRAMES_LOW_LIMIT;
			r->bits = next;
			r->summary = next + words_for(r->frames);
			next = r->summary + words_for(words_for(r->frames));
			if (r->low)
				fa->low_frames += r->frames;
			if (m->type == MEM_USABLE) {
				fa->usable_frames += r->frames;
				mark(fa, r, 0, r->frames, true);
			} else {
				fa->pending_frames += r->frames;
			}
		}
	}
	/* Page 0 is never handed out: a null physical address means "out of
	 * memory" here, and real-mode structures live there. */
	reserve(fa, 0, PAGE_SIZE);
	reserve(fa, store_phys, bytes);
	fa->hint = 0;
	return 0;
}

void frames_rebase(struct frames *fa, void *store)
{
	fa->store = store;
	fa->region = store;
}

/* Lowest free frame of r; r has free frames. */
static uint64_t first_free(struct frames *fa, struct frame_region *r)
{
	const uint64_t *s = summary_of(fa, r);
	uint64_t nsum = words_for(words_for(r->frames));
	uint64_t j = r->hint;
	while (j < nsum && !s[j])
		j++;
	r->hint = j; /* every summary word below j is zero */
	uint64_t w = j * BITS + (uint64_t)__builtin_ctzll(s[j]);
	return w * BITS + (uint64_t)__builtin_ctzll(bits_of(fa, r)[w]);
}

uint64_t frames_alloc(struct frames *fa)
{
	for (uint32_t i = fa->hint; i < fa->count; i++) {
		struct frame_region *r = &fa->region[i];
		if (!r->free || r->low) {
			if (i == fa->hint)
				fa->hint = i + 1;
			continue;
		}
		uint64_t f = first_free(fa, r);
		mark(fa, r, f, 1, false);
		return r->base + f * PAGE_SIZE;
	}
	return 0;
}

uint64_t frames_alloc_low(struct frames *fa)
{
	/* Low regions come first (the map is sorted); page 0 is never
	 * free. */
	for (uint32_t i = 0; i < fa->count && fa->region[i].low; i++) {
		struct frame_region *r = &fa->region[i];
		if (!r->free)
			continue;
		uint64_t f = first_free(fa, r);
		mark(fa, r, f, 1, false);
		return r->base + f * PAGE_SIZE;
	}
	return 0;
}

uint64_t frames_free_low(const struct frames *fa)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < fa->count && fa->region[i].low; i++)
		n += fa->region[i].free;
	return n;
}

int frames_take(struct frames *fa, uint64_t phys)
{
	struct frame_region *r = region_of(fa, phys);
	if (!r || !IS_ALIGNED(phys, PAGE_SIZE) || !frames_is_free(fa, phys))
		return -ERR_INVALID;
	mark(fa, r, (phys - r->base) / PAGE_SIZE, 1, false);
	return 0;
}

uint64_t frames_alloc_run(struct frames *fa, uint64_t count, uint64_t align)
{
	if (!count || align < PAGE_SIZE || (align & (align - 1)))
		return 0;
	for (uint32_t i = fa->hint; i < fa->count; i++) {
		struct frame_region *r = &fa->region[i];
		if (r->free < count || r->low)
			continue;
		uint64_t start = ALIGN_UP(r->base, align);
		if (start < r->base) /* wrapped */
			continue;
		uint64_t step = align / PAGE_SIZE;
		for (uint64_t f = (start - r->base) / PAGE_SIZE;
		     f + count <= r->frames; f += step) {
			if (all_free(fa, r, f, count)) {
				mark(fa, r, f, count, false);
				return r->base + f * PAGE_SIZE;
			}
		}
	}
	return 0;
}

int frames_free(struct frames *fa, uint64_t phys, uint64_t count)
{
	if (!IS_ALIGNED(phys, PAGE_SIZE) || !phys)
		return -ERR_INVALID;
	/* Check the whole run first, so a bad free changes nothing. */
	for (uint64_t k = 0; k < count; k++) {
		uint64_t a = phys + k * PAGE_SIZE;
		struct frame_region *r = region_of(fa, a);
		/* A used bit also stands for "waiting to be reclaimed" and for
		 * the storage itself: neither was handed out. */
		if (!r || r->type != MEM_USABLE ||
		    (a >= fa->store_phys &&
		     a - fa->store_phys < fa->store_bytes) ||
		    !none_free(fa, r, (a - r->base) / PAGE_SIZE, 1))
			return -ERR_INVALID;
	}
	for (uint64_t k = 0; k < count;) {
		struct frame_region *r = region_of(fa, phys + k * PAGE_SIZE);
		uint64_t f = (phys + k * PAGE_SIZE - r->base) / PAGE_SIZE;
		uint64_t n =
		    r->frames - f < count - k ? r->frames - f : count - k;
		mark(fa, r, f, n, true);
		k += n;
	}
	return 0;
}

uint64_t frames_reclaim(struct frames *fa, uint32_t type)
{
	uint64_t freed = 0;
	if (type == MEM_USABLE)
		return 0;
	for (uint32_t i = 0; i < fa->count; i++) {
		struct frame_region *r = &fa->region[i];
		if (r->type != type)
			continue;
		r->type = MEM_USABLE; /* reclaimed once */
		fa->pending_frames -= r->frames;
		fa->usable_frames += r->frames;
		uint64_t first = r->base == 0; /* never page 0 */
		if (first)
			fa->usable_frames--;
		mark(fa, r, first, r->frames - first, true);
		freed += r->frames - first;
	}
	return freed;
}

bool frames_is_free(const struct frames *fa, uint64_t phys)
{
	const struct frame_region *r = region_of(fa, phys);
	if (!r)
		return false;
	uint64_t f = (phys - r->base) / PAGE_SIZE;
	return bits_of(fa, r)[f / BITS] & (1ull << (f % BITS));
}
