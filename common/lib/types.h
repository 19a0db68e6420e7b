/*
 * Base types for code in common/. Only the compiler's freestanding headers
 * are used, so the same sources build for the loader (LLP64: long is 32
 * bits there), the kernel and the host. Use uint64_t, never long.
 */
#ifndef COMMON_TYPES_H
#define COMMON_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ull << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

/* Round x up or down to a power-of-two alignment a. align_up saturates to
 * the aligned value below x on overflow is *not* done: callers that take
 * untrusted sizes check overflow first (see add_overflows). */
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define ALIGN_UP(x, a)   ALIGN_DOWN((uint64_t)(x) + (uint64_t)(a)-1, (a))
#define IS_ALIGNED(x, a) (((uint64_t)(x) & ((uint64_t)(a)-1)) == 0)

/* True when a + b does not fit in 64 bits. */
static inline bool add_overflows(uint64_t a, uint64_t b)
{
	return a + b < a;
}

/* Error codes returned (negated) by common/ functions: 0 is success. */
enum {
	ERR_INVALID = 1,  /* malformed input */
	ERR_NOMEM = 2,    /* an allocator returned nothing */
	ERR_EXISTS = 3,   /* the target is already mapped */
	ERR_NOTFOUND = 4, /* nothing mapped / no such key */
	ERR_RANGE = 5,    /* a value outside what the hardware allows */
	ERR_TOOBIG = 6,   /* input larger than a fixed buffer */
};

#endif
