/*
 * The PVH entry: direct boot by QEMU's `-kernel` (and other PVH hosts),
 * no firmware, no loader.
 *
 * The host finds the entry in an ELF note (Xen's XEN_ELFNOTE_PHYS32_ENTRY)
 * and loads each PT_LOAD at its p_paddr, so this image sits at its link
 * address minus KERNEL_VMA_BASE. It enters in 32-bit protected mode,
 * paging off, flat segments, interrupts off, ebx = physical address of the
 * struct hvm_start_info (common/boot/pvh.h).
 *
 * This code lives in the higher-half text segment like everything else
 * (the UEFI loader insists), but runs at its physical address until the
 * jump to the higher half: every symbol it uses before that goes through
 * PA(). In order:
 *   1. zero .bss and the boot tables (not left to the host's ELF loader);
 *   2. check CPUID for everything about to be used: CPUID itself, long
 *      mode, PAE; NX only decides EFER.NXE. A missing feature prints
 *      "panic: pvh: ..." on COM1 and ends a QEMU run with
 *      QEMU_EXIT_PVH_CPU, rather than faulting into a reset;
 *   3. build page tables: physical [0, 1 GiB) identity-mapped and mapped
 *      again at KERNEL_VMA_BASE, both through one page directory of 2 MiB
 *      pages; RWX, because this map lives only until the kernel builds its
 *      own;
 *   4. enter long mode in the order of the Intel SDM (Vol. 3A, 10.8.5):
 *      CR4.PAE, CR3, EFER.LME, then CR0.PG; far jump into a 64-bit code
 *      segment;
 *   5. jump to the higher half, switch to the kernel stack and call
 *      pvh_main(start info), which builds a boot info and calls kmain.
 */
#include "kernel/cpu/arch.h"
#include "kernel/boot/layout.h"

#define PA(x) ((x) - KERNEL_VMA_BASE)

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define GDT_CODE64 0x08
#define GDT_DATA 0x10

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_PS 0x080
#define TABLE_SIZE 4096
#define PD_ENTRIES 512
#define PAGE_2M 0x200000
/* Slots of KERNEL_VMA_BASE: bits 47..39 and 38..30. */
#define PML4_SLOT_KERNEL 511
#define PDPT_SLOT_KERNEL 510

#define CPUID_MAX_EXT_LEAF 0x80000000
#define CPUID_EXT_FEATURES 0x80000001
#define CPUID_FEATURES 1

#define UART_LSR (COM1_PORT + 5)
#define LSR_THR_EMPTY 0x20
#define TX_SPIN_LIMIT 100000

/* For kernel/boot/linker.ld's check that the two layouts agree. */
	.globl __layout_vma_base
	.set __layout_vma_base, KERNEL_VMA_BASE

/*
 * The note. QEMU reads it from the file (the PT_NOTE segment) and takes
 * the descriptor as a 64-bit value on an ELF64, so it is a .quad. Its
 * section is 4-byte aligned: QEMU finds the descriptor by rounding the
 * name size up to the PT_NOTE's p_align.
 */
	.pushsection .note.pvh, "a", @note
	.balign 4
	.long 2f - 1f                   /* name size */
	.long 4f - 3f                   /* descriptor size */
	.long XEN_ELFNOTE_PHYS32_ENTRY  /* type */
1:	.asciz "Xen"
2:	.balign 4
3:	.quad PA(pvh_start32)
4:	.balign 4
	.popsection

	.section .text.pvh, "ax"
	.code32
	.globl pvh_start32
	.type pvh_start32, @function
pvh_start32:
	cli
	cld
	movl %ebx, %ebp         /* start info; cpuid clobbers ebx */

	/* 1. Zero .bss and the boot tables, bytewise: __bss_start need not
	 * be 4-byte aligned. No stack yet: it is in .bss. */
	movl $PA(__bss_start), %edi
	movl $PA(__boot_tables_end), %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	movl $PA(boot_stack_top), %esp

	/* 2. CPUID exists when EFLAGS.ID can be flipped. */
	pushfl
	popl %eax
	movl %eax, %ecx
	xorl $EFLAGS_ID, %eax
	pushl %eax
	popfl
	pushfl
	popl %eax
	pushl %ecx
	popfl
	cmpl %eax, %ecx
	movl $PA(msg_no_cpuid), %esi
	je pvh_fail32

	/* Long mode: leaf 0x80000001 must exist and have EDX.LM. A CPU
	 * without extended leaves may answer 0x80000000 with basic-leaf
	 * data; any value below 0x80000001 means "none". */
	movl $CPUID_MAX_EXT_LEAF, %eax
	cpuid
	movl $PA(msg_no_long_mode), %esi
	cmpl $CPUID_EXT_FEATURES, %eax
	jb pvh_fail32
	movl $CPUID_EXT_FEATURES, %eax
	cpuid
	testl $CPUID_80000001_EDX_LM, %edx
	jz pvh_fail32
	movl %edx, %edi         /* keep for NX */

	movl $CPUID_FEATURES, %eax
	cpuid
	movl $PA(msg_no_pae), %esi
	testl $CPUID_1_EDX_PAE, %edx
	jz pvh_fail32

	/* Boot time starts here (every long-mode CPU has a TSC). */
	rdtsc
	movl %eax, PA(kernel_entry_tsc)
	movl %edx, PA(kernel_entry_tsc) + 4

	/* 3. The page directory: 512 2 MiB pages from physical 0. The upper
	 * halves of the entries are already zero. */
	movl $PA(pvh_pd), %ebx
	movl $(PTE_P | PTE_W | PTE_PS), %eax
	movl $PD_ENTRIES, %ecx
