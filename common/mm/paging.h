/*
 * x86-64 4-level page tables: entry definitions, the validator, and one
 * walker that map, unmap, protect and translate share, for ranges and,
 * on short paths of their own, for single 4 KiB pages. Each table set
 * keeps the tables of its last walks (struct pt_cache), so that a walk
 * near the last one starts below the PML4.
 *
 * The same code runs in the loader (tables reached by identity), the
 * kernel (tables reached through the direct map) and the host tests
 * (tables in malloc'd memory): the environment -- how to allocate a table
 * page, how to reach a physical address, how to flush the TLB -- is passed
 * in as struct pt_env.
 *
 * Entries are raw uint64_t with named bit masks (bitfield layout is the
 * compiler's choice). Every entry this code writes is checked first, by
 * pt_entry_check or, on the single-page paths, by masks that refuse
 * exactly what it refuses (tests/unit/test_paging.c holds them to it at
 * every edge): bits above MAXPHYADDR, a level's reserved bits, NX without
 * EFER.NXE and 1 GiB leaves without CPUID support are refused, because
 * an emulator may accept them and a CPU will not.
 *
 * Nothing here flushes the TLB except through env->flush, which unmap and
 * protect call once per operation with the whole changed range, and map
 * calls only when it had to add U to an existing intermediate entry
 * (otherwise it writes only non-present entries, which are never cached).
 */
#ifndef COMMON_PAGING_H
#define COMMON_PAGING_H

#include "common/lib/types.h"

/* Levels, one vocabulary: 1 = PT (4 KiB leaves), 2 = PD (2 MiB leaves),
 * 3 = PDPT (1 GiB leaves), 4 = PML4. */
enum pt_level {
	PT_L1 = 1,
	PT_L2 = 2,
	PT_L3 = 3,
	PT_L4 = 4,
};
#define PT_LEVELS     4
#define PT_ENTRIES    512u
#define PT_INDEX_BITS 9

#define PT_SHIFT(level) (PAGE_SHIFT + PT_INDEX_BITS * ((level)-1))
#define PT_SIZE(level)  (1ull << PT_SHIFT(level))
#define PT_MASK(level)  (~(PT_SIZE(level) - 1))
#define PT_INDEX(va, level)                                                    \
	((uint32_t)(((va) >> PT_SHIFT(level)) & (PT_ENTRIES - 1)))

#define PAGE_SIZE_4K PT_SIZE(PT_L1)
#define PAGE_SIZE_2M PT_SIZE(PT_L2)
#define PAGE_SIZE_1G PT_SIZE(PT_L3)

/* Entry bits (Intel SDM Vol. 3A, 4.5). */
#define PTE_P         (1ull << 0)  /* present */
#define PTE_W         (1ull << 1)  /* writable */
#define PTE_U         (1ull << 2)  /* user */
#define PTE_PWT       (1ull << 3)  /* write-through */
#define PTE_PCD       (1ull << 4)  /* cache disable */
#define PTE_A         (1ull << 5)  /* accessed */
#define PTE_D         (1ull << 6)  /* dirty (leaves) */
#define PTE_PS        (1ull << 7)  /* leaf at L2/L3; PAT bit at L1 */
#define PTE_G         (1ull << 8)  /* global (leaves) */
#define PTE_PAT_LARGE (1ull << 12) /* PAT bit of 2 MiB / 1 GiB leaves */
#define PTE_NX        (1ull << 63) /* no execute (needs EFER.NXE) */
/* The architectural address field; env->phys_mask narrows it to
 * MAXPHYADDR. */
#define PTE_ADDR_MAX_MASK 0x000ffffffffff000ull

/*
 * The count of present entries of a table (PT, PD or PDPT), kept in the
 * entry that links it, so that an unmap learns in O(1), not by reading
 * 512 entries, that a table became empty. The PML4 has no such entry
 * and is never freed. The bits are ones the CPU ignores in a non-leaf
 * entry (Intel SDM Vol. 3A, tables 4-15, 4-17 and 4-19; AMD APM Vol. 2,
 * 5.3.3, "available to software"):
 *
 *   bit 9        PTE_COUNTED: the count is kept for this table. Bits 9
 *                and 10 are ignored in every entry with 4-level paging;
 *                bit 11 is left alone (HLAT paging makes it the restart
 *                bit).
 *   bits 52..61  the count, 0..512. In a leaf bits 59..62 are the
 *                protection key, but a non-leaf entry has none. Bit 62
 *                stays clear, so no count can reach bit 63 (NX).
 *
 * Every table this code links has PTE_COUNTED, and every path that adds
 * or removes a present entry keeps the count (in place, by adding or
 * subtracting PTE_COUNT_ONE: the rest of the link does not change). A table
 * linked by someone else (the firmware's tables below the loader's PML4 copy)
 * has it clear and is read whole when it may have become empty. pt_entry_check
 * accepts these bits in a non-leaf entry only (count <= 512), never in a
 * leaf.
 */
