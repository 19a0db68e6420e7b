/*
 * Map, unmap, protect and split of any range: the loops around the
 * walker (paging_walk.h). Map fills every consecutive entry of the table
 * the walk returned before walking again, so a contiguous range costs
 * one walk per table, not per page. pt_map, pt_unmap and pt_protect
 * (paging_page.c) come here for everything but their single-page paths.
 */
#include "common/mm/paging_walk.h"

/* The largest leaf level (up to max) that va, pa and size allow. */
static int leaf_level(const struct pt_env *env, uint64_t va, uint64_t pa,
		      uint64_t size, int max)
{
	if (max >= PT_L3 && !env->page1g)
		max = PT_L2;
	return largest_leaf(va | pa, size, max);
}

/* Writes e after checking it. Returns 0 or -ERR_RANGE (env->last_error
 * says why). */
static int set_entry(const struct page_table *pt, uint64_t *slot, int level,
		     uint64_t e)
{
	const char *why = pt_entry_check(pt->env, level, e);
	if (why) {
		pt->env->last_error = why;
		return -ERR_RANGE;
	}
	*slot = e;
	return 0;
}

/* In a file of its own so that the compiler, which does not see that it
 * returns rc, calls it last (a jump), and its callers on the paths of
 * single pages keep no register for after it. */
int pt_map_failed(uint64_t va, int rc, uint64_t *fail_va)
{
	if (fail_va)
		*fail_va = va;
	return rc;
}

/* pt_map of anything but a single page. */
int pt_map_range(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t size,
		 uint64_t attr, int max_level, uint64_t *fail_va)
{
	int rc = 0;
	uint64_t start = va;
	if ((attr & ~PTE_ATTR_MASK) || !range_ok(va, size) ||
	    !IS_ALIGNED(pa, PAGE_SIZE) || (size && add_overflows(pa, size - 1)))
		rc = -ERR_INVALID;

	while (rc == 0 && size) {
		int level = leaf_level(pt->env, va, pa, size, max_level);
		int reached;
		uint64_t *up;
		uint64_t *e = walk(pt, va, level, true, attr & PTE_U, &reached,
				   &rc, NULL, &up);
		if (!e)
			break;
		if (reached != level) { /* a large leaf covers va already */
			rc = -ERR_EXISTS;
			break;
		}
		/* Fill this table's entries while the same leaf size fits. All
		 * of them share attributes and differ only in an increasing
		 * address, so checking the first and the last entry checks
		 * every one of them. */
		uint64_t step = PT_SIZE(level);
		uint64_t bits = attr | PTE_P | (level > PT_L1 ? PTE_PS : 0);
		uint32_t room = PT_ENTRIES - PT_INDEX(va, level);
		uint64_t n = size / step < room ? size / step : room;
		const char *why = pt_entry_check(pt->env, level, pa | bits);
		if (!why && n > 1)
			why = pt_entry_check(pt->env, level,
					     (pa + (n - 1) * step) | bits);
		if (why) {
			pt->env->last_error = why;
			rc = -ERR_RANGE;
			break;
		}
		/* The entries written here count once, after the loop: i
		 * entries looked at, `tables` of them tables already there. The
		 * loop writes and steps the entry alone. */
		uint64_t i, tables = 0, v = pa | bits;
		for (i = 0; i < n; i++, v += step) {
			if (!(e[i] & PTE_P)) {
				e[i] = v;
				continue;
			}
			if (is_leaf(level, e[i])) {
				rc = -ERR_EXISTS;
				break;
			}
			/* A table is here already: map this part through it
			 * with smaller leaves, so only a page that is really
			 * mapped conflicts. */
			rc = pt_map_range(pt, va + i * step, pa + i * step,
					  step, attr, level - 1, fail_va);
			if (rc) {
				if (up)
					count_add(up, i - tables);
				return rc;
			}
			tables++;
		}
		if (up)
			count_add(up, i - tables);
		va += i * step;
		pa += i * step;
		size -= i * step;
	}
	if (rc && fail_va)
		*fail_va = va;
	if (pt->env
		->u_widened) /* an INVLPG clears the paging-structure caches */
		flush_widened(pt, start, va - start);
	return rc;
}

/* Replaces the large leaf *e at level by a table of the next level down
 * mapping the same frames with the same attributes. */
static int split_leaf(const struct page_table *pt, uint64_t *e, int level)
{
	uint64_t old = *e;
	int child_level = level - 1;
	uint64_t child = alloc_table(pt);
	if (!child)
		return -ERR_NOMEM;

	/* Attributes without the address field and PS; PAT moves from bit
	 * 12 (large leaves) to bit 7 (4 KiB leaves). */
	uint64_t bits = old & ~(PTE_ADDR_MAX_MASK | PTE_PS);
	bool pat = old & PTE_PAT_LARGE;
	if (child_level == PT_L1)
		bits |= pat ? PTE_PS : 0;
	else
		bits |= PTE_PS | (pat ? PTE_PAT_LARGE : 0);

	uint64_t base = entry_addr(level, old);
	uint64_t step = PT_SIZE(child_level);
	uint64_t *t = table_of(pt, child);
	for (uint32_t i = 0; i < PT_ENTRIES; i++)
		t[i] = (base + i * step) | bits;
	const char *why = pt_entry_check(pt->env, child_level, t[0]);
	if (!why)
		why = pt_entry_check(pt->env, child_level, t[PT_ENTRIES - 1]);
	uint64_t link = child | PTE_TABLE | (old & PTE_U) |
			(uint64_t)PT_ENTRIES * PTE_COUNT_ONE;
	if (!why)
		why = pt_entry_check(pt->env, level, link);
	if (why) {
		free_table(pt->env, child);
		pt->env->last_error = why;
		return -ERR_RANGE;
	}
	/* The translations are unchanged, so no flush is needed here: the
	 * caller flushes once it changes a part of them. The table that holds
	 * *e keeps its count (a leaf becomes a link); the new one is full. */
	*e = link;
	pt->env->splits++;
	return 0;
}

int pt_split(struct page_table *pt, uint64_t va)
{
	int reached, err = 0;
	/* The walk cache holds canonical addresses only (translate relies
	 * on it), and no leaf maps any other. */
	if (!va_canonical(va))
		return -ERR_INVALID;
	uint64_t *e = walk(pt, va, PT_L1, false, 0, &reached, &err, NULL, NULL);
	if (!(*e & PTE_P) || reached == PT_L1)
		return 0;
	return split_leaf(pt, e, reached);
}

/* Bytes from va to the end of the entry at level that covers it, capped
 * at size. */
static uint64_t chunk(uint64_t va, int level, uint64_t size)
{
	uint64_t left = PT_SIZE(level) - (va & (PT_SIZE(level) - 1));
	return left < size ? left : size;
}

/* An unmap that frees tables reads a whole table for each one it frees:
 * 32 entries to a test. */
bool pt_table_empty(const struct page_table *pt, uint64_t phys)
{
	const uint64_t *t = table_of(pt, phys);
	for (uint32_t i = 0; i < PT_ENTRIES; i += 32) {
		uint64_t any = 0;
		for (uint32_t k = 0; k < 32; k++)
			any |= t[i + k];
		if (any)
			return false;
	}
	return true;
}

bool pt_link_empty(const struct page_table *pt, const uint64_t *up)
{
	uint64_t v = *up;
	if (v & PTE_COUNTED)
		return !(v & PTE_COUNT_MASK);
	return pt_table_empty(pt, v & PTE_ADDR_MAX_MASK);
}

/*
 * Unlinks tables left empty in [va, va+size), bottom level first, and
 * chains them through their first word into *chain. They are freed only
 * after the TLB flush, because until then the CPU's paging-structure
 * caches may still point at them.
 */
