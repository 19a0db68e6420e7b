/*
 * x86-64 4-level page tables. See paging.h for the contracts.
 *
 * Structure: walk() is the one descent from the PML4 towards an address;
 * map, unmap, protect, split and translate are loops around it. Map fills
 * every consecutive entry of the table walk() returned before walking
 * again, so a contiguous range costs one walk per table, not per page.
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

static inline uint64_t *table_of(const struct page_table *pt, uint64_t phys)
{
	return pt->env->table(pt->env->ctx, phys);
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

int pt_init(struct page_table *pt, struct pt_env *env)
{
	pt->env = env;
	pt->root = alloc_table(pt);
	return pt->root ? 0 : -ERR_NOMEM;
}

void pt_attach(struct page_table *pt, struct pt_env *env, uint64_t root)
{
	pt->env = env;
	pt->root = root;
}

/*
 * The walker. Descends from the PML4 towards va and returns a pointer to
 * the entry for va at `level`, or to the entry where the descent had to
 * stop above it: a large leaf, or a non-present entry when create is
 * false. *reached is the level of the returned entry. With create,
 * missing tables are allocated and linked with PTE_TABLE | inter (inter is
 * PTE_U or 0). w, when not NULL, records every entry and table visited.
 * Returns NULL only when create needed a table and none was had (*err).
 */
static uint64_t *walk(const struct page_table *pt, uint64_t va, int level,
		      bool create, uint64_t inter, int *reached, int *err,
		      struct pt_walk *w)
{
	uint64_t table = pt->root;
	if (w)
		w->levels = 0;
	for (int l = PT_L4;; l--) {
		uint64_t *e = &table_of(pt, table)[PT_INDEX(va, l)];
		if (w) {
			w->table[w->levels] = table;
			w->entry[w->levels++] = *e;
		}
		if (l == level || (*e & PTE_P && is_leaf(l, *e))) {
			*reached = l;
			return e;
		}
		if (!(*e & PTE_P)) {
			if (!create) {
				*reached = l;
				return e;
			}
			uint64_t child = alloc_table(pt);
			if (!child) {
				*err = -ERR_NOMEM;
				return NULL;
			}
			int rc = set_entry(pt, e, l, child | PTE_TABLE | inter);
			if (rc) {
				if (pt->env->free) {
					pt->env->free(pt->env->ctx, child);
					pt->env->tables_freed++;
				}
				*err = rc;
				return NULL;
			}
		} else if ((inter & PTE_U) && !(*e & PTE_U)) {
			/* Paging-structure caches may hold this entry with U
			 * clear: the caller flushes (see pt_map). */
			*e |= PTE_U;
			pt->env->u_widened = true;
		}
		table = *e & PTE_ADDR_MAX_MASK;
	}
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

int pt_map(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t size,
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
				rc = pt_map(pt, va, pa, step, attr, level - 1,
					    fail_va);
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
	if (pt->env->u_widened) {
		/* An intermediate entry gained U: drop cached copies of it
		 * (an INVLPG clears the paging-structure caches). */
		pt->env->u_widened = false;
		flush(pt, start, va > start ? va - start : PAGE_SIZE);
	}
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
	if (!why)
		why = pt_entry_check(pt->env, level,
				     child | PTE_TABLE | (old & PTE_U));
	if (why) {
		if (pt->env->free) {
			pt->env->free(pt->env->ctx, child);
			pt->env->tables_freed++;
		}
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

static bool table_empty(const struct page_table *pt, uint64_t phys)
{
	const uint64_t *t = table_of(pt, phys);
	for (uint32_t i = 0; i < PT_ENTRIES; i++)
		if (t[i])
			return false;
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
					*e = 0;
					table_of(pt, child)[0] = *chain;
					*chain = child;
				}
			}
			a += PT_SIZE(level);
		} while (a != end && a - va < size);
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

int pt_unmap(struct page_table *pt, uint64_t va, uint64_t size)
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
	while (chain) {
		uint64_t next = table_of(pt, chain)[0];
		table_of(pt, chain)[0] = 0;
		pt->env->free(pt->env->ctx, chain);
		pt->env->tables_freed++;
		chain = next;
	}
	return rc;
}

int pt_protect(struct page_table *pt, uint64_t va, uint64_t size, uint64_t attr)
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

int pt_translate(const struct page_table *pt, uint64_t va, uint64_t *pa,
		 uint64_t *leaf_entry, int *level, struct pt_walk *w)
{
	if (!va_canonical(va))
		return -ERR_INVALID;
	int reached, err = 0;
	uint64_t *e = walk(pt, va, PT_L1, false, 0, &reached, &err, w);
	if (!(*e & PTE_P))
		return -ERR_NOTFOUND;
	if (pa)
		*pa = entry_addr(reached, *e) | (va & (PT_SIZE(reached) - 1));
	if (leaf_entry)
		*leaf_entry = *e;
	if (level)
		*level = reached;
	return 0;
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
	if (pt->env->free) {
		pt->env->free(pt->env->ctx, table);
		pt->env->tables_freed++;
	}
}

void pt_destroy(struct page_table *pt)
{
	if (pt->root)
		destroy(pt, pt->root, PT_L4);
	pt->root = 0;
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
