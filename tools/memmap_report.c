/*
 * memmap-check's report: what msim_run found, in the order the boot goes
 * (firmware entries, loader, hand-off, direct map, per CPU). Lines the
 * kernel itself prints are reproduced in its own words after "kernel:",
 * so they can be compared with a serial log line by line. Ranges are
 * [start, end), as the kernel prints them.
 */
#include "tools/memmap_sim.h"

#include "common/mm/memmap.h"
#include "common/mm/paging.h"

#include <inttypes.h>

/* Listings longer than this are cut (with a count of the rest). */
#define LIST_MAX 20u

/* Not fmt_size: that rounds down to the largest unit (1.9 GiB is
 * "1 GiB"), which a total such as the usable RAM dropped must not. */
static const char *size_text(char *buf, size_t cap, uint64_t bytes)
{
	if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
		snprintf(buf, cap, "%" PRIu64 " GiB", bytes >> 30);
	else if (bytes >= (1ull << 20))
		snprintf(buf, cap, "%" PRIu64 " MiB", bytes >> 20);
	else
		snprintf(buf, cap, "%" PRIu64 " KiB", bytes >> 10);
	return buf;
}

static const char *entry_type(char *buf, size_t cap, const struct mlog_entry *e)
{
	const char *name = e->kind == MLOG_EFI ? mlog_efi_type_name(e->type)
					       : mlog_e820_type_name(e->type);

	if (name)
		snprintf(buf, cap, "%s", name);
	else
		snprintf(buf, cap, "type %" PRIu32, e->type);
	return buf;
}

static void print_input(FILE *f, const struct msim *s, const struct mlog *log)
{
	const struct mlog_entry *e = s->params.e820 ? log->e820 : log->efi;
	uint32_t n = s->entries;

	if (s->params.e820)
		fprintf(f, "input: BIOS-e820 map of %u entries (lines %u-%u)",
			n, e[0].line, e[n - 1].line);
	else
		fprintf(f, "input: EFI map of %u entries (lines %u-%u, %s)", n,
			e[0].line, e[n - 1].line,
			log->efi_old && log->efi_new ? "old and new formats"
			: log->efi_old               ? "old format"
						     : "recent format");
	fprintf(f, "; %u other lines ignored\n", log->other_lines);
	if (log->later_efi_lines)
		fprintf(f,
			"  ignored: %u lines of a later EFI map from line %u "
			"(Linux prints the runtime map again; the first "
			"map is the firmware's)\n",
			log->later_efi_lines, log->later_efi_first);
	if (log->later_e820_lines)
		fprintf(f,
			"  ignored: %u lines of a later BIOS-e820 block "
			"from line %u\n",
			log->later_e820_lines, log->later_e820_first);
	if (!s->params.e820 && log->e820_count)
		fprintf(f,
			"  not used: %u BIOS-e820 lines (the kernel gets "
			"the EFI map on a UEFI boot; --e820 uses them)\n",
			log->e820_count);
}

/* The types the loader's map gives [base, end) (page rounded outward). */
static void print_resolution(FILE *f, const struct msim *s, uint64_t base,
			     uint64_t end)
{
	uint64_t b = ALIGN_DOWN(base, PAGE_SIZE);
	uint64_t e = end > 0ull - PAGE_SIZE ? 0ull - PAGE_SIZE
					    : ALIGN_UP(end, PAGE_SIZE);
	uint32_t shown = 0, last = MEM_NONE;

	fprintf(f, ": now");
	for (uint32_t i = 0; i < s->loader_count; i++) {
		const struct bi_mem_range *r = &s->loader_map[i];

		if (r->base >= e || r->base + r->size <= b || r->type == last)
			continue;
		fprintf(f, "%s %s%s", shown ? "," : "", mem_type_name(r->type),
			(r->attr & BI_MEM_WB) ? "" : " (not WB)");
		last = r->type;
		shown++;
	}
	if (!shown)
		fprintf(f, " nothing (not a whole page of usable RAM)");
	fprintf(f, "\n");
}

