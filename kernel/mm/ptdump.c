/*
 * Page-table dumps and the W^X check. Both read the tables through
 * pt_for_each_leaf and merge neighbouring leaves that continue each other
 * (same page size, flags and memory type, contiguous virtual and physical
 * addresses), so a 6 GiB direct map is a few lines, not six thousand.
 * Memory types are decoded through the PAT the kernel programmed
 * (cpu_pat).
 */
#include "kernel/mm/ptdump.h"

#include "common/lib/fmt.h"
#include "kernel/boot/layout.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/cpu.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm.h"

/* Flags that make two leaves different for a reader (the cache bits are
 * shown as the memory type they select). */
#define SHOWN_BITS (PTE_W | PTE_U | PTE_G | PTE_NX)

struct run {
	bool open;
	uint64_t va, pa, size, flags, effective;
	uint32_t memtype;
	int level; /* of its leaves */
};

typedef void (*run_fn)(void *arg, const struct run *r);

struct merger {
	struct run cur;
	run_fn emit;
	void *arg;
	uint64_t leaves;
};

static int merge_leaf(void *arg, const struct pt_leaf *l)
{
	struct merger *m = arg;
	struct run *c = &m->cur;
	uint64_t flags = l->entry & SHOWN_BITS;
	uint32_t memtype = pt_memtype(cpu_pat(), l->level, l->entry);
	m->leaves++;
	if (c->open && c->level == l->level && c->flags == flags &&
	    c->effective == l->effective && c->memtype == memtype &&
	    c->va + c->size == l->va && c->pa + c->size == l->pa) {
		c->size += l->size;
		return 0;
	}
	if (c->open)
		m->emit(m->arg, c);
	*c = (struct run){true,  l->va,        l->pa,   l->size,
			  flags, l->effective, memtype, l->level};
	return 0;
}

static uint64_t for_each_run(const struct page_table *pt, run_fn emit,
			     void *arg)
{
	struct merger m = {.emit = emit, .arg = arg};
	pt_for_each_leaf(pt, merge_leaf, &m);
	if (m.cur.open)
		emit(arg, &m.cur);
	return m.leaves;
}

/* "RWX" style flags as the CPU sees them, the memory type, then the
 * other bits. */
static void flag_text(char *buf, size_t cap, uint64_t eff, uint64_t flags,
		      uint32_t memtype)
{
	fmt_snprintf(buf, cap, "r%c%c %-3s %s%s", (eff & PTE_W) ? 'w' : '-',
		     (eff & PTE_NX) ? '-' : 'x', pt_memtype_name(memtype),
		     (eff & PTE_U) ? "user " : "",
		     (flags & PTE_G) ? "global" : "");
}

static void print_run(void *arg, const struct run *r)
{
	char flags[64], size[24];
	flag_text(flags, sizeof(flags), r->effective, r->flags, r->memtype);
	fmt_size(size, sizeof(size), r->size);
	kprintf("ptdump: %016lx-%016lx -> %016lx %8s %s %s\n", r->va,
		r->va + r->size, r->pa, size, pt_leaf_name(r->level), flags);
}

void ptdump_print(const struct page_table *pt)
{
	kprintf("ptdump: virtual range                      -> physical"
		"              size page flags type\n");
	uint64_t leaves = for_each_run(pt, print_run, NULL);
	kprintf("ptdump: %lu leaves\n", leaves);
}

/* Physical ranges reachable through an executable mapping, for the
 * alias check. The kernel has a handful (its text); more than fit is a
 * failure of its own. */
#define WX_EXEC_MAX 32

struct wx_state {
	bool nx, print;
	uint64_t ranges, bad;
	uint64_t exec_pa[WX_EXEC_MAX], exec_end[WX_EXEC_MAX];
	uint32_t exec_count;
	bool exec_overflow;
};

static bool in_text(uint64_t va)
{
	return va >= (uint64_t)(uintptr_t)__text_start &&
	       va < (uint64_t)(uintptr_t)__text_end;
}

/* Without NX nothing can be non-executable; what is left to check is
 * that the code itself is not writable. */
static bool run_exec(const struct wx_state *s, const struct run *r)
{
	return s->nx ? !(r->effective & PTE_NX)
		     : in_text(r->va) || in_text(r->va + r->size - 1);
}

