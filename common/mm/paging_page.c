/*
 * The entry points pt_map, pt_unmap, pt_protect and pt_translate, and
 * their paths for one 4 KiB page: checks folded into masks the cache
 * keeps (struct pt_cache), a walk from the deepest table the cache knows
 * (or from the root, for a map), and copies of the walker for each kind of
 * table access, so that with tables at phys + table_offset the common
 * case calls nothing. Anything out of the ordinary goes to the range
 * functions (paging_range.c), which check everything again and say what
 * is wrong.
 */
#include "common/mm/paging_walk.h"

/* What map_page's masks refuse goes to pt_map_range, which checks it again
 * against the env itself and maps it or says why not: user pages, bad
 * arguments, entries the validator refuses, and any page at all while
 * the masks are unset. */
static __attribute__((noinline, cold)) int
map_page_slow(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t attr,
	      uint64_t *fail_va)
{
	return pt_map_range(pt, va, pa, PAGE_SIZE, attr, PT_L1, fail_va);
}

/* map_page_grow_in's failure after it linked a PT with a count of 1 for
 * the leaf it then could not write. */
static __attribute__((noinline, cold)) int
map_page_grow_failed(uint64_t va, uint64_t *link, int rc, uint64_t *fail_va)
{
	*link -= PTE_COUNT_ONE;
	return pt_map_failed(va, rc, fail_va);
}

/*
 * The rest of map_page_in when its walk found the entry *e at level l > 1
 * empty (up: the link of e's table, NULL for the root): links a new table
 * there (as the walker does), walks on from it with create, through the
 * same walker, and writes the leaf. Functions of their own, called last:
 * the walk before them calls nothing with linear tables, so only these,
 * which call the allocator, save registers. The PT alone missing (l is
 * PT_L2) is the usual case: its copy links the PT with a count of 1 and
 * writes the leaf into it directly.
 */
static inline __attribute__((always_inline)) int
map_page_grow_in(struct page_table *pt, uint64_t va, uint64_t leaf,
		 uint64_t *fail_va, uint64_t *e, int l, uint64_t *up,
		 bool linear)
{
	struct walk_state s = {.pt = pt, .env = pt->env};
	uint64_t *link = e;
	/* pa_bad is ~phys_mask | ~PTE_ADDR_MAX_MASK: map_page's masks are
	 * set, or it would not have come here. */
	uint64_t v = link_table(&s, e, l, l == PT_L2 ? 1 : 0, true);
	if (!v)
		return pt_map_failed(va, s.err, fail_va);
	if (l < PT_L4)
		count_add(up, 1);
	struct walk_pos at = {l - 1, v & PTE_ADDR_MAX_MASK, link};
	int rc = 0;
	if (l == PT_L2) { /* the new table is the PT: no walk below it */
		e = &table_at(s.env, at.table, linear)[PT_INDEX(va, PT_L1)];
		if (*e & PTE_P) /* the allocator's page was not zeroed */
			return map_page_grow_failed(va, link, -ERR_EXISTS,
						    fail_va);
		*e = leaf;
		return 0;
	}
	e = walk_from(pt, va, PT_L1, true, 0, &at, &rc, NULL, linear, false,
		      false);
	if (!e || (*e & PTE_P)) /* no table; or the allocator's page was
				   not zeroed */
		return pt_map_failed(va, e ? -ERR_EXISTS : rc, fail_va);
	*e = leaf;
	count_add(at.up, 1);
	return 0;
}

/* map_page_grow_pt_add's failure to link a PT: the PD's link counted it
 * already, so it is found again (a walk from the root) and takes it back.
 */
static __attribute__((noinline, cold)) int
map_page_pt_unlinked(struct page_table *pt, uint64_t va, int rc,
		     uint64_t *fail_va)
{
	struct walk_pos at = {PT_L4, pt->root, NULL};
	int err = 0;
	walk_from(pt, va, PT_L2, false, 0, &at, &err, NULL, true, false, false);
	if (at.level == PT_L2 && at.up)
		count_drop(at.up);
	return pt_map_failed(va, rc, fail_va);
}

