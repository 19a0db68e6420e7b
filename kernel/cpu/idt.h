/*
 * The IDT: one interrupt gate per CPU exception vector (0-31), each
 * pointing at its stub in kernel/cpu/isr.S.
 *
 * Only the 32 exception vectors exist: the kernel enables no interrupt
 * source, so any other vector can come only from a stray `int n`. The
 * IDT's limit stops after vector 31, so such a vector raises #GP with the
 * IDT bit and the vector in its error code, which the exception dump
 * decodes, instead of jumping through an empty gate.
 */
#ifndef KERNEL_IDT_H
#define KERNEL_IDT_H

#include "common/types.h"

#define IDT_VECTORS 32

/* Fills and loads the IDT. Every gate runs on the current stack until
 * idt_use_ist; needs the GDT (gdt_init) for its code selector. */
void idt_init(void);

/* Switches #DF, NMI and #MC to their IST stacks. Call only once the TSS
 * holds those stacks (gdt_set_ist_stacks): a gate naming an empty IST slot
 * would load rsp = 0 and escalate to a triple fault. */
void idt_use_ist(void);

/* The IST slot the gate of vector v uses now (0: the current stack). */
int idt_gate_ist(uint32_t v);

#endif
