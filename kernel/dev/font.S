/*
 * The console font, a PSF1 or PSF2 file embedded as-is. kernel/kernel.mk
 * decompresses $(FONT) (a console-setup font, gzip'd) into the build tree
 * and passes its path as FONT_FILE; kernel/dev/fbcon.c parses the header at
 * run time.
 */
#ifndef FONT_FILE
#error "FONT_FILE (path of the decompressed PSF font) is not defined"
#endif

	.section .rodata.font, "a"
	.balign 16
	.globl font_psf, font_psf_end
font_psf:
	.incbin FONT_FILE
font_psf_end:
