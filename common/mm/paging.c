/*
 * x86-64 4-level page tables. See paging.h for the contracts, and
 * paging_walk.h for how the code is laid out over paging*.c.
 *
 * This file: the entry validator, table sets (init, attach, forget,
 * destroy), the leaves in order, the table tally, cut, and memory types.
 */
#include "common/mm/paging_walk.h"

const char *pt_level_name(int level)
{
	static const char *const names[] = {"?", "PT", "PD", "PDPT", "PML4"};
	return level >= PT_L1 && level <= PT_L4 ? names[level] : names[0];
}

const char *pt_leaf_name(int level)
{
	return level == PT_L3 ? "1G" : level == PT_L2 ? "2M" : "4K";
}

const char *pt_entry_check(const struct pt_env *env, int level, uint64_t e)
{
	if (!(e & PTE_P))
		return NULL; /* the CPU ignores every other bit */
	if ((e & PTE_NX) && !env->nx)
		return "NX set but EFER.NXE is off (reserved bit 63)";
	if (e & PTE_HIGH_IGNORED) {
		/* A table's count (see PTE_COUNTED): in a link, with its flag,
		 * and no more than a table's entries. */
		if (level < PT_L2 || level > PT_L4 || is_leaf(level, e) ||
		    (e & PTE_HIGH_IGNORED & ~PTE_COUNT_MASK))
			return "bits 52-62 set (unused by this code)";
		if (!(e & PTE_COUNTED))
			return "a count in bits 52-61 without PTE_COUNTED "
			       "(bit 9)";
		if (pte_count(e) > PT_ENTRIES)
			return "a count in bits 52-61 above 512 entries";
	}
	if ((e & PTE_ADDR_MAX_MASK) & ~env->phys_mask)
		return "address above MAXPHYADDR (reserved bits)";
	switch (level) {
	case PT_L4:
		if (e & PTE_PS)
			return "PS set in a PML4 entry (reserved bit 7)";
		break;
	case PT_L3:
		if (!(e & PTE_PS))
			break;
		if (!env->page1g)
			return "1 GiB page but CPUID lacks Page1GB";
		if (e & PTE_RSVD_1G)
			return "reserved bits 29:13 set in a 1 GiB leaf";
		break;
	case PT_L2:
		if ((e & PTE_PS) && (e & PTE_RSVD_2M))
			return "reserved bits 20:13 set in a 2 MiB leaf";
		break;
	case PT_L1:
		break;
	default:
		return "no such level";
	}
	return NULL;
}

/* Why link_table has no table for a level-l entry: no page (or a
 * misaligned one, an allocator bug: it is not given back), or a page the
 * link v would put above MAXPHYADDR (it is given back). */
int pt_link_refused(struct pt_env *env, int l, uint64_t child, uint64_t v)
{
	if (!child || (child & ~PAGE_MASK))
		return -ERR_NOMEM;
	env->tables_allocated++;
	free_table(env, child);
	const char *why = pt_entry_check(env, l, v);
	env->last_error = why ? why : "table address above MAXPHYADDR";
	return -ERR_RANGE;
}

/* Nothing below the root is known; the masks are the env's now. */
void pt_cache_reset(struct page_table *pt)
{
	struct pt_cache *c = &pt->cache;
	c->root = pt->root;
	c->linear_root = pt->env && !pt->env->table ? pt->root : ~0ull;
	for (int i = 0; i < PT_LEVELS - 1; i++)
		c->key[i] = 0;
	uint64_t phys = pt->env ? pt->env->phys_mask & PTE_ADDR_MAX_MASK : 0;
	uint64_t nx_bad = pt->env && pt->env->nx ? 0 : PTE_NX;
	c->pa_bad = ~phys;
	c->attr_check = ~(PTE_ATTR_MASK & ~PTE_U) | nx_bad | PTE_W;
	/* Exactly what pt_entry_check refuses in a present 4 KiB leaf. */
	c->leaf_bad = PTE_HIGH_IGNORED | (PTE_ADDR_MAX_MASK & ~phys) | nx_bad;
}

void pt_forget(struct page_table *pt)
{
	pt_cache_reset(pt);
}

int pt_init(struct page_table *pt, struct pt_env *env)
{
	pt->env = env;
	pt->root = alloc_table(pt);
	pt_cache_reset(pt);
	return pt->root ? 0 : -ERR_NOMEM;
}

void pt_attach(struct page_table *pt, struct pt_env *env, uint64_t root)
{
	pt->env = env;
	pt->root = root;
	pt_cache_reset(pt);
}

/* Sign-extends bit 47 so PML4 slots 256..511 give higher-half addresses. */
static uint64_t canonical(uint64_t va)
{
	return (va & (1ull << 47)) ? va | 0xffff000000000000ull : va;
}

