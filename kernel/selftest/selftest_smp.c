/*
 * Self-tests of every CPU: each online CPU checks in with its own stack,
 * GDT, TSS, GS base and the boot CPU's protections, and has taken no
 * interrupt without a handler and no APIC error; a mapping CPU 0
 * removes or makes read-only stops working on every other CPU (the TLB
 * shootdown), also over 10,000 map/unmap rounds while they read; each
 * CPU's timer ticks at its rate; a stack overflow on any CPU is a #DF on
 * that CPU's own IST stack.
 *
 * Each test runs its part on every online CPU, CPU 0 included, so with
 * one CPU it still tests CPU 0 (its local flush, its tick, its #DF) and
 * never skips. The other CPUs report into per-CPU slots and never print;
 * CPU 0 judges and prints.
 */
#include "common/lib/string.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/cpu.h"
#include "kernel/cpu/gdt.h"
#include "kernel/cpu/irq.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/shootdown.h"
#include "kernel/cpu/smp.h"
#include "kernel/cpu/timer.h"
#include "kernel/cpu/tsc.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm.h"
#include "kernel/selftest/selftest_lib.h"

#define MSR_GS_BASE 0xc0000101
/* The scratch page these tests map, away from the other tests' pages. */
#define SMP_VA (SELFTEST_VA + 0x10000000ull)
/* Generous for an emulator sharing two cores with other machines. */
#define RUN_TIMEOUT_US 2000000
#define ROUNDS         10000
#define POISON         0xdead0000dead0000ull
#define TICK_US        100000

static uint64_t va_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static uint32_t me(void)
{
	return this_cpu()->index;
}

/* Runs fn on every online CPU; a CPU that did not finish fails c. */
static const char *on_all(struct st_ctx *c, void (*fn)(void *), void *arg)
{
	int late = smp_run_all(fn, arg, RUN_TIMEOUT_US);
	if (late >= 0)
		return st_fail(c, "cpu %u did not finish within %u ms",
			       (uint32_t)late, RUN_TIMEOUT_US / 1000);
	return NULL;
}

/* --- every CPU with its own state --- */

struct checkin {
	bool ran;
	uint32_t apic_id;
	uint64_t gs, rsp, gdtr, tss, ist1;
	uint16_t tr;
	uint64_t cr0, cr4, efer, pat;
	uint64_t unexpected, apic_errors;
	uint32_t esr;
};

static struct checkin seen[SMP_MAX_CPUS];

static void check_in(void *arg)
{
	struct checkin *s = &seen[me()];
	const uint64_t *gdt;
	uint64_t lo, hi;

	s->apic_id = this_cpu()->apic_id;
	s->gs = rdmsr(MSR_GS_BASE);
	s->rsp = va_of(&lo);
	s->gdtr = gdt_read_base();
	s->tr = gdt_read_tr();
	gdt = (const uint64_t *)(uintptr_t)s->gdtr;
	/* The TSS descriptor's base, from the GDT this CPU has loaded. */
	s->tss = ((gdt[3] >> 16) & 0xffffff) | ((gdt[3] >> 56) & 0xff) << 24 |
		 gdt[4] << 32;
	s->ist1 = gdt_ist_stack(IST_DF, &lo, &hi) ? lo : 0;
	s->cr0 = read_cr0();
	s->cr4 = read_cr4();
	s->efer = rdmsr(MSR_EFER);
	s->pat = cpu_pat() == PAT_KERNEL ? rdmsr(MSR_PAT) : 0;
	s->unexpected = this_cpu()->irqs_unexpected;
	s->apic_errors = this_cpu()->apic_errors;
	s->esr = this_cpu()->last_esr;
	s->ran = true;
}

