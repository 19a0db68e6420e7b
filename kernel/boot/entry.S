/*
 * _start: the kernel's entry from the UEFI loader (and the ELF entry
 * point).
 *
 * Contract (the loader's side is in loader/): SysV ABI, rdi = physical
 * address of the struct boot_info, interrupts off, long mode on the
 * loader's page tables, which map this image at its link addresses and
 * still hold the firmware's identity map of physical memory. The stack
 * the loader leaves is its own; nothing here returns to it.
 *
 * The PVH entry (kernel/boot/pvh.S) arrives on the same stack below, through
 * pvh_main, and reaches the same kmain.
 */
#include "kernel/boot/layout.h"

	.section .text.entry, "ax"
	.code64
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	/* Boot time is measured from here; rdtsc leaves rdi alone. */
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, kernel_entry_tsc(%rip)

	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp         /* ends frame-pointer backtraces here */
	call kmain              /* rdi: boot info, physical */

	/* kmain does not return; if it ever did, stop here. */
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.section .bss
	.balign 8
	.globl kernel_entry_tsc
kernel_entry_tsc:
	.skip 8

	/* Page aligned so the kernel's own page tables can later put an
	 * unmapped guard page under it. */
	.balign 4096
	.globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
	.skip KERNEL_STACK_SIZE
boot_stack_top:
