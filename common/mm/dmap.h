/*
 * The direct-map plan: which physical ranges the kernel maps at
 * DMAP_VIRT_BASE + phys, cut into pieces of one leaf size each, and which
 * RAM it refuses to map and why. A pure function of the boot info's map
 * and three facts about the CPU, shared by the kernel (which maps what it
 * says) and host tools that run real firmware maps through exactly the
 * kernel's decisions. It needs nothing but common/.
 *
 * What is mapped: the ranges that are RAM (usable, loader reclaimable,
 * kernel, boot page tables, ACPI reclaim and NVS, firmware runtime code
 * and data) and that the firmware calls write-back cacheable (BI_MEM_WB).
 * Holes, reserved ranges, bad RAM, the framebuffer and every other MMIO
 * window are not: a write-back mapping of MMIO lets the CPU read it
 * speculatively, and a mapping of a hole may alias something later.
 *
 * Contiguous RAM ranges form one run even across type boundaries, so a
 * large leaf may span, say, usable RAM and ACPI tables. A run is cut into
 * the largest leaves its alignment allows: 1 GiB where the CPU has them,
 * 2 MiB, 4 KiB at the edges (exactly the leaves pt_map picks for it).
 *
 * The kernel image's frames (MEM_KERNEL) form runs of their own, marked
 * read-only: the image must have no writable alias in the direct map (a
 * writable alias of its text defeats W^X). They stay mapped, read-only
 * and NX, rather than left out, so that any RAM address still has a
 * direct-map address to read it through.
 */
#ifndef COMMON_DMAP_H
#define COMMON_DMAP_H

#include "common/boot/bootinfo.h"
#include "common/hw/cpu.h"
#include "common/lib/types.h"
#include "common/mm/frames.h"
#include "common/mm/paging.h"

/* Where the direct map lives: PML4 slots 256..383 (64 TiB). The kernel's
 * other areas (self-test scratch, MMIO, stacks, image) are above it. */
#define DMAP_VIRT_BASE 0xffff800000000000ull
#define DMAP_VIRT_ROOM (64ull << 40)

enum dmap_kind {
	DMAP_MAP = 0,                  /* a piece to map */
	DMAP_REFUSED_NOT_WB,           /* RAM type, but not BI_MEM_WB */
	DMAP_REFUSED_ABOVE_MAXPHYADDR, /* at or above 2^MAXPHYADDR */
	DMAP_REFUSED_NO_ROOM, /* beyond the direct map's virtual room */
	DMAP_KIND_COUNT
};

struct dmap_params {
	uint64_t phys_limit; /* 2^MAXPHYADDR */
	uint64_t virt_room;  /* DMAP_VIRT_ROOM (smaller in tests) */
	bool page1g;         /* CPUID allows 1 GiB leaves */
};

/* The kernel's parameters for a CPU: its MAXPHYADDR and 1 GiB pages, the
 * full DMAP_VIRT_ROOM. */
struct dmap_params dmap_params_of(const struct cpu_features *cpu);

/*
 * One piece of the plan. For DMAP_MAP: [phys, phys + size) is mapped at
 * DMAP_VIRT_BASE + phys with leaves of level `leaf` only (phys and size
 * are multiples of that leaf size), read-only when readonly is set, and
 * type is 0 (a piece may span several ranges). For a refusal: the part of
 * one map range (of type `type`) that is not mapped, and leaf is 0.
 */
struct dmap_piece {
	uint64_t phys;
	uint64_t size;
	uint32_t kind; /* enum dmap_kind */
	uint32_t type; /* refusals: enum mem_type */
	int leaf;      /* DMAP_MAP: PT_L1..PT_L3 */
	bool readonly; /* DMAP_MAP: the kernel image's frames */
};

/* Called once per piece, in ascending physical order; a nonzero return
 * stops the plan and becomes its result. */
typedef int (*dmap_fn)(void *ctx, const struct dmap_piece *p);

struct dmap_summary {
	uint64_t mapped_bytes;
	uint64_t pieces;    /* DMAP_MAP pieces */
	uint64_t leaves[4]; /* [level]: leaves of that level */
	uint64_t refused_bytes[DMAP_KIND_COUNT];
	uint32_t refusals;   /* refused pieces */
	uint64_t min_tables; /* pt_tally_result of the tally the pieces
				went into: for dmap_plan the direct map
				alone, PML4 included */
};

