/*
 * The physical frame allocator: 4 KiB frames and aligned contiguous runs
 * (2 MiB pages) from the boot info's memory map.
 *
 * It lives in common/ although only the kernel uses it, so the host tests
 * can run it over odd maps (unsorted, overlapping, tiny, thousands of
 * entries, memory above 4 GiB, holes) under the sanitizers.
 *
 * Layout: one region per map range that can ever be handed out (usable,
 * loader-reclaimable, boot page tables). Each region has a bitmap (1 =
 * free) and a summary bitmap (1 bit per bitmap word: the word has a free
 * bit), so finding a free frame reads a few words, not all of memory.
 * Holes between regions cost nothing. All of it lives in one block of
 * storage the caller takes from the map (frames_plan), addressed by
 * offsets, so moving from the identity map to the direct map is
 * frames_rebase.
 *
 * Never handed out: page 0, anything not usable in the map (kernel image,
 * ACPI, firmware runtime, framebuffer, reserved, bad), the storage itself,
 * and reclaimable ranges until frames_reclaim is called for their type.
 *
 * Low memory, [0, 1 MiB), is managed but kept out of general allocation
 * (frames_alloc, frames_alloc_run): firmware is known to scribble on it
 * (suspend and resume, video BIOS), so Linux reserves it too. It is
 * handed out only on explicit request (frames_alloc_low), for what must
 * live there: the page an application processor starts in (its SIPI
 * vector names a page below 1 MiB). A map range across 1 MiB becomes two
 * regions, so each region is wholly low or not.
 */
#ifndef COMMON_FRAMES_H
#define COMMON_FRAMES_H

#include "common/boot/bootinfo.h"
#include "common/lib/types.h"

/* Frames below it are handed out by frames_alloc_low only. */
#define FRAMES_LOW_LIMIT 0x100000ull

struct frame_region {
	uint64_t base; /* physical, page aligned */
	uint64_t frames;
	uint64_t free;
	uint64_t bits;    /* word offset of the bitmap in the storage */
	uint64_t summary; /* word offset of the summary bitmap */
	uint64_t hint;    /* lowest summary word that may be non-zero */
	uint32_t type;    /* the map type this region came from */
	uint32_t low;     /* 1: below FRAMES_LOW_LIMIT */
};

struct frames {
	uint64_t *store; /* the storage, as currently reachable */
	uint64_t store_phys;
	uint64_t store_bytes;
	struct frame_region *region; /* = (struct frame_region *)store */
	uint32_t count;
	uint32_t hint; /* lowest region that may have free frames */
	uint64_t free_frames;
	uint64_t usable_frames;  /* frames ever handed out or free */
	uint64_t reserved_bytes; /* map ranges never handed out */
	uint64_t pending_frames; /* reclaimable, not yet reclaimed */
	uint64_t low_frames;     /* managed frames below FRAMES_LOW_LIMIT */
};

/* True for the types that get a region. */
bool frames_type_managed(uint32_t type);

/*
 * Sizes the storage for map and picks where it goes: the lowest usable
 * range at or above 1 MiB that holds it. Returns 0 and sets *phys and
 * *bytes, or -ERR_NOMEM when no usable range is big enough.
 */
int frames_plan(const struct bi_mem_range *map, uint32_t n, uint64_t *phys,
		uint64_t *bytes);

/*
 * Builds the allocator over map with the storage at store (reachable
 * pointer) / store_phys (bytes from frames_plan). Usable frames become
 * free except page 0 and the storage; reclaimable ones wait for
 * frames_reclaim. The map must be sorted and disjoint (as in the boot
 * info). Returns 0 or -ERR_INVALID.
 */
int frames_init(struct frames *fa, const struct bi_mem_range *map, uint32_t n,
		void *store, uint64_t store_phys, uint64_t bytes);

/* The storage is now reachable at store (e.g. through the direct map). */
void frames_rebase(struct frames *fa, void *store);

/* Returns a free 4 KiB frame's physical address (not zeroed), never
 * below FRAMES_LOW_LIMIT, or 0 when out of memory. */
uint64_t frames_alloc(struct frames *fa);

/* Returns the first of count contiguous free frames starting at a
 * multiple of align (a power of two, >= 4 KiB), never below
 * FRAMES_LOW_LIMIT, or 0. */
uint64_t frames_alloc_run(struct frames *fa, uint64_t count, uint64_t align);

/* Returns a free frame below FRAMES_LOW_LIMIT (never page 0), or 0 when
 * none is left. The explicit way into low memory: the AP trampoline. */
uint64_t frames_alloc_low(struct frames *fa);

/* How many of the free frames are below FRAMES_LOW_LIMIT (kept for
 * frames_alloc_low). */
uint64_t frames_free_low(const struct frames *fa);

/* Takes the free frame at phys (so a caller can hold on to one it knows
 * about). Returns 0, or -ERR_INVALID when phys is not a free managed
 * frame (nothing changes then). */
int frames_take(struct frames *fa, uint64_t phys);

/* Frees count frames at phys. Returns 0, or -ERR_INVALID when a frame is
 * not managed or already free (a double free: nothing is changed). */
int frames_free(struct frames *fa, uint64_t phys, uint64_t count);

/* Frees every frame of the regions of `type` (MEM_LOADER_RECLAIM,
 * MEM_PAGE_TABLES): call once nothing lives there any more. Returns the
 * number of frames freed. */
uint64_t frames_reclaim(struct frames *fa, uint32_t type);

/* True when phys is a free frame (for tests and assertions). */
bool frames_is_free(const struct frames *fa, uint64_t phys);

#endif
