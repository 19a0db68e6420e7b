/*
 * panic: the end of the line for a broken invariant. Prints
 * "panic: <subsystem>: <reason>" on every console and stops the CPU.
 */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include "common/lib/types.h"

/* fmt as for kprintf; no trailing newline needed. Works before any
 * console is set up (it brings up COM1 itself). */
__attribute__((noreturn)) void panic(const char *subsystem, const char *fmt,
				     ...);

/* In a test run (`test` on the command line) a panic also ends QEMU
 * through the isa-debug-exit port with QEMU_EXIT_PANIC, so the run fails
 * at once instead of waiting for a timeout. Set as soon as the command
 * line is known; off before that, except that the PVH entry turns it
 * on when it cannot read the start info (see kernel/boot/pvh.c). */
void panic_set_test_mode(bool on);

#endif
