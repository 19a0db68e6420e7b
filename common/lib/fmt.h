/*
 * A small snprintf for the freestanding targets and the host.
 *
 * Conversions: %s (NULL prints "(null)"), %c, %% and integers whose size is
 * spelled out, because 'long' is 32 bits on the loader's target:
 *   %d %u %x    take int / unsigned int (32 bits)
 *   %ld %lu %lx take int64_t / uint64_t (64 bits, whatever 'long' is)
 *   %p          takes uint64_t and prints 0x followed by 16 hex digits
 * Flags: '-' (left align), '0' (zero pad) and a decimal width, e.g. %016lx.
 * Unknown conversions print literally. The compiler cannot check these
 * against the arguments, so keep calls simple and cast explicitly.
 */
#ifndef COMMON_FMT_H
#define COMMON_FMT_H

#include "common/lib/types.h"
#include <stdarg.h>

/* Writes at most cap-1 characters and a NUL (cap > 0). Returns the length
 * the full output would have had. */
size_t fmt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
size_t fmt_snprintf(char *buf, size_t cap, const char *fmt, ...);

/* Formats a byte count as "512 KiB", "3 MiB", "6 GiB" (rounded down to the
 * largest unit that keeps it >= 1, or exact bytes below 1 KiB). */
size_t fmt_size(char *buf, size_t cap, uint64_t bytes);

#endif
