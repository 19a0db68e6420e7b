/*
 * Internal to common/mm/paging*.c (paging.h is the interface): the walker
 * every operation goes through, the walk cache, and what the files share.
 *
 *   paging.c        entries and their validator, table sets (init,
 *                   attach, forget, destroy), leaves, tally, cut, PAT
 *   paging_range.c  map, unmap, protect and split of any range
 *   paging_page.c   the entry points pt_map, pt_unmap, pt_protect and
 *                   pt_translate, and their paths for one 4 KiB page
 *
 * The walker is here, always inlined, so that each caller gets a copy
 * with its constants folded (level, create, w, linear, cache): that is
 * most of what a single page costs.
 */
#ifndef COMMON_PAGING_WALK_H
#define COMMON_PAGING_WALK_H

#include "common/mm/paging.h"

/* Bits 52..62: ignored by the CPU in a non-leaf entry, and in a leaf
 * without protection keys (59..62 are the key with them). This code sets
 * only a table's count (PTE_COUNT_MASK, in a non-leaf entry), so any other
 * of them is a bug, not a choice. */
#define PTE_HIGH_IGNORED 0x7ff0000000000000ull
/* Reserved bits of large leaves: 29:13 of a 1 GiB leaf, 20:13 of a 2 MiB
 * leaf (bit 12 is PAT). */
#define PTE_RSVD_1G 0x000000003fffe000ull
#define PTE_RSVD_2M 0x00000000001fe000ull

/* Bits an intermediate entry gets: present and writable, so the leaf alone
 * decides W; U is added when a user leaf is mapped below; and a count of
 * the table's present entries (PTE_COUNTED, 0 entries to start). NX is
 * never set on an intermediate entry: it would forbid execution of the
 * whole subtree. */
#define PTE_TABLE (PTE_P | PTE_W | PTE_COUNTED)

/* Bits of va + 2^47 that must be clear for a canonical, page-aligned va:
 * the sum is below 2^48 exactly when bits 63..47 of va are all equal. */
#define VA_BAD_BITS 0xffff000000000fffull

static inline bool is_leaf(int level, uint64_t e)
{
	return level == PT_L1 || (level <= PT_L3 && (e & PTE_PS));
}

/* Physical address an entry points to (table or leaf frame). */
static inline uint64_t entry_addr(int level, uint64_t e)
{
	uint64_t a = e & PTE_ADDR_MAX_MASK;
	return is_leaf(level, e) ? a & PT_MASK(level) : a;
}

/* The table page at phys: through env->table, or at phys + table_offset
 * when it is NULL. */
static inline uint64_t *table_of(const struct page_table *pt, uint64_t phys)
{
	const struct pt_env *env = pt->env;
	if (!env->table)
		return (uint64_t *)(uintptr_t)(phys + env->table_offset);
	return env->table(env->ctx, phys);
}

static inline uint64_t alloc_table(const struct page_table *pt)
{
	uint64_t phys = pt->env->alloc(pt->env->ctx);
	if (phys) {
		if (phys & ~PAGE_MASK) /* an allocator bug; refuse the page */
			return 0;
		pt->env->tables_allocated++;
	}
	return phys;
}

static inline void free_table(struct pt_env *env, uint64_t phys)
{
	if (env->free) {
		env->free(env->ctx, phys);
		env->tables_freed++;
	}
}

/*
 * The counts (PTE_COUNTED, paging.h). `up` is the entry that links a
 * table (not NULL: the root has none, and callers skip it, as they know
 * when it is the root). count_add gives the table n
 * more present entries; count_drop one fewer, and returns the entry as it
 * is now, so that (v & PTE_COUNT_KEPT) == PTE_COUNTED says the table is
 * empty. A count of 0 with an entry to remove is wrong: count_drop then
 * clears PTE_COUNTED (the table is read whole from then on) rather than
 * borrow from bit 62 and NX.
 */
#define PTE_COUNT_KEPT (PTE_COUNTED | PTE_COUNT_MASK)

static inline __attribute__((always_inline)) void count_add(uint64_t *up,
							    uint64_t n)
{
	if (*up & PTE_COUNTED)
		*up += n * PTE_COUNT_ONE;
}

static inline __attribute__((always_inline)) uint64_t count_drop(uint64_t *up)
{
	uint64_t v = *up;
	if (!(v & PTE_COUNTED))
		return v;
	v = (v & PTE_COUNT_MASK) ? v - PTE_COUNT_ONE : v & ~PTE_COUNTED;
	*up = v;
	return v;
}

