/*
 * Console fan-out: COM1 and the framebuffer console.
 */
#include "kernel/dev/console.h"

#include "common/fmt.h"
#include "common/string.h"
#include "kernel/dev/fbcon.h"
#include "kernel/dev/serial.h"

/* Long enough for any one line the kernel prints; longer output is cut
 * and marked, not split. */
#define KPRINTF_BUF 512

void console_init_serial(void)
{
	serial_init();
}

const char *console_init_framebuffer(const struct bi_framebuffer *fb)
{
	/*
	 * The one place that decides how the console reaches the
	 * framebuffer: today at its physical address, through the identity
	 * map the loader (or the PVH entry) left. Once the kernel runs on
	 * its own tables this becomes the direct-map address.
	 */
	uint64_t virt = fb->base;

	return fbcon_init(fb, virt);
}

void kwrite(const char *s, size_t n)
{
	serial_write(s, n);
	fbcon_write(s, n);
}

void kputs(const char *s)
{
	kwrite(s, str_len(s));
}

void kvprintf(const char *fmt, va_list ap)
{
	char buf[KPRINTF_BUF];
	size_t n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < sizeof(buf)) {
		kwrite(buf, n);
		return;
	}
	kwrite(buf, sizeof(buf) - 1);
	kputs("[...]\n");
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