/*
 * The PT missing, the usual case of a scattered map, for linear tables:
 * links a new PT at *e with a count of 1 and writes the leaf into it.
 * Its PD's link counted it already (map_page_in, which has the link in a
 * register): so nothing of the walk but e stays live across the call of
 * the allocator, and this saves fewer registers.
 */
static inline __attribute__((always_inline)) int
map_page_grow_pt_add(struct page_table *pt, uint64_t va, uint64_t leaf,
		     uint64_t *fail_va, uint64_t *e)
{
	struct walk_state s = {.pt = pt, .env = pt->env};
	/* pa_bad is ~phys_mask | ~PTE_ADDR_MAX_MASK: map_page's masks are
	 * set, or it would not have come here. */
	uint64_t v = link_table(&s, e, PT_L2, 1, true);
	if (!v)
		return map_page_pt_unlinked(pt, va, s.err, fail_va);
	uint64_t *slot =
	    &table_at(s.env, v & PTE_ADDR_MAX_MASK, true)[PT_INDEX(va, PT_L1)];
	if (*slot & PTE_P) /* the allocator's page was not zeroed */
		return map_page_grow_failed(va, e, -ERR_EXISTS, fail_va);
	*slot = leaf;
	return 0;
}

/* The PD or the PDPT missing: the link of e's table is the PML4 entry, or
 * none (a walk from the root stops at l only when l's table is present).
 * Six arguments, so that pt_map calls it with registers alone. */
static __attribute__((noinline)) int
map_page_grow_add(struct page_table *pt, uint64_t va, uint64_t leaf,
		  uint64_t *fail_va, uint64_t *e, int l)
{
	uint64_t *up = l == PT_L3 ? link_of(pt, va, PT_L3, true) : NULL;
	return map_page_grow_in(pt, va, leaf, fail_va, e, l, up, true);
}

/* up is NULL when the walk stopped at the table it started from: the
 * root (l is PT_L4: no link), or the cache's PDPT (PT_L3: its link is in
 * the root). */
static __attribute__((noinline)) int
map_page_grow_call(struct page_table *pt, uint64_t va, uint64_t leaf,
		   uint64_t *fail_va, uint64_t *e, int l, uint64_t *up)
{
	if (!up && l == PT_L3)
		up = link_of(pt, va, PT_L3, false);
	return map_page_grow_in(pt, va, leaf, fail_va, e, l, up, false);
}

/* What map_page_in does when its walk stops at a present entry *e at
 * level: a 4 KiB page or a large leaf there is -ERR_EXISTS; a PT without
 * a count (not made by this code) leaves the page to pt_map_range. */
static __attribute__((noinline)) int
map_page_present(struct page_table *pt, uint64_t va, uint64_t leaf,
		 uint64_t *fail_va, uint64_t *e, int level)
{
	if (is_leaf(level, *e))
		return pt_map_failed(va, -ERR_EXISTS, fail_va);
	return pt_map_range(pt, va, leaf & PTE_ADDR_MAX_MASK, PAGE_SIZE,
			    leaf & PTE_ATTR_MASK, PT_L1, fail_va);
}

/*
 * The walk and the write of pt_map for one 4 KiB supervisor page whose
 * arguments passed map_page's tests: leaf is the entry to write. With
 * `cached` the walk starts at the PDPT the cache holds for va (the
 * caller checked its key); otherwise at the PML4, recording the tables on
 * the way with `record` (for a cache known to be the root's). Tables a
 * map links are not recorded: the next map is rarely in the same PT or
 * PD, and a map unlinks nothing, so the cache stays right.
 */
