/*
 * The framebuffer console as it was before the cell shadow (kernel/dev/
 * fbcon.c at commit c7eb96e), kept unchanged but for its names (old_
 * prefix) and this comment. Two programs use it as the "before":
 *
 *  - tests/bench/bench_fbcon.c measures the bytes it reads and writes
 *    per scrolled line, beside the shadow console's;
 *  - tests/unit/test_fbcon.c must catch it reading video memory (its
 *    scroll copies the pixel rows up), which shows the read detector
 *    works. Built with -DTEST_FBCON_OLD the whole test runs against it
 *    and fails.
 *
 * Not part of the kernel.
 */
#include "tests/bench/fbcon_old.h"

#include "kernel/dev/psf.h"
/* kernel/dev/font.S */
extern const uint8_t font_psf[], font_psf_end[];

#define TAB_WIDTH 8

struct fbcon {
	bool active;
	uint64_t base; /* virtual address of pixel (0, 0) */
	uint32_t width, height, pitch;
	uint32_t cols, rows;
	uint32_t col, row; /* where the next character goes */
	uint32_t fg, bg;
	struct psf_font font;
};

static struct fbcon con;

static uint32_t lowest_set_bit(uint32_t v)
{
	uint32_t n = 0;
	while (!(v & 1)) {
		v >>= 1;
		n++;
	}
	return n;
}

/* Number of bits in a contiguous mask, or 0 when mask is 0 or has
 * holes. */
static uint32_t mask_width(uint32_t mask)
{
	if (mask == 0)
		return 0;
	uint32_t v = mask >> lowest_set_bit(mask);
	uint32_t n = 0;
	while (v & 1) {
		v >>= 1;
		n++;
	}
	return v == 0 ? n : 0;
}

/* Scales an 8-bit intensity into the field the mask describes. */
static uint32_t colour_field(uint32_t mask, uint8_t v)
{
	uint32_t bits = mask_width(mask);
	uint32_t scaled =
	    bits >= 8 ? (uint32_t)v << (bits - 8) : (uint32_t)v >> (8 - bits);
	return (scaled << lowest_set_bit(mask)) & mask;
}

static uint32_t make_colour(const struct bi_framebuffer *fb, uint8_t r,
			    uint8_t g, uint8_t b)
{
	return colour_field(fb->red_mask, r) | colour_field(fb->green_mask, g) |
	       colour_field(fb->blue_mask, b);
}

static const char *check_framebuffer(const struct bi_framebuffer *fb)
{
	if (fb->base == 0)
		return "no framebuffer";
	if (fb->bpp != 32)
		return "unsupported pixel depth (only 32 bpp)";
	if (!mask_width(fb->red_mask) || !mask_width(fb->green_mask) ||
	    !mask_width(fb->blue_mask))
		return "pixel masks empty or not contiguous";
	if ((fb->red_mask & fb->green_mask) || (fb->red_mask & fb->blue_mask) ||
	    (fb->green_mask & fb->blue_mask))
		return "pixel masks overlap";
	if (fb->width == 0 || fb->height == 0 ||
	    (uint64_t)fb->pitch < (uint64_t)fb->width * 4)
		return "width, height or pitch out of range";
	if (fb->size != 0 && (uint64_t)fb->pitch * fb->height > fb->size)
		return "framebuffer smaller than pitch x height";
	return NULL;
}

static uint32_t *scanline(uint32_t y)
{
	return (uint32_t *)(con.base + (uint64_t)y * con.pitch);
}

/* Fills text rows [first, first + count) with the background. */
static void clear_rows(uint32_t first, uint32_t count)
{
	uint32_t w = con.cols * con.font.width;

	for (uint32_t y = first * con.font.height;
	     y < (first + count) * con.font.height; y++) {
		uint32_t *px = scanline(y);
		for (uint32_t x = 0; x < w; x++)
			px[x] = con.bg;
	}
}

/* Clears every pixel, margins included, so nothing the firmware drew
 * stays on screen. */
static void clear_screen(void)
{
	for (uint32_t y = 0; y < con.height; y++) {
		uint32_t *px = scanline(y);
		for (uint32_t x = 0; x < con.width; x++)
			px[x] = con.bg;
	}
}

static void draw_char(uint32_t col, uint32_t row, uint8_t c)
{
	const uint8_t *glyph = psf_glyph(&con.font, c);
	uint32_t x0 = col * con.font.width;

	for (uint32_t y = 0; y < con.font.height; y++) {
		uint32_t *px = scanline(row * con.font.height + y) + x0;
		const uint8_t *bits = glyph + y * con.font.row_bytes;
		for (uint32_t x = 0; x < con.font.width; x++) {
			bool on = bits[x / 8] & (0x80u >> (x % 8));
			px[x] = on ? con.fg : con.bg;
		}
	}
}

/* Moves every text row but the first up by one and clears the last. The
 * copy runs forwards, from lower to higher addresses, which is safe for
 * an overlapping move towards lower addresses. */
static void scroll_up(void)
{
	uint32_t w = con.cols * con.font.width;
	uint32_t lines = (con.rows - 1) * con.font.height;

	for (uint32_t y = 0; y < lines; y++) {
		uint32_t *dst = scanline(y);
		const uint32_t *src = scanline(y + con.font.height);
		for (uint32_t x = 0; x < w; x++)
			dst[x] = src[x];
	}
	clear_rows(con.rows - 1, 1);
}

static void new_line(void)
{
	con.col = 0;
	if (con.row + 1 < con.rows)
		con.row++;
	else
		scroll_up();
}

static void put_char(uint8_t c)
{
	switch (c) {
	case '\n':
		new_line();
		return;
	case '\r':
		con.col = 0;
		return;
	case '\t':
		con.col = (con.col / TAB_WIDTH + 1) * TAB_WIDTH;
		if (con.col > con.cols)
			con.col = con.cols;
		return;
	}
	/* Wrap only when another character comes, so a line exactly the
	 * width of the screen followed by '\n' leaves no blank line. */
	if (con.col >= con.cols)
		new_line();
	draw_char(con.col, con.row, c);
	con.col++;
}

const char *old_fbcon_init(const struct bi_framebuffer *fb, uint64_t virt_base)
{
	const char *why;

	con.active = false;
	why = check_framebuffer(fb);
	if (why)
		return why;
	why = psf_parse(font_psf, (size_t)(font_psf_end - font_psf), &con.font);
	if (why)
		return why;
	con.cols = fb->width / con.font.width;
	con.rows = fb->height / con.font.height;
	if (con.cols == 0 || con.rows == 0)
		return "framebuffer smaller than one character";

	con.base = virt_base;
	con.width = fb->width;
	con.height = fb->height;
	con.pitch = fb->pitch;
	con.fg = make_colour(fb, 0xc0, 0xc0, 0xc0);
	con.bg = make_colour(fb, 0x00, 0x00, 0x00);
	con.col = 0;
	con.row = 0;
	con.active = true;
	clear_screen();
	return NULL;
}

void old_fbcon_set_base(uint64_t virt_base)
{
	con.base = virt_base;
}

bool old_fbcon_active(void)
{
	return con.active;
}

void old_fbcon_geometry(uint32_t *cols, uint32_t *rows, uint32_t *font_w,
			uint32_t *font_h)
{
	*cols = con.cols;
	*rows = con.rows;
	*font_w = con.font.width;
	*font_h = con.font.height;
}

void old_fbcon_write(const char *s, size_t n)
{
	if (!con.active)
		return;
	for (size_t i = 0; i < n; i++)
		put_char((uint8_t)s[i]);
}
