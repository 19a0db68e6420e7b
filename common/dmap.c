/*
 * The direct-map plan. See dmap.h for what is mapped and why.
 *
 * One pass over the sorted map. Mappable parts of ranges are gathered
 * into the current run while they continue it (adjacent, same
 * read-only-ness); a run is cut into leaf pieces when something ends it:
 * a gap, a range that is not mapped, a refusal, a change to or from the
 * kernel image, or the end of the map. So pieces and refusals come out in
 * ascending physical order.
 */
#include "dmap.h"
#include "paging.h"

static const char *const kind_text[DMAP_KIND_COUNT] = {
    [DMAP_MAP] = "mapped",
    [DMAP_REFUSED_NOT_WB] = "not write-back cacheable (no EFI_MEMORY_WB)",
    [DMAP_REFUSED_ABOVE_MAXPHYADDR] = "above the CPU's MAXPHYADDR",
    [DMAP_REFUSED_NO_ROOM] = "beyond the direct map's virtual room",
};

const char *dmap_kind_text(uint32_t kind)
{
	return kind < DMAP_KIND_COUNT ? kind_text[kind] : "unknown";
}

bool dmap_type_mapped(uint32_t type)
{
	return mem_type_is_ram(type);
}

uint64_t dmap_reach(const struct dmap_params *p)
{
	return p->phys_limit < p->virt_room ? p->phys_limit : p->virt_room;
}

/* Sorted by base, disjoint, page aligned, not wrapping. Empty ranges are
 * allowed and ignored. */
static bool map_ok(const struct bi_mem_range *map, uint32_t n)
{
	uint64_t prev_end = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct bi_mem_range *r = &map[i];
		if (!IS_ALIGNED(r->base | r->size, PAGE_SIZE) ||
		    add_overflows(r->base, r->size) || r->base < prev_end)
			return false;
		if (r->size)
			prev_end = r->base + r->size;
	}
	return true;
}

struct planner {
	const struct dmap_params *p;
	dmap_fn fn;
	void *ctx;
	struct dmap_summary sum;
	struct pt_tally tally;
	bool open; /* a run is being gathered */
	bool ro;
	uint64_t start, end;
};

static int emit(struct planner *pl, const struct dmap_piece *piece)
{
	struct dmap_summary *s = &pl->sum;
	if (piece->kind == DMAP_MAP) {
		s->mapped_bytes += piece->size;
		s->pieces++;
		s->leaves[piece->leaf] += piece->size / PT_SIZE(piece->leaf);
		pt_tally_add(&pl->tally, DMAP_VIRT_BASE + piece->phys,
			     piece->size, piece->leaf);
	} else {
		s->refused_bytes[piece->kind] += piece->size;
		s->refusals++;
	}
	return pl->fn ? pl->fn(pl->ctx, piece) : 0;
}

struct cut_ctx {
	struct planner *pl;
	bool ro;
};

static int emit_cut(void *ctx, uint64_t base, uint64_t size, int level)
{
	struct cut_ctx *c = ctx;
	struct dmap_piece piece = {
	    .phys = base,
	    .size = size,
	    .kind = DMAP_MAP,
	    .leaf = level,
	    .readonly = c->ro,
	};
	return emit(c->pl, &piece);
}

/* The direct map's virtual base is 512 GiB aligned, so virtual and
 * physical alignment agree and pt_cut's leaves are pt_map's. */
static int cut_run(struct planner *pl, uint64_t s, uint64_t e, bool ro)
{
	struct cut_ctx c = {pl, ro};
	return pt_cut(s, e - s, pl->p->page1g ? PT_L3 : PT_L2, emit_cut, &c);
}

static int close_run(struct planner *pl)
{
	if (!pl->open)
		return 0;
	pl->open = false;
	return cut_run(pl, pl->start, pl->end, pl->ro);
}

/* Refuses [max(b, lo), min(e, hi)) of a range of type `type`. */
static int refuse(struct planner *pl, uint64_t b, uint64_t e, uint64_t lo,
		  uint64_t hi, uint32_t kind, uint32_t type)
{
	uint64_t s = b > lo ? b : lo, t = e < hi ? e : hi;
	if (s >= t)
		return 0;
	int rc = close_run(pl);
	if (rc)
		return rc;
	struct dmap_piece piece = {
	    .phys = s, .size = t - s, .kind = kind, .type = type};
	return emit(pl, &piece);
}

/* The mappable part of one range below the reach: continues the run or
 * starts a new one. */
static int gather(struct planner *pl, uint64_t b, uint64_t e, bool ro)
{
	if (pl->open && (pl->end != b || pl->ro != ro)) {
		int rc = close_run(pl);
		if (rc)
			return rc;
	}
	if (!pl->open) {
		pl->open = true;
		pl->start = b;
		pl->ro = ro;
	}
	pl->end = e;
	return 0;
}

static int plan_range(struct planner *pl, const struct bi_mem_range *r)
{
	const struct dmap_params *p = pl->p;
	uint64_t b = r->base, e = r->base + r->size, reach = dmap_reach(p);
	int rc = 0;

	if (!dmap_type_mapped(r->type))
		return close_run(pl);
	if (!(r->attr & BI_MEM_WB))
		return refuse(pl, b, e, 0, ~0ull, DMAP_REFUSED_NOT_WB, r->type);
	if (b < reach)
		rc =
		    gather(pl, b, e < reach ? e : reach, r->type == MEM_KERNEL);
	if (!rc && p->virt_room < p->phys_limit)
		rc = refuse(pl, b, e, p->virt_room, p->phys_limit,
			    DMAP_REFUSED_NO_ROOM, r->type);
	if (!rc)
		rc = refuse(pl, b, e, p->phys_limit, ~0ull,
			    DMAP_REFUSED_ABOVE_MAXPHYADDR, r->type);
	return rc;
}

int dmap_plan(const struct bi_mem_range *map, uint32_t n,
	      const struct dmap_params *p, dmap_fn fn, void *ctx,
	      struct dmap_summary *sum)
{
	struct planner pl = {.p = p, .fn = fn, .ctx = ctx};
	int rc = 0;

	if (!map_ok(map, n))
		return -ERR_INVALID;
	pt_tally_init(&pl.tally);
	for (uint32_t i = 0; i < n && !rc; i++)
		if (map[i].size)
			rc = plan_range(&pl, &map[i]);
	if (!rc)
		rc = close_run(&pl);
	/* Only the PML4 when nothing is mapped. */
	pl.sum.min_tables = pt_tally_result(&pl.tally);
	if (sum)
		*sum = pl.sum;
	return rc;
}

int dmap_clip_map(const struct bi_mem_range *map, uint32_t n,
		  const struct dmap_params *p, struct bi_mem_range *out,
		  uint32_t cap)
{
	uint64_t reach = dmap_reach(p);
	uint32_t k = 0;

	if (!map_ok(map, n))
		return -ERR_INVALID;
	for (uint32_t i = 0; i < n; i++) {
		struct bi_mem_range r = map[i];
		uint64_t e = r.base + r.size;
		bool mapped = dmap_type_mapped(r.type);

		if (mapped && !(r.attr & BI_MEM_WB))
			r.type = MEM_RESERVED;
		if (mapped && r.base < reach && e > reach) {
			if (k == cap)
				return -ERR_TOOBIG;
			out[k] = r;
			out[k++].size = reach - r.base;
			r.base = reach;
			r.size = e - reach;
		}
		if (mapped && r.base >= reach)
			r.type = MEM_RESERVED;
		if (k == cap)
			return -ERR_TOOBIG;
		out[k++] = r;
	}
	return (int)k;
}
