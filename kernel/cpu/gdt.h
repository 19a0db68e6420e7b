/*
 * The GDT and the 64-bit TSS, one set per CPU (each CPU's TSS holds its
 * own IST stacks, and LTR marks a TSS busy, so no two CPUs can share one).
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

#include "common/lib/types.h"

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

/* The 64-bit TSS (SDM Vol. 3A, 8.7). Only ist[] is used: there is no
 * ring 3, so rsp0-2 are never loaded, and no I/O bitmap. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS layout");

/* null, code, data, and the TSS's 16-byte descriptor */
#define GDT_ENTRIES 5

/* One CPU's tables (in its struct percpu). */
struct cpu_gdt {
	uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss tss;
	uint64_t ist_bottom[IST_COUNT + 1], ist_top[IST_COUNT + 1];
};

/* Fills g and loads it on this CPU: LGDT, CS (far return), DS/ES/SS, the
 * null selector in FS and GS (whose bases percpu.c sets through their
 * MSRs afterwards), and the task register. Needs nothing else; once per
 * CPU (LTR marks the TSS busy, a second LTR would #GP). */
void gdt_init(struct cpu_gdt *g);

/* Allocates one guarded stack (mm_alloc_stack) per IST slot of g and
 * stores its top in g's TSS. Returns 0 or -ERR_NOMEM. Call after mm_init
 * and before an IDT gate naming an IST slot can be taken on g's CPU (the
 * boot CPU allocates them for the others before starting them). */
int gdt_set_ist_stacks(struct cpu_gdt *g);

/* The stack of IST slot ist (1..IST_COUNT) of this CPU, or of g:
 * [*bottom, *top). Returns false before gdt_set_ist_stacks. */
bool gdt_ist_stack(int ist, uint64_t *bottom, uint64_t *top);
bool gdt_ist_stack_of(const struct cpu_gdt *g, int ist, uint64_t *bottom,
		      uint64_t *top);

/* The GDTR's base, as this CPU holds it (SGDT). */
uint64_t gdt_read_base(void);

/* The task register's selector, as the CPU holds it (STR). */
uint16_t gdt_read_tr(void);

#endif
