/*
 * What the files of kernel/mm/ share and nothing else uses: mm.c runs the
 * sequence (mm_init) and owns the tables and the allocator; direct.c
 * builds the direct map and answers phys_to_virt; mmio.c maps devices;
 * image.c maps the kernel's segments and checks them against the running
 * image.
 */
#ifndef KERNEL_MM_INTERNAL_H
#define KERNEL_MM_INTERNAL_H

#include "common/lib/types.h"
#include "common/mm/paging.h"
#include "kernel/mm/mm.h"

struct handoff;

/* pt_map into the kernel's tables or panic naming `what` and the cause. */
void mm_map_or_panic(uint64_t va, uint64_t pa, uint64_t size, uint64_t attr,
		     int max_level, const char *what);

/* PTE_NX when the CPU has NX, else 0. */
uint64_t mm_nx(void);

/* Maps the direct map as common/mm/dmap.c plans it for h's map with p (one
 * line per refusal and one summary line), adding each piece to t. Before
 * the switch. */
void mm_direct_build(const struct handoff *h, const struct dmap_params *p,
		     struct pt_tally *t);

/* The start of a direct-map run of at least `bytes`, or ~0 when none. */
uint64_t mm_direct_find_run(uint64_t bytes);

/* mm_map_mmio of *type, adding the pieces to t when t is not NULL; *type
 * becomes the type it mapped (MM_WC only under the kernel's PAT). On
 * failure (0) *why says what went wrong. */
uint64_t mm_mmio_map(uint64_t phys, uint64_t size, enum mm_cache *type,
		     struct pt_tally *t, const char **why);

/* Checks the boot info's segments (page aligned, inside MEM_KERNEL
 * ranges of the map), maps them in address order adding each to t, then
 * checks that every page of the linked image translates in the new
 * tables to the frame it runs from now. Panics naming the segment. */
void mm_image_build(const struct handoff *h, struct pt_tally *t);

#endif