/* Empties the cache (see struct pt_cache) and takes the masks from the
 * env again: pt_init, pt_attach and pt_forget call it, and the walk when
 * the cache is of another root. */
void pt_cache_reset(struct page_table *pt);

/* Why link_table has no table for a level-l entry: no page (or a
 * misaligned one, an allocator bug: it is not given back), or a page the
 * link v would put above MAXPHYADDR (it is given back). */
int pt_link_refused(struct pt_env *env, int l, uint64_t child, uint64_t v);

/* The key of va's table at level l in the cache: the bits that select
 * the entries above it, and every bit below them set, so that no key is
 * 0, the key of nothing. */
static inline uint64_t cache_key(uint64_t va, int l)
{
	return va | (PT_SIZE(l + 1) - 1);
}

/* The table page at phys, for a walker that knows whether env->table is
 * NULL (linear: tables at phys + table_offset). */
static inline __attribute__((always_inline)) uint64_t *
table_at(const struct pt_env *env, uint64_t phys, bool linear)
{
	if (linear)
		return (uint64_t *)(uintptr_t)(phys + env->table_offset);
	return env->table(env->ctx, phys);
}

/* Where a walk is: a level, the physical address of the table of that
 * level on the way to the address walked, and the entry that links that
 * table (NULL for the root, or when not known: see link_of). */
struct walk_pos {
	int level;
	uint64_t table;
	uint64_t *up;
};

/* A walk in progress: the walker's arguments (see walk_from()) and where
 * it is. */
struct walk_state {
	struct page_table *pt;
	struct pt_env *env; /* pt->env, read once */
	uint64_t va;
	int level;
	bool create;
	bool linear;
	bool cache;
	bool counted;
	uint64_t inter;
	struct pt_walk *w;
	uint64_t table; /* physical address of the table being looked at */
	uint64_t *up;   /* the entry that links it (as walk_pos.up) */
	uint64_t *e;    /* the entry looked at last; NULL on an error */
	int err;
};

/* Allocates and links a table for the empty entry *e at level l, its count
 * `count` (the entries the caller is about to write into it); the caller
 * counts the new entry in the table that holds *e. Returns the new entry,
 * or 0 with s->err set. One mask checks the page: an address with a bit
 * of ~phys_mask | ~PTE_ADDR_MAX_MASK (a misaligned page, or bits above
 * MAXPHYADDR), which with `masks` is the cache's pa_bad (read after the
 * call, so that it takes no register across it). The link never has NX,
 * whatever NXE allows: it would take execution from the whole subtree. */
static inline __attribute__((always_inline)) uint64_t
link_table(struct walk_state *s, uint64_t *e, int l, uint64_t count, bool masks)
{
	struct pt_env *env = s->env;
	uint64_t child = env->alloc(env->ctx);
	uint64_t v = child | PTE_TABLE | s->inter | count * PTE_COUNT_ONE;
	uint64_t bad =
	    masks ? s->pt->cache.pa_bad : ~env->phys_mask | ~PTE_ADDR_MAX_MASK;
	if (!child || (child & bad)) {
		s->err = pt_link_refused(env, l, child, v);
		return 0;
	}
	env->tables_allocated++;
	*e = v;
	return v;
}

/* A walk with cache stops at level l: the cache's tables below l may be
 * of another path than the ones it recorded above, and link_of needs
 * every table in the cache to have the ones above it there (see
 * link_of), so they go. */
static inline __attribute__((always_inline)) bool
walk_stop(struct walk_state *s, int l)
{
	if (s->cache)
		for (int k = PT_L1; k < l; k++)
			s->pt->cache.key[k - 1] = 0;
	return true;
}

/*
 * One level of a walk, at level l (a constant once inlined): looks at
 * the entry for va and returns true when the walk stops there (the
 * target level, a leaf, a missing table without create, or an error in
 * s->err with s->e NULL); otherwise moves s->table down a level and,
 * with s->cache, records it.
 */