static inline __attribute__((always_inline)) int
map_page_in(struct page_table *pt, uint64_t va, uint64_t leaf,
	    uint64_t *fail_va, bool linear, bool cached, bool record)
{
	struct walk_pos at = {PT_L4, pt->root, NULL};
	if (cached)
		at = (struct walk_pos){PT_L3, pt->cache.table[PT_L3 - 1], NULL};
	int rc = 0;
	uint64_t *e = walk_from(pt, va, PT_L1, false, 0, &at, &rc, NULL, linear,
				record, true);
	if (linear && at.level == PT_L2 && !(*e & PTE_P)) {
		/* The PT missing: its PD gains it (at.up, a counted link,
		 * as the walk came down through it). */
		*at.up += PTE_COUNT_ONE;
		return map_page_grow_pt_add(pt, va, leaf, fail_va, e);
	}
	if (at.level == PT_L1 && !(*e & PTE_P)) {
		/* The walk came down through at.up, which has a count. */
		*at.up += PTE_COUNT_ONE;
		*e = leaf;
		return 0;
	}
	if (*e & PTE_P) /* a 4 KiB page, a large leaf, or a PT uncounted */
		return map_page_present(pt, va, leaf, fail_va, e, at.level);
	if (linear)
		return map_page_grow_add(pt, va, leaf, fail_va, e, at.level);
	return map_page_grow_call(pt, va, leaf, fail_va, e, at.level, at.up);
}

/* map_page_in from the PML4 for linear tables and a cache known to be the
 * root's that has no PDPT for va: records va's tables, so that the next
 * map in the same 512 GiB starts at the PDPT. */
static __attribute__((noinline)) int map_page_root(struct page_table *pt,
						   uint64_t va, uint64_t leaf,
						   uint64_t *fail_va)
{
	return map_page_in(pt, va, leaf, fail_va, true, false, true);
}

/* map_page_in for calls to env->table (from the cache's PDPT as the
 * linear copy, or from the root, recording), or a cache that is not the
 * root's (from the root, the cache left alone). In a function of its own
 * so that the linear copy, inlined in pt_map, saves no registers. */
static __attribute__((noinline)) int map_page_other(struct page_table *pt,
						    uint64_t va, uint64_t leaf,
						    uint64_t *fail_va)
{
	bool ours = pt->cache.root == pt->root;
	if (!pt->env->table)
		return map_page_in(pt, va, leaf, fail_va, true, false, false);
	if (ours && pt->cache.key[PT_L3 - 1] == cache_key(va, PT_L3))
		return map_page_in(pt, va, leaf, fail_va, false, true, false);
	if (ours)
		return map_page_in(pt, va, leaf, fail_va, false, false, true);
	return map_page_in(pt, va, leaf, fail_va, false, false, false);
}

/*
 * pt_map of one 4 KiB supervisor page: the same checks and results as
 * pt_map_range, which still maps what these masks refuse (map_page_slow).
 *
 * Three masks stand for every argument check and the validator's checks
 * of a 4 KiB leaf, kept in the cache when the table set was made (see
 * pt_cache_reset): pa may not have pa_bad's bits, ~phys_mask, which holds
 * misalignment, bits at or above MAXPHYADDR and bits 52-63; attr may not
 * have attr_check's bits but PTE_W, which are everything outside
 * PTE_ATTR_MASK, NX without NXE, and U (for pt_map_range to add U on the
 * way); va + 2^47 has VA_BAD_BITS clear when va is canonical and aligned.
 * PTE_W, which attr may have, marks the masks set: (attr | PTE_W) &
 * attr_check is PTE_W exactly when attr passes, and 0 in a cache never
 * set, which so refuses every page.
 */
static inline __attribute__((always_inline)) int
map_page(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t attr,
	 uint64_t *fail_va)
{
	if ((pa & pt->cache.pa_bad) |
	    (((attr | PTE_W) & pt->cache.attr_check) ^ PTE_W) |
	    ((va + (1ull << 47)) & VA_BAD_BITS))
		return map_page_slow(pt, va, pa, attr, fail_va);
	/* linear_root is the root only while the cache is the root's and
	 * the tables are linear: one test for both. */
	if (pt->root != pt->cache.linear_root)
		return map_page_other(pt, va, pa | attr | PTE_P, fail_va);
	if (pt->cache.key[PT_L3 - 1] != cache_key(va, PT_L3))
		return map_page_root(pt, va, pa | attr | PTE_P, fail_va);
	return map_page_in(pt, va, pa | attr | PTE_P, fail_va, true, true,
			   false);
}

