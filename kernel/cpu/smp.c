/*
 * Starting the APs, and calls to them. See smp.h; the trampoline's side
 * is kernel/cpu/trampoline.S.
 */
#include "kernel/cpu/smp.h"

#include "common/lib/fmt.h"
#include "common/lib/string.h"
#include "kernel/boot/handoff.h"
#include "kernel/boot/layout.h"
#include "kernel/boot/panic.h"
#include "kernel/boot/report.h"
#include "kernel/cpu/apic.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/cpu.h"
#include "kernel/cpu/idt.h"
#include "kernel/cpu/irq.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/shootdown.h"
#include "kernel/cpu/timer.h"
#include "kernel/cpu/trampoline.h"
#include "kernel/cpu/tsc.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/ptdump.h"

#define INIT_DELAY_US 10000 /* INIT to SIPI (SDM Vol. 3A, 8.4.4.1) */
#define SIPI_DELAY_US 200   /* after each SIPI */

static uint64_t startup_cycles;
static const struct cpu_features *boot_features;

uint64_t smp_startup_cycles(void)
{
	return startup_cycles;
}

/* --- calls --- */

static void wake(void)
{
	/* Nothing to do: the interrupt itself ends the AP's hlt. */
}

int smp_call(uint32_t cpu, void (*fn)(void *), void *arg)
{
	const char *why;
	if (cpu >= SMP_MAX_CPUS || cpu == this_cpu()->index)
		return -ERR_INVALID;
	struct percpu *c = percpu_get(cpu);
	if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CPU_ONLINE)
		return -ERR_INVALID;
	if (__atomic_load_n(&c->call_fn, __ATOMIC_ACQUIRE))
		return -ERR_EXISTS;
	c->call_arg = arg;
	__atomic_store_n(&c->call_fn, fn, __ATOMIC_RELEASE);
	if (apic_send_ipi(c->apic_id, ICR_FIXED | VEC_CALL, &why))
		panic("smp",
		      "call IPI to cpu %u (APIC id %u) not delivered: %s", cpu,
		      c->apic_id, why);
	return 0;
}

void smp_kick(uint32_t cpu)
{
	const char *why;
	struct percpu *c = percpu_get(cpu);
	if (apic_send_ipi(c->apic_id, ICR_FIXED | VEC_CALL, &why))
		panic("smp",
		      "wake-up IPI to cpu %u (APIC id %u) not "
		      "delivered: %s",
		      cpu, c->apic_id, why);
}

bool smp_call_wait(uint32_t cpu, uint64_t timeout_us)
{
	struct percpu *c = percpu_get(cpu);
	uint64_t end = tsc_deadline(timeout_us);
	while (__atomic_load_n(&c->call_fn, __ATOMIC_ACQUIRE)) {
		if (tsc_passed(end))
			return false;
		cpu_pause();
	}
	return true;
}

int smp_run_all(void (*fn)(void *), void *arg, uint64_t timeout_us)
{
	uint64_t others = percpu_online_mask() & ~(1ull << this_cpu()->index);
	uint64_t posted = 0;
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++)
		if ((others & (1ull << i)) && smp_call(i, fn, arg) == 0)
			posted |= 1ull << i;
	fn(arg);
	int late = -1;
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
		if (!(others & (1ull << i)))
			continue;
		if (!(posted & (1ull << i)) || !smp_call_wait(i, timeout_us)) {
			if (late < 0)
				late = (int)i;
			timeout_us = 0; /* the deadline is gone for all */
		}
	}
	return late;
}

/* An online AP: runs posted calls with interrupts on, sleeps otherwise.
 * `sti; hlt` lets no interrupt in between: one that arrives after the
 * check wakes the hlt. */
static __attribute__((noreturn)) void idle(struct percpu *c)
{
	for (;;) {
		cli();
		void (*fn)(void *) =
		    __atomic_load_n(&c->call_fn, __ATOMIC_ACQUIRE);
		if (!fn) {
			__asm__ volatile("sti\n\thlt" : : : "memory");
			continue;
		}
		irq_enable();
		fn(c->call_arg);
		__atomic_store_n(&c->call_fn, NULL, __ATOMIC_RELEASE);
	}
}

/* --- the AP's side --- */

/* Appends "NAME missing" (or "extra": this CPU has it, the boot CPU
 * not) to c->differs when the two differ. */
static void differ(struct percpu *c, const char *name, bool boot, bool mine)
{
	if (boot == mine)
		return;
	size_t len = str_len(c->differs);
	fmt_snprintf(c->differs + len, sizeof(c->differs) - len, "%s%s %s",
		     len ? ", " : "", name, mine ? "extra" : "missing");
}

