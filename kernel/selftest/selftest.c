/*
 * The self-test runner and the helpers the tests share. The tests
 * themselves are in selftest_cpu.c (exceptions and CPU protections),
 * selftest_mm.c (what the CPU enforces on the kernel's mappings),
 * selftest_dev.c (the consoles), selftest_smp.c (every CPU: its state,
 * TLB shootdown, tick, #DF) and selftest_pt.c (page tables, TLB,
 * allocators).
 *
 * Each test's body runs under run_catching, so an exception it did not
 * expect fails that test with a decoded description instead of stopping
 * the kernel, and the remaining tests still run.
 */
#include "kernel/selftest/selftest.h"
#include "kernel/cpu/arch.h"

#include "common/lib/fmt.h"
#include "common/lib/string.h"
#include "kernel/cpu/cpu.h"
#include "kernel/cpu/stack.h"
#include "kernel/dev/console.h"
#include "kernel/dev/serial.h"
#include "kernel/mm/mm.h"
#include "kernel/selftest/selftest_lib.h"

const char *st_fail(struct st_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return c->why;
}

void st_describe(char *buf, size_t cap, const struct caught *k)
{
	char err[96];
	trap_error_text(err, sizeof(err), k->vector, k->error);
	size_t len = fmt_snprintf(buf, cap, "%s%s%s at rip %016lx",
				  trap_mnemonic(k->vector),
				  err[0] ? " error " : "", err, k->rip);
	if (k->vector == TRAP_PF && len < cap)
		fmt_snprintf(buf + len, cap - len, ", cr2 %016lx", k->cr2);
}

/* "#PF with (error & 0x1f) == 0x3" */
static void describe_expected(char *buf, size_t cap, uint32_t vector,
			      uint32_t mask, uint32_t bits)
{
	if (mask)
		fmt_snprintf(buf, cap, "%s with (error & 0x%x) == 0x%x",
			     trap_mnemonic(vector), mask, bits);
	else
		fmt_snprintf(buf, cap, "%s", trap_mnemonic(vector));
}

/* Judges what run_catching saw against an expectation. */
static const char *judge(struct st_ctx *c, bool caught, const struct caught *k,
			 uint32_t vector, uint32_t mask, uint32_t bits)
{
	char want[64], got[160];
	describe_expected(want, sizeof(want), vector, mask, bits);
	if (!caught)
		return st_fail(c, "no exception, expected %s", want);
	st_describe(got, sizeof(got), k);
	if (k->vector != vector || (k->error & mask) != bits)
		return st_fail(c, "got %s, expected %s", got, want);
	return NULL;
}

const char *st_expect(struct st_ctx *c, void (*fn)(void *), void *arg,
		      uint32_t vector, uint32_t mask, uint32_t bits,
		      struct caught *out)
{
	struct caught k;
	bool caught = run_catching(fn, arg, &k);
	if (out)
		*out = k;
	return judge(c, caught, &k, vector, mask, bits);
}

static uint64_t push_until_fault(void *arg)
{
	__asm__ volatile("1: pushq $0\n\t"
			 "jmp 1b"
			 :
			 :
			 : "memory");
	__builtin_unreachable();
}

void st_overflow_stack(void *top)
{
	call_on_stack(NULL, push_until_fault, (uint64_t)(uintptr_t)top);
}

uint64_t st_data_attr(const struct st_ctx *c)
{
	return PTE_W | PTE_G | (c->cpu->nx ? PTE_NX : 0);
}

uint64_t st_map_page(struct st_ctx *c, uint64_t va, uint64_t attr)
{
	uint64_t pa = mm_alloc_zeroed();
	if (!pa) {
		st_fail(c, "no free frame");
		return 0;
	}
	int rc = pt_map(mm_kernel_pt(), va, pa, PAGE_SIZE, attr, PT_L1, NULL);
	if (rc) {
		frames_free(mm_frames(), pa, 1);
		st_fail(c, "pt_map of 0x%lx failed (error %d)", va, rc);
		return 0;
	}
	return pa;
}

