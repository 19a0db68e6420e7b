/*
 * Console fan-out: COM1 and the framebuffer console, which runs under
 * run_catching (see console.h for why).
 */
#include "kernel/dev/console.h"

#include "common/lib/fmt.h"
#include "common/lib/string.h"
#include "kernel/cpu/catch.h"
#include "kernel/cpu/trap.h"
#include "kernel/dev/fbcon.h"
#include "kernel/dev/serial.h"
#include "kernel/mm/ptdump.h"

/* Long enough for any one line the kernel prints; longer output is cut
 * and marked, not split. */
#define KPRINTF_BUF 512

/* What a guarded framebuffer call does, and what it answered. */
struct fb_call {
	const char *s;
	size_t n;
	const struct bi_framebuffer *fb;
	uint64_t virt;
	const char *why;
};

/* Why the framebuffer console's start or resume failed on a fault. */
static char fault_why[192];

static void call_write(void *arg)
{
	struct fb_call *c = arg;
	fbcon_write(c->s, c->n);
}

static void call_init(void *arg)
{
	struct fb_call *c = arg;
	c->why = fbcon_init(c->fb, c->virt);
}

static void call_enable(void *arg)
{
	struct fb_call *c = arg;
	c->why = fbcon_enable();
}

/* Output is off already, so this goes to COM1 alone. */
static void say_off(const char *why)
{
	kprintf("kernel: framebuffer console off: %s; output continues on "
		"COM1 only\n",
		why);
}

/*
 * Runs fn(c) with faults caught. On a fault the framebuffer console is
 * off, COM1 has a line naming the fault (and for a #PF the walk of its
 * address), fault_why the same line's cause, and false comes back.
 */
static bool guarded(void (*fn)(void *), struct fb_call *c)
{
	struct caught k;
	char err[96];

	if (!run_catching(fn, c, &k) || k.resumed)
		return true;
	fbcon_disable();
	trap_error_text(err, sizeof(err), k.vector, k.error);
	fmt_snprintf(
	    fault_why, sizeof(fault_why), "%s%s%s at rip %016lx, cr2 %016lx%s",
	    trap_mnemonic(k.vector), err[0] ? " error " : "", err, k.rip, k.cr2,
	    fbcon_contains(k.cr2) ? " (in the framebuffer)" : "");
	say_off(fault_why);
	if (k.vector == TRAP_PF)
		ptdump_walk(k.cr2);
	return false;
}

void console_init_serial(void)
{
	serial_init();
}

const char *console_init_framebuffer_at(const struct bi_framebuffer *fb,
					uint64_t virt)
{
	struct fb_call c = {.fb = fb, .virt = virt};
	uint32_t cols, rows, fw, fh, screen_cols, screen_rows;

	if (!guarded(call_init, &c))
		return fault_why;
	if (c.why)
		return c.why;
	fbcon_geometry(&cols, &rows, &fw, &fh);
	fbcon_screen_size(&screen_cols, &screen_rows);
	if (cols != screen_cols || rows != screen_rows)
		kprintf("kernel: framebuffer console: the screen holds %ux%u "
			"characters, the shadow %u: text in the top-left "
			"%ux%u\n",
			screen_cols, screen_rows, FBCON_MAX_CELLS, cols, rows);
	return NULL;
}

const char *console_init_framebuffer(const struct bi_framebuffer *fb)
{
	/*
	 * At kernel entry the framebuffer is reached at its physical
	 * address, through the identity map the loader (or the PVH entry)
	 * left; mm_init moves the console to the kernel's own mapping with
	 * fbcon_set_base.
	 */
	return console_init_framebuffer_at(fb, fb->base);
}

void console_framebuffer_off(const char *why)
{
	if (!fbcon_active())
		return;
	fbcon_disable();
	say_off(why);
}

const char *console_framebuffer_resume(void)
{
	struct fb_call c = {0};

	if (!guarded(call_enable, &c))
		return fault_why;
	return c.why;
}

void kwrite(const char *s, size_t n)
{
	serial_write(s, n);
	if (fbcon_active()) {
		struct fb_call c = {.s = s, .n = n};
		guarded(call_write, &c);
	}
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
