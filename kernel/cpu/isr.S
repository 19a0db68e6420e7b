/*
 * The exception and interrupt entry stubs and the common path to
 * trap_dispatch.
 *
 * Each stub makes every vector look alike: for vectors where the CPU
 * pushes no error code it pushes a 0, then it pushes its vector number.
 * trap_common saves the general registers in the order of struct
 * trap_frame (kernel/cpu/trap.h), calls trap_dispatch(frame), and when that
 * returns restores the (possibly edited) frame and returns with IRETQ.
 *
 * Stack alignment: in 64-bit mode the CPU aligns RSP to 16 bytes before it
 * pushes its 5-word frame (SDM Vol. 3A, 6.14.2); with the error code, the
 * vector and 15 registers the frame is 22 words, so RSP is 16-byte aligned
 * at the call, as the SysV ABI wants.
 */

/* The CPU pushed an error code: push only the vector. */
.macro ISR_ERR vec
	.balign 16
isr_\vec:
	pushq $\vec
	jmp trap_common
.endm

/* No error code from the CPU: push a 0 in its place. */
.macro ISR_NOERR vec
	.balign 16
isr_\vec:
	pushq $0
	pushq $\vec
	jmp trap_common
.endm

	.text
	ISR_NOERR 0     /* #DE */
	ISR_NOERR 1     /* #DB */
	ISR_NOERR 2     /* NMI */
	ISR_NOERR 3     /* #BP */
	ISR_NOERR 4     /* #OF */
	ISR_NOERR 5     /* #BR */
	ISR_NOERR 6     /* #UD */
	ISR_NOERR 7     /* #NM */
	ISR_ERR 8       /* #DF (always 0) */
	ISR_NOERR 9     /* coprocessor segment overrun (reserved) */
	ISR_ERR 10      /* #TS */
	ISR_ERR 11      /* #NP */
	ISR_ERR 12      /* #SS */
	ISR_ERR 13      /* #GP */
	ISR_ERR 14      /* #PF */
	ISR_NOERR 15    /* reserved */
	ISR_NOERR 16    /* #MF */
	ISR_ERR 17      /* #AC (always 0) */
	ISR_NOERR 18    /* #MC */
	ISR_NOERR 19    /* #XM */
	ISR_NOERR 20    /* #VE */
	ISR_ERR 21      /* #CP */
	ISR_NOERR 22
	ISR_NOERR 23
	ISR_NOERR 24
	ISR_NOERR 25
	ISR_NOERR 26
	ISR_NOERR 27
	ISR_NOERR 28    /* #HV */
	ISR_ERR 29      /* #VC */
	ISR_ERR 30      /* #SX */
	ISR_NOERR 31
	/* Local-APIC interrupts (kernel/cpu/irq.h): no error code. */
	.irp vec, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47
	ISR_NOERR \vec
	.endr
	.irp vec, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63
	ISR_NOERR \vec
	.endr

	.balign 16
	.type trap_common, @function
trap_common:
	cld                     /* the C code assumes DF = 0 */
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp          /* vector and error code */
	iretq
	.size trap_common, . - trap_common

	/* The stubs in vector order, for kernel/cpu/idt.c. */
	.section .rodata
	.balign 8
	.globl isr_stubs
isr_stubs:
	.quad isr_0, isr_1, isr_2, isr_3, isr_4, isr_5, isr_6, isr_7
	.quad isr_8, isr_9, isr_10, isr_11, isr_12, isr_13, isr_14, isr_15
	.quad isr_16, isr_17, isr_18, isr_19, isr_20, isr_21, isr_22, isr_23
	.quad isr_24, isr_25, isr_26, isr_27, isr_28, isr_29, isr_30, isr_31
	.irp vec, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47
	.quad isr_\vec
	.endr
	.irp vec, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63
	.quad isr_\vec
	.endr