static void unlink_empty_tables(struct page_table *pt, uint64_t va,
				uint64_t size, uint64_t *chain)
{
	for (int level = PT_L2; level <= PT_L4; level++) {
		uint64_t end = va + size; /* may be 0 at the very top */
		uint64_t a = va & PT_MASK(level);
		do {
			int reached, err = 0;
			uint64_t *up;
			uint64_t *e = walk(pt, a, level, false, 0, &reached,
					   &err, NULL, &up);
			if (reached == level && (*e & PTE_P) &&
			    !is_leaf(level, *e) && pt_link_empty(pt, e)) {
				uint64_t child = *e & PTE_ADDR_MAX_MASK;
				*e = 0;
				if (up)
					count_drop(up);
				/* The cache may lead through it. */
				pt_forget(pt);
				table_of(pt, child)[0] = *chain;
				*chain = child;
			}
			a += PT_SIZE(level);
		} while (a != end && a - va < size);
	}
}

/* Frees the tables unlink_empty_tables chained. */
void pt_free_chain(struct page_table *pt, uint64_t chain)
{
	while (chain) {
		uint64_t next = table_of(pt, chain)[0];
		table_of(pt, chain)[0] = 0;
		free_table(pt->env, chain);
		chain = next;
	}
}

/*
 * The entry for a, for an operation on [a, a+left) that works leaf by
 * leaf (unmap, protect): a large leaf only partly inside the range is
 * split first. Returns the entry (maybe not present), its level in *level,
 * the link of its table in *up (when up is not NULL) and the bytes of the
 * range it covers in *n; NULL with *rc set when a split failed.
 */
static uint64_t *leaf_in_range(struct page_table *pt, uint64_t a, uint64_t left,
			       int *level, uint64_t *n, int *rc, uint64_t **up)
{
	for (;;) {
		uint64_t *e = walk(pt, a, PT_L1, false, 0, level, rc, NULL, up);
		*n = chunk(a, *level, left);
		if (!(*e & PTE_P) || *n == PT_SIZE(*level))
			return e;
		*rc = split_leaf(pt, e, *level);
		if (*rc)
			return NULL;
	}
}

/* pt_unmap of any range. */
int pt_unmap_range(struct page_table *pt, uint64_t va, uint64_t size)
{
	if (!range_ok(va, size))
		return -ERR_INVALID;
	if (size == 0) /* nothing to flush, so nothing may be freed either */
		return 0;
	uint64_t a = va, left = size, n;
	int rc = 0, level;
	while (left) {
		uint64_t *up;
		uint64_t *e = leaf_in_range(pt, a, left, &level, &n, &rc, &up);
		if (!e)
			break;
		if (*e & PTE_P) {
			*e = 0;
			if (up)
				count_drop(up);
		}
		a += n;
		left -= n;
	}
	uint64_t chain = 0;
	if (pt->env->free)
		unlink_empty_tables(pt, va, size, &chain);
	flush(pt, va, size);
	pt_free_chain(pt, chain);
	return rc;
}

/* pt_protect of any range. */
int pt_protect_range(struct page_table *pt, uint64_t va, uint64_t size,
		     uint64_t attr)
{
	if ((attr & ~PTE_ATTR_MASK) || !range_ok(va, size))
		return -ERR_INVALID;
	uint64_t a = va, left = size, n;
	int rc = 0, level;
	while (left) {
		uint64_t *e = leaf_in_range(pt, a, left, &level, &n, &rc, NULL);
		if (!e)
			break;
		if (!(*e & PTE_P)) {
			rc = -ERR_NOTFOUND;
			break;
		}
		if (attr & PTE_U) /* the path must allow user access too */
			walk(pt, a, level, false, PTE_U, &level, &rc, NULL,
			     NULL);
		rc = set_entry(pt, e, level, (*e & ~PTE_ATTR_MASK) | attr);
		if (rc)
			break;
		a += n;
		left -= n;
	}
	flush(pt, va, a - va);
	pt->env->u_widened = false; /* the flush above covered it */
	return rc;
}
