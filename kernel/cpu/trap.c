/*
 * Exception dispatch and the exception dump. See trap.h.
 *
 * The dump is the one place a kernel bug explains itself, so it decodes
 * rather than lists: the vector's name, the error code bit by bit, for a
 * #PF the faulting address and its walk through the live tables, where
 * each address lies (kernel text, a stack, the direct map...), every
 * register and a frame-pointer backtrace. It reads memory only after
 * checking the address is mapped, so a corrupt rbp cannot turn the dump
 * into a second fault.
 */
#include "kernel/cpu/trap.h"

#include "common/lib/fmt.h"
#include "common/mm/paging.h"
#include "kernel/boot/layout.h"
#include "kernel/boot/panic.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/catch.h"
#include "kernel/cpu/gdt.h"
#include "kernel/cpu/idt.h"
#include "kernel/cpu/irq.h"
#include "kernel/cpu/percpu.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/ptdump.h"

#define BACKTRACE_MAX 16

struct vector_info {
	const char *mnemonic;
	const char *name;
	bool error_code;
};

static const struct vector_info vectors[IDT_VECTORS] = {
    [TRAP_DE] = {"#DE", "divide error", false},
    [TRAP_DB] = {"#DB", "debug", false},
    [TRAP_NMI] = {"NMI", "non-maskable interrupt", false},
    [TRAP_BP] = {"#BP", "breakpoint", false},
    [TRAP_OF] = {"#OF", "overflow", false},
    [TRAP_BR] = {"#BR", "bound range exceeded", false},
    [TRAP_UD] = {"#UD", "invalid opcode", false},
    [TRAP_NM] = {"#NM", "device not available", false},
    [TRAP_DF] = {"#DF", "double fault", true},
    [9] = {"#CSO", "coprocessor segment overrun", false},
    [TRAP_TS] = {"#TS", "invalid TSS", true},
    [TRAP_NP] = {"#NP", "segment not present", true},
    [TRAP_SS] = {"#SS", "stack-segment fault", true},
    [TRAP_GP] = {"#GP", "general protection", true},
    [TRAP_PF] = {"#PF", "page fault", true},
    [TRAP_MF] = {"#MF", "x87 floating-point error", false},
    [TRAP_AC] = {"#AC", "alignment check", true},
    [TRAP_MC] = {"#MC", "machine check", false},
    [TRAP_XM] = {"#XM", "SIMD floating-point exception", false},
    [TRAP_VE] = {"#VE", "virtualization exception", false},
    [TRAP_CP] = {"#CP", "control protection", true},
    [TRAP_HV] = {"#HV", "hypervisor injection", false},
    [TRAP_VC] = {"#VC", "VMM communication", true},
    [TRAP_SX] = {"#SX", "security exception", true},
};

const char *trap_mnemonic(uint64_t v)
{
	return v < IDT_VECTORS && vectors[v].mnemonic ? vectors[v].mnemonic
						      : "#?";
}

const char *trap_name(uint64_t v)
{
	return v < IDT_VECTORS && vectors[v].name ? vectors[v].name
						  : "reserved vector";
}

bool trap_has_error_code(uint64_t v)
{
	return v < IDT_VECTORS && vectors[v].error_code;
}

/* Appends to buf at *len, keeping it NUL-terminated. */
static void append(char *buf, size_t cap, size_t *len, const char *s)
{
	while (*s && *len + 1 < cap)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

static void pf_text(char *buf, size_t cap, uint64_t err)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {{PF_P, " P"},       {PF_W, " W"},    {PF_U, " U"},
		    {PF_RSVD, " RSVD"}, {PF_I, " I"},    {PF_PK, " PK"},
		    {PF_SS, " SS"},     {PF_SGX, " SGX"}};
	size_t len = fmt_snprintf(buf, cap, "0x%lx:", err);
	if (len >= cap)
		len = cap - 1;
	bool any = false;
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if (err & bits[i].bit) {
			append(buf, cap, &len, bits[i].name);
			any = true;
		}
	if (!any)
		append(buf, cap, &len, " none");
	append(buf, cap, &len, (err & PF_U) ? " -- ring 3 " : " -- ring 0 ");
	append(buf, cap, &len,
	       (err & PF_SS)  ? "shadow-stack access"
	       : (err & PF_I) ? "instruction fetch"
	       : (err & PF_W) ? "write"
			      : "read");
	append(buf, cap, &len,
	       (err & PF_RSVD) ? ", reserved bit set in a paging entry"
	       : (err & PF_PK) ? ", protection key forbids it"
	       : (err & PF_P)  ? ", page present: protection violation"
			       : ", page not present");
}

