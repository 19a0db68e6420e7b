/*
 * The kernel's framebuffer console (kernel/dev/fbcon.c) on the host, over
 * fake framebuffers in ordinary memory, with the kernel's font.
 *
 * What it checks:
 *  - the pixels: after many lines (hundreds of scrolls, lines that wrap
 *    several times, tabs, \r overwriting, Latin-1) every pixel of the
 *    fake framebuffer equals the text a simple terminal model holds,
 *    rendered here with the font; margins and the bytes past the width in
 *    each pitch are checked too, and the shadow (fbcon_cell) must equal
 *    the model;
 *  - that the console never reads video memory. The fake framebuffer is
 *    mapped PROT_NONE, so every access to it faults. The SIGSEGV handler
 *    tells a read from a write by the page-fault error code the kernel
 *    puts in the signal context (REG_ERR, bit 1 = write), counts it, opens
 *    the page and sets EFLAGS.TF; after the one instruction the SIGTRAP
 *    handler closes the page again. A read is a failure;
 *  - that each operation writes exactly the pixels it changes: for every
 *    character drawn and every scroll, the number of write instructions
 *    equals the number of pixels whose value changed (a pixel written
 *    twice, or written with the value it had, makes them differ);
 *  - that the detector works: a read and a write of the watched memory
 *    made here are counted as such, and the console as it was before the
 *    shadow (tests/bench/fbcon_old.c), whose scroll copies pixel rows, is
 *    caught reading. Built with -DTEST_FBCON_OLD, every check runs
 *    against that old console instead and fails;
 *  - the rest of the console's contract: the first write paints every
 *    pixel, fbcon_enable repaints a screen from the shadow alone,
 *    fbcon_contains, and the fallback for a screen larger than the
 *    shadow.
 *
 * x86-64 Linux only (REG_ERR, EFLAGS.TF): the project builds nowhere
 * else.
 */
#define _GNU_SOURCE /* REG_ERR, REG_EFL, MAP_ANONYMOUS */

#include "kernel/dev/fbcon.h"
#include "kernel/dev/psf.h"
#include "tests/bench/fbcon_old.h"
#include "tests/unit/check.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

/* kernel/dev/font.S, built for the host with the kernel's font */
extern const uint8_t font_psf[], font_psf_end[];

#define PF_WRITE  2u     /* page-fault error code: the access was a write */
#define EFLAGS_TF 0x100u /* trap after the next instruction */
#define FG        0x00c0c0c0u /* the console's colours under the masks */
#define BG        0x00000000u
#define CANARY    0x5a5a5a5au /* what the fake framebuffer starts with */
#define HOST_PAGE 4096u

/* The console under test: the kernel's, or with -DTEST_FBCON_OLD the one
 * before the shadow. */
struct console {
	const char *name;
	const char *(*init)(const struct bi_framebuffer *fb, uint64_t virt);
	void (*write)(const char *s, size_t n);
	void (*geometry)(uint32_t *cols, uint32_t *rows, uint32_t *fw,
			 uint32_t *fh);
	bool has_shadow;
};

#ifdef TEST_FBCON_OLD
#define UNDER_TEST 1
#else
#define UNDER_TEST 0
#endif

static const struct console consoles[] = {
    {"kernel/dev/fbcon.c", fbcon_init, fbcon_write, fbcon_geometry, true},
    {"tests/bench/fbcon_old.c (before the shadow)", old_fbcon_init,
     old_fbcon_write, old_fbcon_geometry, false},
};
static const struct console *const under_test = &consoles[UNDER_TEST];
static const struct console *const old_console = &consoles[1];

static struct psf_font font;

/* --- fake framebuffers --- */

struct fakefb {
	uint8_t *mem;
	size_t size; /* mapped, whole pages */
	uint32_t width, height, pitch;
	struct bi_framebuffer bi;
};