int pt_map(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t size,
	   uint64_t attr, int max_level, uint64_t *fail_va)
{
	if (size != PAGE_SIZE)
		return pt_map_range(pt, va, pa, size, attr, max_level, fail_va);
	return map_page(pt, va, pa, attr, fail_va);
}

/*
 * pt_unmap and pt_protect of one 4 KiB page, for a cache known to be the
 * root's and linear tables, or through env->table: the walk from where
 * the cache says and the write. Anything else -- a large leaf to split, a
 * missing table, a table that may have become empty when the env frees
 * them, a user page or an entry the masks refuse -- goes to the range
 * functions, which do it all over and say what is wrong.
 */
/*
 * The tables above a PT that a single-page unmap emptied and unlinked
 * (chain: the PT, whose first word, the chain's end, is 0 as it is
 * empty): unlinks the PD when it is empty now, and so on up (never the
 * root), flushes, then frees them all (as pt_unmap_range: only after the
 * flush, for the paging-structure caches). The links come from the cache,
 * which the unmap's walk left holding va's tables.
 */
static __attribute__((noinline)) int
unmap_page_tables_above(struct page_table *pt, uint64_t va, uint64_t chain)
{
	bool linear = !pt->env->table;
	int l = PT_L2; /* the level of the table that may be empty */
	for (; l < PT_L4; l++) {
		uint64_t *up = linear ? link_of(pt, va, l, true)
				      : link_of(pt, va, l, false);
		if (!pt_link_empty(pt, up))
			break;
		uint64_t t = *up & PTE_ADDR_MAX_MASK;
		*up = 0;
		table_of(pt, t)[0] = chain;
		chain = t;
		if (l + 1 < PT_L4) /* the next table up lost an entry */
			count_drop(linear ? link_of(pt, va, l + 1, true)
					  : link_of(pt, va, l + 1, false));
	}
	/* The cache holds the tables unlinked: the PT and the levels below
	 * l. */
	pt->cache.key[PT_L2 - 1] = l > PT_L2 ? 0 : pt->cache.key[PT_L2 - 1];
	pt->cache.key[PT_L3 - 1] = l > PT_L3 ? 0 : pt->cache.key[PT_L3 - 1];
	flush(pt, va, PAGE_SIZE);
	pt_free_chain(pt, chain);
	return 0;
}

/*
 * The rest of a single-page unmap, with env->free set, whose PT the link
 * *up says is empty (a count of 0), or may be (no count): unlinks it when
 * it is, then the tables above that become empty in turn; flushes, then
 * frees them. The usual case, a PT alone emptied, is here; the rest in
 * unmap_page_tables_above.
 */
static __attribute__((noinline)) int
unmap_page_tables(struct page_table *pt, uint64_t va, uint64_t *up)
{
	uint64_t u = *up, page = u & PTE_ADDR_MAX_MASK;
	if (!(u & PTE_COUNTED) && !pt_table_empty(pt, page)) {
		flush(pt, va, PAGE_SIZE);
		return 0;
	}
	*up = 0;
	pt->cache.key[PT_L1 - 1] = 0; /* it held the PT */
	/* The PD lost an entry: its link is in the PDPT the cache holds. */
	uint64_t pd = count_drop(pt->env->table ? link_of(pt, va, PT_L2, false)
						: link_of(pt, va, PT_L2, true));
	if (!(pd & PTE_COUNT_MASK)) /* empty, or without a count */
		return unmap_page_tables_above(pt, va, page);
	flush(pt, va, PAGE_SIZE);
	free_table(pt->env, page);
	return 0;
}

