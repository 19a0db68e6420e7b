/*
 * The GDT, the TSS and the IST stacks. See gdt.h for the contract.
 */
#include "kernel/cpu/gdt.h"

#include "kernel/boot/layout.h"
#include "kernel/mm/mm.h"

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

/* Segment descriptors with their accessed bits preset, so the CPU never
 * writes to them (LTR still sets the TSS's busy bit, which is why the
 * table is in .data, not .rodata). */
#define DESC_CODE64 0x00af9b000000ffffull /* present, DPL 0, code, L */
#define DESC_DATA   0x00cf93000000ffffull /* present, DPL 0, data, RW */
#define DESC_TSS    0x89ull               /* present, 64-bit TSS, free */

enum { GDT_NULL, GDT_CODE, GDT_DATA, GDT_TSS_LO, GDT_TSS_HI, GDT_ENTRIES };
_Static_assert(GDT_KERNEL_CS == GDT_CODE * 8, "CS selector");
_Static_assert(GDT_KERNEL_DS == GDT_DATA * 8, "DS selector");
_Static_assert(GDT_TSS == GDT_TSS_LO * 8, "TSS selector");

static struct tss tss;
static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static uint64_t ist_bottom[IST_COUNT + 1], ist_top[IST_COUNT + 1];

struct __attribute__((packed)) table_ptr {
	uint16_t limit;
	uint64_t base;
};

/* A system-segment descriptor for the TSS: 16 bytes in long mode, the
 * base split over both halves. */
static void set_tss_descriptor(uint64_t base, uint32_t limit)
{
	gdt[GDT_TSS_LO] = (limit & 0xffffull) | (base & 0xffffffull) << 16 |
			  DESC_TSS << 40 | ((limit >> 16) & 0xfull) << 48 |
			  ((base >> 24) & 0xffull) << 56;
	gdt[GDT_TSS_HI] = base >> 32;
}

void gdt_init(void)
{
	gdt[GDT_CODE] = DESC_CODE64;
	gdt[GDT_DATA] = DESC_DATA;
	/* No I/O bitmap: its offset points past the segment's limit. */
	tss.iomap_base = sizeof(tss);
	set_tss_descriptor((uint64_t)(uintptr_t)&tss, sizeof(tss) - 1);

	struct table_ptr p = {sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt};
	/*
	 * CS cannot be moved into; a far return loads it from the stack.
	 * The data selectors are reloaded so no segment register holds a
	 * selector of the previous GDT (the firmware's, on the UEFI path),
	 * whose memory is reclaimed later. FS and GS get the null selector:
	 * the kernel does not use them.
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

int gdt_set_ist_stacks(void)
{
	for (int i = 1; i <= IST_COUNT; i++) {
		uint64_t top = mm_alloc_stack(IST_PAGES, NULL);
		if (!top)
			return -ERR_NOMEM;
		ist_top[i] = top;
		ist_bottom[i] = top - IST_PAGES * PAGE_SIZE;
		/* The CPU reads ist[] from memory at each delivery: no
		 * reload of TR is needed. */
		tss.ist[i - 1] = top;
	}
	return 0;
}

bool gdt_ist_stack(int ist, uint64_t *bottom, uint64_t *top)
{
	if (ist < 1 || ist > IST_COUNT || !ist_top[ist])
		return false;
	*bottom = ist_bottom[ist];
	*top = ist_top[ist];
	return true;
}

uint16_t gdt_read_tr(void)
{
	uint16_t tr;
	__asm__ volatile("str %0" : "=r"(tr));
	return tr;
}