static void fakefb_make(struct fakefb *f, uint32_t width, uint32_t height,
			uint32_t pitch)
{
	f->width = width;
	f->height = height;
	f->pitch = pitch;
	f->size =
	    ((size_t)pitch * height + HOST_PAGE - 1) & ~(size_t)(HOST_PAGE - 1);
	f->mem = mmap(NULL, f->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->mem == MAP_FAILED) {
		perror("test_fbcon: mmap of a fake framebuffer");
		exit(2);
	}
	for (size_t i = 0; i < f->size / 4; i++)
		((uint32_t *)f->mem)[i] = CANARY;
	f->bi = (struct bi_framebuffer){
	    .base = (uint64_t)(uintptr_t)f->mem,
	    .size = (uint64_t)pitch * height,
	    .width = width,
	    .height = height,
	    .pitch = pitch,
	    .bpp = 32,
	    .red_mask = 0x00ff0000,
	    .green_mask = 0x0000ff00,
	    .blue_mask = 0x000000ff,
	};
}

static void fakefb_free(struct fakefb *f)
{
	munmap(f->mem, f->size);
}

/* --- the read detector --- */

static struct {
	volatile bool on;
	uint8_t *lo, *hi;
	volatile uint64_t reads, writes, misaligned;
	volatile uintptr_t first_read, first_read_rip;
	uint8_t *open[4]; /* pages opened for the current instruction */
	volatile int open_count;
} watch;

static void close_pages(void)
{
	for (int i = 0; i < watch.open_count; i++)
		mprotect(watch.open[i], HOST_PAGE, PROT_NONE);
	watch.open_count = 0;
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint8_t *a = si->si_addr;

	if (!watch.on || a < watch.lo || a >= watch.hi ||
	    watch.open_count == (int)ARRAY_SIZE(watch.open)) {
		/* Not ours: let it crash as it would have. */
		signal(SIGSEGV, SIG_DFL);
		return;
	}
	if (uc->uc_mcontext.gregs[REG_ERR] & PF_WRITE) {
		watch.writes++;
		if ((uintptr_t)a & 3)
			watch.misaligned++;
	} else if (watch.reads++ == 0) {
		watch.first_read = (uintptr_t)a;
		watch.first_read_rip =
		    (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	}
	uint8_t *page = (uint8_t *)((uintptr_t)a & ~(uintptr_t)(HOST_PAGE - 1));
	mprotect(page, HOST_PAGE, PROT_READ | PROT_WRITE);
	watch.open[watch.open_count++] = page;
	uc->uc_mcontext.gregs[REG_EFL] |= EFLAGS_TF;
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	close_pages();
	uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)EFLAGS_TF;
}

static void install_handlers(void)
{
	struct sigaction sa = {0};

	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sa.sa_sigaction = on_segv;
	sigaction(SIGSEGV, &sa, NULL);
	sa.sa_sigaction = on_trap;
	sigaction(SIGTRAP, &sa, NULL);
}

/* From here every access to f's memory is counted. */
static void watch_begin(struct fakefb *f)
{
	watch.lo = f->mem;
	watch.hi = f->mem + f->size;
	watch.reads = watch.writes = watch.misaligned = 0;
	watch.open_count = 0;
	mprotect(f->mem, f->size, PROT_NONE);
	watch.on = true;
}

/* Makes f readable for the checks; its accesses are no longer counted. */
static void watch_pause(struct fakefb *f)
{
	watch.on = false;
	mprotect(f->mem, f->size, PROT_READ | PROT_WRITE);
}

static void watch_resume(struct fakefb *f)
{
	mprotect(f->mem, f->size, PROT_NONE);
	watch.on = true;
}

/* --- the terminal model: what the screen should say --- */

struct model {
	uint32_t cols, rows, col, row;
	uint8_t *cells;
};

static void model_init(struct model *m, uint32_t cols, uint32_t rows)
{
	m->cols = cols;
	m->rows = rows;
	m->col = m->row = 0;
	m->cells = malloc((size_t)cols * rows);
	memset(m->cells, ' ', (size_t)cols * rows);
}

