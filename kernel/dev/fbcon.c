/*
 * Framebuffer text console.
 *
 * Pixels are 32 bits; where red, green and blue sit in them comes from the
 * boot info's masks (GOP reports RGB, BGR or explicit masks), so colours
 * are built from the masks rather than assumed. The framebuffer is reached
 * at a virtual base the caller gives (fbcon_init, fbcon_set_base): the
 * console itself never decides how physical memory is mapped.
 *
 * Nothing here reads video memory, ever. A real framebuffer is uncached,
 * or write-combining at best, and a read from it costs hundreds of times
 * a write. The design choice:
 *
 *  - The shadow is one byte per character cell, not a copy of the pixels.
 *    A pixel shadow of a 1280x800 screen is 4 MB, and the console starts
 *    before the frame allocator exists, so it would have to sit in .bss
 *    sized for the largest screen. A cell shadow of 128 Ki cells (128 KiB
 *    of .bss) covers 5K screens with an 8x16 font, and beyond it the
 *    console falls back to the part of the screen it covers (fbcon.h).
 *  - The pixels of a cell are a function of its character (and the two
 *    fixed colours), so the shadow says what every text pixel on the
 *    screen is. Changing a cell from one character to another writes
 *    exactly the pixels where the two glyphs differ; a scroll does that
 *    for each cell whose character changes. Each pixel that changes is
 *    written once, and no other pixel is.
 *  - Only a full repaint (the first write, fbcon_enable) writes every
 *    pixel, once, as it cannot know what the screen showed before.
 *
 * The shadow is updated before the pixels, so when a draw is abandoned
 * half-way (console.c catches a fault in here) the shadow holds the text
 * and a repaint makes the screen match it again.
 */
#include "kernel/dev/fbcon.h"

#include "common/lib/string.h"
#include "kernel/dev/psf.h"

/* kernel/dev/font.S */
extern const uint8_t font_psf[], font_psf_end[];

#define TAB_WIDTH 8
#define BLANK     ' '
#define LEFTMOST                                                               \
	0x80000000u /* pixel 0 of a glyph row, as glyph_bits has it            \
		     */

struct fbcon {
	bool configured; /* fbcon_init got past its checks */
	bool active;     /* output is drawn */
	uint64_t base;   /* virtual address of pixel (0, 0) */
	uint32_t width, height, pitch;
	uint32_t cols, rows;               /* the text area the shadow holds */
	uint32_t screen_cols, screen_rows; /* what the screen would hold */
	uint32_t col, row;                 /* where the next character goes */
	uint32_t fg, bg;
	uint32_t row_mask; /* the glyph_bits a cell's width covers */
	struct psf_font font;
};

static struct fbcon con;
/* cols x rows characters, row after row. */
static uint8_t shadow[FBCON_MAX_CELLS];
/* The top text row as it was before a scroll (the shift overwrites it). */
static uint8_t top_before[FBCON_MAX_COLS];

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
	if (fb->pitch % 4 != 0)
		return "pitch not a multiple of 4 bytes";
	if (fb->size != 0 && (uint64_t)fb->pitch * fb->height > fb->size)
		return "framebuffer smaller than pitch x height";
	return NULL;
}

/* The pixels of scanline y. volatile: each store is one 32-bit write to
 * video memory, as written here; the compiler may neither merge nor
 * widen them, nor turn a fill into a call. */
static volatile uint32_t *scanline(uint32_t y)
{
	return (volatile uint32_t *)(uintptr_t)(con.base +
						(uint64_t)y * con.pitch);
}

static uint8_t *shadow_row(uint32_t row)
{
	return shadow + (size_t)row * con.cols;
}

/* Row y of character c's glyph, pixel 0 in bit 31, pixels past the
 * glyph's width clear. */
static uint32_t glyph_bits(uint8_t c, uint32_t y)
{
	const uint8_t *p = psf_glyph(&con.font, c) + y * con.font.row_bytes;
	uint32_t v = 0;

	for (uint32_t i = 0; i < con.font.row_bytes; i++)
		v |= (uint32_t)p[i] << (24 - 8 * i);
	return v & con.row_mask;
}

/*
 * Makes cell (col, row), which shows `was`, show `now`: writes the pixels
 * where the two glyphs differ, or every pixel of the cell when `all` (the
 * screen's content is unknown). Reads only the font.
 */
static void draw_cell(uint32_t col, uint32_t row, uint8_t was, uint8_t now,
		      bool all)
{
	uint32_t x0 = col * con.font.width;
	uint32_t y0 = row * con.font.height;

	if (was == now && !all)
		return;
	for (uint32_t y = 0; y < con.font.height; y++) {
		uint32_t bits = glyph_bits(now, y);
		uint32_t todo = all ? con.row_mask : bits ^ glyph_bits(was, y);
		volatile uint32_t *px = scanline(y0 + y) + x0;
		while (todo) {
			uint32_t x = (uint32_t)__builtin_clz(todo);
			uint32_t bit = LEFTMOST >> x;
			px[x] = (bits & bit) ? con.fg : con.bg;
			todo &= ~bit;
		}
	}
}

/* Writes every pixel of the screen once: the text area from the shadow,
 * the rest (margins, and what lies beyond a too-small shadow) in the
 * background colour. */
static void repaint(void)
{
	uint32_t text_w = con.cols * con.font.width;
	uint32_t text_h = con.rows * con.font.height;

	for (uint32_t row = 0; row < con.rows; row++) {
		const uint8_t *cells = shadow_row(row);
		for (uint32_t col = 0; col < con.cols; col++)
			draw_cell(col, row, cells[col], cells[col], true);
	}
	for (uint32_t y = 0; y < con.height; y++) {
		volatile uint32_t *px = scanline(y);
		for (uint32_t x = y < text_h ? text_w : 0; x < con.width; x++)
			px[x] = con.bg;
	}
}

/* Moves the text in the shadow up one row and blanks the last; saves
 * the top row as it was. Draws nothing. */
static void shift_shadow(void)
{
	uint32_t cols = con.cols;
	size_t moved = (size_t)(con.rows - 1) * cols;

	for (uint32_t c = 0; c < cols; c++)
		top_before[c] = shadow[c];
	/* Forwards, towards lower addresses: safe for the overlap. */
	for (size_t i = 0; i < moved; i++)
		shadow[i] = shadow[i + cols];
	mem_set(shadow + moved, BLANK, cols);
}

/*
 * Scrolls by one row. The shadow moves first (RAM only); then every cell
 * is compared with what the screen shows there, which is the shadow's row
 * above it (or, for the top row, the saved copy), and only differing
 * cells are drawn.
 */
static void scroll_up(void)
{
	shift_shadow();
	for (uint32_t row = 0; row < con.rows; row++) {
		const uint8_t *was = row ? shadow_row(row - 1) : top_before;
		const uint8_t *now = shadow_row(row);
		for (uint32_t col = 0; col < con.cols; col++)
			draw_cell(col, row, was[col], now[col], false);
	}
}

/* To the start of the next line, scrolling at the bottom. Without
 * draw the scroll moves only the shadow, for a repaint that follows. */
static void advance_line(bool draw)
{
	con.col = 0;
	if (con.row + 1 < con.rows)
		con.row++;
	else if (draw)
		scroll_up();
	else
		shift_shadow();
}

static void put_char(uint8_t c)
{
	switch (c) {
	case '\n':
		advance_line(true);
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
		advance_line(true);
	uint32_t col = con.col++;
	uint8_t *cell = shadow_row(con.row) + col;
	uint8_t was = *cell;
	*cell = c;
	draw_cell(col, con.row, was, c, false);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

const char *fbcon_init(const struct bi_framebuffer *fb, uint64_t virt_base)
{
	const char *why;

	con.configured = false;
	con.active = false;
	why = check_framebuffer(fb);
	if (why)
		return why;
	why = psf_parse(font_psf, (size_t)(font_psf_end - font_psf), &con.font);
	if (why)
		return why;
	con.screen_cols = fb->width / con.font.width;
	con.screen_rows = fb->height / con.font.height;
	if (con.screen_cols == 0 || con.screen_rows == 0)
		return "framebuffer smaller than one character";
	con.cols = min_u32(con.screen_cols, FBCON_MAX_COLS);
	con.rows = min_u32(con.screen_rows, FBCON_MAX_CELLS / con.cols);

	con.base = virt_base;
	con.width = fb->width;
	con.height = fb->height;
	con.pitch = fb->pitch;
	con.fg = make_colour(fb, 0xc0, 0xc0, 0xc0);
	con.bg = make_colour(fb, 0x00, 0x00, 0x00);
	con.row_mask = ~0u << (32 - con.font.width);
	con.col = 0;
	con.row = 0;
	mem_set(shadow, BLANK, (size_t)con.cols * con.rows);
	con.configured = true;
	return fbcon_enable();
}

void fbcon_set_base(uint64_t virt_base)
{
	con.base = virt_base;
}

uint64_t fbcon_base(void)
{
	return con.base;
}

bool fbcon_active(void)
{
	return con.active;
}

void fbcon_disable(void)
{
	con.active = false;
}

const char *fbcon_enable(void)
{
	if (!con.configured)
		return "no framebuffer console was set up";
	/* Output went on elsewhere while this console was off (or a line
	 * was cut by a fault): what comes next starts a line of its own. */
	if (con.col)
		advance_line(false);
	repaint();
	con.active = true;
	return NULL;
}

void fbcon_reset(void)
{
	mem_set(&con, 0, sizeof(con));
}

bool fbcon_contains(uint64_t va)
{
	return con.configured && va >= con.base &&
	       va - con.base < (uint64_t)con.pitch * con.height;
}

void fbcon_geometry(uint32_t *cols, uint32_t *rows, uint32_t *font_w,
		    uint32_t *font_h)
{
	*cols = con.cols;
	*rows = con.rows;
	*font_w = con.font.width;
	*font_h = con.font.height;
}

void fbcon_screen_size(uint32_t *cols, uint32_t *rows)
{
	*cols = con.screen_cols;
	*rows = con.screen_rows;
}

uint8_t fbcon_cell(uint32_t col, uint32_t row)
{
	if (!con.configured || col >= con.cols || row >= con.rows)
		return 0;
	return shadow_row(row)[col];
}

void fbcon_write(const char *s, size_t n)
{
	if (!con.active)
		return;
	for (size_t i = 0; i < n; i++)
		put_char((uint8_t)s[i]);
}