/* True for the types the direct map covers (when BI_MEM_WB): the RAM
 * types (mem_type_is_ram). */
bool dmap_type_mapped(uint32_t type);

/* The first physical address the direct map cannot reach:
 * min(phys_limit, virt_room). */
uint64_t dmap_reach(const struct dmap_params *p);

/*
 * Runs the plan over map (sorted by base, disjoint, page aligned, as in
 * the boot info), calling fn (which may be NULL) for each piece and
 * filling *sum (when not NULL). Returns 0, fn's nonzero value, or
 * -ERR_INVALID for a map that is not sorted, disjoint and page aligned
 * (nothing is called then).
 */
int dmap_plan(const struct bi_mem_range *map, uint32_t n,
	      const struct dmap_params *p, dmap_fn fn, void *ctx,
	      struct dmap_summary *sum);

/* Entries dmap_clip_map may need for an n-entry map: one range can
 * straddle dmap_reach. */
#define DMAP_CLIP_MAX(n) ((n) + 1)

/*
 * The map as the frame allocator must see it: every part of a range of a
 * mapped type that the plan refuses becomes MEM_RESERVED (attribute
 * kept), since the kernel reaches frames only through the direct map.
 * Writes to out (cap entries) and returns the count, or -ERR_TOOBIG (at
 * most DMAP_CLIP_MAX(n) entries are needed), or -ERR_INVALID as
 * dmap_plan. The result is sorted and disjoint but not merged.
 */
int dmap_clip_map(const struct bi_mem_range *map, uint32_t n,
		  const struct dmap_params *p, struct bi_mem_range *out,
		  uint32_t cap);

/*
 * The first two steps of the kernel's mm_init, here so that tools run a
 * map through exactly them. The kernel and memmap-check call these; a
 * failure's text (*why, b->why) is the kernel's panic message after
 * "panic: mm: ".
 */

/* Returns a pointer through which the frame allocator's storage, `bytes`
 * at physical `phys`, can be written; or NULL when it cannot be had (the
 * callback says why itself). */
typedef void *(*dmap_store_fn)(void *ctx, uint64_t phys, uint64_t bytes);

/*
 * Step 1, the frame allocator over map as the direct map reaches it:
 * dmap_clip_map into clip (cap entries, DMAP_CLIP_MAX(n) suffice; the
 * allocator keeps pointing into it), frames_plan for where its bitmaps
 * go, store() for a pointer to them, frames_init. Returns 0 or a
 * negative error with why (why_cap bytes) saying what failed.
 */
int dmap_frames_init(struct frames *fa, const struct bi_mem_range *map,
		     uint32_t n, const struct dmap_params *p,
		     struct bi_mem_range *clip, uint32_t cap,
		     dmap_store_fn store, void *ctx, char *why, size_t why_cap);

/* Pieces of the direct map merged where they touch. */
struct dmap_run {
	uint64_t start, end;
};

struct dmap_build {
	/* In. */
	struct page_table *pt;  /* the tables to map into */
	uint64_t nx;            /* PTE_NX when the CPU has NX, else 0 */
	struct pt_tally *tally; /* each mapped piece is added; may be NULL */
	struct dmap_run *runs;  /* room for run_cap runs */
	uint32_t run_cap;
	dmap_fn fn; /* each piece, refusals too, after it is mapped; may
		       be NULL; a nonzero return stops the build */
	void *ctx;
	/* Out. */
	uint32_t run_count;
	uint64_t fail_va; /* pt_map's first address not mapped */
	struct dmap_summary sum;
	char why[192]; /* on an error of the build's own */
};

/*
 * Step 2, the direct map: dmap_plan over map, each DMAP_MAP piece mapped
 * by pt_map at DMAP_VIRT_BASE + phys with its leaf (global, b->nx,
 * writable unless read-only), and pieces merged into runs. Returns 0,
 * fn's nonzero value, or a negative error with b->why: the map refused
 * (-ERR_INVALID), pt_map's error, more than run_cap runs (-ERR_TOOBIG).
 * The tables are built before the kernel's CR3 switch.
 */
int dmap_build(const struct bi_mem_range *map, uint32_t n,
	       const struct dmap_params *p, struct dmap_build *b);

/* "mapped", "not write-back cacheable", ... */
const char *dmap_kind_text(uint32_t kind);

#endif