static void model_newline(struct model *m)
{
	m->col = 0;
	if (m->row + 1 < m->rows) {
		m->row++;
		return;
	}
	memmove(m->cells, m->cells + m->cols, (size_t)m->cols * (m->rows - 1));
	memset(m->cells + (size_t)m->cols * (m->rows - 1), ' ', m->cols);
}

/* Returns true when c wrapped the line (a scroll and a draw in one). */
static bool model_put(struct model *m, uint8_t c)
{
	bool wrapped = false;

	if (c == '\n') {
		model_newline(m);
	} else if (c == '\r') {
		m->col = 0;
	} else if (c == '\t') {
		m->col = (m->col / 8 + 1) * 8;
		if (m->col > m->cols)
			m->col = m->cols;
	} else {
		if (m->col >= m->cols) {
			model_newline(m);
			wrapped = true;
		}
		m->cells[(size_t)m->row * m->cols + m->col++] = c;
	}
	return wrapped;
}

/* What pixel (x, y) of the text area shows for the model. */
static uint32_t model_pixel(const struct model *m, uint32_t x, uint32_t y)
{
	uint8_t c =
	    m->cells[(size_t)(y / font.height) * m->cols + x / font.width];
	const uint8_t *g =
	    psf_glyph(&font, c) + (y % font.height) * font.row_bytes;
	uint32_t gx = x % font.width;

	return (g[gx / 8] & (0x80u >> (gx % 8))) ? FG : BG;
}

/* Compares every pixel of f with the model rendered in the font (the
 * rest of the screen in the background colour), and the bytes past the
 * width with the canary. Returns the number of wrong pixels, reporting
 * the first. */
static uint64_t check_pixels(const struct fakefb *f, const struct model *m)
{
	uint32_t text_w = m->cols * font.width, text_h = m->rows * font.height;
	uint64_t wrong = 0;

	for (uint32_t y = 0; y < f->height; y++) {
		const uint32_t *row =
		    (const uint32_t *)(f->mem + (size_t)y * f->pitch);
		for (uint32_t x = 0; x < f->pitch / 4; x++) {
			uint32_t want = x >= f->width ? CANARY
					: x < text_w && y < text_h
					    ? model_pixel(m, x, y)
					    : BG;
			if (row[x] != want && wrong++ == 0) {
				CHECK_EQ(row[x], want);
				printf("  first wrong pixel at (%u, %u) of "
				       "%ux%u\n",
				       x, y, f->width, f->height);
			}
		}
	}
	CHECK_EQ(wrong, 0);
	return wrong;
}

static void check_shadow(const struct model *m)
{
	uint64_t wrong = 0;

	if (!under_test->has_shadow)
		return;
	for (uint32_t r = 0; r < m->rows; r++)
		for (uint32_t c = 0; c < m->cols; c++)
			if (fbcon_cell(c, r) !=
			    m->cells[(size_t)r * m->cols + c])
				wrong++;
	CHECK_EQ(wrong, 0);
}

/* --- text --- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/*
 * Line number i of a test text for a screen cols wide: short and empty
 * lines, lines exactly as wide as the screen, lines wrapping up to three
 * times, tabs, a \r that overwrites the start, Latin-1 letters. Returns
 * its length (with its \n); buf holds at least 4 * cols + 16 bytes.
 */
static size_t make_line(char *buf, uint32_t i, uint32_t cols)
{
	size_t n = 0, len;

	switch (i % 7) {
	case 0:
		len = 0;
		break;
	case 1:
		len = cols;
		break;
	case 2:
		len = cols * 2 + next_rand(cols + 1);
		break;
	default:
		len = next_rand(cols);
	}
	for (size_t k = 0; k < len; k++) {
		uint32_t r = next_rand(40);
		if (r == 0)
			buf[n++] = '\t';
		else if (r == 1)
			buf[n++] = (char)(0xc0 + next_rand(0x40));
		else if (r < 8)
			buf[n++] = ' ';
		else
			buf[n++] = (char)('!' + next_rand(94));
	}
	if (i % 5 == 3) {
		buf[n++] = '\r';
		for (uint32_t k = 0; k < 1 + next_rand(5); k++)
			buf[n++] = (char)('A' + k);
	}
	buf[n++] = '\n';
	return n;
}