static int leaves(const struct page_table *pt, uint64_t table, int level,
		  uint64_t base, uint64_t eff, pt_leaf_fn fn, void *arg)
{
	const uint64_t *t = table_of(pt, table);
	for (uint32_t i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = t[i];
		if (!(e & PTE_P))
			continue;
		uint64_t va = canonical(base + (uint64_t)i * PT_SIZE(level));
		/* W and U hold only if every level allows them; NX holds if
		 * any level sets it. */
		uint64_t here =
		    (eff & e & (PTE_W | PTE_U)) | ((eff | e) & PTE_NX);
		int rc;
		if (is_leaf(level, e)) {
			struct pt_leaf leaf = {
			    .va = va,
			    .size = PT_SIZE(level),
			    .pa = entry_addr(level, e),
			    .entry = e,
			    .effective = here,
			    .level = level,
			};
			rc = fn(arg, &leaf);
		} else {
			rc = leaves(pt, e & PTE_ADDR_MAX_MASK, level - 1, va,
				    here, fn, arg);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int pt_for_each_leaf(const struct page_table *pt, pt_leaf_fn fn, void *arg)
{
	return leaves(pt, pt->root, PT_L4, 0, PTE_W | PTE_U, fn, arg);
}

static void audit(const struct page_table *pt, uint64_t table, int level,
		  struct pt_audit *a)
{
	const uint64_t *t = table_of(pt, table);
	for (uint32_t i = 0; level > PT_L1 && i < PT_ENTRIES; i++) {
		uint64_t e = t[i];
		if (!(e & PTE_P) || is_leaf(level, e))
			continue;
		uint64_t child = e & PTE_ADDR_MAX_MASK;
		const uint64_t *c = table_of(pt, child);
		uint32_t present = 0;
		for (uint32_t k = 0; k < PT_ENTRIES; k++)
			present += (uint32_t)(c[k] & PTE_P);
		a->linked++;
		a->empty += present == 0;
		if (!(e & PTE_COUNTED)) {
			a->uncounted++;
		} else if (pte_count(e) != present) {
			if (!a->wrong)
				a->first_wrong = child;
			a->wrong++;
		}
		audit(pt, child, level - 1, a);
	}
}

void pt_audit(const struct page_table *pt, struct pt_audit *a)
{
	*a = (struct pt_audit){0};
	if (pt->root)
		audit(pt, pt->root, PT_L4, a);
}

static void destroy(struct page_table *pt, uint64_t table, int level)
{
	uint64_t *t = table_of(pt, table);
	for (uint32_t i = 0; level > PT_L1 && i < PT_ENTRIES; i++)
		if ((t[i] & PTE_P) && !is_leaf(level, t[i]))
			destroy(pt, t[i] & PTE_ADDR_MAX_MASK, level - 1);
	free_table(pt->env, table);
}

void pt_destroy(struct page_table *pt)
{
	if (pt->root)
		destroy(pt, pt->root, PT_L4);
	pt->root = 0;
	pt_cache_reset(pt);
}

void pt_tally_init(struct pt_tally *t)
{
	*t = (struct pt_tally){.tables = 1}; /* the PML4 */
}

/*
 * A range with leaf L needs, at each level l from PDPT (3) down to L, the
 * tables of level l covering it: one per entry of level l + 1 it touches,
 * i.e. indices va >> PT_SHIFT(l + 1) .. last >> PT_SHIFT(l + 1). In
 * ascending order a table shared with earlier ranges can only be the
 * last one counted at that level.
 */
void pt_tally_add(struct pt_tally *t, uint64_t va, uint64_t size, int leaf)
{
	if (t->bad)
		return;
	if (leaf < PT_L1 || leaf > PT_L3 || size == 0 ||
	    !IS_ALIGNED(va | size, PT_SIZE(leaf)) ||
	    add_overflows(va, size - 1) || (t->started && va <= t->last_byte)) {
		t->bad = true;
		return;
	}
	uint64_t last_byte = va + size - 1;
	for (int level = PT_L3; level >= leaf; level--) {
		int shift = PT_SHIFT(level + 1); /* one table's reach */
		uint64_t first = va >> shift, end = last_byte >> shift;
		t->tables += end - first + 1;
		if (t->have[level - 1] && t->last[level - 1] == first)
			t->tables--; /* shares a table with an earlier range */
		t->last[level - 1] = end;
		t->have[level - 1] = true;
	}
	t->last_byte = last_byte;
	t->started = true;
}

uint64_t pt_tally_result(const struct pt_tally *t)
{
	return t->bad ? 0 : t->tables;
}

/*
 * A piece of level L runs until the range has no room for another L
 * leaf, or until the next boundary of the level above when a leaf of that
 * level fits from there: later boundaries have less room left, so if none
 * fits at the first, none fits at all.
 */
int pt_cut(uint64_t base, uint64_t size, int max_level, pt_piece_fn fn,
	   void *ctx)
{
	uint64_t s = base, e = base + size;
	/* Whole pages only: a part-page tail would be cut into empty
	 * pieces for ever. */
	if (!IS_ALIGNED(base | size, PAGE_SIZE) ||
	    (size && add_overflows(base, size)) || max_level < PT_L1 ||
	    max_level > PT_L3)
		return -ERR_INVALID;
	while (s < e) {
		int leaf = largest_leaf(s, e - s, max_level);
		uint64_t step = PT_SIZE(leaf);
		uint64_t end = s + (e - s) / step * step;
		if (leaf < max_level) {
			uint64_t up = PT_SIZE(leaf + 1);
			uint64_t next = ALIGN_UP(s, up);
			if (next > s && next < end && e - next >= up)
				end = next;
		}
		int rc = fn(ctx, s, end - s, leaf);
		if (rc)
			return rc;
		s = end;
	}
	return 0;
}

uint32_t pt_pat_index(int level, uint64_t e)
{
	uint64_t pat_bit = level == PT_L1 ? PTE_PS : PTE_PAT_LARGE;
	return ((e & pat_bit) ? 4u : 0u) | ((e & PTE_PCD) ? 2u : 0u) |
	       ((e & PTE_PWT) ? 1u : 0u);
}

uint32_t pt_memtype(uint64_t pat, int level, uint64_t e)
{
	return (uint32_t)(pat >> (8 * pt_pat_index(level, e))) & 0xff;
}

const char *pt_memtype_name(uint32_t type)
{
	switch (type) {
	case PAT_UC:
		return "UC";
	case PAT_WC:
		return "WC";
	case PAT_WT:
		return "WT";
	case PAT_WP:
		return "WP";
	case PAT_WB:
		return "WB";
	case PAT_UC_MINUS:
		return "UC-";
	default:
		return "?";
	}
}