static void print_survey(FILE *f, const struct msim *s, const struct mlog *log)
{
	const struct mlog_entry *e = s->params.e820 ? log->e820 : log->efi;
	char t1[32], t2[32];

	fprintf(f,
		"firmware entries: %u zero-length, %u out of order, %u "
		"overlapping\n",
		s->zero_length, s->unsorted, s->overlap_count);
	for (uint32_t i = 0; i < s->zero_length && i < LIST_MAX; i++) {
		const struct mlog_entry *z = &e[s->zero[i]];

		fprintf(f,
			"  line %u: %s at 0x%" PRIx64 " of zero length: "
			"ignored (memmap_add adds nothing for it)\n",
			z->line, entry_type(t1, sizeof(t1), z), z->base);
	}
	if (s->zero_length > LIST_MAX)
		fprintf(f, "  ... and %u more zero-length entries\n",
			s->zero_length - LIST_MAX);
	if (s->unsorted)
		fprintf(f,
			"  out of order: %u %s below the one before; the "
			"loader's map is sorted\n",
			s->unsorted,
			s->unsorted == 1 ? "entry starts" : "entries start");
	for (uint32_t i = 0; i < s->overlap_count && i < LIST_MAX; i++) {
		const struct msim_overlap *o = &s->overlaps[i];

		fprintf(f,
			"  overlap: line %u (%s) and line %u (%s) share "
			"0x%" PRIx64 "-0x%" PRIx64,
			e[o->a].line, entry_type(t1, sizeof(t1), &e[o->a]),
			e[o->b].line, entry_type(t2, sizeof(t2), &e[o->b]),
			o->base, o->end);
		print_resolution(f, s, o->base, o->end);
	}
	if (s->overlap_count > LIST_MAX)
		fprintf(f, "  ... and %u more overlaps\n",
			s->overlap_count - LIST_MAX);
}

static void print_range(FILE *f, const struct bi_mem_range *r)
{
	char sz[32];

	fprintf(f, "  0x%016" PRIx64 "-0x%016" PRIx64 " %9s  %-16s %s\n",
		r->base, r->base + r->size, size_text(sz, sizeof(sz), r->size),
		mem_type_name(r->type), (r->attr & BI_MEM_WB) ? "WB" : "--");
}

static void print_loader(FILE *f, const struct msim *s, bool summary_only)
{
	fprintf(f, "loader: %u ranges in the project's types (room for %u)\n",
		s->loader_count, s->loader_cap);
	if (s->loader_rc) {
		fprintf(f,
			"  loader: error: memory map: %u descriptors do "
			"not normalise into %u ranges (error %d)\n",
			s->entries, s->loader_cap, s->loader_rc);
		return;
	}
	if (!summary_only)
		for (uint32_t i = 0; i < s->loader_count; i++)
			print_range(f, &s->loader_map[i]);
}

static void print_handoff(FILE *f, const struct msim *s)
{
	char sz[32];

	if (s->handoff_panic[0])
		return;
	fprintf(f, "hand-off: the kernel keeps %u of %u ranges (at most %u)\n",
		s->kept, s->loader_count, BI_MMAP_KERNEL_MAX);
	for (uint32_t i = s->kept;
	     i < s->loader_count && i < s->kept + LIST_MAX; i++) {
		fprintf(f, "  dropped:");
		print_range(f, &s->loader_map[i]);
	}
	if (s->dropped > LIST_MAX)
		fprintf(f, "  ... and %u more dropped ranges\n",
			s->dropped - LIST_MAX);
	if (s->dropped)
		fprintf(f, "  usable RAM dropped: %s\n",
			size_text(sz, sizeof(sz), s->dropped_usable));
	fprintf(f,
		"  kernel: memory map: %u entries, %" PRIu64 " MiB usable, "
		"highest address 0x%" PRIx64 "\n",
		s->kept, s->usable_bytes >> 20,
		s->highest_end ? s->highest_end - 1 : 0);
	if (s->dropped)
		fprintf(f,
			"  kernel: warning: memory map too long: kept %u "
			"entries, ignored the last %u\n",
			s->kept, s->dropped);
}

static void print_refusals(FILE *f, const struct msim *s)
{
	uint64_t limit = 1ull << s->params.phys_bits;

	fprintf(f,
		"direct map: RAM ranges that are write-back cacheable, "
		"below 0x%" PRIx64 " (MAXPHYADDR %u, --phys-bits) and the "
		"direct map's %" PRIu64 " TiB; %u refusals\n",
		limit, s->params.phys_bits, (uint64_t)DMAP_VIRT_ROOM >> 40,
		s->refusal_count);
	if (!s->refusals_complete)
		fprintf(f, "  (the kernel stops before the direct map is "
			   "complete: it prints at most these)\n");
	for (uint32_t i = 0; i < s->refusal_count; i++) {
		const struct dmap_piece *p = &s->refusals[i];

		fprintf(f,
			"  kernel: direct map: not mapping %s 0x%" PRIx64
			"-0x%" PRIx64 " (%" PRIu64 " KiB): %s\n",
			mem_type_name(p->type), p->phys, p->phys + p->size,
			p->size >> 10, dmap_kind_text(p->kind));
	}
}