static const char *cpus_check_in(struct st_ctx *c)
{
	const uint64_t cr4_bits = CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_UMIP;
	uint64_t online = percpu_online_mask();

	mem_set(seen, 0, sizeof(seen));
	const char *why = on_all(c, check_in, NULL);
	if (why)
		return why;
	const struct checkin *b = &seen[0];
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
		if (!(online & (1ull << i)))
			continue;
		const struct checkin *s = &seen[i];
		const struct percpu *p = percpu_get(i);
		if (!s->ran)
			return st_fail(c, "cpu %u did not run", i);
		if (s->gs != va_of(p))
			return st_fail(c,
				       "cpu %u: GS base 0x%lx, its block "
				       "0x%lx",
				       i, s->gs, va_of(p));
		if (s->rsp < p->stack_bottom || s->rsp >= p->stack_top)
			return st_fail(c,
				       "cpu %u: rsp 0x%lx outside its stack "
				       "0x%lx-0x%lx",
				       i, s->rsp, p->stack_bottom,
				       p->stack_top);
		if (s->gdtr != va_of(p->gdt.gdt) || s->tr != GDT_TSS ||
		    s->tss != va_of(&p->gdt.tss))
			return st_fail(c,
				       "cpu %u: GDT 0x%lx, TR 0x%x, TSS "
				       "0x%lx: not its own",
				       i, s->gdtr, s->tr, s->tss);
		if (!s->ist1 || s->ist1 != p->gdt.ist_bottom[IST_DF])
			return st_fail(c, "cpu %u: #DF stack 0x%lx", i,
				       s->ist1);
		for (uint32_t j = 0; j < i; j++)
			if ((online & (1ull << j)) &&
			    (seen[j].gs == s->gs || seen[j].ist1 == s->ist1 ||
			     seen[j].apic_id == s->apic_id))
				return st_fail(
				    c,
				    "cpus %u and %u share a GS "
				    "base, a #DF stack or an APIC id",
				    j, i);
		if (!(s->cr0 & CR0_WP) ||
		    (s->cr4 & cr4_bits) != (b->cr4 & cr4_bits) ||
		    (s->efer & EFER_NXE) != (b->efer & EFER_NXE) ||
		    s->pat != b->pat)
			return st_fail(c,
				       "cpu %u: CR0 0x%lx CR4 0x%lx EFER "
				       "0x%lx PAT 0x%lx, the boot CPU CR4 "
				       "0x%lx EFER 0x%lx PAT 0x%lx",
				       i, s->cr0, s->cr4, s->efer, s->pat,
				       b->cr4, b->efer, b->pat);
		if (s->unexpected || s->apic_errors)
			return st_fail(c,
				       "cpu %u: %lu interrupts without a "
				       "handler, %lu APIC errors (last ESR "
				       "0x%x)",
				       i, s->unexpected, s->apic_errors,
				       s->esr);
	}
	return NULL;
}

/* --- a mapping taken away reaches every CPU --- */

struct probe {
	uint64_t va;
	bool write;
	bool caught[SMP_MAX_CPUS];
	struct caught k[SMP_MAX_CPUS];
	uint64_t value[SMP_MAX_CPUS];
	bool ran[SMP_MAX_CPUS];
};

static struct probe pr;

static void read_word(void *arg)
{
	pr.value[me()] = *(volatile uint64_t *)arg;
}

static void write_word(void *arg)
{
	*(volatile uint64_t *)arg = 0x600d0000 + me();
}

static void probe_here(void *arg)
{
	uint32_t i = me();
	pr.caught[i] = run_catching(pr.write ? write_word : read_word,
				    (void *)(uintptr_t)pr.va, &pr.k[i]);
	pr.ran[i] = true;
}

/* Every online CPU reads (or writes) pr.va; each must fault with
 * error_bits (fault) or not (!fault, and read `want` when reading). */