1:	movl %eax, (%ebx)
	addl $PAGE_2M, %eax
	addl $8, %ebx
	loop 1b
	/* Reached from PML4 slot 0 (identity) and slot 511 (the kernel's
	 * window), each through its own PDPT. */
	movl $(PA(pvh_pd) + PTE_P + PTE_W), PA(pvh_pdpt_low)
	movl $(PA(pvh_pd) + PTE_P + PTE_W), PA(pvh_pdpt_high) + PDPT_SLOT_KERNEL * 8
	movl $(PA(pvh_pdpt_low) + PTE_P + PTE_W), PA(pvh_pml4)
	movl $(PA(pvh_pdpt_high) + PTE_P + PTE_W), PA(pvh_pml4) + PML4_SLOT_KERNEL * 8

	/* 4. Long mode. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $PA(pvh_pml4), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	testl $CPUID_80000001_EDX_NX, %edi
	jz 2f
	orl $EFER_NXE, %eax     /* only when CPUID has NX: else #GP */
2:	wrmsr
	lgdt PA(pvh_gdt_desc32)
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	/* Compatibility mode now; this jump enters 64-bit mode. */
	ljmp $GDT_CODE64, $PA(pvh_start64)

/*
 * Prints the NUL-terminated message at esi (physical) on COM1, ends a
 * QEMU run with QEMU_EXIT_PVH_CPU and halts. Needs no stack and no
 * initialised UART (QEMU's ignores the baud rate; real PVH hosts are
 * virtual machines too).
 */
pvh_fail32:
1:	movb (%esi), %bl
	testb %bl, %bl
	jz 3f
	movw $UART_LSR, %dx
	movl $TX_SPIN_LIMIT, %ecx
2:	inb %dx, %al
	testb $LSR_THR_EMPTY, %al
	loopz 2b
	movw $COM1_PORT, %dx
	movb %bl, %al
	outb %al, %dx
	incl %esi
	jmp 1b
3:	movw $QEMU_EXIT_PORT, %dx
	movl $QEMU_EXIT_PVH_CPU, %eax
	outl %eax, %dx
4:	cli
	hlt
	jmp 4b
	.size pvh_start32, . - pvh_start32

	.code64
	/* 64-bit mode, still at the physical address, on the identity map. */
pvh_start64:
	movl $GDT_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movabsq $pvh_high64, %rax
	jmp *%rax

	/* 5. The higher half: from here on, link addresses. */
pvh_high64:
	/* The same GDT through its higher-half address, so nothing here
	 * depends on the identity map any more. */
	lgdt pvh_gdt_desc64(%rip)
	leaq boot_stack_top(%rip), %rsp
	movl %ebp, %edi         /* start info, zero-extended */
	xorl %ebp, %ebp
	call pvh_main
1:	cli
	hlt
	jmp 1b

	.section .rodata.pvh, "a"
msg_no_cpuid:
	.asciz "panic: pvh: CPU has no CPUID instruction\r\n"
msg_no_long_mode:
	.asciz "panic: pvh: CPU has no long mode (CPUID 80000001h EDX.LM)\r\n"
msg_no_pae:
	.asciz "panic: pvh: CPU has no PAE (CPUID 1h EDX.PAE)\r\n"

	/* Accessed bits preset, so the CPU never writes to this table. */
	.balign 16
pvh_gdt:
	.quad 0
	.quad 0x00af9b000000ffff /* 0x08: code, 64-bit (L), DPL 0 */
	.quad 0x00cf93000000ffff /* 0x10: data, writable, flat */
pvh_gdt_end:

	.balign 8
pvh_gdt_desc32:                 /* lgdt in 32-bit mode: 6 bytes */
	.word pvh_gdt_end - pvh_gdt - 1
	.long PA(pvh_gdt)
	.balign 8
pvh_gdt_desc64:                 /* lgdt in 64-bit mode: 10 bytes */
	.word pvh_gdt_end - pvh_gdt - 1
	.quad pvh_gdt

	/* Zeroed by step 1. See kernel/boot/linker.ld for why they are kept apart
	 * from .bss. */
	.section .boot_tables, "aw", @nobits
	.balign TABLE_SIZE
	.globl pvh_pml4
pvh_pml4:
	.skip TABLE_SIZE
pvh_pdpt_low:
	.skip TABLE_SIZE
pvh_pdpt_high:
	.skip TABLE_SIZE
pvh_pd:
	.skip TABLE_SIZE