static void print_cpu(FILE *f, const struct msim *s, const struct msim_cpu *c,
		      bool summary_only)
{
	const struct dmap_summary *d = &c->plan;
	char sz[32];

	fprintf(f, "CPU %s 1 GiB pages:\n", c->page1g ? "with" : "without");
	if (!c->managed_frames && c->panic[0]) {
		fprintf(f, "  panic: %s\n", c->panic);
		return;
	}
	fprintf(f,
		"  frame allocator: %" PRIu64 " frames managed (%" PRIu64
		" MiB: usable and reclaimable), storage %" PRIu64
		" KiB at 0x%" PRIx64 "\n",
		c->managed_frames, c->managed_frames >> 8, c->store_bytes >> 10,
		c->store_phys);
	fprintf(f,
		"  kernel: frames at boot: %" PRIu64 " free (%" PRIu64
		" MiB; %" PRIu64 " below 1 MiB kept for explicit requests), "
		"%" PRIu64 " used, %" PRIu64 " reclaimable pending, %" PRIu64
		" MiB reserved\n",
		c->free_frames, c->free_frames >> 8, c->free_low_frames,
		c->used_frames, c->pending_frames, c->reserved_bytes >> 20);
	if (c->piece_count || d->pieces)
		fprintf(f,
			"  kernel: direct map: %" PRIu64 " MiB of RAM in %u "
			"runs, %" PRIu64 " pieces: %" PRIu64 " 1G, %" PRIu64
			" 2M, %" PRIu64 " 4K leaves; %u refusals\n",
			d->mapped_bytes >> 20, c->runs, d->pieces,
			d->leaves[PT_L3], d->leaves[PT_L2], d->leaves[PT_L1],
			d->refusals);
	for (uint32_t i = 0; !summary_only && i < c->piece_count; i++) {
		const struct dmap_piece *p = &c->pieces[i];

		fprintf(f,
			"    0x%016" PRIx64 "-0x%016" PRIx64
			" %9s  %s x %-7" PRIu64 " %s\n",
			p->phys, p->phys + p->size,
			size_text(sz, sizeof(sz), p->size),
			pt_leaf_name(p->leaf),
			(uint64_t)(p->size / PT_SIZE(p->leaf)),
			p->readonly ? "r-" : "rw");
	}
	if (c->panic[0]) {
		fprintf(f, "  panic: %s\n", c->panic);
		return;
	}
	fprintf(f,
		"  page tables for the direct map: %" PRIu64 " used by "
		"pt_map, minimum %" PRIu64 " (pt_tally): %s\n",
		c->tables_used, d->min_tables,
		c->tables_used == d->min_tables ? "match" : "MISMATCH");
	fprintf(f,
		"  frames above 1 MiB left after them: %" PRIu64 " (%" PRIu64
		" MiB); reclaiming loader memory adds %" PRIu64 " (%" PRIu64
		" MiB)\n",
		c->free_after_tables, c->free_after_tables >> 8, c->reclaimed,
		c->reclaimed >> 8);
}

void msim_print(FILE *f, const struct msim *s, const struct mlog *log,
		bool summary_only)
{
	print_input(f, s, log);
	print_survey(f, s, log);
	print_loader(f, s, summary_only);
	if (s->loader_rc)
		goto verdict;
	if (s->handoff_panic[0]) {
		fprintf(f, "  panic: %s\n", s->handoff_panic);
		goto verdict;
	}
	print_handoff(f, s);
	print_refusals(f, s);
	for (int i = 0; i < 2; i++)
		if (s->cpu[i].ran)
			print_cpu(f, s, &s->cpu[i], summary_only);
verdict:
	if (!msim_refused(s)) {
		fprintf(f, "verdict: the kernel takes this map\n");
		return;
	}
	fprintf(f, "verdict: REFUSED: ");
	if (s->loader_rc)
		fprintf(f, "the loader stops (the map does not normalise)\n");
	else if (s->handoff_panic[0])
		fprintf(f, "panic: %s\n", s->handoff_panic);
	else if (s->cpu[0].panic[0] && s->cpu[1].panic[0])
		fprintf(f, "panic: %s\n", s->cpu[1].panic);
	else
		fprintf(f, "panic on a CPU %s 1 GiB pages: %s\n",
			s->cpu[0].panic[0] ? "with" : "without",
			s->cpu[0].panic[0] ? s->cpu[0].panic : s->cpu[1].panic);
}
