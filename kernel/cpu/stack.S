/*
 * call_on_stack(arg, fn, top): calls fn(arg) with rsp = top and returns
 * fn's return value on the caller's own stack. Used to move the kernel to
 * a stack with a guard page below it, and by self-tests that need a stack
 * they may overflow.
 *
 * SysV: rdi = arg, rsi = fn, rdx = top (16-byte aligned). The caller's
 * rsp is kept in rbx (callee-saved, so fn preserves it).
 */
	.text
	.globl call_on_stack
	.type call_on_stack, @function
call_on_stack:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %rbx              /* keep 16-byte alignment */
	movq %rsp, %rbx
	movq %rdx, %rsp
	xorl %ebp, %ebp         /* backtraces end at the stack switch */
	call *%rsi
	movq %rbx, %rsp
	popq %rbx
	popq %rbx
	popq %rbp
	ret
	.size call_on_stack, . - call_on_stack