static void wx_collect(void *arg, const struct run *r)
{
	struct wx_state *s = arg;
	if (!run_exec(s, r))
		return;
	if (s->exec_count == WX_EXEC_MAX) {
		s->exec_overflow = true;
		return;
	}
	s->exec_pa[s->exec_count] = r->pa;
	s->exec_end[s->exec_count++] = r->pa + r->size;
}

static void wx_run(void *arg, const struct run *r)
{
	struct wx_state *s = arg;
	char size[24];
	s->ranges++;
	if (!(r->effective & PTE_W))
		return;
	fmt_size(size, sizeof(size), r->size);
	if (run_exec(s, r)) {
		if (s->print)
			kprintf("kernel: W^X check: %016lx-%016lx (%s) is "
				"writable and executable\n",
				r->va, r->va + r->size, size);
		s->bad++;
		return;
	}
	/* A writable alias of frames some mapping executes. */
	for (uint32_t i = 0; i < s->exec_count; i++) {
		uint64_t lo = r->pa > s->exec_pa[i] ? r->pa : s->exec_pa[i];
		uint64_t hi = r->pa + r->size < s->exec_end[i] ? r->pa + r->size
							       : s->exec_end[i];
		if (lo >= hi)
			continue;
		if (s->print)
			kprintf("kernel: W^X check: %016lx-%016lx (%s) is a "
				"writable alias of executable frames "
				"0x%lx-0x%lx\n",
				r->va, r->va + r->size, size, lo, hi);
		s->bad++;
		return;
	}
}

uint64_t wx_scan(const struct page_table *pt, bool cpu_has_nx, bool print)
{
	struct wx_state s = {.nx = cpu_has_nx, .print = print};
	for_each_run(pt, wx_collect, &s);
	for_each_run(pt, wx_run, &s);
	if (s.exec_overflow) {
		if (print)
			kprintf("kernel: W^X check: more than %u executable "
				"ranges, aliases not checked\n",
				WX_EXEC_MAX);
		s.bad++;
	}
	if (!print)
		return s.bad;
	if (s.bad)
		kprintf("kernel: W^X check: FAILED (%lu of %lu mappings)\n",
			s.bad, s.ranges);
	else if (cpu_has_nx)
		kprintf("kernel: W^X check: passed (%lu mappings, no writable "
			"alias of %u executable range%s)\n",
			s.ranges, s.exec_count, s.exec_count == 1 ? "" : "s");
	else
		kprintf("kernel: W^X check: passed (%lu mappings; the CPU has "
			"no NX, so only writes to code are ruled out)\n",
			s.ranges);
	return s.bad;
}

uint64_t wx_check(const struct page_table *pt, bool cpu_has_nx)
{
	return wx_scan(pt, cpu_has_nx, true);
}

static void entry_text(char *buf, size_t cap, int level, uint64_t e)
{
	if (!(e & PTE_P)) {
		fmt_snprintf(buf, cap, "not present");
		return;
	}
	bool leaf = level == PT_L1 || (e & PTE_PS);
	fmt_snprintf(
	    buf, cap, "%s%s%s%s%s%s%s%s%s", leaf ? "leaf" : "table",
	    (e & PTE_W) ? " W" : " RO", (e & PTE_U) ? " U" : "",
	    (e & PTE_NX) ? " NX" : "", (e & PTE_G) ? " G" : "",
	    (e & PTE_A) ? " A" : "", (e & PTE_D) ? " D" : "", leaf ? " " : "",
	    leaf ? pt_memtype_name(pt_memtype(cpu_pat(), level, e)) : "");
}

void ptdump_walk(uint64_t va)
{
	struct page_table live;
	struct pt_walk w;
	char text[64];
	mm_live_tables(&live);
	if (!va_canonical(va)) {
		kprintf("  walk of %016lx: not canonical\n", va);
		return;
	}
	pt_translate(&live, va, NULL, NULL, NULL, &w);
	for (int i = 0; i < w.levels; i++) {
		int level = PT_L4 - i;
		entry_text(text, sizeof(text), level, w.entry[i]);
		kprintf("  %-4s[%3u] at %016lx: %016lx %s\n",
			pt_level_name(level), PT_INDEX(va, level),
			w.table[i] + 8 * PT_INDEX(va, level), w.entry[i], text);
	}
}
