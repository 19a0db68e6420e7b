/*
 * The IDT. See idt.h for the contract.
 */
#include "kernel/cpu/idt.h"

#include "kernel/cpu/gdt.h"
#include "kernel/cpu/trap.h"

/* A 64-bit interrupt gate (SDM Vol. 3A, 6.14.1). */
struct gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist; /* bits 2:0 */
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct gate) == 16, "64-bit gate layout");

/* Present, DPL 0, 64-bit interrupt gate: IF is cleared on entry, so no
 * handler is interrupted by another interrupt. */
#define GATE_INTERRUPT 0x8e

/* kernel/cpu/isr.S: the stubs' addresses, in vector order. */
extern const uint64_t isr_stubs[IDT_VECTORS];

static struct gate idt[IDT_VECTORS] __attribute__((aligned(16)));

static void set_gate(uint32_t v, uint64_t handler, int ist)
{
	idt[v] = (struct gate){
	    .offset_lo = (uint16_t)handler,
	    .selector = GDT_KERNEL_CS,
	    .ist = (uint8_t)ist,
	    .type_attr = GATE_INTERRUPT,
	    .offset_mid = (uint16_t)(handler >> 16),
	    .offset_hi = (uint32_t)(handler >> 32),
	};
}

void idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} p = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};

	__asm__ volatile("lidt %0" : : "m"(p) : "memory");
}

void idt_init(void)
{
	for (uint32_t v = 0; v < IDT_VECTORS; v++)
		set_gate(v, isr_stubs[v], 0);
	idt_load();
}

void idt_use_ist(void)
{
	/* The CPU reads a gate at each delivery: changing the table in
	 * place needs no reload. */
	idt[TRAP_DF].ist = IST_DF;
	idt[TRAP_NMI].ist = IST_NMI;
	idt[TRAP_MC].ist = IST_MC;
	__asm__ volatile("" : : : "memory"); /* stored before anything faults */
}

int idt_gate_ist(uint32_t v)
{
	return v < IDT_VECTORS ? idt[v].ist & 7 : 0;
}
