/*
 * PC Screen Font parsing (the Linux console's font format, versions 1 and
 * 2), for the framebuffer console.
 *
 * PSF1: 4-byte header (magic 36 04, mode, bytes per glyph); glyphs are 8
 * pixels wide, one byte per row; 256 glyphs, or 512 with mode bit 0; a
 * Unicode table (one list of UCS-2 values per glyph, ending 0xffff) when
 * mode bit 1 or 2 is set.
 * PSF2: 32-byte header (magic 72 b5 4a 86, version, header size, flags,
 * glyph count, bytes per glyph, height, width); rows are whole bytes; a
 * Unicode table (UTF-8 per glyph, ending 0xff) when flags bit 0 is set.
 * In both tables a sequence marker (0xfffe / 0xfe) starts multi-character
 * sequences, which this parser skips.
 */
#ifndef KERNEL_PSF_H
#define KERNEL_PSF_H

#include "common/lib/types.h"

#define PSF_MAX_WIDTH  32
#define PSF_MAX_HEIGHT 64

struct psf_font {
	const uint8_t *glyphs; /* glyph_count glyphs of glyph_bytes each */
	uint32_t glyph_count;
	uint32_t glyph_bytes;
	uint32_t width;     /* pixels */
	uint32_t height;    /* pixels, = rows */
	uint32_t row_bytes; /* bytes per glyph row, (width + 7) / 8 */
	uint32_t version;   /* 1 or 2 */
	/* Glyph index for each Latin-1 character, from the Unicode table
	 * when the font has one, else the identity; characters the font
	 * lacks get the glyph of '?'. */
	uint16_t glyph_of[256];
};

/* Parses the size bytes at data (untrusted: every offset is checked).
 * Returns NULL and fills *font, or a static string naming what is wrong.
 * font->glyphs points into data. */
const char *psf_parse(const void *data, size_t size, struct psf_font *font);

/* The bitmap of Latin-1 character c: font->height rows of row_bytes
 * bytes, most significant bit leftmost. */
static inline const uint8_t *psf_glyph(const struct psf_font *font, uint8_t c)
{
	return font->glyphs + (size_t)font->glyph_of[c] * font->glyph_bytes;
}

#endif
