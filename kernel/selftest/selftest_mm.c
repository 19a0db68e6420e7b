/*
 * Self-tests of what the CPU enforces on the kernel's own mappings: text
 * and rodata are not writable (in ring 0 too: CR0.WP), data, bss, stacks
 * and the direct map are not executable (NX), and what is not mapped --
 * the null page, the lower half -- faults, at data access and at
 * instruction fetch alike.
 */
#include "common/frames.h"
#include "common/paging.h"
#include "kernel/mm/mm.h"
#include "kernel/selftest/selftest.h"
#include "kernel/selftest/selftest_lib.h"

static uint64_t va_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* --- the kernel image's permissions --- */

static const uint64_t rodata_word = 0x0123456789abcdefull;
/* volatile: never written after start-up, a plain array could be
 * promoted to a constant and placed in .rodata. */
static volatile uint8_t data_ret[16] = {X86_RET}; /* initialised: .data */
static volatile uint8_t bss_ret[16];              /* zero: .bss */

static const char *write_text(struct st_ctx *c)
{
	st_write((void *)(uintptr_t)selftest_run);
	return "a write to kernel text did not fault";
}

static const char *write_rodata(struct st_ctx *c)
{
	st_write((void *)&rodata_word);
	return "a write to kernel rodata did not fault";
}

static const char *exec_data(struct st_ctx *c)
{
	probe_call(va_of((const void *)data_ret));
	return "code in .data ran";
}

static const char *exec_bss(struct st_ctx *c)
{
	bss_ret[0] = X86_RET;
	probe_call(va_of((const void *)bss_ret));
	return "code in .bss ran";
}

static const char *exec_stack(struct st_ctx *c)
{
	volatile uint8_t code[16];
	code[0] = X86_RET;
	probe_call((uint64_t)(uintptr_t)code);
	return "code on the stack ran";
}

static const char *exec_direct_map(struct st_ctx *c)
{
	uint64_t pa = mm_alloc_zeroed();
	if (!pa)
		return "no free frame";
	*(volatile uint8_t *)phys_to_virt(pa) = X86_RET;
	const char *why = st_expect(c, st_call, phys_to_virt(pa), TRAP_PF,
				    PF_CHECKED, PF_P | PF_I, NULL);
	frames_free(mm_frames(), pa, 1);
	return why;
}

/* CR0.WP: ring 0 obeys read-only pages too, not only in the image. */
static const char *write_readonly_page(struct st_ctx *c)
{
	uint64_t pa = st_map_page(c, SELFTEST_VA, st_data_attr(c) & ~PTE_W);
	if (!pa)
		return c->why;
	const char *why = st_expect(c, st_write, (void *)SELFTEST_VA, TRAP_PF,
				    PF_CHECKED, PF_P | PF_W, NULL);
	st_unmap_page(SELFTEST_VA, pa);
	return why;
}

/* --- what is not mapped --- */

static const char *read_null(struct st_ctx *c)
{
	probe_read8(0);
	return "a read of address 0 did not fault";
}

/* A jump to an unmapped page: the fault's rip is the target, so only a
 * return point saved beforehand (run_catching) can recover. The I bit is
 * reported when NXE or SMEP is on. */
static const char *fetch_unmapped(struct st_ctx *c)
{
	uint64_t target = SELFTEST_VA + 0x123000;
	uint32_t bits = (c->cpu->nx || c->cpu->smep) ? PF_I : 0;
	struct caught k;
	const char *why = st_expect(c, st_call, (void *)(uintptr_t)target,
				    TRAP_PF, PF_CHECKED, bits, &k);
	if (!why && (k.rip != target || k.cr2 != target))
		why = st_fail(c, "rip %016lx cr2 %016lx, expected both %016lx",
			      k.rip, k.cr2, target);
	return why;
}

static const char *lower_half_unmapped(struct st_ctx *c)
{
	const struct page_table *pt = mm_kernel_pt();
	const uint64_t *pml4 = phys_to_virt(pt->root);
	for (uint64_t va = 0; va <= 0x1000; va += 0x1000)
		if (pt_translate(pt, va, NULL, NULL, NULL, NULL) !=
		    -ERR_NOTFOUND)
			return st_fail(c, "0x%lx translates", va);
	for (uint32_t i = 0; i < PT_ENTRIES / 2; i++)
		if (pml4[i])
			return st_fail(c, "PML4 slot %u (lower half) is 0x%lx",
				       i, pml4[i]);
	return NULL;
}

const struct selftest selftest_mm_tests[] = {
    {"text-not-writable", EXPECT_PF(PF_P | PF_W), .body = write_text},
    {"rodata-not-writable", EXPECT_PF(PF_P | PF_W), .body = write_rodata},
    {"readonly-page-not-writable-in-ring0", .body = write_readonly_page},
    {"no-exec-data", NEEDS_NX, EXPECT_PF(PF_P | PF_I), .body = exec_data},
    {"no-exec-bss", NEEDS_NX, EXPECT_PF(PF_P | PF_I), .body = exec_bss},
    {"no-exec-stack", NEEDS_NX, EXPECT_PF(PF_P | PF_I), .body = exec_stack},
    {"no-exec-direct-map", NEEDS_NX, .body = exec_direct_map},
    {"null-read-faults", EXPECT_PF(0), .body = read_null},
    {"fetch-from-unmapped-page-faults", .body = fetch_unmapped},
    {"lower-half-unmapped", .body = lower_half_unmapped},
};
const uint32_t selftest_mm_count = ARRAY_SIZE(selftest_mm_tests);
