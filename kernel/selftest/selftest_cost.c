/*
 * What the pieces of a page-table update cost on this machine, each timed
 * on its own and printed as cycles per operation:
 *
 *   selftest: cost: write of an entry, live table      12 cycles/op (64)
 *
 * A page-table change is made of writes to table pages the CPU may be
 * walking, first touches of the pages it maps, and TLB flushes (INVLPG,
 * a CR3 reload, a CR4.PGE toggle that drops global entries too). Under
 * an emulator each is cheap. Under a hypervisor some may trap: writes to
 * live tables where it shadows them, first touches where it backs guest
 * memory only when touched, flushes where it must follow them. A matrix
 * cell that is slow under KVM and fast under TCG then shows which one
 * (README, "What page-table updates cost").
 *
 * It is a self-test as well: each figure comes with a check that the
 * operation did what it is for. The CPU reads what was written to the
 * live table; after INVLPG, a CR3 reload and a CR4.PGE toggle a changed
 * entry is what the CPU uses, for a global entry too where only the
 * toggle may drop it; a page first touched holds what was written. The
 * counts keep it to well under a millisecond under TCG, and at most
 * COST_FRESH first touches of frames not used before, the operation a
 * slow host makes slowest.
 *
 * Scratch addresses are SELFTEST_VA's: the page st_map_page maps there
 * makes the page table, whose other entries this test writes directly
 * (each value checked by pt_entry_check first) and clears again, so the
 * table-count test that ends the run sees nothing left. Those direct
 * writes are not in the table's count of present entries (common/mm/
 * paging.h): safe only because slot 0's page keeps the count above 0
 * until clean() has cleared them, and clean() unmaps that page last.
 */
#include "common/lib/fmt.h"
#include "common/lib/string.h"
#include "common/mm/frames.h"
#include "common/mm/paging.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/cpu.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm.h"
#include "kernel/selftest/selftest_lib.h"

#define COST_PAGES   64 /* entries written, pages touched, INVLPGs */
#define COST_FLUSHES 16 /* CR3 reloads, CR4.PGE toggles, map + unmap */
#define COST_FRESH   8  /* first touches of frames not used before */
/* Table slots: 1..COST_PAGES for the 64, then the fresh frames', then
 * one for the kernel's own map and unmap. */
#define SLOT_FRESH  (COST_PAGES + 1)
#define SLOT_MAPPED (SLOT_FRESH + COST_FRESH)

#define MARK_A 0x0a0a0a0a0a0a0a0aull
#define MARK_B 0x0b0b0b0b0b0b0b0bull

static uint64_t slot_va(uint32_t slot)
{
	return SELFTEST_VA + slot * PAGE_SIZE;
}

static uint64_t read64(uint64_t va)
{
	return *(const volatile uint64_t *)(uintptr_t)va;
}

/* The figures, printed together in one line at the end: printing costs
 * more than all the operations timed (COM1 under TCG). */
#define FIGURES_MAX 10
struct figure {
	const char *what;
	uint64_t per_op;
};
static struct figure figures[FIGURES_MAX];
static uint32_t figure_count;

static void report(const char *what, uint64_t cycles, uint32_t ops)
{
	if (figure_count < FIGURES_MAX)
		figures[figure_count++] = (struct figure){what, cycles / ops};
}

static void print_figures(void)
{
	char line[320];
	size_t n = str_copy(line, "selftest: cost (cycles/op):", sizeof(line));

	for (uint32_t i = 0; i < figure_count && n < sizeof(line); i++)
		n += fmt_snprintf(line + n, sizeof(line) - n, "%s %s %lu",
				  i ? "," : "", figures[i].what,
				  figures[i].per_op);
	kprintf("%s\n", line);
}

struct cost {
	struct st_ctx *c;
	uint64_t *pte; /* the page table of SELFTEST_VA, via the direct map */
	uint64_t a, b; /* frames holding MARK_A and MARK_B */
	uint64_t nx;
	uint64_t fresh[COST_FRESH];
	uint32_t fresh_count;
};

/* A read-only leaf for frame pa, global or not, checked as pt_map would
 * check it. NULL, or why the validator refused it. */
static const char *leaf(const struct cost *k, uint64_t pa, uint64_t bits,
			uint64_t *e)
{
	*e = pa | PTE_P | k->nx | bits;
	return pt_entry_check(mm_kernel_pt()->env, PT_L1, *e);
}

/* Writes to the live table, then first and second touches of what they
 * map, then INVLPG: after which a changed entry must be what the CPU
 * reads. */
static const char *writes_touches_invlpg(struct cost *k)
{
	uint64_t e, e_b, t0, t1, t2, t3, sum = 0;
	const char *why = leaf(k, k->a, PTE_G, &e);

	if (!why)
		why = leaf(k, k->b, PTE_G, &e_b);
	if (why)
		return st_fail(k->c, "entry refused: %s", why);
	t0 = rdtsc();
	for (uint32_t i = 1; i <= COST_PAGES; i++)
		k->pte[i] = e;
	t1 = rdtsc();
	for (uint32_t i = 1; i <= COST_PAGES; i++)
		sum += read64(slot_va(i));
	t2 = rdtsc();
	for (uint32_t i = 1; i <= COST_PAGES; i++)
		sum += read64(slot_va(i));
	t3 = rdtsc();
	if (sum != 2 * COST_PAGES * MARK_A)
		return "the pages mapped by entries written to the live table "
		       "do not read the frame they map";
	report("pte-live", t1 - t0, COST_PAGES);
	report("touch-new", t2 - t1, COST_PAGES);
	report("touch-cached", t3 - t2, COST_PAGES);

	/* Slot 1 now maps b; the CPU just used it with a, and may hold
	 * that until INVLPG. */
	k->pte[1] = e_b;
	t0 = rdtsc();
	for (uint32_t i = 1; i <= COST_PAGES; i++)
		invlpg(slot_va(i));
	t1 = rdtsc();
	if (read64(slot_va(1)) != MARK_B)
		return "after INVLPG the CPU still reads the old frame";
	report("invlpg", t1 - t0, COST_PAGES);
	return NULL;
}

/* The same writes to a table page no CR3 reaches: what filling a new
 * table before linking it costs. */
static const char *unlinked_writes(struct cost *k)
{
	uint64_t e, t0, t1, table = mm_alloc_zeroed();

	if (!table)
		return "no free frame for a scratch table";
	volatile uint64_t *p = phys_to_virt(table);
	leaf(k, k->a, PTE_G, &e);
	t0 = rdtsc();
	for (uint32_t i = 1; i <= COST_PAGES; i++)
		p[i] = e;
	t1 = rdtsc();
	frames_free(mm_frames(), table, 1);
	report("pte-unlinked", t1 - t0, COST_PAGES);
	return NULL;
}

/* Slot 2, first with a then with b, must read b after the flush. */
static const char *flush_drops(struct cost *k, uint64_t bits, bool pge_toggle,
			       const char *name, const char *what)
{
	uint64_t e_a, e_b, t0, t1, cr3 = read_cr3(), cr4 = read_cr4();

	leaf(k, k->a, bits, &e_a);
	leaf(k, k->b, bits, &e_b);
	k->pte[2] = e_a;
	invlpg(slot_va(2));
	if (read64(slot_va(2)) != MARK_A)
		return "a freshly written entry does not read its frame";
	k->pte[2] = e_b;
	t0 = rdtsc();
	for (uint32_t i = 0; i < COST_FLUSHES; i++) {
		if (pge_toggle) {
			write_cr4(cr4 & ~CR4_PGE);
			write_cr4(cr4);
		} else {
			write_cr3(cr3);
		}
	}
	t1 = rdtsc();
	if (read64(slot_va(2)) != MARK_B)
		return st_fail(k->c,
			       "after %s the CPU still reads the old "
			       "frame",
			       what);
	report(name, t1 - t0, COST_FLUSHES);
	return NULL;
}

/* First writes to frames the kernel has not used (its allocator hands
 * them out unzeroed here), each through a new mapping. */
static const char *fresh_touches(struct cost *k)
{
	uint64_t t0, t1, e;

	for (uint32_t i = 0; i < COST_FRESH; i++) {
		uint64_t pa = frames_alloc(mm_frames());
		if (!pa)
			return "no free frame";
		k->fresh[k->fresh_count++] = pa;
		const char *why = leaf(k, pa, PTE_W | PTE_G, &e);
		if (why)
			return st_fail(k->c, "entry refused: %s", why);
		k->pte[SLOT_FRESH + i] = e;
	}
	t0 = rdtsc();
	for (uint32_t i = 0; i < COST_FRESH; i++)
		*(volatile uint64_t *)(uintptr_t)slot_va(SLOT_FRESH + i) = i;
	t1 = rdtsc();
	for (uint32_t i = 0; i < COST_FRESH; i++)
		if (read64(slot_va(SLOT_FRESH + i)) != i)
			return "a first-touched page does not hold its write";
	report("touch-fresh", t1 - t0, COST_FRESH);
	return NULL;
}

