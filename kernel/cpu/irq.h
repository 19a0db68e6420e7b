/*
 * Interrupt vectors and their handlers.
 *
 * Every interrupt the kernel takes comes from a local APIC: its timer,
 * its error interrupt, its spurious vector, and IPIs other CPUs send. The
 * vectors sit just above the exceptions, inside the IDT's 64 entries
 * (kernel/cpu/idt.h), in one priority class each where it matters: the
 * TLB shootdown above the timer, so a CPU that is behind on ticks still
 * answers a shootdown first.
 */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include "common/lib/types.h"

#define VEC_TIMER    0x20 /* the local APIC timer's tick */
#define VEC_CALL     0x21 /* IPI: run this CPU's posted call (smp.c) */
#define VEC_TLB      0x30 /* IPI: TLB shootdown (kernel/cpu/shootdown.c) */
#define VEC_APIC_ERR 0x3e /* the local APIC's error interrupt */
/* Spurious: its low four bits must be 1 on P6-family APICs. It gets no
 * EOI (the APIC set no in-service bit for it). */
#define VEC_SPURIOUS 0x3f

typedef void (*irq_handler_fn)(void);

/* Sets the handler of vector (32..63). Handlers run with interrupts off
 * on the current stack, must not print or take locks a non-interrupt
 * path holds, and get their EOI from irq_dispatch after they return. */
void irq_set_handler(uint32_t vector, irq_handler_fn fn);

/* From trap_dispatch, for vectors 32 and up: runs the handler and sends
 * the EOI; counts a vector without a handler (irqs_unexpected) and
 * acknowledges it the same way; the spurious vector is only counted. */
void irq_dispatch(uint64_t vector);

/* Spurious interrupts taken on every CPU. */
uint64_t irq_spurious_count(void);

#define RFLAGS_IF (1ull << 9)

/* Interrupts off, returning the flags to give irq_restore. */
static inline uint64_t irq_save(void)
{
	uint64_t f;
	__asm__ volatile("pushfq\n\tpopq %0\n\tcli" : "=r"(f) : : "memory");
	return f;
}

static inline void irq_restore(uint64_t flags)
{
	if (flags & RFLAGS_IF)
		__asm__ volatile("sti" : : : "memory");
}

static inline void irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}

#endif
