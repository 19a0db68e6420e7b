/*
 * The kernel's own copy of what a loader handed over.
 *
 * The boot info and the memory map and command line it points to live in
 * memory the loader allocated (MEM_LOADER_RECLAIM), which the kernel will
 * reuse; so kmain copies them into the kernel's .bss before anything else
 * and uses only the copies afterwards.
 */
#ifndef KERNEL_HANDOFF_H
#define KERNEL_HANDOFF_H

#include "common/boot/bootinfo.h"
#include "common/lib/types.h"

/* Memory-map entries kept. UEFI firmware reports a few hundred
 * descriptors at most, which normalise to fewer ranges. */
#define HANDOFF_MMAP_MAX BI_MMAP_KERNEL_MAX

struct handoff {
	uint64_t phys; /* where the loader's boot info was */
	/* The boot info as received. Its mmap_addr and cmdline_addr still
	 * name the loader's memory: use mmap and cmdline below. */
	struct boot_info info;
	struct bi_mem_range mmap[HANDOFF_MMAP_MAX];
	uint32_t mmap_count;
	uint32_t mmap_dropped; /* entries past HANDOFF_MMAP_MAX, left out */
	char cmdline[BI_CMDLINE_MAX];
	uint32_t cmdline_dropped; /* bytes past BI_CMDLINE_MAX - 1 */
};

/* Copies the struct boot_info at physical bi_phys. */
void handoff_copy_info(uint64_t bi_phys);

/* Checks the copy's magic, version and size; panics naming the first
 * mismatch and its value. */
void handoff_check_version(void);

/* Checks the fields of a copy whose version is known that the kernel
 * relies on; panics naming the first bad one and its value. */
void handoff_check(void);

/* Copies the memory map and the command line, truncating what does not
 * fit (recorded in mmap_dropped / cmdline_dropped, for the boot report to
 * warn about), and panics on a map that breaks the boot-info contract
 * (unsorted, overlapping, unaligned, unknown type). */
void handoff_copy_tables(void);

const struct handoff *handoff_get(void);

#endif
