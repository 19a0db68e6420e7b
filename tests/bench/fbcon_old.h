/*
 * The console before the cell shadow, for the bench and the unit test
 * (see fbcon_old.c). The same contracts as kernel/dev/fbcon.h's functions
 * of the same names without old_, except that scrolling reads the
 * framebuffer.
 */
#ifndef TESTS_BENCH_FBCON_OLD_H
#define TESTS_BENCH_FBCON_OLD_H

#include "common/boot/bootinfo.h"
#include "common/lib/types.h"

const char *old_fbcon_init(const struct bi_framebuffer *fb, uint64_t virt_base);
void old_fbcon_set_base(uint64_t virt_base);
bool old_fbcon_active(void);
void old_fbcon_geometry(uint32_t *cols, uint32_t *rows, uint32_t *font_w,
			uint32_t *font_h);
void old_fbcon_write(const char *s, size_t n);

#endif
