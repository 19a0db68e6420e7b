/*
 * What the loader and the kernel would do with a firmware memory map, for
 * tools/memmap-check: the map goes through the same common/ functions, in
 * the same order, with the same capacities, as on a UEFI boot:
 *
 *   loader (loader/firmware.c): memmap_add_efi (or memmap_add_e820 for
 *     an E820 map) into room for MEMMAP_RANGES_FOR(descriptors);
 *   kernel, handoff (kernel/boot/handoff.c): an empty map is refused,
 *     entries past BI_MMAP_KERNEL_MAX are dropped (the highest ones);
 *   kernel, mm_init (kernel/mm/mm.c, direct.c): dmap_frames_init (the
 *     allocator over the map as the direct map reaches it), pt_init,
 *     then dmap_build (the direct map mapped by pt_map into tables whose
 *     pages come from that frame allocator, at most BI_MMAP_KERNEL_MAX
 *     runs) and the table pages used checked against the plan's minimum
 *     (pt_tally). The common/ functions are the kernel's own; what the
 *     kernel adds around them (the identity-map limit of the PVH path,
 *     its printing) is not modelled.
 *
 * The CPU is a parameter (MAXPHYADDR), and the kernel part runs twice:
 * once for a CPU with 1 GiB pages and once without.
 *
 * Not modelled: the loader's own allocations (kernel image, boot page
 * tables, boot info, which real firmware maps show as Loader Data), the
 * framebuffer, the PVH entry, and what mm_init maps after the direct map
 * (framebuffer and image, in PML4 slots of their own), except that the
 * image needs at least MSIM_IMAGE_TABLES more frames.
 */
#ifndef TOOLS_MEMMAP_SIM_H
#define TOOLS_MEMMAP_SIM_H

#include "common/boot/bootinfo.h"
#include "common/mm/dmap.h"
#include "tools/memmap_log.h"

#include <stdio.h>

/* Table pages the kernel image needs at least, beyond the direct map's:
 * a PDPT, a PD and a PT under its own PML4 slot (511). */
#define MSIM_IMAGE_TABLES 3u

/* The frame allocator's storage is simulated in host memory up to this
 * many bytes (32 TiB of managed RAM); a larger map is a tool limit. */
#define MSIM_MAX_STORE_BYTES (1ull << 30)

struct msim_params {
	uint32_t phys_bits; /* MAXPHYADDR, 32..52 */
	bool e820;          /* use the E820 entries, not the EFI ones */
};

/* Two firmware entries that cover some of the same bytes. */
struct msim_overlap {
	uint32_t a, b;      /* indices of the entries; a starts first */
	uint64_t base, end; /* the common part */
};

/* The kernel's part for one CPU. */
struct msim_cpu {
	bool page1g;
	bool ran;        /* false when an earlier stage stopped */
	char panic[224]; /* "" or the kernel's panic, "mm: ..." */
	uint64_t store_phys, store_bytes; /* frame allocator storage */
	/* The allocator at boot (before any table page), in its own terms:
	 * managed = every frame of its regions (usable and reclaimable);
	 * low = managed below 1 MiB, free_low = the free ones of them;
	 * used = usable frames not free (page 0, the storage). */
	uint64_t managed_frames, free_frames, low_frames, free_low_frames,
	    used_frames, pending_frames, reserved_bytes;
	struct dmap_summary plan;
	struct dmap_piece *pieces; /* DMAP_MAP pieces, ascending */
	uint32_t piece_count;
	uint32_t runs;              /* pieces merged where they touch */
	uint64_t tables_used;       /* by pt_map, PML4 included */
	uint64_t free_after_tables; /* frames above 1 MiB still free */
	uint64_t reclaimed;         /* loader frames frames_reclaim frees */
};

struct msim {
	struct msim_params params;
	/* The firmware's entries. */
	uint32_t entries;
	uint32_t zero_length; /* entries of no bytes */
	uint32_t *zero;       /* their indices */
	uint32_t unsorted;    /* entries starting below the previous */
	struct msim_overlap *overlaps;
	uint32_t overlap_count;
	/* The loader's normalised map. */
	struct bi_mem_range *loader_map;
	uint32_t loader_count, loader_cap;
	int loader_rc; /* memmap_add_* result */
	/* What the kernel keeps (the first `kept` of the loader's map). */
	uint32_t kept, dropped;
	uint64_t dropped_usable;            /* bytes of usable RAM dropped */
	uint64_t usable_bytes, highest_end; /* memmap_summarise of kept */
	char handoff_panic[160];            /* "" or "boot: ..." */
	/* The refusals the kernel prints while it builds the direct map
	 * (the same for both CPUs), all of them when refusals_complete,
	 * else those before it stopped. */
	struct dmap_piece *refusals;
	uint32_t refusal_count;
	bool refusals_complete;
	struct msim_cpu cpu[2]; /* [0] with 1 GiB pages, [1] without */
	char tool_error[160];   /* "" or why the tool could not go on */
};

/* Runs everything on the entries of log (EFI unless params->e820).
 * Returns 0, or -1 when the tool itself could not (s->tool_error). */
int msim_run(struct msim *s, const struct mlog *log,
	     const struct msim_params *params);

/* True when the loader or the kernel would stop on this map. */
bool msim_refused(const struct msim *s);

void msim_free(struct msim *s);

/* Printing (memmap_report.c). summary_only leaves out the listings of
 * ranges and pieces. */
void msim_print(FILE *f, const struct msim *s, const struct mlog *log,
		bool summary_only);

#endif
