/*
 * The kernel's entry points in C.
 */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include "common/lib/types.h"

/* Called from _start (kernel/boot/entry.S) with the physical address of the
 * struct boot_info, and from pvh_main with one it built. Never returns. */
__attribute__((noreturn)) void kmain(uint64_t bi_phys);

/* Called from the PVH entry (kernel/boot/pvh.S) in long mode, on the kernel
 * stack, with the physical address of the hvm_start_info. Never
 * returns. */
__attribute__((noreturn)) void pvh_main(uint64_t start_info_phys);

#endif