/* The kernel's own path: pt_map of one page into the live tables (the
 * table exists) and pt_unmap with its flush. */
static const char *map_unmap(struct cost *k)
{
	struct page_table *pt = mm_kernel_pt();
	uint64_t va = slot_va(SLOT_MAPPED), t0, t1;
	uint64_t attr = PTE_G | k->nx;

	t0 = rdtsc();
	for (uint32_t i = 0; i < COST_FLUSHES; i++) {
		int rc = pt_map(pt, va, k->a, PAGE_SIZE, attr, PT_L1, NULL);
		if (rc)
			return st_fail(k->c, "pt_map returned %d", rc);
		if (read64(va) != MARK_A) {
			pt_unmap(pt, va, PAGE_SIZE);
			return "pt_map's page does not read its frame";
		}
		pt_unmap(pt, va, PAGE_SIZE);
	}
	t1 = rdtsc();
	report("map-unmap", t1 - t0, COST_FLUSHES);
	return NULL;
}

struct measured {
	struct cost *k;
	const char *why;
};

static void measure(void *arg)
{
	struct measured *m = arg;
	struct cost *k = m->k;

	m->why = writes_touches_invlpg(k);
	if (!m->why)
		m->why = unlinked_writes(k);
	if (!m->why)
		m->why = flush_drops(k, 0, false, "cr3-reload", "a CR3 reload");
	if (!m->why && (read_cr4() & CR4_PGE))
		m->why = flush_drops(k, PTE_G, true, "pge-toggle",
				     "a CR4.PGE toggle (global entry)");
	else if (!m->why)
		report("pge-toggle-untimed-pge-off", 0, 1);
	if (!m->why)
		m->why = fresh_touches(k);
	if (!m->why)
		m->why = map_unmap(k);
}

static void clean(struct cost *k)
{
	for (uint32_t i = 1; i < SLOT_MAPPED; i++)
		k->pte[i] = 0;
	tlb_flush(slot_va(1), (SLOT_MAPPED - 1) * PAGE_SIZE);
	/* map_unmap's page, still mapped if its read faulted: through
	 * pt_unmap, which keeps the table's count of entries right. */
	if (k->pte[SLOT_MAPPED] & PTE_P)
		pt_unmap(mm_kernel_pt(), slot_va(SLOT_MAPPED), PAGE_SIZE);
	for (uint32_t i = 0; i < k->fresh_count; i++)
		frames_free(mm_frames(), k->fresh[i], 1);
	if (k->b)
		frames_free(mm_frames(), k->b, 1);
	st_unmap_page(SELFTEST_VA, k->a);
}

static const char *costs(struct st_ctx *c)
{
	struct cost k = {.c = c, .nx = st_data_attr(c) & PTE_NX};
	struct pt_walk w;
	const char *why;
	int level = 0;

	figure_count = 0;
	k.a = st_map_page(c, SELFTEST_VA, PTE_G | k.nx);
	if (!k.a)
		return c->why;
	if (pt_translate(mm_kernel_pt(), SELFTEST_VA, NULL, NULL, &level, &w) ||
	    level != PT_L1) {
		st_unmap_page(SELFTEST_VA, k.a);
		return "the scratch page is not a 4 KiB leaf";
	}
	k.pte = phys_to_virt(w.table[PT_LEVELS - 1]);
	/* Slot 0 is the page just mapped; the others must be free. */
	for (uint32_t i = 1; i <= SLOT_MAPPED; i++) {
		if (k.pte[i]) {
			st_unmap_page(SELFTEST_VA, k.a);
			return st_fail(c,
				       "slot %u of the scratch table is in "
				       "use",
				       i);
		}
	}
	k.b = mm_alloc_zeroed();
	if (!k.b) {
		st_unmap_page(SELFTEST_VA, k.a);
		return "no free frame";
	}
	*(volatile uint64_t *)phys_to_virt(k.a) = MARK_A;
	*(volatile uint64_t *)phys_to_virt(k.b) = MARK_B;

	/* Nested, so that a fault in the middle still undoes everything
	 * below; the fault is then this test's failure. */
	struct caught fault;
	struct measured m = {&k, NULL};
	if (run_catching(measure, &m, &fault)) {
		char got[160];
		st_describe(got, sizeof(got), &fault);
		why = st_fail(c, "unexpected %s", got);
	} else {
		why = m.why;
	}
	clean(&k);
	if (!why)
		print_figures();
	return why;
}

const struct selftest selftest_cost_tests[] = {
    {"page-table-operation-costs", .body = costs},
};
const uint32_t selftest_cost_count = ARRAY_SIZE(selftest_cost_tests);