/* --- cases --- */

static void start(struct fakefb *f, struct model *m)
{
	uint32_t cols, rows, fw, fh;

	CHECK_STR(under_test->init(&f->bi, f->bi.base), NULL);
	under_test->geometry(&cols, &rows, &fw, &fh);
	CHECK_EQ(fw, font.width);
	CHECK_EQ(fh, font.height);
	model_init(m, cols, rows);
}

/* The detector itself: a read and a write made here are counted. */
static void test_detector_counts(void)
{
	struct fakefb f;

	fakefb_make(&f, 64, 4, 256);
	watch_begin(&f);
	volatile uint32_t *p = (volatile uint32_t *)(f.mem + 100 * 4);
	uint32_t v = p[0];
	p[1] = v + 1;
	watch_pause(&f);
	CHECK_EQ(watch.reads, 1);
	CHECK_EQ(watch.writes, 1);
	CHECK_EQ(p[1], CANARY + 1);
	fakefb_free(&f);
}

/*
 * The console over a framebuffer it cannot read, fed one byte at a time:
 * no read ever; every character and every scroll writes exactly the
 * pixels it changes; the pixels equal the model after every line.
 * (Small, as each write costs two signals.)
 */
static void test_never_reads(void)
{
	struct fakefb f;
	struct model m;
	char line[4 * 10 + 16];
	uint64_t inexact = 0, wrong = 0, total_writes = 0;

	/* 10 x 3 characters, a few pixels of margin, padding in the pitch */
	fakefb_make(&f, 10 * font.width + 5, 3 * font.height + 3,
		    (10 * font.width + 5) * 4 + 64);
	uint32_t *before = malloc(f.size);
	watch_begin(&f);
	start(&f, &m);
	watch_pause(&f);
	CHECK_EQ(watch.reads, 0);
	/* The first write paints every pixel, once. */
	CHECK_EQ(watch.writes, (uint64_t)f.width * f.height);
	wrong += check_pixels(&f, &m);

	for (uint32_t i = 0; i < 25 && !wrong; i++) {
		size_t n = make_line(line, i, m.cols);
		for (size_t k = 0; k < n; k++) {
			uint8_t c = (uint8_t)line[k];
			bool wrapped = model_put(&m, c);
			memcpy(before, f.mem, f.size);
			uint64_t w0 = watch.writes;
			watch_resume(&f);
			under_test->write(&line[k], 1);
			watch_pause(&f);
			uint64_t writes = watch.writes - w0, changed = 0;
			for (size_t p = 0; p < f.size / 4; p++)
				changed += before[p] != ((uint32_t *)f.mem)[p];
			total_writes += writes;
			/* A wrap is a scroll and a draw: a pixel may change
			 * twice, so only the total can be checked. */
			if (wrapped ? writes < changed : writes != changed) {
				if (inexact++ == 0)
					printf(
					    "  byte %zu of line %u (0x%02x): "
					    "%lu writes for %lu changed "
					    "pixels\n",
					    k, i, c, (unsigned long)writes,
					    (unsigned long)changed);
			}
		}
		wrong += check_pixels(&f, &m);
		check_shadow(&m);
	}
	CHECK_EQ(inexact, 0);
	CHECK_EQ(watch.misaligned, 0);
	if (watch.reads)
		printf("  %s read the framebuffer %lu times, first at offset "
		       "%lu (rip %#lx)\n",
		       under_test->name, (unsigned long)watch.reads,
		       (unsigned long)(watch.first_read - (uintptr_t)f.mem),
		       (unsigned long)watch.first_read_rip);
	CHECK_EQ(watch.reads, 0);
	CHECK(total_writes > 0);
	free(before);
	free(m.cells);
	fakefb_free(&f);
}

/* The console before the shadow must be caught reading: this is what
 * shows the detector above can fail. */
