/*
 * "Physical memory" for page tables in the host tests: an arena of pages
 * standing at a physical base of the test's choosing, handed out through
 * the pt_env callbacks the loader and the kernel use (arena_alloc,
 * arena_free, arena_table, with the struct arena as ctx).
 *
 * It checks what a careless environment would let pass: a table lookup
 * of a page the arena did not hand out, or a free of one, aborts naming
 * the address (instead of reading host memory at random), and a freed
 * page is poisoned so a table used after its free reads as garbage.
 *
 * tests/bench/bench_paging.c keeps an arena of its own: it counts the
 * instructions pt_map executes, callbacks included, so its lookup stays
 * one addition.
 */
#ifndef TESTS_UNIT_ARENA_H
#define TESTS_UNIT_ARENA_H

#include "common/mm/paging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena {
	uint8_t *mem;
	uint8_t *used; /* per page: handed out */
	uint64_t base; /* physical address of the first page; not 0 */
	uint32_t pages;
	uint32_t next;   /* where the next search starts */
	uint32_t in_use; /* pages handed out and not freed */
	bool fail;       /* arena_alloc returns 0 while set */
};

static inline void arena_init(struct arena *a, uint64_t base, uint32_t pages)
{
	*a = (struct arena){
	    .mem = aligned_alloc(PAGE_SIZE, (size_t)pages * PAGE_SIZE),
	    .used = calloc(pages, 1),
	    .base = base,
	    .pages = pages,
	};
	if (!a->mem || !a->used || !base) {
		fprintf(stderr, "arena: no host memory for %u pages\n", pages);
		abort();
	}
}

static inline void arena_fini(struct arena *a)
{
	free(a->mem);
	free(a->used);
	*a = (struct arena){0};
}

/* Every page free again (the tables built so far are forgotten). */
static inline void arena_reset(struct arena *a)
{
	memset(a->used, 0, a->pages);
	a->next = 0;
	a->in_use = 0;
}

/* The page index of phys, aborting unless it was handed out. */
static inline uint64_t arena_index(const struct arena *a, uint64_t phys,
				   const char *what)
{
	uint64_t i = (phys - a->base) / PAGE_SIZE;
	if (phys < a->base || i >= a->pages || !a->used[i] ||
	    !IS_ALIGNED(phys, PAGE_SIZE)) {
		fprintf(stderr, "arena: %s of %#llx, not an allocated page\n",
			what, (unsigned long long)phys);
		abort();
	}
	return i;
}

/* pt_env.alloc: a zeroed page, or 0 when the arena is full or fail is
 * set. */
static inline uint64_t arena_alloc(void *ctx)
{
	struct arena *a = ctx;
	if (a->fail)
		return 0;
	for (uint32_t n = 0; n < a->pages; n++) {
		uint32_t i = (a->next + n) % a->pages;
		if (!a->used[i]) {
			a->used[i] = 1;
			a->next = i + 1;
			a->in_use++;
			memset(a->mem + (uint64_t)i * PAGE_SIZE, 0, PAGE_SIZE);
			return a->base + (uint64_t)i * PAGE_SIZE;
		}
	}
	return 0;
}

/* pt_env.free */
static inline void arena_free(void *ctx, uint64_t phys)
{
	struct arena *a = ctx;
	uint64_t i = arena_index(a, phys, "free");
	memset(a->mem + i * PAGE_SIZE, 0xa5, PAGE_SIZE);
	a->used[i] = 0;
	a->in_use--;
}

/* pt_env.table */
static inline uint64_t *arena_table(void *ctx, uint64_t phys)
{
	struct arena *a = ctx;
	return (uint64_t *)(a->mem + arena_index(a, phys, "table") * PAGE_SIZE);
}

#endif
