/*
 * The IDT, one for every CPU: an interrupt gate per CPU exception vector
 * (0-31) and per local-APIC interrupt vector (32-63: the timer, IPIs,
 * the APIC's error and spurious vectors, kernel/cpu/irq.h), each pointing
 * at its stub in kernel/cpu/isr.S.
 *
 * Nothing sends a vector above 63 (the 8259s are masked, no IOAPIC input
 * is programmed), so one could come only from a stray `int n`. The IDT's
 * limit stops after vector 63, so such a vector raises #GP with the IDT
 * bit and the vector in its error code, which the exception dump
 * decodes, instead of jumping through an empty gate.
 */
#ifndef KERNEL_IDT_H
#define KERNEL_IDT_H

#include "common/lib/types.h"

#define IDT_VECTORS    64
#define IDT_EXCEPTIONS 32 /* vectors 0-31: CPU exceptions */

/* Fills and loads the IDT. Every gate runs on the current stack until
 * idt_use_ist; needs the GDT (gdt_init) for its code selector. */
void idt_init(void);

/* Loads the IDT idt_init filled on this CPU (an AP). */
void idt_load(void);

/* Switches #DF, NMI and #MC to their IST stacks. Call only once the TSS
 * holds those stacks (gdt_set_ist_stacks): a gate naming an empty IST slot
 * would load rsp = 0 and escalate to a triple fault. */
void idt_use_ist(void);

/* The IST slot the gate of vector v uses now (0: the current stack). */
int idt_gate_ist(uint32_t v);

#endif