static void test_detector_catches_old_console(void)
{
	struct fakefb f;

	/* 2 x 2 characters: one scroll copies a row of glyphs */
	fakefb_make(&f, 2 * font.width, 2 * font.height, 2 * font.width * 4);
	watch_begin(&f);
	CHECK_STR(old_console->init(&f.bi, f.bi.base), NULL);
	CHECK_EQ(watch.reads, 0); /* its clear only writes */
	old_console->write("a\nb\nc", 5);
	watch_pause(&f);
	CHECK(watch.reads > 0);
	fakefb_free(&f);
}

/* A real screen size, hundreds of scrolls, checked against the model. */
static void test_full_screen(void)
{
	struct fakefb f;
	struct model m;
	char line[4 * 160 + 16];
	uint64_t wrong = 0;

	fakefb_make(&f, 1280, 800, 1280 * 4 + 256);
	start(&f, &m);
	CHECK_EQ(m.cols, 1280 / font.width);
	wrong += check_pixels(&f, &m);
	for (uint32_t i = 0; i < 400 && !wrong; i++) {
		size_t n = make_line(line, i, m.cols);
		for (size_t k = 0; k < n; k++)
			model_put(&m, (uint8_t)line[k]);
		under_test->write(line, n);
		if (i % 50 == 49) {
			wrong += check_pixels(&f, &m);
			check_shadow(&m);
		}
	}
	/* Ends mid-line: the cursor state is right too. */
	under_test->write("tail", 4);
	for (const char *s = "tail"; *s; s++)
		model_put(&m, (uint8_t)*s);
	wrong += check_pixels(&f, &m);
	check_shadow(&m);
	free(m.cells);
	fakefb_free(&f);
}

/* fbcon_enable repaints a screen from the shadow alone: moved to a fresh
 * framebuffer full of garbage, the console restores every pixel there
 * without reading it; disabled, it draws nothing. */
static void test_disable_enable_repaint(void)
{
	struct fakefb a, b;
	struct model m;
	char line[4 * 12 + 16];

	fakefb_make(&a, 12 * font.width, 3 * font.height, 12 * font.width * 4);
	fakefb_make(&b, a.width, a.height, a.pitch);
	CHECK_STR(fbcon_init(&a.bi, a.bi.base), NULL);
	model_init(&m, 12, 3);
	for (uint32_t i = 0; i < 20; i++) {
		size_t n = make_line(line, i, 12);
		fbcon_write(line, n);
		for (size_t k = 0; k < n; k++)
			model_put(&m, (uint8_t)line[k]);
	}
	/* Cut mid-line: output resumes on a line of its own. */
	fbcon_write("cut", 3);
	for (const char *p = "cut\n"; *p; p++)
		model_put(&m, (uint8_t)*p);
	fbcon_disable();
	CHECK(!fbcon_active());
	watch_begin(&a);
	fbcon_write("lost", 4); /* nothing drawn, nothing kept */
	watch_pause(&a);
	CHECK_EQ(watch.writes + watch.reads, 0);

	fbcon_set_base(b.bi.base);
	CHECK_EQ(fbcon_base(), b.bi.base);
	CHECK(fbcon_contains(b.bi.base + b.pitch * b.height - 1));
	CHECK(!fbcon_contains(b.bi.base + b.pitch * b.height));
	CHECK(!fbcon_contains(a.bi.base));
	watch_begin(&b);
	CHECK_STR(fbcon_enable(), NULL);
	watch_pause(&b);
	CHECK(fbcon_active());
	CHECK_EQ(watch.reads, 0);
	CHECK_EQ(watch.writes, (uint64_t)b.width * b.height);
	check_pixels(&b, &m);
	check_shadow(&m);
	fbcon_write("next", 4);
	for (const char *p = "next"; *p; p++)
		model_put(&m, (uint8_t)*p);
	check_pixels(&b, &m);

	fbcon_reset();
	CHECK(!fbcon_active());
	CHECK(fbcon_enable() != NULL);
	CHECK(!fbcon_contains(b.bi.base));
	free(m.cells);
	fakefb_free(&a);
	fakefb_free(&b);
}

