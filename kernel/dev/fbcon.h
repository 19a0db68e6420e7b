/*
 * A text console drawn on the linear framebuffer the loader found (GOP),
 * with the embedded PSF font. Output only. It never reads video memory:
 * what is on the screen is known from a shadow of character cells in RAM
 * (see fbcon.c), so a scroll writes only the pixels that change.
 *
 * This file knows nothing about faults: kernel/dev/console.c runs every
 * call that draws under run_catching and switches the console off when
 * one faults. Every call that draws leaves the shadow consistent first,
 * so a draw abandoned half-way is repaired by the next fbcon_enable.
 */
#ifndef KERNEL_FBCON_H
#define KERNEL_FBCON_H

#include "common/boot/bootinfo.h"
#include "common/lib/types.h"

/*
 * The shadow's size: 128 Ki cells of one byte (in .bss, as the console
 * starts before the frame allocator): enough for 5120x2880 with an 8x16
 * font, or 3840x2160 with an 8x8 one. On a larger screen the
 * console uses the top rows (and at most FBCON_MAX_COLS columns) that
 * fit and clears the rest once; fbcon_screen_size tells how much the
 * screen would have held.
 */
#define FBCON_MAX_CELLS (128u * 1024u)
#define FBCON_MAX_COLS  1024u

/*
 * Sets the console up on fb, whose first pixel is reached at virt_base
 * (the caller decides through which mapping), then makes its first
 * write: every pixel of the screen, once. The console is active only
 * when that write completed. Returns NULL, or a static string naming why
 * there is no console (no framebuffer, unsupported pixel format, bad
 * font); output calls then do nothing.
 */
const char *fbcon_init(const struct bi_framebuffer *fb, uint64_t virt_base);

/* Moves the console to a new mapping of the same framebuffer. Draws
 * nothing. */
void fbcon_set_base(uint64_t virt_base);
uint64_t fbcon_base(void);

bool fbcon_active(void);

/* Output off; the text keeps being what it was (fbcon_write does nothing
 * while off). */
void fbcon_disable(void);

/* Repaints the whole screen from the shadow (every pixel written once,
 * none read) and turns output on. A line left unfinished when output
 * went off is ended first, so what follows starts on a new line. Returns
 * NULL, or why not (no console was set up). */
const char *fbcon_enable(void);

/* Forgets the console: as before fbcon_init (fbcon_enable then refuses). */
void fbcon_reset(void);

/* True when va lies in the framebuffer as the console reaches it. */
bool fbcon_contains(uint64_t va);

/* Text size in character cells, and the font's cell size in pixels. */
void fbcon_geometry(uint32_t *cols, uint32_t *rows, uint32_t *font_w,
		    uint32_t *font_h);

/* The text size the whole screen would hold; larger than fbcon_geometry's
 * only when the shadow is too small for the screen. */
void fbcon_screen_size(uint32_t *cols, uint32_t *rows);

/* The character the shadow holds at a cell (' ' for a blank one; 0
 * outside the text area). */
uint8_t fbcon_cell(uint32_t col, uint32_t row);

/* Writes n bytes; each byte is a Latin-1 character. Handles \n, \r, \t. */
void fbcon_write(const char *s, size_t n);

#endif
