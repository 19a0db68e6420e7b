/*
 * The AP trampoline: where an application processor starts after SIPI.
 *
 * smp.c copies trampoline_start..trampoline_end to a page P below 1 MiB
 * and patches the three places that need P (the GDT descriptor's base and
 * the two far-jump targets). The SIPI's vector is P >> 12: the AP starts
 * in real mode with CS = P >> 4, IP = 0. In order:
 *
 *   1. real mode: segments from CS; edi = P (CPUID clobbers ebx); stage
 *      REAL; load the
 *      trampoline's own GDT (flat 32-bit code and data, 64-bit code);
 *      CR0.PE; far jump into 32-bit code;
 *   2. protected mode, no paging: stage PROTECTED; CPUID must have long
 *      mode, and NX when the kernel's tables use it (else stage NO_LM and
 *      halt: EFER.NXE would #GP, and with it off the NX bits in the
 *      tables are reserved); CR4.PAE; CR3 = the temporary PML4; EFER.LME
 *      (and NXE); stage LONG; CR0 = the boot CPU's CR0 (PG, WP, caches on:
 *      INIT leaves CD and NW set); far jump into 64-bit code;
 *   3. long mode, on the temporary tables, still at P's identity address:
 *      stack, struct percpu and entry point from the data block, then a
 *      jump to smp_ap_entry in the higher half, which loads the kernel's
 *      CR3 and never comes back here.
 *
 * The temporary tables map P at P (read and execute only) and share the
 * kernel's higher-half PML4 entries, so the kernel's own tables never
 * gain a lower half. The page is read-only to the AP once paging is on:
 * the stage is written before that. Nothing here runs from the kernel
 * image: these bytes are data there (in .rodata) until copied.
 */
#include "kernel/cpu/arch.h"
#include "kernel/cpu/trampoline.h"

#define OFF(x) ((x) - trampoline_start)
#define TD(field) (OFF(trampoline_data) + (field))

	.section .rodata.trampoline, "a"
	.balign 16
	.globl trampoline_start, trampoline_end, trampoline_data
	.globl trampoline_gdt, trampoline_gdt_desc
	.globl trampoline_far32, trampoline_pm32
	.globl trampoline_far64, trampoline_lm64

	.code16
trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %edi, %edi
	movw %ax, %di
	shll $4, %edi                   /* P */
	movl $STAGE_REAL, TD(TD_STAGE)
	lgdtl OFF(trampoline_gdt_desc)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *OFF(trampoline_far32)

	.code32
trampoline_pm32:
	movw $TR_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl $STAGE_PROTECTED, TD(TD_STAGE)(%edi)

	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb 9f
	movl $0x80000001, %eax
	cpuid
	testl $CPUID_80000001_EDX_LM, %edx
	jz 9f
	movl TD(TD_EFER)(%edi), %esi
	testl $EFER_NXE, %esi
	jz 1f
	testl $CPUID_80000001_EDX_NX, %edx
	jz 9f
1:
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl TD(TD_CR3)(%edi), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl %esi, %eax
	wrmsr
	movl $STAGE_LONG, TD(TD_STAGE)(%edi)
	movl TD(TD_CR0)(%edi), %eax
	movl %eax, %cr0                 /* paging on: compatibility mode */
	ljmpl *OFF(trampoline_far64)(%edi)

9:	movl $STAGE_NO_LM, TD(TD_STAGE)(%edi)
2:	cli
	hlt
	jmp 2b

	.code64
trampoline_lm64:
	movl %edi, %edi                 /* upper half undefined after the switch */
	movq TD(TD_STACK)(%rdi), %rsp
	movq TD(TD_ENTRY)(%rdi), %rax
	movq TD(TD_PERCPU)(%rdi), %rdi
	xorl %ebp, %ebp                 /* backtraces end here */
	pushq $0                        /* smp_ap_entry's return address */
	jmpq *%rax

	/* Access bits preset: the CPU never writes to this read-only copy. */
	.balign 8
trampoline_gdt:
	.quad 0
	.quad 0x00cf9b000000ffff        /* TR_CODE32: 32-bit, flat */
	.quad 0x00cf93000000ffff        /* TR_DATA: flat, writable */
	.quad 0x00af9b000000ffff        /* TR_CODE64: 64-bit (L) */
trampoline_gdt_end:

	.balign 4
trampoline_gdt_desc:                    /* base patched: P + OFF(gdt) */
	.word trampoline_gdt_end - trampoline_gdt - 1
	.long 0
	.balign 4
trampoline_far32:                       /* m16:32, offset patched */
	.long 0
	.word TR_CODE32
	.balign 4
trampoline_far64:
	.long 0
	.word TR_CODE64

	.balign 8
trampoline_data:
	.skip TD_SIZE
trampoline_end:
