/*
 * The kernel's console: every line goes to COM1 and, while it is on, to
 * the framebuffer console. Output only; single CPU, no locking (there are
 * no interrupts or other CPUs yet).
 *
 * The framebuffer console can fault (a bad base, a mapping that went
 * away); COM1 cannot. So every framebuffer draw runs under run_catching:
 * a fault there switches the framebuffer console off, says so on COM1
 * with the fault decoded, and the line and everything after it go on on
 * COM1 alone. The screen never takes the serial output down with it.
 */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include "common/boot/bootinfo.h"
#include "common/lib/types.h"
#include <stdarg.h>

/* COM1. Needs nothing, so it comes first; safe to call again. */
void console_init_serial(void);

/*
 * The framebuffer console on fb, reached at its physical address (the
 * identity map at kernel entry). Needs trap_init (faults are caught).
 * The console is on only when its first write (a repaint of the whole
 * screen) completed. Returns NULL, or why there is none.
 */
const char *console_init_framebuffer(const struct bi_framebuffer *fb);

/* The same with the framebuffer reached at virt (the self-tests' own
 * framebuffer in RAM). */
const char *console_init_framebuffer_at(const struct bi_framebuffer *fb,
					uint64_t virt);

/* Switches the framebuffer console off (when it is on) and says why on
 * COM1. (A fault of the screen's own switches it off by itself.) */
void console_framebuffer_off(const char *why);

/* Turns the framebuffer console on again after it was switched off: a
 * repaint from its text, which must complete, as at start. Returns NULL,
 * or why it stays off. */
const char *console_framebuffer_resume(void);

void kputs(const char *s); /* as is: no newline added */
void kwrite(const char *s, size_t n);

/* common/lib/fmt.h conversions: %d %u %x are 32-bit, %ld %lu %lx and %p take
 * uint64_t. Lines longer than the internal buffer end in "[...]". */
void kprintf(const char *fmt, ...);
void kvprintf(const char *fmt, va_list ap);

#endif
