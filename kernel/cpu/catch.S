/*
 * catch_call(fn, arg, out): the assembly half of run_catching
 * (kernel/cpu/catch.c). Calls fn(arg) with a catch record on its own stack and
 * returns 0; when an exception is caught, catch_fixup makes the exception
 * return land at catch_resume with rsp pointing at the record, and
 * catch_call returns 1 from there.
 *
 * The record (struct catch_record in catch.c) sits just below the saved
 * callee-saved registers, so the record's address is also the rsp to
 * resume with, and both exits share the same epilogue. Records form a
 * stack through this CPU's catch_top (struct percpu, reached through
 * GS), so calls nest, and each CPU catches its own exceptions. The record
 * also keeps RFLAGS as it was at the call, so a caught fault returns with
 * the interrupt flag the caller had.
 *
 * SysV: rdi = fn, rsi = arg, rdx = out.
 */
#include "kernel/cpu/percpu.h"

#define RECORD_PREV   0
#define RECORD_OUT    8
#define RECORD_RFLAGS 16
#define RECORD_SIZE   24 /* keeps rsp 16-byte aligned at the call */

	.text
	.globl catch_call, catch_resume
	.type catch_call, @function
catch_call:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $RECORD_SIZE, %rsp
	movq %gs:PERCPU_CATCH_TOP, %rax
	movq %rax, RECORD_PREV(%rsp)
	movq %rdx, RECORD_OUT(%rsp)
	pushfq
	popq RECORD_RFLAGS(%rsp)
	movq %rsp, %gs:PERCPU_CATCH_TOP
	movq %rdi, %rax
	movq %rsi, %rdi
	call *%rax
	xorl %eax, %eax
	jmp 1f
catch_resume:
	movl $1, %eax
1:	movq RECORD_PREV(%rsp), %rcx
	movq %rcx, %gs:PERCPU_CATCH_TOP
	addq $RECORD_SIZE, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size catch_call, . - catch_call