static void selector_text(char *buf, size_t cap, uint64_t err)
{
	const char *ext =
	    (err & SEL_EXT) ? ", while delivering an external event" : "";
	if (err == 0)
		fmt_snprintf(buf, cap, "0x0 (no selector)");
	else if (err & SEL_IDT)
		fmt_snprintf(buf, cap, "0x%lx: IDT vector 0x%x%s", err,
			     (uint32_t)SEL_INDEX(err), ext);
	else
		fmt_snprintf(buf, cap, "0x%lx: %s index %u (selector 0x%x)%s",
			     err, (err & SEL_TI) ? "LDT" : "GDT",
			     (uint32_t)SEL_INDEX(err), (uint32_t)(err & ~7ull),
			     ext);
}

void trap_error_text(char *buf, size_t cap, uint64_t vector, uint64_t err)
{
	static const char *const cp_kinds[] = {
	    "?",        "near RET", "far RET or IRET", "missing ENDBRANCH",
	    "RSTORSSP", "SETSSBSY"};

	if (!trap_has_error_code(vector)) {
		buf[0] = '\0';
		return;
	}
	switch (vector) {
	case TRAP_PF:
		pf_text(buf, cap, err);
		break;
	case TRAP_TS:
	case TRAP_NP:
	case TRAP_SS:
	case TRAP_GP:
		selector_text(buf, cap, err);
		break;
	case TRAP_CP:
		fmt_snprintf(buf, cap, "0x%lx: %s%s", err,
			     cp_kinds[(err & 0x7fff) <= 5 ? err & 0x7fff : 0],
			     (err & (1u << 15)) ? " in an enclave" : "");
		break;
	default:
		fmt_snprintf(buf, cap, "0x%lx%s", err,
			     err == 0 ? " (always 0 for this vector)" : "");
	}
}

/* Where va is, in the kernel's layout. */
static const char *where(uint64_t va)
{
	if (!va_canonical(va))
		return "non-canonical";
	if (va < PAGE_SIZE)
		return "null page";
	if (va < (1ull << 47))
		return "lower half";
	if (va >= (uint64_t)(uintptr_t)__text_start &&
	    va < (uint64_t)(uintptr_t)__text_end)
		return "kernel text";
	if (va >= (uint64_t)(uintptr_t)__rodata_start &&
	    va < (uint64_t)(uintptr_t)__rodata_end)
		return "kernel rodata";
	if (va >= (uint64_t)(uintptr_t)__data_start &&
	    va < (uint64_t)(uintptr_t)__bss_end)
		return "kernel data/bss";
	if (va >= DMAP_BASE && va < DMAP_END)
		return "direct-map area";
	if (va >= SELFTEST_BASE && va < SELFTEST_END)
		return "self-test scratch area";
	if (va >= MMIO_BASE && va < MMIO_END)
		return "MMIO area";
	if (va >= STACKS_BASE && va < STACKS_END)
		return "kernel stacks area";
	return "outside the kernel's layout";
}

/* True when [va, va + len) is mapped in the live tables (len <= 4 KiB). */
static bool mapped(uint64_t va, uint64_t len)
{
	struct page_table live;
	mm_live_tables(&live);
	return pt_translate(&live, va, NULL, NULL, NULL, NULL) == 0 &&
	       pt_translate(&live, va + len - 1, NULL, NULL, NULL, NULL) == 0;
}

/* The rbp chain (the kernel is built with frame pointers; the entries
 * and call_on_stack end it with rbp = 0). Repeats, as in a runaway
 * recursion, are printed once with a count. */
static void backtrace(uint64_t rip, uint64_t rbp)
{
	uint64_t pc[BACKTRACE_MAX + 1];
	uint32_t n = 0;
	char line[(BACKTRACE_MAX + 1) * 24 + 1];
	size_t len = 0;

	pc[n++] = rip;
	while (n < ARRAY_SIZE(pc) && rbp && (rbp & 7) == 0 &&
	       va_canonical(rbp) && mapped(rbp, 16)) {
		const uint64_t *fp = (const uint64_t *)(uintptr_t)rbp;
		if (!fp[1])
			break;
		pc[n++] = fp[1];
		if (fp[0] <= rbp) /* callers' frames are above */
			break;
		rbp = fp[0];
	}
	line[0] = '\0';
	for (uint32_t i = 0; i < n && len < sizeof(line);) {
		uint32_t same = 1;
		while (i + same < n && pc[i + same] == pc[i])
			same++;
		len += fmt_snprintf(line + len, sizeof(line) - len,
				    same > 1 ? " %016lx (x%u)" : " %016lx",
				    pc[i], same);
		i += same;
	}
	kprintf("  backtrace:%s%s\n", line, n == ARRAY_SIZE(pc) ? " ..." : "");
}

/* Which stack the handler runs on, for the exceptions that switch. */
static void report_stack(const struct trap_frame *f)
{
	int ist = idt_gate_ist((uint32_t)f->vector);
	uint64_t bottom, top;
	if (ist && gdt_ist_stack(ist, &bottom, &top))
		kprintf("  handler on IST%d stack %016lx-%016lx (frame at "
			"%016lx)\n",
			ist, bottom, top, (uint64_t)(uintptr_t)f);
}

/* For #PF the address is CR2's; a #DF that follows a failed #PF delivery
 * (a stack overflow) leaves CR2 naming the page the CPU could not push
 * to, which is worth showing too. */
static void report_cr2(const struct trap_frame *f, uint64_t cr2)
{
	if (f->vector != TRAP_PF && f->vector != TRAP_DF)
		return;
	kprintf("  cr2 %016lx (%s)%s\n", cr2, where(cr2),
		f->vector == TRAP_DF ? ", from the last page fault" : "");
	ptdump_walk(cr2);
	if (f->vector == TRAP_DF && cr2 >= STACKS_BASE && cr2 < STACKS_END &&
	    !mapped(cr2, 1))
		kprintf("  cr2 is an unmapped page of the stacks area: a "
			"kernel stack overflowed into its guard page\n");
}

/* cr2 as it was when f's exception came (a later fault changes it). */
static void dump(const struct trap_frame *f, uint64_t cr2)
{
	char err[128];
	kprintf("panic: trap: %s (%s, vector %lu) in ring %lu\n",
		trap_name(f->vector), trap_mnemonic(f->vector), f->vector,
		f->cs & 3);
	if (trap_has_error_code(f->vector)) {
		trap_error_text(err, sizeof(err), f->vector, f->error);
		kprintf("  error code %s\n", err);
	}
	report_cr2(f, cr2);
	kprintf("  rip %016lx (%s)  cs %04lx  rflags %016lx\n", f->rip,
		where(f->rip), f->cs, f->rflags);
	kprintf("  rsp %016lx (%s)  ss %04lx\n", f->rsp, where(f->rsp), f->ss);
	kprintf("  rax %016lx  rbx %016lx  rcx %016lx\n", f->rax, f->rbx,
		f->rcx);
	kprintf("  rdx %016lx  rsi %016lx  rdi %016lx\n", f->rdx, f->rsi,
		f->rdi);
	kprintf("  rbp %016lx  r8  %016lx  r9  %016lx\n", f->rbp, f->r8, f->r9);
	kprintf("  r10 %016lx  r11 %016lx  r12 %016lx\n", f->r10, f->r11,
		f->r12);
	kprintf("  r13 %016lx  r14 %016lx  r15 %016lx\n", f->r13, f->r14,
		f->r15);
	kprintf("  cr0 %016lx  cr3 %016lx  cr4 %016lx\n", read_cr0(),
		read_cr3(), read_cr4());
	if (percpu_online_count() > 1)
		kprintf("  on cpu %u (APIC id %u)\n", this_cpu()->index,
			this_cpu()->apic_id);
	report_stack(f);
	backtrace(f->rip, f->rbp);
}

/* 1 + the number of the first CPU whose exception was not caught. */
static uint32_t crashed_cpu;

void trap_dispatch(struct trap_frame *f)
{
	/* Exceptions this CPU dumped so far. A second one is a fault in the
	 * dump itself: the screen's faults never get here (console.c draws
	 * under run_catching), and dumping again would fault again. */
	uint32_t *depth = &this_cpu()->trap_depth;
	uint64_t cr2;

	if (f->vector >= IDT_EXCEPTIONS) {
		irq_dispatch(f->vector);
		return;
	}
	if (catch_fixup(f))
		return;
	/* One CPU reports: the first to crash. Any other stops here, so
	 * two dumps do not interleave on the console. */
	uint32_t owner = 0, mine = this_cpu()->index + 1;
	if (!__atomic_compare_exchange_n(&crashed_cpu, &owner, mine, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
	    owner != mine)
		halt_forever();
	if ((*depth)++)
		panic("trap",
		      "%s (vector %lu) at rip %016lx, cr2 %016lx, while "
		      "dumping an exception",
		      trap_mnemonic(f->vector), f->vector, f->rip, read_cr2());
	/* Now: a fault the dump catches (the screen's) changes CR2. */
	cr2 = read_cr2();
	dump(f, cr2);
	panic("trap", "unhandled %s at rip %016lx: halted",
	      trap_mnemonic(f->vector), f->rip);
}

/* Silent: it runs before the boot banner; trap_init_stacks reports. */
void trap_init(void)
{
	percpu_init_boot(); /* the boot CPU's GDT, TSS and GS base */
	idt_init();
}

void trap_init_stacks(void)
{
	uint64_t bottom[IST_COUNT + 1], top[IST_COUNT + 1];

	if (gdt_set_ist_stacks(&this_cpu()->gdt))
		panic("trap", "no memory for the IST stacks");
	idt_use_ist();
	for (int i = 1; i <= IST_COUNT; i++)
		gdt_ist_stack(i, &bottom[i], &top[i]);
	kprintf("kernel: traps: GDT, TSS, IDT (%u vectors); IST stacks with "
		"guard pages: #DF 0x%lx, NMI 0x%lx, #MC 0x%lx (%lu KiB each)\n",
		(uint32_t)IDT_VECTORS, bottom[IST_DF], bottom[IST_NMI],
		bottom[IST_MC], (uint64_t)IST_PAGES * PAGE_SIZE >> 10);
}
