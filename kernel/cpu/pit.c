/*
 * The PIT's channel 0. See pit.h. Ports and commands: Intel 8254 data
 * sheet (the read-back command is the 8254's, absent from the 8253).
 */
#include "kernel/cpu/pit.h"

#include "kernel/cpu/arch.h"

#define PIT_CH0        0x40
#define PIT_CMD        0x43
#define CMD_CH0_MODE0  0x30 /* channel 0, low then high byte, mode 0 */
#define CMD_STATUS_CH0 0xe2 /* read-back: status (not count) of ch. 0 */
#define STATUS_OUT     0x80 /* the output pin */
#define STATUS_NULL    0x40 /* the count written is not loaded yet */
/* A port read costs about 1 us on real hardware and more emulated: this
 * many reads are well over a second, longer than any count. */
#define SPIN_LIMIT 2000000u
#define ATTEMPTS   10
#define SLACK_PER  100 /* brackets may take 1% of the window */

static uint8_t status(void)
{
	outb(PIT_CMD, CMD_STATUS_CH0);
	return inb(PIT_CH0);
}

static bool ended(void)
{
	uint8_t s = status();
	return (s & STATUS_OUT) && !(s & STATUS_NULL);
}

struct window {
	uint64_t tsc, slack, probed;
};

enum { WINDOW_OK, WINDOW_NO_PIT, WINDOW_GLITCH };

/* One window of count ticks. */
static int one_window(uint32_t count, uint32_t (*probe)(void), struct window *w)
{
	uint32_t p0 = 0, p1 = 0;
	uint64_t t0 = rdtsc();
	if (probe)
		p0 = probe();
	outb(PIT_CMD, CMD_CH0_MODE0); /* the output goes low */
	outb(PIT_CH0, (uint8_t)count);
	outb(PIT_CH0, (uint8_t)(count >> 8)); /* counting starts */
	uint64_t t1 = rdtsc(), low = t1, t;
	uint8_t s = status();
	if (s == 0xff)
		return WINDOW_NO_PIT; /* nothing answers the port */
	/* Mode 0 drives the output low as the count is written, but QEMU
	 * 7.2's PIT now and then reports it high right after (about one
	 * window in 200 here): measure again. */
	if (s & STATUS_OUT)
		return WINDOW_GLITCH;
	for (uint32_t i = 0;; i++) {
		if (i == SPIN_LIMIT)
			return WINDOW_NO_PIT;
		t = rdtsc();
		if (ended())
			break;
		low = t;
	}
	if (probe)
		p1 = probe();
	uint64_t t2 = rdtsc();
	w->tsc = t2 - t0;
	w->slack = (t1 - t0) + (t2 - low);
	w->probed = p0 - p1;
	return WINDOW_OK;
}

bool pit_measure(uint32_t us, uint32_t (*probe)(void), uint64_t *ticks,
		 uint64_t *tsc, uint64_t *probed)
{
	uint32_t count = (uint32_t)((uint64_t)us * PIT_HZ / 1000000u);
	struct window best = {0, ~0ull, 0}, w;

	if (count < 2)
		count = 2;
	if (count > 0xffff)
		count = 0xffff;
	for (int i = 0; i < ATTEMPTS; i++) {
		int rc = one_window(count, probe, &w);
		if (rc == WINDOW_NO_PIT)
			return false;
		if (rc == WINDOW_GLITCH)
			continue;
		if (w.slack < best.slack)
			best = w;
		if (w.slack * SLACK_PER < w.tsc)
			break;
	}
	if (best.slack == ~0ull)
		return false; /* never a window */
	*ticks = count;
	*tsc = best.tsc;
	if (probed)
		*probed = best.probed;
	return true;
}
