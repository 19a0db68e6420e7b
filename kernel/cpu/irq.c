/*
 * Interrupt dispatch. See irq.h.
 */
#include "kernel/cpu/irq.h"

#include "kernel/cpu/apic.h"
#include "kernel/cpu/idt.h"
#include "kernel/cpu/percpu.h"

static irq_handler_fn handlers[IDT_VECTORS - IDT_EXCEPTIONS];
static uint64_t spurious;

void irq_set_handler(uint32_t vector, irq_handler_fn fn)
{
	if (vector >= IDT_EXCEPTIONS && vector < IDT_VECTORS)
		handlers[vector - IDT_EXCEPTIONS] = fn;
}

void irq_dispatch(uint64_t vector)
{
	if (vector == VEC_SPURIOUS) {
		__atomic_fetch_add(&spurious, 1, __ATOMIC_RELAXED);
		return;
	}
	irq_handler_fn fn =
	    vector < IDT_VECTORS ? handlers[vector - IDT_EXCEPTIONS] : NULL;
	if (fn)
		fn();
	else
		this_cpu()->irqs_unexpected++;
	apic_eoi();
}

uint64_t irq_spurious_count(void)
{
	return __atomic_load_n(&spurious, __ATOMIC_RELAXED);
}