static inline __attribute__((always_inline)) int
unmap_page_in(struct page_table *pt, uint64_t va, bool linear)
{
	struct walk_pos at = cache_start_at(pt, va, PT_L1);
	int start = at.level, err = 0;
	uint64_t *e = walk_from(pt, va, PT_L1, false, 0, &at, &err, NULL,
				linear, true, true);
	if (at.level != PT_L1)
		return pt_unmap_range(pt, va, PAGE_SIZE);
	/* The PT has a count (counted), and a walk from the cache's PT
	 * leaves its link in the cache's PD. */
	uint64_t *up = start == PT_L1 ? link_of(pt, va, PT_L1, linear) : at.up;
	uint64_t u = *up;
	if (*e & PTE_P) {
		*e = 0;
		if (u & PTE_COUNT_MASK) {
			u -= PTE_COUNT_ONE;
			*up = u;
		} else {
			u = count_drop(up); /* a wrong count: dropped */
		}
	}
	if (!(u & PTE_COUNT_MASK) && pt->env->free) /* an empty PT */
		return unmap_page_tables(pt, va, up);
	flush(pt, va, PAGE_SIZE);
	return 0;
}

static inline __attribute__((always_inline)) int
protect_page_in(struct page_table *pt, uint64_t va, uint64_t attr, bool linear)
{
	struct walk_pos at = cache_start_at(pt, va, PT_L1);
	int err = 0;
	uint64_t *e = walk_from(pt, va, PT_L1, false, 0, &at, &err, NULL,
				linear, true, false);
	uint64_t v = (*e & ~PTE_ATTR_MASK) | attr;
	if (at.level != PT_L1 || !(v & PTE_P) || (v & pt->cache.leaf_bad))
		return pt_protect_range(pt, va, PAGE_SIZE, attr);
	*e = v;
	flush(pt, va, PAGE_SIZE);
	return 0;
}

static __attribute__((noinline)) int unmap_page_other(struct page_table *pt,
						      uint64_t va)
{
	if (pt->cache.root != pt->root)
		pt_cache_reset(pt);
	if (pt->env->table)
		return unmap_page_in(pt, va, false);
	return unmap_page_in(pt, va, true);
}

static __attribute__((noinline)) int
protect_page_other(struct page_table *pt, uint64_t va, uint64_t attr)
{
	if (pt->cache.root != pt->root)
		pt_cache_reset(pt);
	if (pt->env->table)
		return protect_page_in(pt, va, attr, false);
	return protect_page_in(pt, va, attr, true);
}

int pt_unmap(struct page_table *pt, uint64_t va, uint64_t size)
{
	if (size != PAGE_SIZE || ((va + (1ull << 47)) & VA_BAD_BITS))
		return pt_unmap_range(pt, va, size);
	if (pt->root == pt->cache.linear_root)
		return unmap_page_in(pt, va, true);
	return unmap_page_other(pt, va);
}

/* A user page takes pt_protect_range, which gives every entry on the way U.
 * NX without NXE is in leaf_bad. */
int pt_protect(struct page_table *pt, uint64_t va, uint64_t size, uint64_t attr)
{
	if (size != PAGE_SIZE || (attr & ~(PTE_ATTR_MASK & ~PTE_U)) ||
	    ((va + (1ull << 47)) & VA_BAD_BITS))
		return pt_protect_range(pt, va, size, attr);
	if (pt->root == pt->cache.linear_root)
		return protect_page_in(pt, va, attr, true);
	return protect_page_other(pt, va, attr);
}

/* pt_translate's results for the entry *e that its walk reached at
 * level: -ERR_NOTFOUND for an entry that is not present. */
static inline __attribute__((always_inline)) int
translated(uint64_t va, const uint64_t *e, int level, uint64_t *pa,
	   uint64_t *leaf_entry, int *level_out)
{
	uint64_t v = *e;
	if (!(v & PTE_P))
		return -ERR_NOTFOUND;
	if (pa)
		*pa = entry_addr(level, v) | (va & (PT_SIZE(level) - 1));
	if ((uintptr_t)leaf_entry | (uintptr_t)level_out) {
		if (leaf_entry)
			*leaf_entry = v;
		if (level_out)
			*level_out = level;
	}
	return 0;
}

