/*
 * The kernel's GDT and its 64-bit TSS.
 *
 * In long mode segmentation is almost gone: the GDT exists for the code
 * segment's L bit, a data selector for SS, and the TSS, whose only job
 * here is the Interrupt Stack Table: the stacks the CPU switches to for
 * the exceptions that must not run on the stack that faulted (#DF, NMI,
 * #MC). The stacks come from the frame allocator, so they are attached
 * after mm_init (gdt_set_ist_stacks); until then those vectors run on the
 * current stack like every other one.
 */
#ifndef KERNEL_GDT_H
#define KERNEL_GDT_H

#include "common/types.h"

/* Selectors. The order matches the PVH entry's GDT (kernel/boot/pvh.S), so the
 * values of CS and SS do not change when this one replaces it. */
#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS       0x18

/* Interrupt Stack Table slots (1-based, as an IDT gate names them). */
#define IST_DF    1
#define IST_NMI   2
#define IST_MC    3
#define IST_COUNT 3
/* Pages per IST stack: room for an exception dump (kprintf's buffer, the
 * page-table walk) on top of the exception frame. */
#define IST_PAGES 4

/* Loads the GDT, reloads CS (far return), DS/ES/SS/FS/GS, and loads the
 * task register. Needs nothing else; call once, as early as possible
 * (LTR marks the TSS busy, a second LTR would #GP). */
void gdt_init(void);

/* Allocates one guarded stack (mm_alloc_stack) per IST slot and stores
 * its top in the TSS. Returns 0 or -ERR_NOMEM. Call after mm_init and
 * before any IDT gate names an IST slot. */
int gdt_set_ist_stacks(void);

/* The stack of IST slot ist (1..IST_COUNT): [*bottom, *top). Returns false
 * before gdt_set_ist_stacks. */
bool gdt_ist_stack(int ist, uint64_t *bottom, uint64_t *top);

/* The task register's selector, as the CPU holds it (STR). */
uint16_t gdt_read_tr(void);

#endif