#define PTE_COUNTED     (1ull << 9)
#define PTE_COUNT_SHIFT 52
#define PTE_COUNT_ONE   (1ull << PTE_COUNT_SHIFT)
#define PTE_COUNT_MASK  (0x3ffull << PTE_COUNT_SHIFT)

/* The count of a non-leaf entry (meaningful with PTE_COUNTED). */
static inline uint32_t pte_count(uint64_t e)
{
	return (uint32_t)((e & PTE_COUNT_MASK) >> PTE_COUNT_SHIFT);
}

/* The attribute bits callers pass to map/protect. Anything else is
 * refused with -ERR_INVALID. */
#define PTE_ATTR_MASK (PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G | PTE_NX)

/* Canonical 48-bit addresses: bits 63..47 all equal. */
static inline bool va_canonical(uint64_t va)
{
	uint64_t top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

struct pt_env {
	/* Returns the physical address of a zeroed 4 KiB page, or 0 when
	 * out of memory. */
	uint64_t (*alloc)(void *ctx);
	/* Returns a table page to the allocator; may be NULL (then emptied
	 * tables are kept). */
	void (*free)(void *ctx, uint64_t phys);
	/* Returns a pointer through which the table page at phys can be
	 * read and written. NULL when every table page is at phys +
	 * table_offset (a direct map, or identity with 0): the walker then
	 * adds instead of calling, a call fewer per level. Whether it is
	 * NULL is read with phys_mask and nx (below); table_offset may
	 * change at any time (the kernel's does when it leaves the
	 * identity map): the cache holds no pointer. */
	uint64_t *(*table)(void *ctx, uint64_t phys);
	uint64_t table_offset; /* used only when table is NULL */
	/* Invalidates TLB entries for [va, va+size); may be NULL. */
	void (*flush)(void *ctx, uint64_t va, uint64_t size);
	void *ctx;

	/* What the CPU allows. pt_init and pt_attach read phys_mask and nx
	 * (and whether table is NULL) once for the paths of single pages,
	 * and pt_forget() again: set them before, or call it after a
	 * change. */
	uint64_t phys_mask; /* address bits the CPU has (cpu_phys_addr_mask) */
	bool nx;            /* EFER.NXE is (or will be) on: PTE_NX allowed */
	bool page1g;        /* CPUID allows 1 GiB leaves */

	/* Set by the walker when it adds PTE_U to a present intermediate
	 * entry, so pt_map knows to flush (internal). */
	bool u_widened;

	/* Set when a function returns -ERR_RANGE: why pt_entry_check
	 * refused the entry (a static string). */
	const char *last_error;

	/* Statistics, updated by the functions below. tables_freed counts
	 * pages handed to env->free. */
	uint64_t tables_allocated;
	uint64_t tables_freed;
	uint64_t splits;
};

/*
 * The tables of the last walks, kept per page table so that the next walk
 * of a nearby address starts below the PML4: for l = 1..3, table[l - 1]
 * is the physical address of the level-l table that every address va
 * with va | (PT_SIZE(l + 1) - 1) == key[l - 1] reaches (key 0: none). A
 * walk starts at the deepest of them on its way.
 *
 * It holds physical addresses, never pointers from env->table, so a
 * table() that changes (the kernel's, from identity to the direct map)
 * does not make it stale. It is coherent with everything this code does:
 * pt_map only adds tables, a split only replaces a leaf, and every
 * function that unlinks a table (pt_unmap, pt_destroy) drops it and the
 * levels below. Every table in it has the tables above it on its path
 * there too (a walk that stops drops the levels below where it stopped),
 * so the link of a cached table, whose count an unmap changes, is in the
 * cached table above. Code that unlinks or replaces a table by writing an
 * entry itself, or through another struct page_table over the same
 * tables, must call pt_forget() before this one walks again.
 */
struct pt_cache {
	uint64_t root;        /* the root the tables belong to */
	uint64_t linear_root; /* root when env->table is NULL, else ~0 */
	uint64_t key[PT_LEVELS - 1];
	uint64_t table[PT_LEVELS - 1];
	/* From env->phys_mask and env->nx when the cache was emptied: the
	 * bits a page frame's address, a single page's attr (and PTE_W),
	 * and a 4 KiB leaf may not have (see map_page in paging_page.c). */
	uint64_t pa_bad;
	uint64_t attr_check;
	uint64_t leaf_bad;
};

/*
 * A set of tables and how to reach them. Nothing here takes a lock: one
 * caller at a time per struct page_table, pt_translate included (it
 * updates the cache). Concurrent readers each use a page_table of their
 * own over the same root (pt_attach), which has its own cache.
 */
struct page_table {
	struct pt_env *env;
	uint64_t root; /* physical address of the PML4 */
	struct pt_cache cache;
};

/* Why pt_entry_check refused an entry (static strings). */
const char *pt_entry_check(const struct pt_env *env, int level, uint64_t entry);

/* Allocates an empty PML4. Returns 0 or -ERR_NOMEM. */
int pt_init(struct page_table *pt, struct pt_env *env);

/* Uses an existing PML4 (e.g. a copy of the firmware's). */
void pt_attach(struct page_table *pt, struct pt_env *env, uint64_t root);

/* Drops the walk cache (see struct pt_cache): for code that changed
 * intermediate entries without this page_table, or env->phys_mask or
 * env->nx after pt_init or pt_attach. */
void pt_forget(struct page_table *pt);

/*
 * Maps [va, va+size) to [pa, pa+size) with attributes attr (PTE_ATTR_MASK
 * bits; PTE_P is implied). va, pa and size must be 4 KiB aligned and the
 * range canonical. Uses the largest leaf up to max_level (PT_L1..PT_L3)
 * that alignment and the remaining size allow. Walks each table once.
 *
 * Returns 0; -ERR_EXISTS when a page of the range is already mapped (a
 * remap is a bug, so callers treat it as fatal); -ERR_NOMEM when a table
 * allocation fails; -ERR_INVALID for bad arguments; -ERR_RANGE for an
 * entry the validator refuses (env->last_error says why). On failure
 * *fail_va (when not NULL) is the first address not mapped; the pages
 * before it stay mapped.
 */
int pt_map(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t size,
	   uint64_t attr, int max_level, uint64_t *fail_va);

/* Unmaps [va, va+size), splitting large leaves that are only partly
 * covered. Pages already unmapped are skipped. Frees tables that become
 * empty (when env->free is set). Flushes the range once. Returns 0,
 * -ERR_NOMEM (a split needed a table) or -ERR_INVALID. */
int pt_unmap(struct page_table *pt, uint64_t va, uint64_t size);

/* Sets the attributes of every mapped page in [va, va+size) to attr,
 * splitting large leaves only partly covered. Unmapped pages in the range
 * are -ERR_NOTFOUND (nothing after them is changed). Flushes once. */
int pt_protect(struct page_table *pt, uint64_t va, uint64_t size,
	       uint64_t attr);

/* Splits the large leaf covering va down to the next level, keeping the
 * physical addresses and attributes of every page. No-op when va is not
 * in a large leaf; -ERR_INVALID for a non-canonical va. */
int pt_split(struct page_table *pt, uint64_t va);

/* One level of a walk, for dumps. */
struct pt_walk {
	int levels; /* entries filled, from PML4 down */
	uint64_t entry[PT_LEVELS];
	uint64_t table[PT_LEVELS]; /* physical address of each table */
};

/* Translates va. Returns 0 and fills *pa, *leaf_entry and *level (when
 * not NULL) for a mapped address; -ERR_NOTFOUND otherwise. *walk (when
 * not NULL) gets every entry visited, found or not, from the PML4 down.
 * Updates pt's walk cache, through the const pointer: a page_table is
 * never an object defined const (pt_init and pt_attach fill it). */
int pt_translate(const struct page_table *pt, uint64_t va, uint64_t *pa,
		 uint64_t *leaf_entry, int *level, struct pt_walk *walk);

/* Calls fn once per present leaf, in address order, with the canonical
 * virtual address, size, physical address, the leaf's own entry and the
 * effective attributes (W and U only if every level has them, NX if any
 * level has it). Stops and returns fn's value when it is nonzero. */
struct pt_leaf {
	uint64_t va;
	uint64_t size;
	uint64_t pa;
	uint64_t entry;
	uint64_t effective; /* PTE_W / PTE_U / PTE_NX as the CPU sees them */
	int level;
};
typedef int (*pt_leaf_fn)(void *arg, const struct pt_leaf *leaf);
int pt_for_each_leaf(const struct page_table *pt, pt_leaf_fn fn, void *arg);

/*
 * The fewest table pages, the PML4 included, that can map a set of
 * ranges with mixed leaf sizes: at each level from PDPT down to a range's
 * leaf level, one table per entry of the level above that some range
 * touches. pt_map reaches it when each range is mapped with max_level =
 * its leaf.
 *
 * The ranges come one at a time (pt_tally_add) in ascending virtual
 * order, disjoint, each non-empty and aligned (va and size) to its leaf
 * size; anything else marks the tally bad. Nothing is stored per range,
 * so a direct map of thousands of pieces costs no memory.
 */
struct pt_tally {
	uint64_t tables;
	uint64_t last_byte;       /* of the previous range */
	uint64_t last[PT_LEVELS]; /* [level - 1]: index of its last table */
	bool have[PT_LEVELS];     /* [level - 1]: a table was counted */
	bool started;
	bool bad;
};

void pt_tally_init(struct pt_tally *t);
void pt_tally_add(struct pt_tally *t, uint64_t va, uint64_t size, int leaf);
/* The minimum, or 0 when a range broke the rules above. */
uint64_t pt_tally_result(const struct pt_tally *t);

/*
 * Cuts [base, base + size) (4 KiB aligned) into pieces of one leaf level
 * each: at every address the largest level up to max_level that is
 * aligned there and fits. These are the leaves pt_map picks for a range
 * whose va and pa agree modulo PT_SIZE(max_level). Calls fn(ctx, base,
 * size, level) per piece in order; a nonzero return stops the cut and is
 * returned. -ERR_INVALID, before any call, for a base or size that is not
 * 4 KiB aligned, a range that wraps or ends at 2^64, or max_level
 * outside PT_L1..PT_L3.
 */
typedef int (*pt_piece_fn)(void *ctx, uint64_t base, uint64_t size, int level);
int pt_cut(uint64_t base, uint64_t size, int max_level, pt_piece_fn fn,
	   void *ctx);

/*
 * Memory types (Intel SDM Vol. 3A, 11.12) and the PAT. A leaf's type is
 * the PAT entry its PAT, PCD and PWT bits index (the PAT bit is bit 7 of
 * a 4 KiB leaf and bit 12 of a large one). Without PAT (or before it is
 * programmed) the entries are the power-on ones; the kernel changes only
 * entry 1 (PWT alone) from WT to WC, so WB needs no bit, WC is PWT and UC
 * is PCD | PWT, and no mapping needs the PAT bit.
 */
enum pat_type {
	PAT_UC = 0,
	PAT_WC = 1,
	PAT_WT = 4,
	PAT_WP = 5,
	PAT_WB = 6,
	PAT_UC_MINUS = 7,
};
#define PAT_POWER_ON 0x0007040600070406ull /* WB WT UC- UC, twice */
#define PAT_KERNEL   0x0007040600070106ull /* entry 1: WC */
#define PTE_CACHE_WB 0ull
#define PTE_CACHE_WC PTE_PWT             /* under PAT_KERNEL */
#define PTE_CACHE_UC (PTE_PCD | PTE_PWT) /* under either */

/* Index (0..7) into the PAT of a leaf entry at level. */
uint32_t pt_pat_index(int level, uint64_t entry);
/* The memory type (enum pat_type) of a leaf under the PAT value pat. */
uint32_t pt_memtype(uint64_t pat, int level, uint64_t entry);
/* "WB", "WC", "UC", "UC-", "WT", "WP", or "?" for a reserved encoding. */
const char *pt_memtype_name(uint32_t type);

/*
 * Reads every table below the root and says how its count stands (see
 * PTE_COUNTED): for tests, fuzzers and debugging, not for a fast path
 * (it reads each table whole). `linked` counts the tables, `uncounted`
 * those whose link lacks PTE_COUNTED, `wrong` those whose count differs
 * from their present entries, `empty` those without a present entry (a
 * table set whose env frees tables keeps none of those linked after an
 * unmap); first_wrong is the physical address of the first wrong one.
 */
struct pt_audit {
	uint64_t linked;
	uint64_t uncounted;
	uint64_t wrong;
	uint64_t empty;
	uint64_t first_wrong;
};
void pt_audit(const struct page_table *pt, struct pt_audit *a);

/* Frees every table below the root and the root itself (host tests,
 * teardown); leaves are not touched. */
void pt_destroy(struct page_table *pt);

/* Text for a level: "PML4", "PDPT", "PD", "PT". */
const char *pt_level_name(int level);

/* The size of a leaf at level, for dumps: "4K", "2M", "1G". */
const char *pt_leaf_name(int level);

#endif
