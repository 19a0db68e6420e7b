/*
 * The boot report: what the kernel was given and where it runs, one
 * "kernel: ..." line per item, on every console.
 */
#ifndef KERNEL_REPORT_H
#define KERNEL_REPORT_H

#include "kernel/boot/handoff.h"

/* Prints the lines the loader left in the boot info for the kernel
 * (version 4; none from PVH), as they are. */
void report_loader_lines(const struct handoff *h);

/* Prints the banner, the running addresses, the memory map summary, the
 * framebuffer (fb_why: why there is no framebuffer console, or NULL), the RSDP,
 * the command line, the kernel segments and the loader's time, phase by phase.
 */
void report_boot(const struct handoff *h, const char *fb_why);

/* Formats a TSC interval as "N cycles" plus " (M.mmm ms)" when tsc_hz is
 * known. */
void report_format_cycles(char *buf, size_t cap, uint64_t cycles,
			  uint64_t tsc_hz);

#endif