/* The features the kernel uses, this CPU's against the boot CPU's. */
static void compare(struct percpu *c, const struct cpu_features *b)
{
	const struct cpu_features *f = &c->features;
	differ(c, "vendor", true, str_eq(f->vendor, b->vendor));
	differ(c, "MAXPHYADDR", true, f->maxphyaddr == b->maxphyaddr);
	differ(c, "NX", b->nx, f->nx);
	differ(c, "1 GiB pages", b->page1g, f->page1g);
	differ(c, "PGE", b->pge, f->pge);
	differ(c, "PAT", b->pat, f->pat);
	differ(c, "SMEP", b->smep, f->smep);
	differ(c, "SMAP", b->smap, f->smap);
	differ(c, "UMIP", b->umip, f->umip);
	differ(c, "x2APIC", b->x2apic, f->x2apic);
	differ(c, "invariant TSC", b->invariant_tsc, f->invariant_tsc);
}

/* CR4's protections the boot CPU turned on (cpu_protect), where this CPU
 * has them too. */
static void protect(const struct cpu_features *f)
{
	const struct cpu_features *b = boot_features;
	uint64_t cr4 = read_cr4();
	if (b->pge && f->pge)
		cr4 |= CR4_PGE;
	if (b->smep && f->smep)
		cr4 |= CR4_SMEP;
	if (b->smap && f->smap)
		cr4 |= CR4_SMAP;
	if (b->umip && f->umip)
		cr4 |= CR4_UMIP;
	write_cr4(cr4);
}

/* Tells the boot CPU this one changed its state (see wait_for_change). */
static void tell_boot_cpu(void)
{
	const char *why;
	(void)apic_send_ipi(percpu_get(0)->apic_id, ICR_FIXED | VEC_CALL, &why);
}

/* From the trampoline: long mode on the temporary tables, interrupts off,
 * on c's stack. */
