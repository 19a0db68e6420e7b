/*
 * A text console drawn on the linear framebuffer the loader found (GOP),
 * with the embedded PSF font. Output only; scrolls by moving the pixel
 * rows up.
 */
#ifndef KERNEL_FBCON_H
#define KERNEL_FBCON_H

#include "common/bootinfo.h"
#include "common/types.h"

/*
 * Starts the console on fb, whose first pixel is reached at virt_base
 * (the caller decides through which mapping: today the identity map, later
 * the direct map). Clears the screen. Returns NULL, or a static string
 * naming why there is no console (no framebuffer, unsupported pixel
 * format, bad font); output calls then do nothing.
 */
const char *fbcon_init(const struct bi_framebuffer *fb, uint64_t virt_base);

/* Moves the console to a new mapping of the same framebuffer. */
void fbcon_set_base(uint64_t virt_base);

bool fbcon_active(void);

/* Text size in character cells, and the font's cell size in pixels. */
void fbcon_geometry(uint32_t *cols, uint32_t *rows, uint32_t *font_w,
                    uint32_t *font_h);

/* Writes n bytes; each byte is a Latin-1 character. Handles \n, \r, \t. */
void fbcon_write(const char *s, size_t n);

#endif