static const char *probe_all(struct st_ctx *c, bool fault, uint32_t error_bits,
			     uint64_t want)
{
	uint64_t online = percpu_online_mask();
	char got[160];

	mem_set(pr.caught, 0, sizeof(pr.caught));
	mem_set(pr.ran, 0, sizeof(pr.ran));
	const char *why = on_all(c, probe_here, NULL);
	if (why)
		return why;
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
		if (!(online & (1ull << i)))
			continue;
		if (!pr.ran[i])
			return st_fail(c, "cpu %u did not run", i);
		if (pr.caught[i])
			st_describe(got, sizeof(got), &pr.k[i]);
		if (fault && !pr.caught[i])
			return st_fail(c, "cpu %u: no fault%s", i,
				       pr.write ? "" : ": a stale TLB entry");
		if (fault && (pr.k[i].vector != TRAP_PF ||
			      (pr.k[i].error & PF_CHECKED) != error_bits ||
			      pr.k[i].cr2 != pr.va))
			return st_fail(c, "cpu %u: %s", i, got);
		if (!fault && pr.caught[i])
			return st_fail(c, "cpu %u: %s", i, got);
		if (!fault && !pr.write && pr.value[i] != want)
			return st_fail(c, "cpu %u read 0x%lx, not 0x%lx", i,
				       pr.value[i], want);
	}
	return NULL;
}

/* A page every CPU has just read (so each has it in its TLB) is unmapped
 * by CPU 0: every CPU must then fault on it. */
static const char *unmap_reaches_all(struct st_ctx *c)
{
	uint64_t pa = st_map_page(c, SMP_VA, st_data_attr(c));
	if (!pa)
		return c->why;
	*(volatile uint64_t *)phys_to_virt(pa) = 0x5a5a0001;
	pr.va = SMP_VA;
	pr.write = false;
	const char *why = probe_all(c, false, 0, 0x5a5a0001);
	pt_unmap(mm_kernel_pt(), SMP_VA, PAGE_SIZE);
	if (!why)
		why = probe_all(c, true, 0, 0);
	frames_free(mm_frames(), pa, 1);
	return why;
}

/* The same for a write permission taken away: every CPU has written the
 * page (a writable, dirty TLB entry) before CPU 0 makes it read-only. */
static const char *protect_reaches_all(struct st_ctx *c)
{
	uint64_t pa = st_map_page(c, SMP_VA, st_data_attr(c));
	if (!pa)
		return c->why;
	pr.va = SMP_VA;
	pr.write = true;
	const char *why = probe_all(c, false, 0, 0);
	if (!why && pt_protect(mm_kernel_pt(), SMP_VA, PAGE_SIZE,
			       st_data_attr(c) & ~PTE_W))
		why = "pt_protect failed";
	if (!why)
		why = probe_all(c, true, PF_P | PF_W, 0);
	st_unmap_page(SMP_VA, pa);
	return why;
}

/* --- 10,000 rounds of map and unmap while every CPU reads --- */

struct rounds {
	volatile uint64_t round; /* the value the page holds now */
	volatile uint32_t stop;
	volatile uint64_t acked[SMP_MAX_CPUS]; /* last round read */
	uint64_t reads[SMP_MAX_CPUS], faults[SMP_MAX_CPUS];
	uint64_t bad[SMP_MAX_CPUS]; /* stale or poisoned reads */
	uint64_t bad_value[SMP_MAX_CPUS], bad_round[SMP_MAX_CPUS];
};

static struct rounds rd;

static void read_value(void *arg)
{
	*(uint64_t *)arg = *(volatile uint64_t *)SMP_VA;
}

/*
 * One reader: it reads the page each time it wakes (CPU 0 kicks it for
 * each round, the shootdown's IPI wakes it after it flushed, and so does
 * its tick) and halts in between, which leaves an emulator's host CPUs
 * to the CPUs that have work. The read must fault, or give the round
 * published before it or the next one (CPU 0 may have moved on);
 * anything else, such as an older round or the poison CPU 0 writes into
 * a frame once it is unmapped, came through a stale translation.
 */
