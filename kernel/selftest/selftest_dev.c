/*
 * Self-tests of the consoles: the framebuffer console survives its own
 * faults. Pointed at an unmapped address, its next write faults; the
 * console must then be off, the kernel still running and COM1 still
 * carrying every line, and pointing it back must bring it on again with
 * a repaint that completes. A start (or restart) whose first write
 * faults must leave it off.
 *
 * On a boot with a framebuffer console (OVMF) the test uses that console
 * and leaves it as it found it (same base, same text, on). Without one
 * (PVH, a machine without GOP) it builds a small framebuffer of its own
 * in RAM, at SELFTEST_VA, and takes it down again afterwards.
 */
#include "common/mm/paging.h"
#include "kernel/dev/console.h"
#include "kernel/dev/fbcon.h"
#include "kernel/dev/serial.h"
#include "kernel/mm/mm.h"
#include "kernel/selftest/selftest_lib.h"

/* The test's own framebuffer: 128x64 pixels, room for one character of
 * the largest PSF font (32x64). */
#define FAKE_WIDTH  128u
#define FAKE_HEIGHT 64u
#define FAKE_PITCH  (FAKE_WIDTH * 4)
#define FAKE_PAGES  (FAKE_PITCH * FAKE_HEIGHT / PAGE_SIZE)

/* Unmapped: SELFTEST_VA's slot holds only what a test maps, and nothing
 * maps this far into it (checked before use). */
#define UNMAPPED_VA (SELFTEST_VA + (1ull << 30))

struct fake_fb {
	uint64_t pa[FAKE_PAGES];
	uint32_t mapped;
};

static void fake_fb_free(struct fake_fb *f)
{
	fbcon_reset();
	for (uint32_t i = 0; i < f->mapped; i++)
		st_unmap_page(SELFTEST_VA + i * PAGE_SIZE, f->pa[i]);
	f->mapped = 0;
}

/* Maps the pages and starts the console on them; NULL or why not. */
static const char *fake_fb_start(struct st_ctx *c, struct fake_fb *f)
{
	for (f->mapped = 0; f->mapped < FAKE_PAGES; f->mapped++) {
		uint64_t pa = st_map_page(
		    c, SELFTEST_VA + f->mapped * PAGE_SIZE, st_data_attr(c));
		if (!pa)
			return c->why;
		f->pa[f->mapped] = pa;
	}
	/* base and size are what the boot info would say; the console
	 * draws through SELFTEST_VA. */
	struct bi_framebuffer fb = {
	    .base = f->pa[0],
	    .size = FAKE_PITCH * FAKE_HEIGHT,
	    .width = FAKE_WIDTH,
	    .height = FAKE_HEIGHT,
	    .pitch = FAKE_PITCH,
	    .bpp = 32,
	    .red_mask = 0x00ff0000,
	    .green_mask = 0x0000ff00,
	    .blue_mask = 0x000000ff,
	};

	/* The first write faults: the console must stay off. */
	kputs("selftest: console-fault: no framebuffer console; starting one "
	      "on a framebuffer in RAM, first through an unmapped address\n");
	const char *why = console_init_framebuffer_at(&fb, UNMAPPED_VA);
	if (!why || fbcon_active())
		return "a console whose first write faulted is on";
	why = console_init_framebuffer_at(&fb, SELFTEST_VA);
	if (why)
		return st_fail(c, "no console on the test's framebuffer: %s",
			       why);
	return NULL;
}

/* True when any pixel of the test's framebuffer is not the background:
 * it is RAM, so reading it back is allowed. */
static bool fake_fb_drawn(void)
{
	const volatile uint32_t *px =
	    (const volatile uint32_t *)(uintptr_t)SELFTEST_VA;
	for (uint32_t i = 0; i < FAKE_PITCH / 4 * FAKE_HEIGHT; i++)
		if (px[i] != 0)
			return true;
	return false;
}

/* How console.c's notice that the framebuffer console went off starts. */
#define OFF_NOTICE "kernel: framebuffer console off: "

/* The bytes COM1 carries for s: serial.c sends each '\n' as "\r\n". */
static uint64_t com1_bytes(const char *s)
{
	uint64_t n = 0;
	for (; *s; s++)
		n += *s == '\n' ? 2 : 1;
	return n;
}

/* Prints s and returns how many bytes COM1's transmitter took for it. */
static uint64_t serial_put(const char *s)
{
	uint64_t before = serial_bytes_sent();
	kputs(s);
	return serial_bytes_sent() - before;
}

static const char *console_fault(struct st_ctx *c)
{
	static const char faulting[] =
	    "selftest: console-fault: drawing through an unmapped "
	    "framebuffer address\n";
	static const char after[] =
	    "selftest: console-fault: COM1 still carries the output\n";
	struct fake_fb own = {0};
	const char *why = NULL, *res;
	bool fake = !fbcon_active();
	uint64_t good, sent;

	if (!pt_translate(mm_kernel_pt(), UNMAPPED_VA, NULL, NULL, NULL, NULL))
		return st_fail(c, "0x%lx is mapped; the test needs it unmapped",
			       UNMAPPED_VA);
	if (fake && (why = fake_fb_start(c, &own)) != NULL)
		goto out;
	good = fbcon_base();

	fbcon_set_base(UNMAPPED_VA);
	/* Every byte reaches COM1 (CRs included), although the screen's
	 * part faulted: the line, then the notice that the console went
	 * off (its cause and the fault's walk vary in length, so that
	 * much is a lower bound); the next line exactly, once. */
	if ((sent = serial_put(faulting)) <
	    com1_bytes(faulting) + com1_bytes(OFF_NOTICE))
		why = st_fail(c,
			      "COM1 took %lu bytes for the line whose drawing "
			      "faulted and the notice, less than %lu",
			      sent,
			      com1_bytes(faulting) + com1_bytes(OFF_NOTICE));
	else if (fbcon_active())
		why = "the console is still on after its write faulted";
	else if ((sent = serial_put(after)) != com1_bytes(after))
		why =
		    st_fail(c, "COM1 took %lu bytes for the next line, not %lu",
			    sent, com1_bytes(after));
	if (why) {
		fbcon_set_base(good);
		console_framebuffer_resume();
		goto out;
	}

	/* A restart whose repaint faults leaves it off too. */
	kputs("selftest: console-fault: restarting it through the same "
	      "address\n");
	if (!console_framebuffer_resume() || fbcon_active()) {
		why = "a restart whose repaint faulted left the console on";
		fbcon_set_base(good);
		console_framebuffer_resume();
		goto out;
	}
	fbcon_set_base(good);
	res = console_framebuffer_resume();
	if (res) {
		why = st_fail(c, "the console did not come back: %s", res);
		goto out;
	}
	if (!fbcon_active()) {
		why = "the console did not come back on";
		goto out;
	}
	if (fake && !fake_fb_drawn())
		why = "the console came back on but drew nothing";
out:
	if (fake)
		fake_fb_free(&own);
	return why;
}

const struct selftest selftest_dev_tests[] = {
    {"console-fault", NEEDS_COM1, .body = console_fault},
};
const uint32_t selftest_dev_count = ARRAY_SIZE(selftest_dev_tests);