static inline __attribute__((always_inline)) bool
walk_level(struct walk_state *s, int l)
{
	struct page_table *pt = s->pt;
	uint64_t *e =
	    &table_at(s->env, s->table, s->linear)[PT_INDEX(s->va, l)];
	uint64_t v = *e;
	s->e = e;
	if (s->w) {
		s->w->table[s->w->levels] = s->table;
		s->w->entry[s->w->levels++] = v;
	}
	if (l == s->level)
		return walk_stop(s, l);
	if (v & PTE_P) {
		if (is_leaf(l, v) ||
		    (l <= PT_L3 && s->counted && !(v & PTE_COUNTED)))
			return walk_stop(s, l);
		if (s->inter & ~v & PTE_U) {
			/* Paging-structure caches may hold this entry with U
			 * clear: the caller flushes (see pt_map). */
			v |= PTE_U;
			*e = v;
			s->env->u_widened = true;
		}
	} else {
		if (!s->create)
			return walk_stop(s, l);
		v = link_table(s, e, l, 0, false);
		if (!v) {
			s->e = NULL;
			return walk_stop(s, l);
		}
		if (l < PT_L4) /* s->up is known: see walk_from */
			count_add(s->up, 1);
	}
	s->table = v & PTE_ADDR_MAX_MASK;
	s->up = e;
	if (s->cache) {
		pt->cache.key[l - 2] = cache_key(s->va, l - 1);
		pt->cache.table[l - 2] = s->table;
	}
	return false;
}

/*
 * The walker. Descends from *pos towards va and returns a pointer to the
 * entry for va at `level`, or to the entry where the descent had to stop
 * above it: a large leaf, or a non-present entry when create is false.
 * *pos becomes the level and table of the returned entry. With create,
 * missing tables are allocated and linked with PTE_TABLE | inter (inter
 * is PTE_U or 0). w, when not NULL, records every entry and table visited.
 * Returns NULL only when create needed a table and none was had (*err).
 * With cache, every table it passes through goes into the cache.
 * pos->up, the link of the table it starts at, must be known for create
 * (links count in it); it ends as the link of the returned entry's
 * table.
 *
 * Always inlined and unrolled by level: each caller gets a copy with its
 * constants folded (level, create, w, linear, cache), which is most of
 * what a single page costs. linear says env->table is NULL. With
 * counted a PT or a PD without a count stops the walk at its link, as a
 * large leaf does: the paths of single pages then change their counts
 * without testing for one, and leave such tables to the range code.
 */
static inline __attribute__((always_inline)) uint64_t *
walk_from(struct page_table *pt, uint64_t va, int level, bool create,
	  uint64_t inter, struct walk_pos *pos, int *err, struct pt_walk *w,
	  bool linear, bool cache, bool counted)
{
	struct walk_state s = {
	    .pt = pt,
	    .env = pt->env,
	    .va = va,
	    .level = level,
	    .create = create,
	    .linear = linear,
	    .cache = cache,
	    .counted = counted,
	    .inter = inter,
	    .w = w,
	    .table = pos->table,
	    .up = pos->up,
	};
	int l = pos->level;
	switch (l) {
	case PT_L4:
		if (walk_level(&s, PT_L4))
			break;
		l = PT_L3;
		/* fall through */
	case PT_L3:
		if (walk_level(&s, PT_L3))
			break;
		l = PT_L2;
		/* fall through */
	case PT_L2:
		if (walk_level(&s, PT_L2))
			break;
		l = PT_L1;
		/* fall through */
	default:
		walk_level(&s, PT_L1);
		break;
	}
	pos->level = l;
	pos->table = s.table;
	pos->up = s.up;
	if (!s.e)
		*err = s.err;
	return s.e;
}

/* Where the cache lets a walk of va towards `level` start, for a cache
 * known to be the root's: the deepest table it knows on va's path, not
 * below level. */
static inline __attribute__((always_inline)) struct walk_pos
cache_start_at(struct page_table *pt, uint64_t va, int level)
{
	struct pt_cache *c = &pt->cache;
	for (int k = level; k < PT_L4; k++)
		if (c->key[k - 1] == cache_key(va, k))
			return (struct walk_pos){k, c->table[k - 1], NULL};
	return (struct walk_pos){PT_L4, pt->root, NULL};
}

/*
 * The entry that links va's table at level l (NULL for the root), read
 * from the cache: for a cache known to be the root's that holds va's
 * table at level l + 1, which it does after any walk with cache to level
 * l or below. Every table in the cache has the ones above it on its path
 * there too: a walk records the tables it passes through, below the
 * one it starts from (which the cache held, or the root), and where it
 * stops it drops the cache's tables below (walk_stop); an unlink drops
 * the level it unlinks and those below.
 */
static inline __attribute__((always_inline)) uint64_t *
link_of(struct page_table *pt, uint64_t va, int l, bool linear)
{
	if (l >= PT_L4)
		return NULL;
	uint64_t above = l == PT_L3 ? pt->root : pt->cache.table[l];
	return &table_at(pt->env, above, linear)[PT_INDEX(va, l + 1)];
}

