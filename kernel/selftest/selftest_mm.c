/*
 * Self-tests of what the CPU enforces on the kernel's own mappings: text
 * and rodata are not writable (in ring 0 too: CR0.WP), data, bss, stacks
 * and the direct map are not executable (NX), and what is not mapped --
 * the null page, the lower half -- faults, at data access and at
 * instruction fetch alike. Then what the mappings are: the direct map
 * holds write-back RAM and nothing else, devices get their memory type
 * through the PAT, and no frame is both executable and writable through
 * two mappings.
 */
#include "common/mm/dmap.h"
#include "common/mm/frames.h"
#include "common/mm/memmap.h"
#include "common/mm/paging.h"
#include "kernel/boot/handoff.h"
#include "kernel/boot/layout.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/cpu.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/ptdump.h"
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

/* --- what the direct map holds --- */

/* A range the direct map covers (a RAM type with BI_MEM_WB); notes in
 * *kernel whether it is the kernel image's. */
static bool direct_ram(void *kernel, const struct bi_mem_range *r)
{
	*(bool *)kernel |= r->type == MEM_KERNEL;
	return dmap_type_mapped(r->type) && (r->attr & BI_MEM_WB);
}

static bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
	return a < b + b_size && b < a + a_size;
}

struct dmap_check {
	struct st_ctx *c;
	const char *why;
	uint64_t leaves;
};

static int check_dmap_leaf(void *arg, const struct pt_leaf *l)
{
	struct dmap_check *d = arg;
	struct st_ctx *c = d->c;
	const struct bi_framebuffer *fb = &c->h->info.fb;
	bool kernel = false;
	if (l->va < DMAP_BASE || l->va >= DMAP_END)
		return 0;
	d->leaves++;
	if (l->va != DMAP_BASE + l->pa)
		d->why = "maps the wrong frame";
	else if (!memmap_covers(c->h->mmap, c->h->mmap_count, l->pa, l->size,
				direct_ram, &kernel))
		d->why = "is not (all) write-back RAM of the map";
	else if (fb->base && overlaps(l->pa, l->size, fb->base, fb->size))
		d->why = "covers the framebuffer";
	else if (overlaps(l->pa, l->size, LAPIC_PHYS, PAGE_SIZE))
		d->why = "covers the LAPIC";
	else if (pt_memtype(cpu_pat(), l->level, l->entry) != PAT_WB)
		d->why = "is not write-back";
	else if (c->cpu->nx && !(l->effective & PTE_NX))
		d->why = "is executable";
	else if (kernel && (l->effective & PTE_W))
		d->why = "is a writable alias of the kernel image";
	else if (!kernel && !(l->effective & PTE_W))
		d->why = "is read-only RAM";
	if (d->why) {
		st_fail(c, "direct-map leaf 0x%lx -> 0x%lx (%lu KiB) %s", l->va,
			l->pa, l->size >> 10, d->why);
		return 1;
	}
	return 0;
}

static const char *check_dmap(struct st_ctx *c)
{
	struct dmap_check d = {.c = c};
	pt_for_each_leaf(mm_kernel_pt(), check_dmap_leaf, &d);
	if (d.why)
		return c->why;
	if (!d.leaves)
		return "no direct-map leaves at all";
	return NULL;
}

/*
 * Every direct-map leaf is write-back RAM of the map (no gap, no
 * framebuffer, no LAPIC, the image read-only), and the framebuffer is
 * mapped write-combining where the CPU has PAT (uncached otherwise). The
 * check is then shown to fail: the LAPIC page mapped (uncached, never
 * touched) into the direct map must be caught, then it is removed.
 */
static const char *direct_map_only_ram(struct st_ctx *c)
{
	const struct bi_framebuffer *fb = &c->h->info.fb;
	const char *why = check_dmap(c);
	if (why)
		return why;
	if (fb->base) {
		uint64_t va = mm_framebuffer_va(), pa, e;
		int level;
		/* From CPUID, not from mmio.c's choice, which this checks. */
		uint32_t want = c->cpu->pat ? PAT_WC : PAT_UC;
		if (!va ||
		    pt_translate(mm_kernel_pt(), va, &pa, &e, &level, NULL) ||
		    pa != fb->base)
			return st_fail(c,
				       "framebuffer 0x%lx not mapped at 0x%lx",
				       fb->base, va);
		if (pt_memtype(cpu_pat(), level, e) != want)
			return st_fail(
			    c, "framebuffer mapped %s, not %s",
			    pt_memtype_name(pt_memtype(cpu_pat(), level, e)),
			    pt_memtype_name(want));
		if (pt_translate(mm_kernel_pt(), va + fb->size - 1, &pa, NULL,
				 NULL, NULL) ||
		    pa != fb->base + fb->size - 1)
			return "the framebuffer's last byte is not mapped";
	}
	uint64_t hole = DMAP_BASE + LAPIC_PHYS;
	int rc = pt_map(mm_kernel_pt(), hole, LAPIC_PHYS, PAGE_SIZE,
			PTE_G | PTE_CACHE_UC | (c->cpu->nx ? PTE_NX : 0), PT_L1,
			NULL);
	if (rc)
		return st_fail(c,
			       "could not map the LAPIC page into the direct "
			       "map to see the check fail (error %d)",
			       rc);
	why = check_dmap(c);
	pt_unmap(mm_kernel_pt(), hole, PAGE_SIZE);
	if (!why)
		return "the check passed with the LAPIC in the direct map";
	return check_dmap(c);
}

