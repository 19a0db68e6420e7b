/*
 * The direct-map plan. See dmap.h for what is mapped and why.
 *
 * One pass over the sorted map. Mappable parts of ranges are gathered
 * into the current run while they continue it (adjacent, same
 * read-only-ness); a run is cut into leaf pieces when something ends it:
 * a gap, a range that is not mapped, a refusal, a change to or from the
 * kernel image, or the end of the map. So pieces and refusals come out in
 * ascending physical order.
 *
 * At the end, mm_init's first two steps built on the plan
 * (dmap_frames_init, dmap_build), so that memmap-check runs the kernel's
 * own sequence rather than a copy of it.
 */
#include "common/mm/dmap.h"
#include "common/lib/fmt.h"

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

struct dmap_params dmap_params_of(const struct cpu_features *cpu)
{
	return (struct dmap_params){
	    .phys_limit = 1ull << cpu->maxphyaddr,
	    .virt_room = DMAP_VIRT_ROOM,
	    .page1g = cpu->page1g,
	};
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

/* A part of one range that the plan treats alike. */
struct part {
	uint64_t base, end;
	uint32_t kind; /* DMAP_MAP or a refusal */
};

/*
 * What the plan does with each part of a range of a mapped type, in
 * ascending order: all of it is refused when it is not BI_MEM_WB; else
 * it is mapped below the reach, refused for want of room from the room's
 * end to MAXPHYADDR, and refused above MAXPHYADDR. Returns how many
 * non-empty parts (1..3) are in out. The planner and the allocator's
 * clipped map both decide through here, so they cannot disagree.
 */
static uint32_t classify(const struct bi_mem_range *r,
			 const struct dmap_params *p, struct part out[3])
{
	const struct {
		uint64_t lo, hi;
		uint32_t kind;
	} zones[] = {
	    {0, dmap_reach(p), DMAP_MAP},
	    {p->virt_room, p->phys_limit, DMAP_REFUSED_NO_ROOM},
	    {p->phys_limit, ~0ull, DMAP_REFUSED_ABOVE_MAXPHYADDR},
	};
	uint64_t b = r->base, e = r->base + r->size;
	uint32_t n = 0;

	if (!(r->attr & BI_MEM_WB)) {
		out[0] = (struct part){b, e, DMAP_REFUSED_NOT_WB};
		return 1;
	}
	for (uint32_t i = 0; i < ARRAY_SIZE(zones); i++) {
		uint64_t s = b > zones[i].lo ? b : zones[i].lo;
		uint64_t t = e < zones[i].hi ? e : zones[i].hi;
		if (s < t)
			out[n++] = (struct part){s, t, zones[i].kind};
	}
	return n;
}

struct planner {
	const struct dmap_params *p;
	dmap_fn fn;
	void *ctx;
	struct dmap_summary sum;
	struct pt_tally *tally; /* the caller's, or own_tally */
	struct pt_tally own_tally;
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
		pt_tally_add(pl->tally, DMAP_VIRT_BASE + piece->phys,
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

/* Refuses a part of a range of type `type`. */
static int refuse(struct planner *pl, const struct part *part, uint32_t type)
{
	int rc = close_run(pl);
	if (rc)
		return rc;
	struct dmap_piece piece = {.phys = part->base,
				   .size = part->end - part->base,
				   .kind = part->kind,
				   .type = type};
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
	struct part parts[3];
	uint32_t n;
	int rc = 0;

	if (!dmap_type_mapped(r->type))
		return close_run(pl);
	n = classify(r, pl->p, parts);
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = parts[i].kind == DMAP_MAP
			 ? gather(pl, parts[i].base, parts[i].end,
				  r->type == MEM_KERNEL)
			 : refuse(pl, &parts[i], r->type);
	return rc;
}

/* dmap_plan, the pieces added to tally (NULL: a tally of its own). */
static int plan(const struct bi_mem_range *map, uint32_t n,
		const struct dmap_params *p, dmap_fn fn, void *ctx,
		struct dmap_summary *sum, struct pt_tally *tally)
{
	struct planner pl = {.p = p, .fn = fn, .ctx = ctx, .tally = tally};
	int rc = 0;

	if (!map_ok(map, n))
		return -ERR_INVALID;
	if (!pl.tally) {
		pt_tally_init(&pl.own_tally);
		pl.tally = &pl.own_tally;
	}
	for (uint32_t i = 0; i < n && !rc; i++)
		if (map[i].size)
			rc = plan_range(&pl, &map[i]);
	if (!rc)
		rc = close_run(&pl);
	/* Only the PML4 when nothing is mapped. */
	pl.sum.min_tables = pt_tally_result(pl.tally);
	if (sum)
		*sum = pl.sum;
	return rc;
}

int dmap_plan(const struct bi_mem_range *map, uint32_t n,
	      const struct dmap_params *p, dmap_fn fn, void *ctx,
	      struct dmap_summary *sum)
{
	return plan(map, n, p, fn, ctx, sum, NULL);
}

int dmap_clip_map(const struct bi_mem_range *map, uint32_t n,
		  const struct dmap_params *p, struct bi_mem_range *out,
		  uint32_t cap)
{
	uint32_t k = 0;

	if (!map_ok(map, n))
		return -ERR_INVALID;
	for (uint32_t i = 0; i < n; i++) {
		struct part parts[3] = {
		    {map[i].base, map[i].base + map[i].size, DMAP_MAP}};
		uint32_t first = k, count = 1;

		if (dmap_type_mapped(map[i].type) && map[i].size)
			count = classify(&map[i], p, parts);
		for (uint32_t j = 0; j < count; j++) {
			struct bi_mem_range r = {
			    parts[j].base, parts[j].end - parts[j].base,
			    parts[j].kind == DMAP_MAP ? map[i].type
						      : MEM_RESERVED,
			    map[i].attr};
			/* Refused parts of one range are one reserved
			 * range. */
			if (k > first && r.type == MEM_RESERVED &&
			    out[k - 1].type == MEM_RESERVED) {
				out[k - 1].size += r.size;
				continue;
			}
			if (k == cap)
				return -ERR_TOOBIG;
			out[k++] = r;
		}
	}
	return (int)k;
}

int dmap_frames_init(struct frames *fa, const struct bi_mem_range *map,
		     uint32_t n, const struct dmap_params *p,
		     struct bi_mem_range *clip, uint32_t cap,
		     dmap_store_fn store, void *ctx, char *why, size_t why_cap)
{
	uint64_t phys, bytes;
	void *at;
	int k = dmap_clip_map(map, n, p, clip, cap);

	if (k < 0) {
		fmt_snprintf(why, why_cap,
			     "memory map refused by the direct-map plan "
			     "(error %d)",
			     k);
		return k;
	}
	if (frames_plan(clip, (uint32_t)k, &phys, &bytes)) {
		fmt_snprintf(why, why_cap,
			     "no usable range above 1 MiB holds the frame "
			     "allocator's bitmaps");
		return -ERR_NOMEM;
	}
	at = store(ctx, phys, bytes);
	if (!at) {
		fmt_snprintf(why, why_cap,
			     "no way to write the frame allocator's bitmaps "
			     "at 0x%lx (%lu bytes)",
			     phys, bytes);
		return -ERR_NOMEM;
	}
	if (frames_init(fa, clip, (uint32_t)k, at, phys, bytes)) {
		fmt_snprintf(why, why_cap,
			     "memory map refused by the frame allocator");
		return -ERR_INVALID;
	}
	return 0;
}

static int run_add(struct dmap_build *b, uint64_t start, uint64_t size)
{
	if (b->run_count && b->runs[b->run_count - 1].end == start) {
		b->runs[b->run_count - 1].end += size;
		return 0;
	}
	if (b->run_count == b->run_cap) {
		fmt_snprintf(b->why, sizeof(b->why),
			     "direct map: more than %u runs", b->run_cap);
		return -ERR_TOOBIG;
	}
	b->runs[b->run_count++] = (struct dmap_run){start, start + size};
	return 0;
}

static void map_error(struct dmap_build *b, int rc)
{
	if (rc == -ERR_NOMEM)
		fmt_snprintf(b->why, sizeof(b->why),
			     "out of memory for page tables mapping the "
			     "direct map at 0x%lx (before the switch only "
			     "memory under the boot identity map can be used)",
			     b->fail_va);
	else if (rc == -ERR_RANGE)
		fmt_snprintf(b->why, sizeof(b->why),
			     "the direct map: entry for 0x%lx refused: %s",
			     b->fail_va, b->pt->env->last_error);
	else
		fmt_snprintf(b->why, sizeof(b->why),
			     "mapping the direct map at 0x%lx failed (error "
			     "%d)",
			     b->fail_va, rc);
}

static int build_piece(void *ctx, const struct dmap_piece *p)
{
	struct dmap_build *b = ctx;
	int rc;

	if (p->kind == DMAP_MAP) {
		/* Read-only for the image's frames: no writable alias. */
		uint64_t attr = PTE_G | b->nx | (p->readonly ? 0 : PTE_W);
		rc = pt_map(b->pt, DMAP_VIRT_BASE + p->phys, p->phys, p->size,
			    attr, p->leaf, &b->fail_va);
		if (rc) {
			map_error(b, rc);
			return rc;
		}
		rc = run_add(b, p->phys, p->size);
		if (rc)
			return rc;
	}
	return b->fn ? b->fn(b->ctx, p) : 0;
}

int dmap_build(const struct bi_mem_range *map, uint32_t n,
	       const struct dmap_params *p, struct dmap_build *b)
{
	b->run_count = 0;
	b->fail_va = 0;
	b->why[0] = '\0';
	if (!map_ok(map, n)) {
		fmt_snprintf(b->why, sizeof(b->why),
			     "direct map: the memory map was refused (error "
			     "%d)",
			     -ERR_INVALID);
		return -ERR_INVALID;
	}
	return plan(map, n, p, build_piece, b, &b->sum, b->tally);
}