/* pt_translate without w, from where the cache says, for one kind of
 * table access. An address the cache knows shares its bits above bit 21
 * or 30 with an address walked before, so it is canonical; the others
 * are checked. The walk ends at a 4 KiB leaf far more often than
 * anywhere else, so that exit has a copy of translated() of its own,
 * with the level a constant. */
static inline __attribute__((always_inline)) int
translate_in(struct page_table *pt, uint64_t va, uint64_t *pa,
	     uint64_t *leaf_entry, int *level, bool linear, int from)
{
	struct walk_pos at = cache_start_at(pt, va, from);
	if (at.level == PT_L4 && !va_canonical(va))
		return -ERR_INVALID;
	int err = 0;
	uint64_t *e = walk_from(pt, va, PT_L1, false, 0, &at, &err, NULL,
				linear, true, false);
	if (at.level == PT_L1)
		return translated(va, e, PT_L1, pa, leaf_entry, level);
	return translated(va, e, at.level, pa, leaf_entry, level);
}

/* translate_in with the root checked first, for either kind of table
 * access. */
static __attribute__((noinline)) int translate_other(struct page_table *pt,
						     uint64_t va, uint64_t *pa,
						     uint64_t *leaf_entry,
						     int *level)
{
	if (pt->cache.root != pt->root)
		pt_cache_reset(pt);
	if (pt->env->table)
		return translate_in(pt, va, pa, leaf_entry, level, false,
				    PT_L1);
	return translate_in(pt, va, pa, leaf_entry, level, true, PT_L1);
}

/* translate_in for linear tables and a cache known to be the root's that
 * holds no table on va's path: from the root. */
static __attribute__((noinline)) int translate_far(struct page_table *pt,
						   uint64_t va, uint64_t *pa,
						   uint64_t *leaf_entry,
						   int *level)
{
	return translate_in(pt, va, pa, leaf_entry, level, true, PT_L4);
}

/* With w: every level from the PML4 down is recorded. */
static __attribute__((noinline)) int
translate_walk(struct page_table *pt, uint64_t va, uint64_t *pa,
	       uint64_t *leaf_entry, int *level, struct pt_walk *w)
{
	int reached, err = 0;
	uint64_t *e = walk(pt, va, PT_L1, false, 0, &reached, &err, w, NULL);
	return translated(va, e, reached, pa, leaf_entry, level);
}

/*
 * The end of translate_linear's walk at level l, whose entry for va is
 * not a table: a large leaf, or nothing (or, at PT_L1, nothing). The
 * table of level l is the cache's, recorded or found there by the walk;
 * the cache's tables below l go (see walk_stop: the walk may have
 * recorded the table above). Six arguments: translate_linear jumps here.
 */
static __attribute__((noinline)) int translate_stop(struct page_table *pt,
						    uint64_t va, uint64_t *pa,
						    uint64_t *leaf_entry,
						    int *level, int l)
{
	uint64_t *e = &table_of(pt, pt->cache.table[l - 1])[PT_INDEX(va, l)];
	for (int k = PT_L1; k < l; k++)
		pt->cache.key[k - 1] = 0;
	return translated(va, e, l, pa, leaf_entry, level);
}

/* One level of translate_linear: the entry for va in the table at phys t
 * (tables at phys + off). */
static inline __attribute__((always_inline)) uint64_t
translate_entry(uint64_t t, uint64_t off, uint64_t va, int l)
{
	return *(const uint64_t *)(uintptr_t)(t + off +
					      (uint64_t)PT_INDEX(va, l) * 8);
}

