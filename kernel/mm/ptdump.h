/*
 * Reading the live page tables: the dump `ptdump` on the command line
 * asks for, the W^X check every boot runs, and the walk of one address
 * that exception dumps print.
 */
#ifndef KERNEL_PTDUMP_H
#define KERNEL_PTDUMP_H

#include "common/lib/types.h"
#include "common/mm/paging.h"

/* Prints every mapping of pt as merged ranges: virtual range, physical
 * start, size, page size, flags. */
void ptdump_print(const struct page_table *pt);

/* Walks pt and prints `kernel: W^X check: passed (N mappings, ...)` or
 * each offending range: one both writable and executable, or a writable
 * one whose frames some executable mapping also reaches (a writable
 * alias of code). Returns the number of offending ranges. Without NX
 * every page is executable, so the check then only proves that code is
 * not writable, and says so. */
uint64_t wx_check(const struct page_table *pt, bool cpu_has_nx);

/* The same check; prints nothing unless print is set. */
uint64_t wx_scan(const struct page_table *pt, bool cpu_has_nx, bool print);

/* Prints the walk of va through the tables at CR3 (each level's entry
 * and its decoded flags), for exception dumps. Safe before the kernel's
 * own tables exist. */
void ptdump_walk(uint64_t va);

#endif