__attribute__((noreturn, used)) void smp_ap_entry(struct percpu *c);
void smp_ap_entry(struct percpu *c)
{
	cpu_features_probe(cpuid, &c->features);
	/* The PAT before the kernel's tables: their WC mappings mean WC
	 * only under the kernel's PAT. */
	if (cpu_pat() == PAT_KERNEL && c->features.pat)
		wrmsr(MSR_PAT, PAT_KERNEL);
	/* Same higher-half address in both tables: no jump needed. */
	write_cr3(mm_kernel_pt()->root);
	gdt_init(&c->gdt);
	percpu_activate(c);
	idt_load();
	/* Exceptions are dumped from here on. */
	compare(c, boot_features);
	protect(&c->features);
	const char *why = apic_init_cpu(&c->features);
	if (why) {
		size_t len = str_len(c->differs);
		fmt_snprintf(c->differs + len, sizeof(c->differs) - len, "%s%s",
			     len ? "; " : "", why);
		__atomic_store_n(&c->state, CPU_FAILED, __ATOMIC_RELEASE);
		tell_boot_cpu();
		halt_forever();
	}
	if (timer_hz())
		timer_start_cpu();
	uint32_t starting = CPU_STARTING;
	if (!__atomic_compare_exchange_n(&c->state, &starting, CPU_ONLINE,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		halt_forever(); /* too late: the boot CPU gave up on us */
	tell_boot_cpu();
	idle(c);
}

/* --- bring-up on the boot CPU --- */

/* The temporary tables' allocator: the first page (the PML4, loaded into
 * CR3 in 32-bit mode) is the low page set aside for it, the others come
 * from the frame allocator. */
struct tramp_env {
	uint64_t pml4;
	uint64_t tables;
};

static uint64_t tramp_alloc(void *ctx)
{
	struct tramp_env *t = ctx;
	uint64_t pa = t->pml4;
	if (pa) {
		t->pml4 = 0;
		mem_set(phys_to_virt(pa), 0, PAGE_SIZE);
	} else {
		pa = mm_alloc_zeroed();
	}
	t->tables += pa != 0;
	return pa;
}

static void tramp_free(void *ctx, uint64_t pa)
{
	if (frames_free(mm_frames(), pa, 1))
		panic("smp", "temporary table page 0x%lx freed twice", pa);
}

static uint64_t *tramp_table(void *ctx, uint64_t pa)
{
	return phys_to_virt(pa);
}

/* The decimal value of maxcpus=N, 0 when absent, ~0 when malformed. */
static uint32_t max_cpus_arg(const char *cmdline)
{
	size_t len;
	const char *v = cmdline_value(cmdline, "maxcpus=", &len);
	uint32_t n = 0;
	if (!v)
		return 0;
	if (len == 0 || len > 4)
		return ~0u;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return ~0u;
		n = n * 10 + (uint32_t)(v[i] - '0');
	}
	return n ? n : ~0u;
}

static const char *stage_text(uint32_t stage)
{
	switch (stage) {
	case STAGE_NONE:
		return "it never ran the trampoline";
	case STAGE_REAL:
		return "it stopped in real mode";
	case STAGE_PROTECTED:
		return "it stopped in protected mode";
	case STAGE_NO_LM:
		return "its CPUID lacks long mode or NX";
	case STAGE_LONG:
		return "it stopped in long mode before checking in";
	}
	return "unknown stage";
}

struct bringup {
	uint64_t tramp; /* the trampoline page */
	struct trampoline_data *data;
	struct pt_env env;
	struct tramp_env tenv;
	struct page_table pt; /* the temporary tables */
	uint32_t count;       /* CPUs with a number, the boot CPU's too */
};

/* Copies the trampoline to b->tramp, patches it, and builds the
 * temporary tables. Returns NULL or why not. */
static const char *prepare(struct bringup *b, uint64_t pml4)
{
	const struct pt_env *kenv = mm_kernel_pt()->env;
	uint64_t size = (uint64_t)(trampoline_end - trampoline_start);
	if (size > PAGE_SIZE)
		panic("smp", "trampoline of %lu bytes exceeds a page", size);

	b->tenv = (struct tramp_env){.pml4 = pml4};
	b->env = (struct pt_env){.alloc = tramp_alloc,
				 .free = tramp_free,
				 .table = tramp_table,
				 .ctx = &b->tenv,
				 .phys_mask = kenv->phys_mask,
				 .nx = kenv->nx,
				 .page1g = kenv->page1g};
	if (pt_init(&b->pt, &b->env))
		return "no page for the temporary PML4";
	/* The trampoline page at its own address: read and execute. */
	if (pt_map(&b->pt, b->tramp, b->tramp, PAGE_SIZE, 0, PT_L1, NULL))
		return "no memory for the temporary tables";
	uint64_t *t = phys_to_virt(b->pt.root);
	const uint64_t *k = phys_to_virt(mm_kernel_pt()->root);
	for (uint32_t i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		t[i] = k[i];

	uint8_t *page = phys_to_virt(b->tramp);
	mem_copy(page, trampoline_start, size);
#define TR_OFF(sym) ((uint64_t)((sym)-trampoline_start))
	*(uint32_t *)(page + TR_OFF(trampoline_gdt_desc) + 2) =
	    (uint32_t)(b->tramp + TR_OFF(trampoline_gdt));
	*(uint32_t *)(page + TR_OFF(trampoline_far32)) =
	    (uint32_t)(b->tramp + TR_OFF(trampoline_pm32));
	*(uint32_t *)(page + TR_OFF(trampoline_far64)) =
	    (uint32_t)(b->tramp + TR_OFF(trampoline_lm64));
	b->data = (struct trampoline_data *)(page + TR_OFF(trampoline_data));
#undef TR_OFF
	b->data->cr3 = (uint32_t)b->pt.root;
	b->data->efer = EFER_LME | (kenv->nx ? EFER_NXE : 0);
	b->data->cr0 = (uint32_t)read_cr0();
	b->data->entry = (uint64_t)(uintptr_t)smp_ap_entry;
	return NULL;
}

/* The temporary tables and the trampoline page go back; then the kernel's
 * PML4 must still have no lower half and its tables pass W^X. */
static void teardown(struct bringup *b, const struct cpu_features *cpu)
{
	uint64_t *t = phys_to_virt(b->pt.root);
	for (uint32_t i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		t[i] = 0; /* the kernel's: not to be freed */
	pt_destroy(&b->pt);
	if (frames_free(mm_frames(), b->tramp, 1))
		panic("smp", "trampoline page 0x%lx freed twice", b->tramp);

	const uint64_t *k = phys_to_virt(mm_kernel_pt()->root);
	for (uint32_t i = 0; i < PT_ENTRIES / 2; i++)
		if (k[i])
			panic("smp",
			      "the kernel's PML4 has a lower-half entry after "
			      "AP start: slot %u = 0x%lx",
			      i, k[i]);
	kprintf("kernel: smp: trampoline page 0x%lx and %lu temporary table "
		"pages freed; the kernel's PML4 has no lower half\n",
		b->tramp, b->tenv.tables);
	if (wx_check(mm_kernel_pt(), cpu->nx))
		panic("mm", "W^X violated after AP start");
}

/* Gives the CPU of MADT entry e a number and its stacks. */
static struct percpu *assign(struct bringup *b, const struct acpi_cpu *e)
{
	struct percpu *c = percpu_get(b->count);
	uint64_t top = mm_alloc_stack(KERNEL_STACK_SIZE / PAGE_SIZE, NULL);
	if (!top || gdt_set_ist_stacks(&c->gdt)) {
		kprintf("kernel: smp: no memory for the stacks of the CPU "
			"with APIC id %u: it and the rest are left out\n",
			e->apic_id);
		return NULL;
	}
	c->index = b->count++;
	c->apic_id = e->apic_id;
	c->stack_top = top;
	c->stack_bottom = top - KERNEL_STACK_SIZE;
	return c;
}

/*
 * Waits until *state is no longer `was` or the deadline passes, and
 * returns it. Halted in between when the tick is running (it bounds
 * the sleep; the AP's check-in IPI ends it at once), which leaves an
 * emulator's host CPUs to the AP instead of to this CPU's spinning.
 */
static uint32_t wait_for_change(volatile uint32_t *state, uint32_t was,
				uint64_t end)
{
	uint32_t s;
	for (;;) {
		uint64_t flags = irq_save();
		s = __atomic_load_n(state, __ATOMIC_ACQUIRE);
		if (s != was || tsc_passed(end)) {
			irq_restore(flags);
			return s;
		}
		if (timer_hz() && (flags & RFLAGS_IF))
			__asm__ volatile("sti\n\thlt\n\tcli" : : : "memory");
		else
			cpu_pause();
		irq_restore(flags);
	}
}

/* SIPI, SIPI and the wait for c to check in. Returns its check-in time
 * as this CPU saw it, or 0 when it did not. */
static uint64_t start_one(struct bringup *b, struct percpu *c)
{
	const char *why;
	uint32_t sipi = ICR_STARTUP | ICR_ASSERT | (uint32_t)(b->tramp >> 12);

	b->data->stage = STAGE_NONE;
	b->data->stack = c->stack_top;
	b->data->percpu = (uint64_t)(uintptr_t)c;
	uint64_t end = tsc_deadline(SMP_CHECKIN_US);
	for (int n = 0; n < 2; n++) {
		if (n == 1 && __atomic_load_n(&b->data->stage,
					      __ATOMIC_ACQUIRE) != STAGE_NONE)
			break; /* the first one started it */
		if (apic_send_ipi(c->apic_id, sipi, &why)) {
			kprintf("kernel: cpu %u (APIC id %u): SIPI not "
				"delivered: %s; left out\n",
				c->index, c->apic_id, why);
			c->state = CPU_FAILED;
			return 0;
		}
		tsc_delay_us(SIPI_DELAY_US);
	}
	for (;;) {
		uint32_t s = wait_for_change(&c->state, CPU_STARTING, end);
		if (s == CPU_ONLINE)
			return rdtsc();
		if (s == CPU_FAILED) {
			kprintf("kernel: cpu %u (APIC id %u) cannot run the "
				"kernel: %s; left out\n",
				c->index, c->apic_id, c->differs);
			return 0;
		}
		if (tsc_passed(end))
			break;
	}
	uint32_t starting = CPU_STARTING;
	if (!__atomic_compare_exchange_n(&c->state, &starting, CPU_FAILED,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return rdtsc(); /* it made it after all */
	kprintf("kernel: cpu %u (APIC id %u) did not check in within %u ms "
		"(%s): left out\n",
		c->index, c->apic_id, (uint32_t)(SMP_CHECKIN_US / 1000),
		stage_text(__atomic_load_n(&b->data->stage, __ATOMIC_ACQUIRE)));
	/* Back to wait-for-SIPI, so it cannot run the trampoline's page
	 * after it is freed. */
	(void)apic_send_ipi(c->apic_id, ICR_INIT | ICR_ASSERT, &why);
	return 0;
}

static void report_online(uint64_t first_init, uint64_t last_online,
			  const char *note)
{
	char buf[64];
	startup_cycles = last_online ? last_online - first_init : 0;
	if (!last_online) {
		kprintf("kernel: cpus: %u online (%s)\n", percpu_online_count(),
			note);
		return;
	}
	report_format_cycles(buf, sizeof(buf), startup_cycles, tsc_hz());
	kprintf("kernel: cpus: %u online; first INIT to last AP online: %s\n",
		percpu_online_count(), buf);
}

/* The MADT's entries worth starting; prints why others are not. */
static uint32_t candidates(const struct acpi_madt *madt, uint32_t limit,
			   const struct acpi_cpu **out)
{
	uint32_t n = 0, by_limit = 0;
	uint32_t boot = this_cpu()->apic_id;
	for (uint32_t i = 0; i < madt->cpu_count; i++) {
		const struct acpi_cpu *e = &madt->cpu[i];
		bool dup = false;
		if (!(e->flags & ACPI_CPU_ENABLED) || e->apic_id == boot)
			continue;
		for (uint32_t j = 0; j < n; j++)
			dup |= out[j]->apic_id == e->apic_id;
		if (dup) {
			kprintf("kernel: smp: the MADT lists APIC id %u twice: "
				"started once\n",
				e->apic_id);
			continue;
		}
		if (e->apic_id > apic_max_id()) {
			kprintf("kernel: smp: APIC id %u is beyond what xAPIC "
				"mode can address: left out\n",
				e->apic_id);
			continue;
		}
		if (n + 1 >= limit) {
			by_limit++;
			continue;
		}
		out[n++] = e;
	}
	if (by_limit && limit < SMP_MAX_CPUS)
		kprintf("kernel: smp: %u CPUs left out by maxcpus=%u\n",
			by_limit, limit);
	else if (by_limit)
		kprintf(
		    "kernel: smp: %u CPUs left out: the kernel runs at most "
		    "%u\n",
		    by_limit, (uint32_t)SMP_MAX_CPUS);
	return n;
}

void smp_init(const struct handoff *h, const struct cpu_features *cpu,
	      const struct acpi_madt *madt)
{
	static const struct acpi_cpu *todo[SMP_MAX_CPUS];
	static struct bringup b;
	struct percpu *boot = this_cpu();
	const char *why;

	boot->features = *cpu;
	boot_features = &boot->features;
	irq_set_handler(VEC_CALL, wake);
	shootdown_init();

	uint32_t limit = SMP_MAX_CPUS, arg = max_cpus_arg(h->cmdline);
	if (arg == ~0u)
		kputs("kernel: smp: maxcpus= takes a number of CPUs from 1 to "
		      "9999; ignored\n");
	else if (arg && arg < limit)
		limit = arg;
	const char *alone = cmdline_has(h->cmdline, "nosmp") ? "nosmp"
			    : !madt                          ? "no MADT"
			    : !apic_ready()                  ? "no local APIC"
			    : !tsc_hz()                      ? "no TSC rate"
							     : NULL;
	uint32_t n = alone ? 0 : candidates(madt, limit, todo);
	if (!alone && !n)
		alone = limit == 1 ? "maxcpus=1"
				   : "the MADT lists no other enabled CPU";
	uint64_t pml4 = 0;
	if (!alone) {
		b.tramp = mm_take_low_page();
		pml4 = mm_take_low_page();
		if (!b.tramp || !pml4) {
			alone = "no free page below 1 MiB in the memory map "
				"for the AP trampoline";
			for (int i = 0; i < 2; i++) {
				uint64_t pa = i ? pml4 : b.tramp;
				if (pa)
					frames_free(mm_frames(), pa, 1);
			}
		}
	}
	if (alone) {
		report_online(0, 0, alone);
		return;
	}
	b.count = 1;
	struct percpu *aps[SMP_MAX_CPUS];
	uint32_t started = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct percpu *c = assign(&b, todo[i]);
		if (!c)
			break;
		aps[started++] = c;
	}
	/* After the stacks: the temporary PML4 copies the kernel's entries
	 * as they are then. */
	why = prepare(&b, pml4);
	if (why)
		panic("smp", "%s", why);

	/* INIT to all, one wait, then each in turn. */
	uint64_t first_init = rdtsc(), last = 0;
	for (uint32_t i = 0; i < started; i++) {
		struct percpu *c = aps[i];
		c->state = CPU_STARTING;
		if (apic_send_ipi(c->apic_id, ICR_INIT | ICR_ASSERT, &why)) {
			kprintf("kernel: cpu %u (APIC id %u): INIT not "
				"delivered: %s; left out\n",
				c->index, c->apic_id, why);
			c->state = CPU_FAILED;
		}
	}
	tsc_delay_us(INIT_DELAY_US);
	for (uint32_t i = 0; i < started; i++) {
		struct percpu *c = aps[i];
		if (c->state != CPU_STARTING)
			continue;
		uint64_t t = start_one(&b, c);
		if (!t)
			continue;
		last = t;
		kprintf("kernel: cpu %u online (APIC id %u)\n", c->index,
			c->apic_id);
		if (c->differs[0])
			kprintf("kernel: cpu %u differs from the boot CPU: "
				"%s\n",
				c->index, c->differs);
	}
	teardown(&b, cpu);
	report_online(first_init, last, "no AP checked in");
}
