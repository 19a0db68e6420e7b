/*
 * PSF1/PSF2 font parsing; the formats are summarised in kernel/dev/psf.h.
 * The font is built into the kernel, but it is parsed as untrusted input
 * anyway: FONT= can name any file, and a bad one should cost a console,
 * not a fault.
 */
#include "kernel/dev/psf.h"

#define PSF1_MAGIC0      0x36
#define PSF1_MAGIC1      0x04
#define PSF1_HEADER_SIZE 4
#define PSF1_MODE512     0x01
#define PSF1_MODEHASTAB  0x02
#define PSF1_MODEHASSEQ  0x04
#define PSF1_SEPARATOR   0xffff
#define PSF1_STARTSEQ    0xfffe

#define PSF2_MAGIC             0x864ab572u
#define PSF2_HEADER_SIZE       32
#define PSF2_HAS_UNICODE_TABLE 0x01
#define PSF2_SEPARATOR         0xff
#define PSF2_STARTSEQ          0xfe

#define NO_GLYPH   0xffffu
#define NOT_LATIN1 0x100u /* any code point the map cannot hold */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The first glyph listed for a character wins. */
static void map_char(struct psf_font *f, uint32_t cp, uint32_t glyph)
{
	if (cp < ARRAY_SIZE(f->glyph_of) && f->glyph_of[cp] == NO_GLYPH)
		f->glyph_of[cp] = (uint16_t)glyph;
}

/* PSF1 table: per glyph, little-endian UCS-2 values up to 0xffff. */
static void parse_table1(struct psf_font *f, const uint8_t *p,
			 const uint8_t *end)
{
	uint32_t glyph = 0;
	bool in_sequence = false;

	while (end - p >= 2 && glyph < f->glyph_count) {
		uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8;
		p += 2;
		if (v == PSF1_SEPARATOR) {
			glyph++;
			in_sequence = false;
		} else if (v == PSF1_STARTSEQ) {
			in_sequence = true;
		} else if (!in_sequence) {
			map_char(f, v, glyph);
		}
	}
}

/* Decodes one UTF-8 character at p. Returns its length (1 for a malformed
 * byte, which is then skipped) and sets *cp; only code points below 0x800
 * are decoded exactly, longer characters become NOT_LATIN1. */
static size_t utf8_next(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
	size_t len;

	*cp = NOT_LATIN1;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4;
	else
		return 1;
	if ((size_t)(end - p) < len)
		return 1;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	}
	if (len == 2)
		*cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	return len;
}

/* PSF2 table: per glyph, UTF-8 characters up to 0xff. */
static void parse_table2(struct psf_font *f, const uint8_t *p,
			 const uint8_t *end)
{
	uint32_t glyph = 0;
	bool in_sequence = false;

	while (p < end && glyph < f->glyph_count) {
		uint32_t cp;
		if (*p == PSF2_SEPARATOR) {
			glyph++;
			in_sequence = false;
			p++;
		} else if (*p == PSF2_STARTSEQ) {
			in_sequence = true;
			p++;
		} else {
			p += utf8_next(p, end, &cp);
			if (!in_sequence)
				map_char(f, cp, glyph);
		}
	}
}

/* A font without a table is in Latin-1 order. */
static void map_identity(struct psf_font *f)
{
	for (uint32_t c = 0; c < ARRAY_SIZE(f->glyph_of); c++) {
		if (c < f->glyph_count)
			f->glyph_of[c] = (uint16_t)c;
	}
}

/* Characters the table did not name get the glyph of '?' (or glyph 0). */
static void fill_unmapped(struct psf_font *f)
{
	uint16_t fallback = f->glyph_of['?'];

	if (fallback == NO_GLYPH)
		fallback = '?' < f->glyph_count ? '?' : 0;
	for (size_t c = 0; c < ARRAY_SIZE(f->glyph_of); c++) {
		if (f->glyph_of[c] == NO_GLYPH)
			f->glyph_of[c] = fallback;
	}
}

static const char *parse_psf1(const uint8_t *d, size_t size, struct psf_font *f)
{
	uint8_t mode = d[2];

	f->version = 1;
	f->width = 8;
	f->row_bytes = 1;
	f->height = d[3];
	f->glyph_bytes = d[3];
	f->glyph_count = (mode & PSF1_MODE512) ? 512 : 256;
	if (f->height == 0 || f->height > PSF_MAX_HEIGHT)
		return "PSF1 glyph height out of range";
	size_t table =
	    PSF1_HEADER_SIZE + (size_t)f->glyph_count * f->glyph_bytes;
	if (table > size)
		return "PSF1 glyphs run past the end of the file";
	f->glyphs = d + PSF1_HEADER_SIZE;
	if (mode & (PSF1_MODEHASTAB | PSF1_MODEHASSEQ))
		parse_table1(f, d + table, d + size);
	else
		map_identity(f);
	return NULL;
}

static const char *parse_psf2(const uint8_t *d, size_t size, struct psf_font *f)
{
	if (size < PSF2_HEADER_SIZE)
		return "PSF2 header truncated";
	uint32_t header_size = le32(d + 8);
	uint32_t flags = le32(d + 12);

	f->version = 2;
	f->glyph_count = le32(d + 16);
	f->glyph_bytes = le32(d + 20);
	f->height = le32(d + 24);
	f->width = le32(d + 28);
	if (header_size < PSF2_HEADER_SIZE || header_size > size)
		return "PSF2 header size out of range";
	if (f->width == 0 || f->width > PSF_MAX_WIDTH || f->height == 0 ||
	    f->height > PSF_MAX_HEIGHT)
		return "PSF2 glyph size out of range";
	f->row_bytes = (f->width + 7) / 8;
	if (f->glyph_bytes != f->row_bytes * f->height)
		return "PSF2 bytes per glyph do not match width and height";
	/* glyph_of holds 16-bit indexes; this also keeps the product below
	 * from overflowing. */
	if (f->glyph_count == 0 || f->glyph_count > NO_GLYPH)
		return "PSF2 glyph count out of range";
	size_t table = header_size + (size_t)f->glyph_count * f->glyph_bytes;
	if (table > size)
		return "PSF2 glyphs run past the end of the file";
	f->glyphs = d + header_size;
	if (flags & PSF2_HAS_UNICODE_TABLE)
		parse_table2(f, d + table, d + size);
	else
		map_identity(f);
	return NULL;
}

const char *psf_parse(const void *data, size_t size, struct psf_font *font)
{
	const uint8_t *d = data;
	const char *why;

	for (size_t c = 0; c < ARRAY_SIZE(font->glyph_of); c++)
		font->glyph_of[c] = NO_GLYPH;
	if (size >= PSF1_HEADER_SIZE && d[0] == PSF1_MAGIC0 &&
	    d[1] == PSF1_MAGIC1)
		why = parse_psf1(d, size, font);
	else if (size >= 4 && le32(d) == PSF2_MAGIC)
		why = parse_psf2(d, size, font);
	else
		why = "not a PSF1 or PSF2 font (bad magic)";
	if (why)
		return why;
	fill_unmapped(font);
	return NULL;
}
