/*
 * The GDT, the TSS and the IST stacks, per CPU. See gdt.h for the
 * contract.
 */
#include "kernel/cpu/gdt.h"

#include "kernel/boot/layout.h"
#include "kernel/cpu/percpu.h"
#include "kernel/mm/mm.h"

/* Segment descriptors with their accessed bits preset, so the CPU never
 * writes to them (LTR still sets the TSS's busy bit, which is why the
 * table is in .data, not .rodata). */
#define DESC_CODE64 0x00af9b000000ffffull /* present, DPL 0, code, L */
#define DESC_DATA   0x00cf93000000ffffull /* present, DPL 0, data, RW */
#define DESC_TSS    0x89ull               /* present, 64-bit TSS, free */

enum { GDT_NULL, GDT_CODE, GDT_DATA, GDT_TSS_LO, GDT_TSS_HI, GDT_COUNT };
_Static_assert(GDT_COUNT == GDT_ENTRIES, "GDT size");
_Static_assert(GDT_KERNEL_CS == GDT_CODE * 8, "CS selector");
_Static_assert(GDT_KERNEL_DS == GDT_DATA * 8, "DS selector");
_Static_assert(GDT_TSS == GDT_TSS_LO * 8, "TSS selector");

struct __attribute__((packed)) table_ptr {
	uint16_t limit;
	uint64_t base;
};

/* A system-segment descriptor for the TSS: 16 bytes in long mode, the
 * base split over both halves. */
static void set_tss_descriptor(uint64_t *gdt, uint64_t base, uint32_t limit)
{
	gdt[GDT_TSS_LO] = (limit & 0xffffull) | (base & 0xffffffull) << 16 |
			  DESC_TSS << 40 | ((limit >> 16) & 0xfull) << 48 |
			  ((base >> 24) & 0xffull) << 56;
	gdt[GDT_TSS_HI] = base >> 32;
}

void gdt_init(struct cpu_gdt *g)
{
	g->gdt[GDT_NULL] = 0;
	g->gdt[GDT_CODE] = DESC_CODE64;
	g->gdt[GDT_DATA] = DESC_DATA;
	/* No I/O bitmap: its offset points past the segment's limit. */
	g->tss.iomap_base = sizeof(g->tss);
	set_tss_descriptor(g->gdt, (uint64_t)(uintptr_t)&g->tss,
			   sizeof(g->tss) - 1);

	struct table_ptr p = {sizeof(g->gdt) - 1, (uint64_t)(uintptr_t)g->gdt};
	/*
	 * CS cannot be moved into; a far return loads it from the stack.
	 * The data selectors are reloaded so no segment register holds a
	 * selector of the previous GDT (the firmware's, on the UEFI path),
	 * whose memory is reclaimed later. FS and GS get the null selector:
	 * only GS's base is used (this CPU's struct percpu), set through
	 * its MSR after this, as a null selector may clear it.
	 */
	__asm__ volatile("lgdt %[p]\n\t"
			 "pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl %[ds], %%eax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs\n\t"
			 "ltr %w[tr]"
			 :
			 : [p] "m"(p), [cs] "i"(GDT_KERNEL_CS),
			   [ds] "i"(GDT_KERNEL_DS), [tr] "r"(GDT_TSS)
			 : "rax", "memory");
}

int gdt_set_ist_stacks(struct cpu_gdt *g)
{
	for (int i = 1; i <= IST_COUNT; i++) {
		uint64_t top = mm_alloc_stack(IST_PAGES, NULL);
		if (!top)
			return -ERR_NOMEM;
		g->ist_top[i] = top;
		g->ist_bottom[i] = top - IST_PAGES * PAGE_SIZE;
		/* The CPU reads ist[] from memory at each delivery: no
		 * reload of TR is needed. */
		g->tss.ist[i - 1] = top;
	}
	return 0;
}

bool gdt_ist_stack_of(const struct cpu_gdt *g, int ist, uint64_t *bottom,
		      uint64_t *top)
{
	if (ist < 1 || ist > IST_COUNT || !g->ist_top[ist])
		return false;
	*bottom = g->ist_bottom[ist];
	*top = g->ist_top[ist];
	return true;
}

bool gdt_ist_stack(int ist, uint64_t *bottom, uint64_t *top)
{
	return gdt_ist_stack_of(&this_cpu()->gdt, ist, bottom, top);
}

uint64_t gdt_read_base(void)
{
	struct table_ptr p;
	__asm__ volatile("sgdt %0" : "=m"(p));
	return p.base;
}

uint16_t gdt_read_tr(void)
{
	uint16_t tr;
	__asm__ volatile("str %0" : "=r"(tr));
	return tr;
}