/* The PAT holds the kernel's value when CPUID has PAT; the memory types
 * then come out as intended. */
static const char *pat_programmed(struct st_ctx *c)
{
	if (!c->cpu->pat)
		return cpu_pat() == PAT_POWER_ON
			   ? NULL
			   : "no PAT, but cpu_pat changed";
	uint64_t pat = rdmsr(MSR_PAT);
	if (pat != PAT_KERNEL || cpu_pat() != PAT_KERNEL)
		return st_fail(c,
			       "IA32_PAT 0x%lx, cpu_pat 0x%lx, expected "
			       "0x%lx",
			       pat, cpu_pat(), PAT_KERNEL);
	return NULL;
}

/* mm_map_mmio: the device page uncached, writable, never executable, in
 * the MMIO area, the offset kept, an unmapped page after it, and the
 * next small device right after that (no 2 MiB alignment for a page).
 * The pages (the LAPIC's and the IOAPIC's) are not touched. */
static const char *mmio_uncached(struct st_ctx *c)
{
	uint64_t va = mm_map_mmio(LAPIC_PHYS + 0x20, 4, MM_UC), pa, e;
	uint64_t next = mm_map_mmio(IOAPIC_PHYS, 0x20, MM_UC);
	int level;
	if (next != (va & PAGE_MASK) + 2 * PAGE_SIZE)
		return st_fail(c,
			       "a second one-page device at 0x%lx, not two "
			       "pages after the first at 0x%lx",
			       next, va);
	if (va < MMIO_BASE || va >= MMIO_END || (va & 0xfff) != 0x20)
		return st_fail(c, "mm_map_mmio gave 0x%lx", va);
	if (pt_translate(mm_kernel_pt(), va, &pa, &e, &level, NULL) ||
	    pa != LAPIC_PHYS + 0x20)
		return "the MMIO page does not translate to the device";
	if (pt_memtype(cpu_pat(), level, e) != PAT_UC)
		return st_fail(
		    c, "mapped %s, not UC",
		    pt_memtype_name(pt_memtype(cpu_pat(), level, e)));
	if (!(e & PTE_W) || (e & PTE_U) || (c->cpu->nx && !(e & PTE_NX)))
		return st_fail(c, "entry 0x%lx: want W, not U, NX", e);
	if (pt_translate(mm_kernel_pt(), (va & PAGE_MASK) + PAGE_SIZE, NULL,
			 NULL, NULL, NULL) != -ERR_NOTFOUND)
		return "the page after a device mapping is mapped";
	return NULL;
}

/* The W^X check sees a writable alias of code: a kernel text frame
 * mapped writable (and NX) elsewhere must fail it; removed, it passes. */
static const char *wx_catches_alias(struct st_ctx *c)
{
	uint64_t text = (uint64_t)(uintptr_t)__text_start, pa;
	if (pt_translate(mm_kernel_pt(), text, &pa, NULL, NULL, NULL))
		return "kernel text does not translate";
	if (wx_scan(mm_kernel_pt(), c->cpu->nx, false))
		return "W^X fails before the alias is made";
	int rc = pt_map(mm_kernel_pt(), SELFTEST_VA, pa, PAGE_SIZE,
			st_data_attr(c), PT_L1, NULL);
	if (rc)
		return st_fail(c, "pt_map of the alias: error %d", rc);
	uint64_t bad = wx_scan(mm_kernel_pt(), c->cpu->nx, false);
	pt_unmap(mm_kernel_pt(), SELFTEST_VA, PAGE_SIZE);
	if (bad != 1)
		return st_fail(c,
			       "W^X check found %lu offenders with a "
			       "writable alias of text frame 0x%lx, not 1",
			       bad, pa);
	if (wx_scan(mm_kernel_pt(), c->cpu->nx, false))
		return "W^X still fails after the alias is removed";
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
    {"direct-map-only-ram", .body = direct_map_only_ram},
    {"pat-programmed", .body = pat_programmed},
    {"mmio-map-uncached-nx", .body = mmio_uncached},
    {"wx-check-catches-writable-alias", .body = wx_catches_alias},
};
const uint32_t selftest_mm_count = ARRAY_SIZE(selftest_mm_tests);