/* walk_from for one kind of table access, starting where the cache says
 * -- except for w, and for user walks, which give every entry on the way
 * U: those start at the PML4. *up (when not NULL) gets the link of the
 * returned entry's table. */
static inline __attribute__((always_inline)) uint64_t *
walk_in(struct page_table *pt, uint64_t va, int level, bool create,
	uint64_t inter, int *reached, int *err, struct pt_walk *w,
	uint64_t **up, bool linear)
{
	struct walk_pos pos = {PT_L4, pt->root, NULL};
	if (w)
		w->levels = 0;
	else if (!(inter & PTE_U))
		pos = cache_start_at(pt, va, level);
	if (create)
		pos.up = link_of(pt, va, pos.level, linear);
	int start = pos.level;
	uint64_t *e = walk_from(pt, va, level, create, inter, &pos, err, w,
				linear, true, false);
	if (up)
		*up = pos.level == start ? link_of(pt, va, start, linear)
					 : pos.up;
	*reached = pos.level;
	return e;
}

/* walk_in for the env's kind of table access (two copies, one that calls
 * env->table and one that adds table_offset). *reached is the level of
 * the returned entry. */
static inline __attribute__((always_inline)) uint64_t *
walk(struct page_table *pt, uint64_t va, int level, bool create, uint64_t inter,
     int *reached, int *err, struct pt_walk *w, uint64_t **up)
{
	if (pt->cache.root != pt->root) /* a new root, or an unset cache */
		pt_cache_reset(pt);
	if (pt->env->table)
		return walk_in(pt, va, level, create, inter, reached, err, w,
			       up, false);
	return walk_in(pt, va, level, create, inter, reached, err, w, up, true);
}

/* Checks [va, va+size): page aligned, not wrapping, canonical, and on one
 * side of the non-canonical hole. */
static inline bool range_ok(uint64_t va, uint64_t size)
{
	if (!IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE))
		return false;
	if (size == 0)
		return true;
	uint64_t last = va + size - 1;
	return last >= va && va_canonical(va) && va_canonical(last) &&
	       (va >> 47) == (last >> 47);
}

/* The largest leaf level up to max (at most PT_L3) at an address whose
 * alignment is that of addr_bits (va | pa for a mapping) with `left`
 * bytes to go. pt_map and pt_cut both pick leaves here, so pt_cut's
 * pieces are pt_map's leaves. */
static inline int largest_leaf(uint64_t addr_bits, uint64_t left, int max)
{
	for (int l = max < PT_L3 ? max : PT_L3; l > PT_L1; l--)
		if (left >= PT_SIZE(l) && IS_ALIGNED(addr_bits, PT_SIZE(l)))
			return l;
	return PT_L1;
}

static inline void flush(struct page_table *pt, uint64_t va, uint64_t size)
{
	if (pt->env->flush && size)
		pt->env->flush(pt->env->ctx, va, size);
}

/* Drops the flag the walker set when it added U to an existing
 * intermediate entry, flushing [va, va+size) (at least a page) so that no
 * paging-structure cache keeps the entry without U. */
static inline void flush_widened(struct page_table *pt, uint64_t va,
				 uint64_t size)
{
	pt->env->u_widened = false;
	flush(pt, va, size ? size : PAGE_SIZE);
}

/* paging_range.c: the operations on any range (see paging.h for what
 * pt_map, pt_unmap and pt_protect do), and two helpers of unmap. */
int pt_map_range(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t size,
		 uint64_t attr, int max_level, uint64_t *fail_va);
int pt_unmap_range(struct page_table *pt, uint64_t va, uint64_t size);
int pt_protect_range(struct page_table *pt, uint64_t va, uint64_t size,
		     uint64_t attr);
/* A single-page map's result when it did not map: sets *fail_va (when
 * not NULL) to va, returns rc. */
int pt_map_failed(uint64_t va, int rc, uint64_t *fail_va);
/* True when the table page at phys has no entry but zeros. */
bool pt_table_empty(const struct page_table *pt, uint64_t phys);
/* True when the table the link *up points to is empty: by its count, or
 * for a table without one by reading it. */
bool pt_link_empty(const struct page_table *pt, const uint64_t *up);
/* Frees the tables chained through their first word by an unmap. */
void pt_free_chain(struct page_table *pt, uint64_t chain);

#endif