static void reader(void *arg)
{
	uint32_t i = me();
	struct caught k;
	uint64_t flags = irq_save();
	while (!__atomic_load_n(&rd.stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = __atomic_load_n(&rd.round, __ATOMIC_ACQUIRE), v;
		rd.reads[i]++;
		if (run_catching(read_value, &v, &k)) {
			rd.faults[i]++;
		} else if (v != r && v != r + 1) {
			if (!rd.bad[i]) {
				rd.bad_value[i] = v;
				rd.bad_round[i] = r;
			}
			__atomic_fetch_add(&rd.bad[i], 1, __ATOMIC_RELEASE);
		} else if (v == r) {
			__atomic_store_n(&rd.acked[i], r, __ATOMIC_RELEASE);
		}
		/* A kick after the loads above ends this hlt at once. */
		if (__atomic_load_n(&rd.round, __ATOMIC_ACQUIRE) == r &&
		    !__atomic_load_n(&rd.stop, __ATOMIC_ACQUIRE))
			__asm__ volatile("sti\n\thlt\n\tcli" : : : "memory");
	}
	irq_restore(flags);
}

static const char *stale(struct st_ctx *c, uint32_t i)
{
	return st_fail(c,
		       "cpu %u: %lu stale reads, the first 0x%lx in round %lu",
		       i, rd.bad[i], rd.bad_value[i], rd.bad_round[i]);
}

/* Waits until every other online CPU has read round r. */
static const char *wait_acks(struct st_ctx *c, uint64_t others, uint64_t r)
{
	uint64_t end = tsc_deadline(RUN_TIMEOUT_US);
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
		if (!(others & (1ull << i)))
			continue;
		while (__atomic_load_n(&rd.acked[i], __ATOMIC_ACQUIRE) < r) {
			if (__atomic_load_n(&rd.bad[i], __ATOMIC_ACQUIRE))
				return stale(c, i);
			if (tsc_passed(end))
				return st_fail(c,
					       "cpu %u did not read round %lu "
					       "within %u ms",
					       i, r, RUN_TIMEOUT_US / 1000);
			cpu_pause();
		}
	}
	return NULL;
}

static const char *rounds_run(struct st_ctx *c, const uint64_t frame[2],
			      uint64_t others)
{
	struct caught k;
	uint64_t v;
	for (uint64_t r = 1; r <= ROUNDS; r++) {
		uint64_t pa = frame[r & 1];

		volatile uint64_t *word = phys_to_virt(pa);
		*word = r;
		if (pt_map(mm_kernel_pt(), SMP_VA, pa, PAGE_SIZE,
			   st_data_attr(c), PT_L1, NULL))
			return st_fail(c, "round %lu: pt_map failed", r);
		__atomic_store_n(&rd.round, r, __ATOMIC_RELEASE);
		if (run_catching(read_value, &v, &k) || v != r)
			return st_fail(c, "round %lu: cpu 0 cannot read it", r);
		for (uint32_t i = 1; i < SMP_MAX_CPUS; i++)
			if (others & (1ull << i))
				smp_kick(i);
		const char *why = wait_acks(c, others, r);
		if (why)
			return why;
		pt_unmap(mm_kernel_pt(), SMP_VA, PAGE_SIZE);
		/* Every CPU has flushed: the frame may be reused. */
		*word = POISON;
		if (!run_catching(read_value, &v, &k))
			return st_fail(c,
				       "round %lu: cpu 0 still reads 0x%lx "
				       "after the unmap",
				       r, v);
	}
	return NULL;
}