void st_unmap_page(uint64_t va, uint64_t pa)
{
	pt_unmap(mm_kernel_pt(), va, PAGE_SIZE);
	frames_free(mm_frames(), pa, 1);
}

void st_read(void *va)
{
	probe_read8((uint64_t)(uintptr_t)va);
}

void st_write(void *va)
{
	uint64_t a = (uint64_t)(uintptr_t)va;
	probe_write8(a, probe_read8(a));
}

void st_call(void *va)
{
	probe_call((uint64_t)(uintptr_t)va);
}

struct running {
	const struct selftest *t;
	struct st_ctx *c;
	const char *why;
};

static void run_body(void *arg)
{
	struct running *r = arg;
	r->why = r->t->body(r->c);
}

/* Why t cannot run here (a feature the CPU lacks), or NULL. */
static const char *missing(const struct selftest *t, const struct st_ctx *c)
{
	const struct cpu_features *cpu = c->cpu;

	if ((t->needs & NEEDS_NX) && !cpu->nx)
		return "CPU has no NX";
	if ((t->needs & NEEDS_SMEP) && !cpu->smep)
		return "CPU has no SMEP";
	if ((t->needs & NEEDS_SMAP) && !cpu->smap)
		return "CPU has no SMAP";
	if ((t->needs & NEEDS_COM1) && !serial_present())
		return "no COM1 to check the output on";
	if ((t->needs & NEEDS_NO_PVM) && str_eq(c->hypervisor, "KVMKVMKVM"))
		return "under KVM, which may be a software KVM (PVM) that "
		       "stops the VM on INT3, INT n, STAC and CLAC";
	return NULL;
}

/* Runs one test; returns NULL when it passed, else why not. */
static const char *run_one(const struct selftest *t, struct st_ctx *c)
{
	struct running r = {t, c, NULL};
	struct caught k;
	char got[160];

	c->why[0] = '\0';
	bool caught = run_catching(run_body, &r, &k);
	if (t->faults) {
		const char *why =
		    judge(c, caught, &k, t->vector, t->err_mask, t->err_bits);
		/* After a resumed trap (#BP) the body finished its own
		 * checks; after a fault r.why is still NULL. */
		return why ? why : r.why;
	}
	if (caught) {
		st_describe(got, sizeof(got), &k);
		return st_fail(c, "unexpected %s", got);
	}
	return r.why;
}

uint32_t selftest_run(const struct handoff *h, const struct cpu_features *cpu)
{
	static const struct {
		const struct selftest *tests;
		const uint32_t *count;
	} groups[] = {
	    {selftest_cpu_tests, &selftest_cpu_count},
	    {selftest_mm_tests, &selftest_mm_count},
	    {selftest_dev_tests, &selftest_dev_count},
	    {selftest_smp_tests, &selftest_smp_count},
	    {selftest_cost_tests, &selftest_cost_count},
	    {selftest_pt_tests, &selftest_pt_count},
	};
	struct st_ctx c = {.h = h, .cpu = cpu};
	cpu_hypervisor_name(cpu, c.hypervisor);
	uint32_t passed = 0, failed = 0, skipped = 0;

	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		for (uint32_t i = 0; i < *groups[g].count; i++) {
			const struct selftest *t = &groups[g].tests[i];
			const char *why = missing(t, &c);
			if (why) {
				kprintf("selftest: SKIP %s: %s\n", t->name,
					why);
				skipped++;
				continue;
			}
			uint64_t t0 = rdtsc();
			why = run_one(t, &c);
			uint64_t cycles = rdtsc() - t0;
			if (why) {
				kprintf("selftest: FAIL %s: %s\n", t->name,
					why);
				failed++;
			} else {
				kprintf("selftest: PASS %s (%lu cycles)\n",
					t->name, cycles);
				passed++;
			}
		}
	}
	kprintf("selftest: %u passed, %u failed, %u skipped\n", passed, failed,
		skipped);
	return failed;
}
