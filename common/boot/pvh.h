/*
 * The PVH boot protocol's start info (Xen's hvm_start_info, which QEMU
 * fills for `-kernel` with an XEN_ELFNOTE_PHYS32_ENTRY note), and a reader
 * that turns it into the boot-info pieces: memory map, command line, RSDP.
 *
 * The start info and everything it points to are untrusted: the reader
 * reaches physical memory only through a callback that checks bounds, so
 * the same code runs at boot (identity access) and under the fuzzer (a
 * byte buffer standing for physical memory).
 */
#ifndef COMMON_PVH_H
#define COMMON_PVH_H

#include "common/lib/types.h"
#include "common/mm/memmap.h"

#define PVH_START_MAGIC 0x336ec578u
#define PVH_MEMMAP_MAX  1024 /* entries accepted from the start info */

struct hvm_start_info {
	uint32_t magic;
	uint32_t version; /* 0: no memory map; 1: memmap_* valid */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr; /* NUL-terminated, 0 when none */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "PVH start info");

/* Same layout as struct e820_entry; types are E820 types. */
struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "PVH memmap entry");

/* Returns a pointer to the len bytes at physical address phys, or NULL
 * when any of them is outside readable memory. */
typedef const void *(*pvh_read_fn)(void *ctx, uint64_t phys, uint64_t len);

struct pvh_result {
	uint64_t rsdp;
	uint32_t cmdline_len; /* bytes copied, without the NUL */
	bool cmdline_truncated;
};

/*
 * Reads the start info at start_phys. Adds its memory map to *m (version 0
 * start info has none: then -ERR_INVALID, since the kernel cannot run
 * without one), copies the command line into cmdline (cap bytes, always
 * NUL-terminated; truncation is reported, not an error), and returns the
 * RSDP in *res. Returns 0, or a negative ERR_* with *why set to a static
 * string naming the cause.
 */
int pvh_read(pvh_read_fn read, void *ctx, uint64_t start_phys, struct memmap *m,
	     char *cmdline, size_t cap, struct pvh_result *res,
	     const char **why);

#endif
