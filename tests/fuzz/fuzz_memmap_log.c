/*
 * tools/memmap-check on arbitrary text: the Linux boot-log reader
 * (tools/memmap_log.c), then the loader's and kernel's planning run over
 * whatever map it read (tools/memmap_sim.c) and the report.
 *
 * Input: byte 0 picks the map (bit 0: the BIOS-e820 lines instead of the
 * EFI ones) and the CPU (MAXPHYADDR 32 + bits 1..2, so the allocator's
 * storage stays small); the rest is the log. The seeds in
 * tests/fuzz/corpus/memmap_log/ are a byte 0 and a few lines of each
 * format.
 *
 * Properties: the reader accounts for every line (map, later map, other)
 * or stops at a numbered error; entries keep their line order and EFI
 * entries their numbering; the plan never fails for a parsed map, maps
 * pieces in ascending order, aligned to their leaves, and its table pages
 * are always the minimum.
 */
#include "tests/fuzz/fuzz_check.h"
#include "tools/memmap_log.h"
#include "tools/memmap_sim.h"

#include "common/mm/paging.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_log(const struct mlog *m, int rc)
{
	if (rc) {
		FUZZ_ASSERT(m->error_line >= 1 && m->error_line <= m->lines);
		FUZZ_ASSERT(strncmp(m->error, "line ", 5) == 0);
		return;
	}
	FUZZ_ASSERT(m->efi_count + m->e820_count + m->other_lines +
			m->later_efi_lines + m->later_e820_lines ==
		    m->lines);
	for (uint32_t i = 1; i < m->efi_count; i++) {
		FUZZ_ASSERT(m->efi[i].line > m->efi[i - 1].line);
		FUZZ_ASSERT(m->efi[i].index > m->efi[i - 1].index);
	}
	for (uint32_t i = 1; i < m->e820_count; i++)
		FUZZ_ASSERT(m->e820[i].line > m->e820[i - 1].line);
	for (uint32_t i = 0; i < m->efi_count; i++)
		FUZZ_ASSERT(m->efi[i].kind == MLOG_EFI);
	for (uint32_t i = 0; i < m->e820_count; i++)
		FUZZ_ASSERT(m->e820[i].kind == MLOG_E820);
}

static void check_cpu(const struct msim_cpu *c)
{
	uint64_t next = 0, mapped = 0;

	if (!c->ran)
		return;
	for (uint32_t i = 0; i < c->piece_count; i++) {
		const struct dmap_piece *p = &c->pieces[i];

		FUZZ_ASSERT(p->kind == DMAP_MAP && p->size > 0);
		FUZZ_ASSERT(p->phys >= next);
		FUZZ_ASSERT(p->leaf >= PT_L1 && p->leaf <= PT_L3);
		FUZZ_ASSERT(IS_ALIGNED(p->phys | p->size, PT_SIZE(p->leaf)));
		FUZZ_ASSERT(c->page1g || p->leaf != PT_L3);
		next = p->phys + p->size;
		mapped += p->size;
	}
	/* A table count that differs from the minimum is reported as a
	 * panic; it must never happen. */
	FUZZ_ASSERT(strstr(c->panic, "suffice") == NULL);
	if (!c->panic[0]) {
		FUZZ_ASSERT(c->tables_used == c->plan.min_tables);
		FUZZ_ASSERT(mapped == c->plan.mapped_bytes);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct msim_params p;
	struct mlog m;
	struct msim s;
	char *text;
	int rc;

	if (size < 1)
		return 0;
	if (!null)
		null = fopen("/dev/null", "w");
	p.e820 = data[0] & 1;
	p.phys_bits = 32 + ((data[0] >> 1) & 3);
	/* A copy of exactly the text, so ASan sees any overread. */
	text = malloc(size - 1 ? size - 1 : 1);
	memcpy(text, data + 1, size - 1);

	mlog_init(&m);
	rc = mlog_parse(&m, text, size - 1);
	check_log(&m, rc);
	if (rc == 0 && (p.e820 ? m.e820_count : m.efi_count)) {
		FUZZ_ASSERT(msim_run(&s, &m, &p) == 0);
		FUZZ_ASSERT(s.kept <= BI_MMAP_KERNEL_MAX);
		FUZZ_ASSERT(s.kept + s.dropped == s.loader_count);
		for (uint32_t i = 1; i < s.refusal_count; i++)
			FUZZ_ASSERT(s.refusals[i].phys >=
				    s.refusals[i - 1].phys +
					s.refusals[i - 1].size);
		check_cpu(&s.cpu[0]);
		check_cpu(&s.cpu[1]);
		if (null)
			msim_print(null, &s, &m, false);
		msim_free(&s);
	}
	mlog_free(&m);
	free(text);
	return 0;
}
