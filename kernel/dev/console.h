/*
 * The kernel's console: every line goes to COM1 and, once it is up, to
 * the framebuffer console. Output only; single CPU, no locking (there are
 * no interrupts or other CPUs yet).
 */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include "common/bootinfo.h"
#include "common/types.h"
#include <stdarg.h>

/* COM1. Needs nothing, so it comes first; safe to call again. */
void console_init_serial(void);

/* The framebuffer console on fb. Returns NULL, or why there is none. */
const char *console_init_framebuffer(const struct bi_framebuffer *fb);

void kputs(const char *s); /* as is: no newline added */
void kwrite(const char *s, size_t n);

/* common/fmt.h conversions: %d %u %x are 32-bit, %ld %lu %lx and %p take
 * uint64_t. Lines longer than the internal buffer end in "[...]". */
void kprintf(const char *fmt, ...);
void kvprintf(const char *fmt, va_list ap);

#endif