static const char *map_unmap_rounds(struct st_ctx *c)
{
	uint64_t online = percpu_online_mask();
	uint64_t others = online & ~1ull;
	uint64_t frame[2] = {mm_alloc_zeroed(), mm_alloc_zeroed()};
	uint64_t ipis = shootdown_ipis();
	const char *why = NULL;

	mem_set(&rd, 0, sizeof(rd));
	if (!frame[0] || !frame[1])
		why = "no free frames";
	for (uint32_t i = 1; !why && i < SMP_MAX_CPUS; i++)
		if ((others & (1ull << i)) && smp_call(i, reader, NULL))
			why = st_fail(c, "cpu %u is busy", i);
	if (!why)
		why = rounds_run(c, frame, others);
	__atomic_store_n(&rd.stop, 1, __ATOMIC_RELEASE);
	for (uint32_t i = 1; i < SMP_MAX_CPUS; i++)
		if (others & (1ull << i))
			smp_kick(i);
	for (uint32_t i = 1; i < SMP_MAX_CPUS; i++)
		if ((others & (1ull << i)) &&
		    !smp_call_wait(i, RUN_TIMEOUT_US) && !why)
			why = st_fail(c, "cpu %u did not stop reading", i);
	for (uint32_t i = 1; !why && i < SMP_MAX_CPUS; i++)
		if (rd.bad[i])
			why = stale(c, i);
	uint64_t sent = shootdown_ipis() - ipis;
	uint64_t want = ROUNDS * (uint64_t)__builtin_popcountll(others);
	if (!why && sent != want)
		why = st_fail(c,
			      "%lu shootdown IPIs for %u rounds on %u other "
			      "CPUs, not %lu",
			      sent, ROUNDS, __builtin_popcountll(others), want);
	for (int i = 0; i < 2; i++)
		if (frame[i])
			frames_free(mm_frames(), frame[i], 1);
	if (!why) {
		uint64_t reads = 0, faults = 0;
		for (uint32_t i = 1; i < SMP_MAX_CPUS; i++) {
			reads += rd.reads[i];
			faults += rd.faults[i];
		}
		kprintf("selftest: map-unmap-rounds: %u rounds, %lu reads on "
			"%u other CPUs (%lu faulted), %lu shootdown IPIs\n",
			ROUNDS, reads, __builtin_popcountll(others), faults,
			sent);
	}
	return why;
}

/* --- the tick on every CPU --- */

#define TICK_TRIES 5

struct tick_count {
	uint64_t ticks;   /* in the window */
	uint64_t max_gap; /* TSC cycles between two ticks, at most */
};

static struct tick_count ticks_seen[SMP_MAX_CPUS];

/*
 * Counts this CPU's ticks over 100 ms of TSC, halted in between (so an
 * emulator's other CPUs get the host's time), and the longest gap
 * between two ticks: a gap of several periods means this CPU did not run
 * then (a hypervisor, or an emulator's host, gave it no time), and the
 * ticks that fell into it were lost outside the kernel.
 */
static void count_ticks(void *arg)
{
	uint64_t flags = irq_save();
	struct percpu *p = this_cpu();
	struct tick_count *t = &ticks_seen[p->index];
	uint64_t end = tsc_deadline(TICK_US);
	uint64_t first = p->ticks, last = first, at = rdtsc();
	t->max_gap = 0;
	while (!tsc_passed(end)) {
		__asm__ volatile("sti\n\thlt\n\tcli" : : : "memory");
		if (p->ticks != last) {
			uint64_t now = rdtsc();
			if (now - at > t->max_gap)
				t->max_gap = now - at;
			at = now;
			last = p->ticks;
		}
	}
	t->ticks = p->ticks - first;
	irq_restore(flags);
}

/*
 * Each CPU's tick count over 100 ms must be within 20% of the rate. A
 * count outside that whose CPU also saw a gap of more than 2.5 periods
 * was disturbed from outside (this machine's 2 cores run many emulated
 * CPUs; QEMU drops the ticks a stopped CPU misses) and is measured again,
 * up to 5 times; a timer at a wrong rate fails every time.
 */
