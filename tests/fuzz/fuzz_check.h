/*
 * Shared by the fuzz targets: a property that fails aborts, and libFuzzer
 * saves the input that made it fail.
 */
#ifndef TESTS_FUZZ_CHECK_H
#define TESTS_FUZZ_CHECK_H

#include "common/mm/memmap.h"

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property failed: %s\n",        \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* What memmap_add promises after every call, successful or not. */
static inline void fuzz_check_memmap(const struct memmap *m)
{
	FUZZ_ASSERT(m->count <= m->cap);
	for (uint32_t i = 0; i < m->count; i++) {
		const struct bi_mem_range *r = &m->ranges[i];

		FUZZ_ASSERT(r->base % PAGE_SIZE == 0);
		FUZZ_ASSERT(r->size % PAGE_SIZE == 0);
		FUZZ_ASSERT(r->size > 0);
		FUZZ_ASSERT(!add_overflows(r->base, r->size));
		FUZZ_ASSERT(r->base + r->size <= 0ull - PAGE_SIZE);
		FUZZ_ASSERT(r->type > MEM_NONE && r->type < MEM_TYPE_COUNT);
		FUZZ_ASSERT((r->attr & ~BI_MEM_ATTR_MASK) == 0);
		if (i > 0) {
			const struct bi_mem_range *p = &m->ranges[i - 1];

			FUZZ_ASSERT(p->base + p->size <= r->base);
			FUZZ_ASSERT(p->base + p->size < r->base ||
				    p->type != r->type || p->attr != r->attr);
		}
	}
}

#endif