/*
 * pt_translate of the physical address alone (pa, which may be NULL, as
 * when a caller only asks whether va is mapped), for linear tables and a
 * cache known to be the root's: the walk from the deepest table the cache
 * holds on va's path, written out level by level, as little as a walk
 * that checks every entry can be (README, "Page tables: instructions per
 * page", counts it). An intermediate entry e goes on only when present
 * and not a leaf: x = e - 1 has neither bit 0 nor PS (bit 7) set exactly
 * then (P set, so no borrow; PS untouched), and e's address bits: one
 * test fewer than testing P and PS apart. Else translate_stop says what
 * it is. Each table passed goes into the cache (its key and address).
 * The keys are va with the bits below each table's reach set, each the
 * one before with more bits set. An address the cache knows shares its
 * bits above bit 39 with an address walked before, so it is canonical;
 * the others go to translate_far, which checks.
 */
static inline __attribute__((always_inline)) int
translate_linear(struct page_table *pt, uint64_t va, uint64_t *pa)
{
	struct pt_cache *c = &pt->cache;
	uint64_t off = pt->env->table_offset;
	uint64_t k1 = cache_key(va, PT_L1), k2 = k1 | (PT_SIZE(PT_L3) - 1);
	uint64_t t, x, e;
	if (c->key[PT_L1 - 1] == k1) {
		t = c->table[PT_L1 - 1];
		goto pt_level;
	}
	if (__builtin_expect(c->key[PT_L2 - 1] != k2, 0))
		goto pdpt_level;
	t = c->table[PT_L2 - 1];
pd_level:
	x = translate_entry(t, off, va, PT_L2) - 1;
	if (__builtin_expect(x & (PTE_P | PTE_PS), 0))
		return translate_stop(pt, va, pa, NULL, NULL, PT_L2);
	t = x & PTE_ADDR_MAX_MASK;
	c->key[PT_L1 - 1] = k1;
	c->table[PT_L1 - 1] = t;
pt_level:
	e = translate_entry(t, off, va, PT_L1);
	if (__builtin_expect(!(e & PTE_P), 0))
		return translate_stop(pt, va, pa, NULL, NULL, PT_L1);
	if (pa)
		*pa = (e & PTE_ADDR_MAX_MASK) | (va & (PAGE_SIZE - 1));
	return 0;
pdpt_level:
	if (c->key[PT_L3 - 1] != (k2 | (PT_SIZE(PT_L4) - 1)))
		return translate_far(pt, va, pa, NULL, NULL);
	x = translate_entry(c->table[PT_L3 - 1], off, va, PT_L3) - 1;
	if (__builtin_expect(x & (PTE_P | PTE_PS), 0))
		return translate_stop(pt, va, pa, NULL, NULL, PT_L3);
	t = x & PTE_ADDR_MAX_MASK;
	c->key[PT_L2 - 1] = k2;
	c->table[PT_L2 - 1] = t;
	goto pd_level;
}

/* pt_translate but for translate_linear's case. */
static __attribute__((noinline)) int
translate_slow(struct page_table *pt, uint64_t va, uint64_t *pa,
	       uint64_t *leaf_entry, int *level, struct pt_walk *w)
{
	if (!w)
		return translate_other(pt, va, pa, leaf_entry, level);
	if (!va_canonical(va))
		return -ERR_INVALID;
	return translate_walk(pt, va, pa, leaf_entry, level, w);
}

int pt_translate(const struct page_table *cpt, uint64_t va, uint64_t *pa,
		 uint64_t *leaf_entry, int *level, struct pt_walk *w)
{
	/* The cache is state, not content: see paging.h. */
	struct page_table *pt = (struct page_table *)cpt;
	/* linear_root is the root only while the cache is the root's and
	 * the tables are linear: one test for both. The translation asked
	 * for most, the physical address alone, has translate_linear, which
	 * keeps no register for the other outputs; one test for all. */
	if ((pt->root ^ pt->cache.linear_root) | (uintptr_t)leaf_entry |
	    (uintptr_t)level | (uintptr_t)w)
		return translate_slow(pt, va, pa, leaf_entry, level, w);
	return translate_linear(pt, va, pa);
}