static const char *ticks_on_all(struct st_ctx *c)
{
	uint64_t online = percpu_online_mask();
	uint64_t want = (uint64_t)timer_hz() * TICK_US / 1000000;
	uint64_t stall =
	    tsc_cycles(1000000 / (timer_hz() ? timer_hz() : 1)) * 5 / 2;
	const char *why = NULL;

	if (!timer_hz())
		return "no timer (no local APIC or no TSC rate)";
	for (int try = 1; try <= TICK_TRIES; try++) {
		mem_set(ticks_seen, 0, sizeof(ticks_seen));
		why = on_all(c, count_ticks, NULL);
		if (why)
			return why;
		for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
			const struct tick_count *t = &ticks_seen[i];
			if (!(online & (1ull << i)) ||
			    (t->ticks * 5 >= want * 4 &&
			     t->ticks * 5 <= want * 6))
				continue;
			why =
			    st_fail(c,
				    "cpu %u: %lu ticks in %u ms, %lu expected "
				    "(within 20%%); longest gap %lu us (try "
				    "%d of %d)",
				    i, t->ticks, TICK_US / 1000, want,
				    tsc_us(t->max_gap), try, TICK_TRIES);
			if (t->max_gap <= stall)
				return why; /* a wrong rate, not a stall */
		}
		if (!why)
			return NULL;
		if (try < TICK_TRIES)
			kprintf("selftest: timer-ticks-on-every-cpu: %s: "
				"measuring again\n",
				why);
		why = try == TICK_TRIES ? why : NULL;
	}
	return why;
}

/* --- a stack overflow on every CPU --- */

struct overflow_run {
	uint64_t top[SMP_MAX_CPUS], guard[SMP_MAX_CPUS];
	bool caught[SMP_MAX_CPUS];
	struct caught k[SMP_MAX_CPUS];
};

static struct overflow_run ov;

static void overflow_here(void *arg)
{
	uint32_t i = me();
	ov.caught[i] = run_catching(st_overflow_stack,
				    (void *)(uintptr_t)ov.top[i], &ov.k[i]);
}

static const char *judge_overflow(struct st_ctx *c, uint64_t online)
{
	char got[160];
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
		if (!(online & (1ull << i)))
			continue;
		uint64_t lo, hi;
		const struct caught *k = &ov.k[i];
		if (!ov.caught[i])
			return st_fail(c, "cpu %u: no exception", i);
		st_describe(got, sizeof(got), k);
		if (k->vector != TRAP_DF)
			return st_fail(c, "cpu %u: %s, not #DF", i, got);
		if (k->cr2 < ov.guard[i] || k->cr2 >= ov.guard[i] + PAGE_SIZE)
			return st_fail(c,
				       "cpu %u: cr2 %016lx not in its guard "
				       "page %016lx",
				       i, k->cr2, ov.guard[i]);
		if (!gdt_ist_stack_of(&percpu_get(i)->gdt, IST_DF, &lo, &hi) ||
		    k->frame < lo || k->frame >= hi)
			return st_fail(c,
				       "cpu %u: #DF frame at %016lx, not on "
				       "its own IST1 stack",
				       i, k->frame);
	}
	return NULL;
}

static const char *overflow_on_all(struct st_ctx *c)
{
	uint64_t online = percpu_online_mask();
	const char *why = NULL;

	mem_set(&ov, 0, sizeof(ov));
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++)
		if ((online & (1ull << i)) &&
		    !(ov.top[i] = mm_alloc_stack(1, &ov.guard[i])))
			why = "no memory for a test stack";
	if (!why)
		why = on_all(c, overflow_here, NULL);
	if (!why)
		why = judge_overflow(c, online);
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
		uint64_t pa;
		if (ov.top[i] &&
		    pt_translate(mm_kernel_pt(), ov.top[i] - PAGE_SIZE, &pa,
				 NULL, NULL, NULL) == 0)
			st_unmap_page(ov.top[i] - PAGE_SIZE, pa);
	}
	return why;
}

const struct selftest selftest_smp_tests[] = {
    {"every-cpu-checks-in-with-own-state", .body = cpus_check_in},
    {"unmap-faults-on-every-cpu", .body = unmap_reaches_all},
    {"read-only-faults-on-every-cpu", .body = protect_reaches_all},
    {"map-unmap-rounds-no-stale-read", .body = map_unmap_rounds},
    {"timer-ticks-on-every-cpu", .body = ticks_on_all},
    {"stack-overflow-is-df-on-each-cpu-ist1", .body = overflow_on_all},
};
const uint32_t selftest_smp_count = ARRAY_SIZE(selftest_smp_tests);