/* Bad framebuffers are refused with a reason, and the console stays off. */
static void test_refusals(void)
{
	struct fakefb f;
	static const struct {
		const char *name;
		uint32_t bpp, width, pitch, red;
		const char *why;
	} rows[] = {
	    {"24 bpp", 24, 64, 256, 0xff0000,
	     "unsupported pixel depth (only 32 bpp)"},
	    {"pitch below width", 32, 64, 252, 0xff0000,
	     "width, height or pitch out of range"},
	    {"odd pitch", 32, 64, 258, 0xff0000,
	     "pitch not a multiple of 4 bytes"},
	    {"holey mask", 32, 64, 256, 0xf0f000,
	     "pixel masks empty or not contiguous"},
	    {"overlapping masks", 32, 64, 256, 0x00ffff00,
	     "pixel masks overlap"},
	    {"narrower than a glyph", 32, 4, 256, 0xff0000,
	     "framebuffer smaller than one character"},
	};

	fakefb_make(&f, 64, 64, 258);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct bi_framebuffer bi = f.bi;
		bi.bpp = rows[i].bpp;
		bi.width = rows[i].width;
		bi.pitch = rows[i].pitch;
		bi.size = 0;
		bi.red_mask = rows[i].red;
		CASE_BEGIN(rows[i].name);
		CHECK_STR(fbcon_init(&bi, bi.base), rows[i].why);
		CHECK(!fbcon_active());
		CASE_END();
	}
	fakefb_free(&f);
}

/*
 * A screen with more cells than the shadow: the console takes at most
 * FBCON_MAX_COLS columns and the rows that fit, paints the rest of the
 * screen once, and works as usual in its part.
 */
static void test_screen_larger_than_shadow(void)
{
	struct fakefb f;
	struct model m;
	uint32_t cols, rows, fw, fh, screen_cols, screen_rows;
	char line[4 * FBCON_MAX_COLS + 16];

	uint32_t want_cols = FBCON_MAX_COLS;
	uint32_t want_rows = FBCON_MAX_CELLS / want_cols;
	fakefb_make(&f, (want_cols + 3) * font.width,
		    (want_rows + 2) * font.height,
		    (want_cols + 3) * font.width * 4);
	CHECK_STR(fbcon_init(&f.bi, f.bi.base), NULL);
	fbcon_geometry(&cols, &rows, &fw, &fh);
	fbcon_screen_size(&screen_cols, &screen_rows);
	CHECK_EQ(cols, want_cols);
	CHECK_EQ(rows, want_rows);
	CHECK_EQ(screen_cols, want_cols + 3);
	CHECK_EQ(screen_rows, want_rows + 2);
	model_init(&m, cols, rows);
	/* Short lines down to the bottom, then a few scrolls (each one
	 * compares every cell of the shadow). */
	for (uint32_t i = 0; i < rows + 3; i++) {
		size_t n = i + 3 < rows ? (size_t)snprintf(line, sizeof(line),
							   "row %u\n", i)
					: make_line(line, i, cols);
		fbcon_write(line, n);
		for (size_t k = 0; k < n; k++)
			model_put(&m, (uint8_t)line[k]);
	}
	check_pixels(&f, &m);
	check_shadow(&m);
	CHECK_EQ(fbcon_cell(cols, 0), 0);
	CHECK_EQ(fbcon_cell(0, rows), 0);
	free(m.cells);
	fakefb_free(&f);
}

int main(void)
{
	const char *why =
	    psf_parse(font_psf, (size_t)(font_psf_end - font_psf), &font);
	if (why) {
		printf("test_fbcon: the kernel's font: %s\n", why);
		return 1;
	}
	install_handlers();
	printf("test_fbcon: console under test: %s, font %ux%u\n",
	       under_test->name, font.width, font.height);
	RUN(test_detector_counts);
	RUN(test_detector_catches_old_console);
	RUN(test_never_reads);
	RUN(test_full_screen);
	RUN(test_disable_enable_repaint);
	test_refusals();
	RUN(test_screen_larger_than_shadow);
	return check_summary();
}
