/*
 * Benchmark of the framebuffer console on the host: the bytes it reads
 * from and writes to video memory per scrolled line, on a fake 1280x800
 * framebuffer (pitch 5120, as OVMF gives QEMU's default screen) with the
 * Terminus 8x16 font, for the console as it is (kernel/dev/fbcon.c) and
 * as it was (tests/bench/fbcon_old.c).
 *
 *   bench_fbcon new|old TEXT [LINES]
 *
 * TEXT is a file of lines shorter than the screen is wide (160
 * characters), no control characters; tests/bench/fbcon_text.txt is a
 * boot log of this kernel. The program fills the screen with its first
 * lines, then writes LINES more (default 100), each "\n" + a line of
 * TEXT (cycling): each is exactly one scroll and the drawing of one line
 * of text, which is what a console does per line once the screen is full.
 *
 * This program counts nothing itself. tools/bench.sh runs it under
 * valgrind's DHAT, which counts the bytes read from and written to each
 * heap block, per allocation site. The screen is filled on one block
 * (fill_framebuffer); then the console moves (set_base) to a second
 * block from its own site (measured_framebuffer), on which only the
 * LINES measured lines are drawn, so DHAT's totals for that site are
 * exactly their bytes. The second block is not initialised: neither
 * console's byte counts depend on what the framebuffer holds (the new
 * one never reads it; the old one copies whatever is there), and
 * initialising it would count as writes.
 *
 * The last line of output names the console, lines and scrolls, and the
 * screen's bytes (what a full repaint writes) for comparison.
 */
#define _DEFAULT_SOURCE /* strdup under -std=c11 */

#include "kernel/dev/fbcon.h"
#include "kernel/dev/psf.h"
#include "tests/bench/fbcon_old.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH  1280
#define HEIGHT 800
#define PITCH  (WIDTH * 4)

#define MAX_LINES 4096
#define LINE_MAX  512

struct console {
	const char *(*init)(const struct bi_framebuffer *fb, uint64_t virt);
	void (*set_base)(uint64_t virt);
	void (*write)(const char *s, size_t n);
	void (*geometry)(uint32_t *cols, uint32_t *rows, uint32_t *fw,
			 uint32_t *fh);
};

static const struct console new_console = {fbcon_init, fbcon_set_base,
					   fbcon_write, fbcon_geometry};
static const struct console old_console = {old_fbcon_init, old_fbcon_set_base,
					   old_fbcon_write, old_fbcon_geometry};

static char *lines[MAX_LINES];
static size_t line_count;

/*
 * Two allocation sites DHAT tells apart by their function names: not
 * inlined, and the empty asm after the call keeps malloc from being a
 * tail call, which would leave these frames out of the stack.
 */
__attribute__((noinline)) static void *fill_framebuffer(void)
{
	void *p = malloc((size_t)PITCH * HEIGHT);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

__attribute__((noinline)) static void *measured_framebuffer(void)
{
	void *p = malloc((size_t)PITCH * HEIGHT);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

static int read_text(const char *path)
{
	char buf[LINE_MAX];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(buf, sizeof(buf), f) && line_count < MAX_LINES) {
		buf[strcspn(buf, "\n")] = '\0';
		for (const char *p = buf; *p; p++)
			if ((uint8_t)*p < 0x20 || *p == 0x7f) {
				fprintf(stderr,
					"bench_fbcon: %s line %zu: control "
					"character 0x%02x\n",
					path, line_count + 1, (uint8_t)*p);
				fclose(f);
				return -1;
			}
		lines[line_count++] = strdup(buf);
	}
	fclose(f);
	if (line_count == 0) {
		fprintf(stderr, "bench_fbcon: %s: no lines\n", path);
		return -1;
	}
	return 0;
}

/* Writes "\n" + line i of the text (the first one without the "\n"). */
static void write_line(const struct console *con, size_t i)
{
	if (i)
		con->write("\n", 1);
	const char *s = lines[i % line_count];
	con->write(s, strlen(s));
}

int main(int argc, char **argv)
{
	const struct console *con;
	uint32_t cols, rows, fw, fh;
	unsigned long measured = 100;

	if (argc < 3 || argc > 4 ||
	    (strcmp(argv[1], "new") && strcmp(argv[1], "old"))) {
		fprintf(stderr, "usage: bench_fbcon new|old TEXT [LINES]\n");
		return 2;
	}
	con = strcmp(argv[1], "new") == 0 ? &new_console : &old_console;
	if (argc == 4) {
		char *end;
		measured = strtoul(argv[3], &end, 10);
		if (*end || measured == 0 || measured > 100000) {
			fprintf(stderr,
				"bench_fbcon: LINES must be 1 to 100000, not "
				"'%s'\n",
				argv[3]);
			return 2;
		}
	}
	if (read_text(argv[2]))
		return 2;

	void *fill = fill_framebuffer(), *screen = measured_framebuffer();
	if (!fill || !screen) {
		fprintf(stderr, "bench_fbcon: out of memory\n");
		return 1;
	}
	struct bi_framebuffer fb = {
	    .base = (uint64_t)(uintptr_t)fill,
	    .size = (uint64_t)PITCH * HEIGHT,
	    .width = WIDTH,
	    .height = HEIGHT,
	    .pitch = PITCH,
	    .bpp = 32,
	    .red_mask = 0x00ff0000,
	    .green_mask = 0x0000ff00,
	    .blue_mask = 0x000000ff,
	};
	const char *why = con->init(&fb, fb.base);
	if (why) {
		fprintf(stderr, "bench_fbcon: console: %s\n", why);
		return 1;
	}
	con->geometry(&cols, &rows, &fw, &fh);
	for (size_t i = 0; i < line_count; i++)
		if (strlen(lines[i]) >= cols) {
			fprintf(stderr,
				"bench_fbcon: %s line %zu: %zu characters, "
				"the screen has %u columns\n",
				argv[2], i + 1, strlen(lines[i]), cols);
			return 2;
		}

	/* The screen full: the cursor on the last row. */
	for (size_t i = 0; i < rows; i++)
		write_line(con, i);
	con->set_base((uint64_t)(uintptr_t)screen);
	for (size_t i = rows; i < rows + measured; i++)
		write_line(con, i);

	printf("fbcon: console=%s lines=%lu scrolls=%lu width=%u height=%u "
	       "font=%ux%u cols=%u rows=%u screen_bytes=%u\n",
	       argv[1], measured, measured, WIDTH, HEIGHT, fw, fh, cols, rows,
	       PITCH * HEIGHT);
	free(fill);
	free(screen);
	return 0;
}
