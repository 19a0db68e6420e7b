/*
 * x86-64 4-level page tables. See paging.h for the contracts.
 *
 * Structure: walk() is the one descent towards an address; map, unmap,
 * protect, split and translate are loops around it. It starts at the
 * deepest table the last walk shares with this one (struct pt_cache), so
 * nearby addresses skip the upper levels. Map fills every consecutive
 * entry of the table walk() returned before walking again, so a
 * contiguous range costs one walk per table, not per page; a single page
 * takes a short path of its own through the same walker (map_page).
 *
 * Checks on the fast paths are masks: forbidden() gathers every bit that
 * makes a present entry invalid, so one AND stands for pt_entry_check,
 * which still writes the reason when the AND refuses an entry.
 */
#include "paging.h"

/* Bits 52..62: ignored by the CPU without protection keys, protection key
 * with them. This code never sets them, so an entry that has them is a
 * bug, not a choice. */
#define PTE_HIGH_IGNORED 0x7ff0000000000000ull
/* Reserved bits of large leaves: 29:13 of a 1 GiB leaf, 20:13 of a 2 MiB
 * leaf (bit 12 is PAT). */
#define PTE_RSVD_1G 0x000000003fffe000ull
#define PTE_RSVD_2M 0x00000000001fe000ull

/* Bits an intermediate entry gets: present and writable, so the leaf alone
 * decides W; U is added when a user leaf is mapped below. NX is never set
 * on an intermediate entry: it would forbid execution of the whole
 * subtree. */
#define PTE_TABLE (PTE_P | PTE_W)

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
	if (e & PTE_HIGH_IGNORED)
		return "bits 52-62 set (unused by this code)";
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

static uint64_t alloc_table(const struct page_table *pt)
{
	uint64_t phys = pt->env->alloc(pt->env->ctx);
	if (phys) {
		if (phys & ~PAGE_MASK) /* an allocator bug; refuse the page */
			return 0;
		pt->env->tables_allocated++;
	}
	return phys;
}

static void free_table(struct pt_env *env, uint64_t phys)
{
	if (env->free) {
		env->free(env->ctx, phys);
		env->tables_freed++;
	}
}

/* Nothing below the root is known; the masks are the env's now. */
static void cache_reset(struct page_table *pt)
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
	cache_reset(pt);
}

int pt_init(struct page_table *pt, struct pt_env *env)
{
	pt->env = env;
	pt->root = alloc_table(pt);
	cache_reset(pt);
	return pt->root ? 0 : -ERR_NOMEM;
}

void pt_attach(struct page_table *pt, struct pt_env *env, uint64_t root)
{
	pt->env = env;
	pt->root = root;
	cache_reset(pt);
}

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

/* Where a walk is: a level, and the physical address of the table of
 * that level on the way to the address walked. */
struct walk_pos {
	int level;
	uint64_t table;
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
	uint64_t inter;
	struct pt_walk *w;
	uint64_t table; /* physical address of the table being looked at */
	uint64_t *e;    /* the entry looked at last; NULL on an error */
	int err;
};

/* Why link_table has no table for a level-l entry: no page (or a
 * misaligned one, an allocator bug: it is not given back), or a page the
 * link v would put above MAXPHYADDR (it is given back). */
static __attribute__((noinline, cold)) int
link_refused(struct pt_env *env, int l, uint64_t child, uint64_t v)
{
	if (!child || (child & ~PAGE_MASK))
		return -ERR_NOMEM;
	env->tables_allocated++;
	free_table(env, child);
	const char *why = pt_entry_check(env, l, v);
	env->last_error = why ? why : "table address above MAXPHYADDR";
	return -ERR_RANGE;
}

/* Allocates and links a table for the empty entry *e at level l. Returns
 * the new entry, or 0 with s->err set. One mask checks the page: an
 * address outside phys_mask (which also catches a misaligned page and
 * bits 52-63). The link never has NX, whatever NXE allows: it would take
 * execution from the whole subtree. */
static inline __attribute__((always_inline)) uint64_t
link_table(struct walk_state *s, uint64_t *e, int l)
{
	struct pt_env *env = s->env;
	uint64_t child = env->alloc(env->ctx);
	uint64_t v = child | PTE_TABLE | s->inter;
	if (!child || (child & (~env->phys_mask | ~PTE_ADDR_MAX_MASK))) {
		s->err = link_refused(env, l, child, v);
		return 0;
	}
	env->tables_allocated++;
	*e = v;
	return v;
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
		return true;
	if (v & PTE_P) {
		if (is_leaf(l, v))
			return true;
		if (s->inter & ~v & PTE_U) {
			/* Paging-structure caches may hold this entry with U
			 * clear: the caller flushes (see pt_map). */
			v |= PTE_U;
			*e = v;
			s->env->u_widened = true;
		}
	} else {
		if (!s->create)
			return true;
		v = link_table(s, e, l);
		if (!v) {
			s->e = NULL;
			return true;
		}
	}
	s->table = v & PTE_ADDR_MAX_MASK;
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
 *
 * Always inlined and unrolled by level: each caller gets a copy with its
 * constants folded (level, create, w, linear, cache), which is most of
 * what a single page costs. linear says env->table is NULL.
 */
static inline __attribute__((always_inline)) uint64_t *
walk_from(struct page_table *pt, uint64_t va, int level, bool create,
	  uint64_t inter, struct walk_pos *pos, int *err, struct pt_walk *w,
	  bool linear, bool cache)
{
	struct walk_state s = {
	    .pt = pt,
	    .env = pt->env,
	    .va = va,
	    .level = level,
	    .create = create,
	    .linear = linear,
	    .cache = cache,
	    .inter = inter,
	    .w = w,
	    .table = pos->table,
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
			return (struct walk_pos){k, c->table[k - 1]};
	return (struct walk_pos){PT_L4, pt->root};
}

/* walk_from for the env's kind of table access (two copies, one that
 * calls env->table and one that adds table_offset), starting where the
 * cache says -- except for w, and for user walks, which give every entry
 * on the way U: those start at the PML4. *reached is the level of the
 * returned entry. */
static inline __attribute__((always_inline)) uint64_t *
walk(struct page_table *pt, uint64_t va, int level, bool create, uint64_t inter,
     int *reached, int *err, struct pt_walk *w)
{
	struct walk_pos pos = {PT_L4, pt->root};
	uint64_t *e;
	if (pt->cache.root != pt->root) /* a new root, or an unset cache */
		cache_reset(pt);
	if (w)
		w->levels = 0;
	else if (!(inter & PTE_U))
		pos = cache_start_at(pt, va, level);
	if (pt->env->table)
		e = walk_from(pt, va, level, create, inter, &pos, err, w, false,
			      true);
	else
		e = walk_from(pt, va, level, create, inter, &pos, err, w, true,
			      true);
	*reached = pos.level;
	return e;
}

/* Checks [va, va+size): page aligned, not wrapping, canonical, and on one
 * side of the non-canonical hole. */
static bool range_ok(uint64_t va, uint64_t size)
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
static int largest_leaf(uint64_t addr_bits, uint64_t left, int max)
{
	for (int l = max < PT_L3 ? max : PT_L3; l > PT_L1; l--)
		if (left >= PT_SIZE(l) && IS_ALIGNED(addr_bits, PT_SIZE(l)))
			return l;
	return PT_L1;
}

/* The largest leaf level (up to max) that va, pa and size allow. */
static int leaf_level(const struct pt_env *env, uint64_t va, uint64_t pa,
		      uint64_t size, int max)
{
	if (max >= PT_L3 && !env->page1g)
		max = PT_L2;
	return largest_leaf(va | pa, size, max);
}

static void flush(struct page_table *pt, uint64_t va, uint64_t size)
{
	if (pt->env->flush && size)
		pt->env->flush(pt->env->ctx, va, size);
}

/* Drops the flag the walker set when it added U to an existing
 * intermediate entry, flushing [va, va+size) (at least a page) so that no
 * paging-structure cache keeps the entry without U. */
static void flush_widened(struct page_table *pt, uint64_t va, uint64_t size)
{
	pt->env->u_widened = false;
	flush(pt, va, size ? size : PAGE_SIZE);
}

/* map_page's result when it did not map. */
static __attribute__((noinline, cold)) int map_page_failed(uint64_t va, int rc,
							   uint64_t *fail_va)
{
	if (fail_va)
		*fail_va = va;
	return rc;
}

static int map_range(struct page_table *pt, uint64_t va, uint64_t pa,
		     uint64_t size, uint64_t attr, int max_level,
		     uint64_t *fail_va);

/* What map_page's masks refuse goes to map_range, which checks it again
 * against the env itself and maps it or says why not: user pages, bad
 * arguments, entries the validator refuses, and any page at all while
 * the masks are unset. */
static __attribute__((noinline, cold)) int
map_page_slow(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t attr,
	      uint64_t *fail_va)
{
	return map_range(pt, va, pa, PAGE_SIZE, attr, PT_L1, fail_va);
}

/*
 * The rest of map_page_in when its walk found the entry *e at level l > 1
 * empty: links a new table there (as the walker does), walks on from it
 * with create, through the same walker, and writes the leaf. Functions
 * of their own, called last: the walk before them calls nothing with
 * linear tables, so only these, which call the allocator, save
 * registers. The PT alone missing (l is PT_L2) is the usual case, with
 * a copy of its own that keeps fewer values across the call.
 */
static inline __attribute__((always_inline)) int
map_page_grow_in(struct page_table *pt, uint64_t va, uint64_t leaf,
		 uint64_t *fail_va, uint64_t *e, int l, bool linear)
{
	struct walk_state s = {.pt = pt, .env = pt->env};
	uint64_t v = link_table(&s, e, l);
	if (!v)
		return map_page_failed(va, s.err, fail_va);
	struct walk_pos at = {l - 1, v & PTE_ADDR_MAX_MASK};
	int rc = 0;
	e = walk_from(pt, va, PT_L1, true, 0, &at, &rc, NULL, linear, false);
	if (!e || (*e & PTE_P)) /* no table; or the allocator's page was
				   not zeroed */
		return map_page_failed(va, e ? -ERR_EXISTS : rc, fail_va);
	*e = leaf;
	return 0;
}

static __attribute__((noinline)) int
map_page_grow_pt_add(struct page_table *pt, uint64_t va, uint64_t leaf,
		     uint64_t *fail_va, uint64_t *e)
{
	return map_page_grow_in(pt, va, leaf, fail_va, e, PT_L2, true);
}

static __attribute__((noinline)) int
map_page_grow_add(struct page_table *pt, uint64_t va, uint64_t leaf,
		  uint64_t *fail_va, uint64_t *e, int l)
{
	return map_page_grow_in(pt, va, leaf, fail_va, e, l, true);
}

static __attribute__((noinline)) int
map_page_grow_call(struct page_table *pt, uint64_t va, uint64_t leaf,
		   uint64_t *fail_va, uint64_t *e, int l)
{
	return map_page_grow_in(pt, va, leaf, fail_va, e, l, false);
}

/* The walk and the write of pt_map for one 4 KiB supervisor page whose
 * arguments passed map_page's tests: leaf is the entry to write. */
static inline __attribute__((always_inline)) int
map_page_in(struct page_table *pt, uint64_t va, uint64_t leaf,
	    uint64_t *fail_va, bool linear)
{
	struct walk_pos at = {PT_L4, pt->root};
	int rc = 0;
	uint64_t *e =
	    walk_from(pt, va, PT_L1, false, 0, &at, &rc, NULL, linear, false);
	if (*e & PTE_P) /* a 4 KiB page, or a large leaf above */
		return map_page_failed(va, -ERR_EXISTS, fail_va);
	if (at.level == PT_L1) {
		*e = leaf;
		return 0;
	}
	if (linear && at.level == PT_L2)
		return map_page_grow_pt_add(pt, va, leaf, fail_va, e);
	if (linear)
		return map_page_grow_add(pt, va, leaf, fail_va, e, at.level);
	return map_page_grow_call(pt, va, leaf, fail_va, e, at.level);
}

/* map_page_in with calls to env->table, in a function of its own so that
 * the linear copy, inlined in pt_map, saves no registers. */
static __attribute__((noinline)) int map_page_call(struct page_table *pt,
						   uint64_t va, uint64_t leaf,
						   uint64_t *fail_va)
{
	return map_page_in(pt, va, leaf, fail_va, false);
}

/*
 * pt_map of one 4 KiB supervisor page: the same checks and results as
 * map_range, which still maps what these masks refuse (map_page_slow).
 *
 * Three masks stand for every argument check and the validator's checks
 * of a 4 KiB leaf, kept in the cache when the table set was made (see
 * cache_reset): pa may not have pa_bad's bits, ~phys_mask, which holds
 * misalignment, bits at or above MAXPHYADDR and bits 52-63; attr may not
 * have attr_check's bits but PTE_W, which are everything outside
 * PTE_ATTR_MASK, NX without NXE, and U (for map_range to add U on the
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
	if (pt->env->table)
		return map_page_call(pt, va, pa | attr | PTE_P, fail_va);
	return map_page_in(pt, va, pa | attr | PTE_P, fail_va, true);
}

/* pt_map of anything but a single page. */
static __attribute__((noinline)) int map_range(struct page_table *pt,
					       uint64_t va, uint64_t pa,
					       uint64_t size, uint64_t attr,
					       int max_level, uint64_t *fail_va)
{
	int rc = 0;
	uint64_t start = va;
	if ((attr & ~PTE_ATTR_MASK) || !range_ok(va, size) ||
	    !IS_ALIGNED(pa, PAGE_SIZE) || (size && add_overflows(pa, size - 1)))
		rc = -ERR_INVALID;

	while (rc == 0 && size) {
		int level = leaf_level(pt->env, va, pa, size, max_level);
		int reached;
		uint64_t *e = walk(pt, va, level, true, attr & PTE_U, &reached,
				   &rc, NULL);
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
		for (uint64_t i = 0; i < n && rc == 0; i++, e++) {
			if (*e & PTE_P) {
				if (is_leaf(level, *e)) {
					rc = -ERR_EXISTS;
					break;
				}
				/* A table is here already: map this part
				 * through it with smaller leaves, so only a
				 * page that is really mapped conflicts. */
				rc = map_range(pt, va, pa, step, attr,
					       level - 1, fail_va);
				if (rc)
					return rc;
			} else {
				*e = pa | bits;
			}
			va += step;
			pa += step;
			size -= step;
		}
	}
	if (rc && fail_va)
		*fail_va = va;
	if (pt->env
		->u_widened) /* an INVLPG clears the paging-structure caches */
		flush_widened(pt, start, va - start);
	return rc;
}

int pt_map(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t size,
	   uint64_t attr, int max_level, uint64_t *fail_va)
{
	if (size != PAGE_SIZE)
		return map_range(pt, va, pa, size, attr, max_level, fail_va);
	return map_page(pt, va, pa, attr, fail_va);
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
	if (!why)
		why = pt_entry_check(pt->env, level,
				     child | PTE_TABLE | (old & PTE_U));
	if (why) {
		free_table(pt->env, child);
		pt->env->last_error = why;
		return -ERR_RANGE;
	}
	/* The translations are unchanged, so no flush is needed here: the
	 * caller flushes once it changes a part of them. */
	*e = child | PTE_TABLE | (old & PTE_U);
	pt->env->splits++;
	return 0;
}

int pt_split(struct page_table *pt, uint64_t va)
{
	int reached, err = 0;
	uint64_t *e = walk(pt, va, PT_L1, false, 0, &reached, &err, NULL);
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
static bool table_empty(const struct page_table *pt, uint64_t phys)
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
			uint64_t *e =
			    walk(pt, a, level, false, 0, &reached, &err, NULL);
			if (reached == level && (*e & PTE_P) &&
			    !is_leaf(level, *e)) {
				uint64_t child = *e & PTE_ADDR_MAX_MASK;
				if (table_empty(pt, child)) {
					/* The cache may lead through it. */
					pt_forget(pt);
					*e = 0;
					table_of(pt, child)[0] = *chain;
					*chain = child;
				}
			}
			a += PT_SIZE(level);
		} while (a != end && a - va < size);
	}
}

/* Frees the tables unlink_empty_tables chained. */
static void free_chain(struct page_table *pt, uint64_t chain)
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
 * split first. Returns the entry (maybe not present), its level in *level
 * and the bytes of the range it covers in *n; NULL with *rc set when a
 * split failed.
 */
static uint64_t *leaf_in_range(struct page_table *pt, uint64_t a, uint64_t left,
			       int *level, uint64_t *n, int *rc)
{
	for (;;) {
		uint64_t *e = walk(pt, a, PT_L1, false, 0, level, rc, NULL);
		*n = chunk(a, *level, left);
		if (!(*e & PTE_P) || *n == PT_SIZE(*level))
			return e;
		*rc = split_leaf(pt, e, *level);
		if (*rc)
			return NULL;
	}
}

/* pt_unmap of any range. */
static __attribute__((noinline)) int unmap_range(struct page_table *pt,
						 uint64_t va, uint64_t size)
{
	if (!range_ok(va, size))
		return -ERR_INVALID;
	if (size == 0) /* nothing to flush, so nothing may be freed either */
		return 0;
	uint64_t a = va, left = size, n;
	int rc = 0, level;
	while (left) {
		uint64_t *e = leaf_in_range(pt, a, left, &level, &n, &rc);
		if (!e)
			break;
		*e = 0; /* a non-present entry stays non-present */
		a += n;
		left -= n;
	}
	uint64_t chain = 0;
	if (pt->env->free)
		unlink_empty_tables(pt, va, size, &chain);
	flush(pt, va, size);
	free_chain(pt, chain);
	return rc;
}

/* pt_protect of any range. */
static __attribute__((noinline)) int
protect_range(struct page_table *pt, uint64_t va, uint64_t size, uint64_t attr)
{
	if ((attr & ~PTE_ATTR_MASK) || !range_ok(va, size))
		return -ERR_INVALID;
	uint64_t a = va, left = size, n;
	int rc = 0, level;
	while (left) {
		uint64_t *e = leaf_in_range(pt, a, left, &level, &n, &rc);
		if (!e)
			break;
		if (!(*e & PTE_P)) {
			rc = -ERR_NOTFOUND;
			break;
		}
		if (attr & PTE_U) /* the path must allow user access too */
			walk(pt, a, level, false, PTE_U, &level, &rc, NULL);
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

/*
 * pt_unmap and pt_protect of one 4 KiB page, for a cache known to be the
 * root's and linear tables, or through env->table: the walk from where
 * the cache says and the write. Anything else -- a large leaf to split, a
 * missing table, a table that may have become empty when the env frees
 * them, a user page or an entry the masks refuse -- goes to the range
 * functions, which do it all over and say what is wrong.
 */
/*
 * The rest of a single-page unmap whose PT became empty: unlinks it and
 * every table above that becomes empty in turn (never the root), flushes,
 * then frees them (as unmap_range: only after the flush, for the
 * paging-structure caches).
 */
static __attribute__((noinline)) int unmap_page_tables(struct page_table *pt,
						       uint64_t va)
{
	struct pt_walk w;
	int reached, err = 0;
	uint64_t chain = 0;
	walk(pt, va, PT_L1, false, 0, &reached, &err, &w);
	/* w.table[i] is the table of level PT_L4 - i on va's path; its
	 * link is in w.table[i - 1]. The PT (i = 3) is empty. */
	for (int i = w.levels - 1;
	     i > 0 && (i == PT_L4 - PT_L1 || table_empty(pt, w.table[i]));
	     i--) {
		table_of(pt, w.table[i - 1])[PT_INDEX(va, PT_L4 - i + 1)] = 0;
		table_of(pt, w.table[i])[0] = chain;
		chain = w.table[i];
	}
	if (chain)
		pt_forget(pt); /* it may lead through them */
	flush(pt, va, PAGE_SIZE);
	free_chain(pt, chain);
	return 0;
}

static inline __attribute__((always_inline)) int
unmap_page_in(struct page_table *pt, uint64_t va, bool linear)
{
	struct walk_pos at = cache_start_at(pt, va, PT_L1);
	int err = 0;
	uint64_t *e =
	    walk_from(pt, va, PT_L1, false, 0, &at, &err, NULL, linear, true);
	if (at.level != PT_L1)
		return unmap_range(pt, va, PAGE_SIZE);
	*e = 0; /* a non-present entry stays non-present */
	if (pt->env->free && table_empty(pt, at.table))
		return unmap_page_tables(pt, va);
	flush(pt, va, PAGE_SIZE);
	return 0;
}

static inline __attribute__((always_inline)) int
protect_page_in(struct page_table *pt, uint64_t va, uint64_t attr, bool linear)
{
	struct walk_pos at = cache_start_at(pt, va, PT_L1);
	int err = 0;
	uint64_t *e =
	    walk_from(pt, va, PT_L1, false, 0, &at, &err, NULL, linear, true);
	uint64_t v = (*e & ~PTE_ATTR_MASK) | attr;
	if (at.level != PT_L1 || !(v & PTE_P) || (v & pt->cache.leaf_bad))
		return protect_range(pt, va, PAGE_SIZE, attr);
	*e = v;
	flush(pt, va, PAGE_SIZE);
	return 0;
}

static __attribute__((noinline)) int unmap_page_other(struct page_table *pt,
						      uint64_t va)
{
	if (pt->cache.root != pt->root)
		cache_reset(pt);
	if (pt->env->table)
		return unmap_page_in(pt, va, false);
	return unmap_page_in(pt, va, true);
}

static __attribute__((noinline)) int
protect_page_other(struct page_table *pt, uint64_t va, uint64_t attr)
{
	if (pt->cache.root != pt->root)
		cache_reset(pt);
	if (pt->env->table)
		return protect_page_in(pt, va, attr, false);
	return protect_page_in(pt, va, attr, true);
}

int pt_unmap(struct page_table *pt, uint64_t va, uint64_t size)
{
	if (size != PAGE_SIZE || ((va + (1ull << 47)) & VA_BAD_BITS))
		return unmap_range(pt, va, size);
	if (pt->root == pt->cache.linear_root)
		return unmap_page_in(pt, va, true);
	return unmap_page_other(pt, va);
}

/* A user page takes protect_range, which gives every entry on the way U.
 * NX without NXE is in leaf_bad. */
int pt_protect(struct page_table *pt, uint64_t va, uint64_t size, uint64_t attr)
{
	if (size != PAGE_SIZE || (attr & ~(PTE_ATTR_MASK & ~PTE_U)) ||
	    ((va + (1ull << 47)) & VA_BAD_BITS))
		return protect_range(pt, va, size, attr);
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
	uint64_t *e =
	    walk_from(pt, va, PT_L1, false, 0, &at, &err, NULL, linear, true);
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
		cache_reset(pt);
	if (pt->env->table)
		return translate_in(pt, va, pa, leaf_entry, level, false,
				    PT_L1);
	return translate_in(pt, va, pa, leaf_entry, level, true, PT_L1);
}

/* translate_in for linear tables and a cache known to be the root's,
 * whose PT and PD did not match: from its PDPT or the root. */
static __attribute__((noinline)) int translate_far(struct page_table *pt,
						   uint64_t va, uint64_t *pa,
						   uint64_t *leaf_entry,
						   int *level)
{
	return translate_in(pt, va, pa, leaf_entry, level, true, PT_L3);
}

/* With w: every level from the PML4 down is recorded. */
static __attribute__((noinline)) int
translate_walk(struct page_table *pt, uint64_t va, uint64_t *pa,
	       uint64_t *leaf_entry, int *level, struct pt_walk *w)
{
	int reached, err = 0;
	uint64_t *e = walk(pt, va, PT_L1, false, 0, &reached, &err, w);
	return translated(va, e, reached, pa, leaf_entry, level);
}

int pt_translate(const struct page_table *cpt, uint64_t va, uint64_t *pa,
		 uint64_t *leaf_entry, int *level, struct pt_walk *w)
{
	/* The cache is state, not content: see paging.h. */
	struct page_table *pt = (struct page_table *)cpt;
	if (w) {
		if (!va_canonical(va))
			return -ERR_INVALID;
		return translate_walk(pt, va, pa, leaf_entry, level, w);
	}
	/* linear_root is the root only while the cache is the root's and
	 * the tables are linear: one test for both. Then an address in the
	 * PT or the PD of the last walk, the usual case of a scan, is looked
	 * up here; the rest in translate_other. */
	struct pt_cache *c = &pt->cache;
	struct walk_pos at;
	if (pt->root != c->linear_root)
		return translate_other(pt, va, pa, leaf_entry, level);
	if (c->key[PT_L1 - 1] == cache_key(va, PT_L1))
		at = (struct walk_pos){PT_L1, c->table[PT_L1 - 1]};
	else if (c->key[PT_L2 - 1] == cache_key(va, PT_L2))
		at = (struct walk_pos){PT_L2, c->table[PT_L2 - 1]};
	else
		return translate_far(pt, va, pa, leaf_entry, level);
	int err = 0;
	uint64_t *e =
	    walk_from(pt, va, PT_L1, false, 0, &at, &err, NULL, true, true);
	if (at.level == PT_L1)
		return translated(va, e, PT_L1, pa, leaf_entry, level);
	return translated(va, e, at.level, pa, leaf_entry, level);
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
	cache_reset(pt);
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
