/*
 * tools/memmap-check's run of the loader's and kernel's planning
 * (tools/memmap_sim.c) on maps written for it (tests/memmaps/README.md).
 *
 * The expected numbers of the E820 map, the 1 TiB server, the odd map
 * and the small maps below were worked out by hand from the rules in
 * common/ (the arithmetic is in the comments), not taken from a run; the
 * laptop is checked against facts any correct plan has (what is mapped
 * is exactly the write-back RAM, the MMIO and holes are not). Last, the
 * command itself: its report and its exit status.
 */
#define _POSIX_C_SOURCE 200809L /* popen, open_memstream */

#include "common/mm/memmap.h"
#include "common/mm/paging.h"
#include "tests/unit/check.h"
#include "tools/memmap_sim.h"

#include <libgen.h>
#include <stdlib.h>
#include <sys/wait.h>

/* Parses text and runs the simulation; false (with a FAIL) on error. */
static bool run_text(const char *text, size_t len, uint32_t phys_bits,
		     bool e820, struct mlog *log, struct msim *s)
{
	struct msim_params p = {.phys_bits = phys_bits, .e820 = e820};

	mlog_init(log);
	if (mlog_parse(log, text, len)) {
		CHECK_STR(log->error, "");
		return false;
	}
	p.e820 = e820 || log->efi_count == 0; /* as memmap-check picks */
	if (msim_run(s, log, &p)) {
		CHECK_STR(s->tool_error, "");
		return false;
	}
	return true;
}

static bool run_file(const char *path, uint32_t phys_bits, bool e820,
		     struct mlog *log, struct msim *s)
{
	size_t len;
	char *text = check_read_text(path, &len);
	bool ok;

	CHECK(text != NULL);
	if (!text)
		return false;
	ok = run_text(text, len, phys_bits, e820, log, s);
	free(text);
	return ok;
}

static void done(struct mlog *log, struct msim *s)
{
	msim_free(s);
	mlog_free(log);
}

/* The report as a string (free it). */
static char *report(const struct msim *s, const struct mlog *log)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	msim_print(f, s, log, false);
	fclose(f);
	return buf;
}

#define CHECK_HAS(text, line) CHECK(strstr((text), (line)) != NULL)

/*
 * tests/memmaps/e820-hole.log, 8 entries:
 *   usable [0, 0x9fc00) shrinks to whole pages, [0, 0x9f000): 159 frames;
 *   reserved [0x9fc00, 0xa0000) grows to [0x9f000, 0xa0000);
 *   usable [1 MiB, 3 GiB): 786176 frames; usable [4 GiB, 5 GiB): 262144;
 *   usable = 636 KiB + 3071 MiB + 1024 MiB: 4095 MiB.
 * Allocator storage: 3 regions * 56 bytes + bitmap and summary words
 *   (3 + 1) + (12284 + 192) + (4096 + 64) = 16640 words: 133288 bytes,
 *   33 pages at 1 MiB; used = those 33 + page 0.
 * With 1 GiB pages: [0, 0x9f000) 159 4K; [1M, 2M) 256 4K, [2M, 1G)
 *   511 2M, [1G, 3G) 2 1G; [4G, 5G) 1 1G. Tables: PML4, one PDPT, the PD
 *   of GiB 0, the PT of [0, 2M): 4.
 * Without: [2M, 3G) 1535 2M and [4G, 5G) 512 2M: 2047; tables: PML4,
 *   PDPT, PDs of GiB 0, 1, 2 and 4, one PT: 7.
 */
static void test_e820_hole(void)
{
	struct mlog log;
	struct msim s;

	if (!run_file("tests/memmaps/e820-hole.log", 46, true, &log, &s))
		return;
	CHECK_EQ(s.entries, 8);
	CHECK_EQ(s.loader_count, 8);
	CHECK_EQ(s.kept, 8);
	CHECK_EQ(s.usable_bytes >> 20, 4095);
	CHECK_EQ(s.highest_end, 0x140000000ull);
	CHECK_EQ(s.refusal_count, 0);
	for (int i = 0; i < 2; i++) {
		const struct msim_cpu *c = &s.cpu[i];

		CHECK(c->panic[0] == '\0');
		CHECK_EQ(c->managed_frames, 159 + 786176 + 262144);
		CHECK_EQ(c->store_phys, 0x100000);
		CHECK_EQ(c->store_bytes, 33 * 4096);
		CHECK_EQ(c->used_frames, 34);
		CHECK_EQ(c->free_frames, 1048479 - 34);
		CHECK_EQ(c->low_frames, 159);
		CHECK_EQ(c->free_low_frames, 158); /* not page 0 */
		CHECK_EQ(c->runs, 3);
		CHECK_EQ(c->plan.leaves[PT_L1], 159 + 256);
	}
	CHECK_EQ(s.cpu[0].plan.leaves[PT_L3], 3);
	CHECK_EQ(s.cpu[0].plan.leaves[PT_L2], 511);
	CHECK_EQ(s.cpu[0].plan.pieces, 5);
	CHECK_EQ(s.cpu[0].tables_used, 4);
	CHECK_EQ(s.cpu[0].plan.min_tables, 4);
	CHECK_EQ(s.cpu[1].plan.leaves[PT_L3], 0);
	CHECK_EQ(s.cpu[1].plan.leaves[PT_L2], 2047);
	CHECK_EQ(s.cpu[1].plan.pieces, 4);
	CHECK_EQ(s.cpu[1].tables_used, 7);
	CHECK_EQ(s.cpu[1].plan.min_tables, 7);
	/* Free above 1 MiB: all but 158 low ones, less the tables. */
	CHECK_EQ(s.cpu[0].free_after_tables, 1048445 - 158 - 4);
	CHECK_EQ(s.cpu[1].free_after_tables, 1048445 - 158 - 7);
	CHECK(!msim_refused(&s));

	char *r = report(&s, &log);
	CHECK_HAS(r, "kernel: memory map: 8 entries, 4095 MiB usable, "
		     "highest address 0x13fffffff\n");
	CHECK_HAS(r, "kernel: frames at boot: 1048445 free (4095 MiB; 158 "
		     "below 1 MiB kept for explicit requests), 34 used, 0 "
		     "reclaimable pending, 0 MiB reserved\n");
	CHECK_HAS(r, "kernel: direct map: 4095 MiB of RAM in 3 runs, 5 "
		     "pieces: 3 1G, 511 2M, 415 4K leaves; 0 refusals\n");
	CHECK_HAS(r, "    0x0000000000200000-0x0000000040000000  1022 MiB  2M "
		     "x 511     rw\n");
	CHECK_HAS(r, "    0x0000000040000000-0x00000000c0000000     2 GiB  1G "
		     "x 2       rw\n");
	CHECK_HAS(r, "page tables for the direct map: 4 used by pt_map, "
		     "minimum 4 (pt_tally): match\n");
	CHECK_HAS(r, "page tables for the direct map: 7 used by pt_map, "
		     "minimum 7 (pt_tally): match\n");
	CHECK_HAS(r, "verdict: the kernel takes this map\n");
	free(r);
	done(&log, &s);
}

/*
 * tests/memmaps/server-1tib-efi-old.log: old format, "EFI:", exclusive
 * ends; RAM [0, 2 GiB) (with runtime and ACPI ranges, all WB) and
 * [4 GiB, 1026 GiB): 1 TiB. Usable: 636 KiB + 1919 MiB + 1022 GiB =
 * 1048447 MiB.
 * Regions: page 0 (boot code, reclaimable), [4K, 0xa0000) 159,
 *   [1M, 1920M) 491264, [4G, 1026G) 267911168 frames. Storage: 4 * 56 +
 *   8 * (2 + 4 + (7676 + 120) + (4186112 + 65408)) = 34074800 bytes:
 *   8320 pages, all used; page 0 is not free anyway (reclaimable).
 * With 1 GiB pages: [0, 0xa0000) 160 4K; [1M, 2M) 256 4K, [2M, 1G) 511
 *   2M, [1G, 2G) 1 1G; [4G, 1026G) 1022 1G. Tables: PML4, 3 PDPTs (PML4
 *   slots of 0-512G, 512G-1T, 1T-1.5T), 1 PD, 1 PT: 6.
 * Without: 2M leaves 1023 + 1022 * 512 = 524287; PDs for GiB 0, 1 and
 *   4..1025: 1024; tables 1 + 3 + 1024 + 1 = 1029.
 * Reserved (no region): runtime 16 MiB, ACPI 112 MiB, MMIO 256 + 16 MiB
 *   and two pages: 400 MiB.
 */
static void test_server_1tib(void)
{
	struct mlog log;
	struct msim s;

	if (!run_file("tests/memmaps/server-1tib-efi-old.log", 46, false, &log,
		      &s))
		return;
	CHECK(log.efi_old && !log.efi_new);
	CHECK_EQ(s.entries, 12);
	CHECK_EQ(s.unsorted, 1);
	CHECK_EQ(s.usable_bytes >> 20, 1048447);
	CHECK_EQ(s.refusal_count, 0);
	for (int i = 0; i < 2; i++) {
		const struct msim_cpu *c = &s.cpu[i];

		CHECK(c->panic[0] == '\0');
		CHECK_EQ(c->managed_frames, 1 + 159 + 491264 + 267911168ull);
		CHECK_EQ(c->store_bytes, 8320 * 4096ull);
		CHECK_EQ(c->used_frames, 8320);
		CHECK_EQ(c->free_frames, 159 + 491264 + 267911168ull - 8320);
		CHECK_EQ(c->pending_frames, 1);
		CHECK_EQ(c->reserved_bytes >> 20, 400);
		CHECK_EQ(c->plan.leaves[PT_L1], 416);
		CHECK_EQ(c->runs, 3);
		CHECK_EQ(c->reclaimed, 0); /* page 0 is never handed out */
	}
	CHECK_EQ(s.cpu[0].plan.leaves[PT_L3], 1023);
	CHECK_EQ(s.cpu[0].plan.leaves[PT_L2], 511);
	CHECK_EQ(s.cpu[0].tables_used, 6);
	CHECK_EQ(s.cpu[1].plan.leaves[PT_L3], 0);
	CHECK_EQ(s.cpu[1].plan.leaves[PT_L2], 524287);
	CHECK_EQ(s.cpu[1].tables_used, 1029);
	CHECK_EQ(s.cpu[1].plan.min_tables, 1029);
	CHECK(!msim_refused(&s));
	done(&log, &s);
}

/*
 * tests/memmaps/odd-efi.log with MAXPHYADDR 39 (512 GiB):
 *   mem00 usable [1M, 65M) overlapped by mem01 boot data [2M, 4M) (rank
 *   2 beats usable's 1) and mem02 reserved [64M, 80M) (reserved wins);
 *   mem03 is empty; mem04 usable at 1 TiB is above MAXPHYADDR; mem05
 *   runtime data without WB. Map: usable [1M,2M), loader [2M,4M), usable
 *   [4M,64M), reserved, runtime (not WB), usable at 1 TiB: 6 ranges,
 *   usable 1 + 60 + 1024 = 1085 MiB (the summary counts all of it).
 * Allocator (refused parts become reserved): 256 + 512 + 15360 = 16128
 *   frames managed; storage 3 * 56 + 8 * (5 + 9 + 244) = 2232 bytes, one
 *   page; free 256 + 15360 - 1. Reserved: 16 + 2 + 1024 MiB.
 * Direct map: one run [1M, 64M): 256 4K and 31 2M, with or without
 *   1 GiB pages; tables PML4, PDPT, PD, PT: 4.
 */
static void test_odd_map(void)
{
	struct mlog log;
	struct msim s;

	if (!run_file("tests/memmaps/odd-efi.log", 39, false, &log, &s))
		return;
	CHECK_EQ(s.zero_length, 1);
	CHECK_EQ(s.overlap_count, 2);
	CHECK_EQ(s.unsorted, 1);
	CHECK_EQ(s.loader_count, 6);
	CHECK_EQ(s.usable_bytes >> 20, 1085);
	CHECK_EQ(s.refusal_count, 2);
	if (s.refusal_count == 2) {
		CHECK_EQ(s.refusals[0].kind, DMAP_REFUSED_NOT_WB);
		CHECK_EQ(s.refusals[0].phys, 0x5000000);
		CHECK_EQ(s.refusals[0].size, 0x200000);
		CHECK_EQ(s.refusals[1].kind, DMAP_REFUSED_ABOVE_MAXPHYADDR);
		CHECK_EQ(s.refusals[1].phys, 1ull << 40);
		CHECK_EQ(s.refusals[1].size, 1ull << 30);
	}
	for (int i = 0; i < 2; i++) {
		const struct msim_cpu *c = &s.cpu[i];

		CHECK_EQ(c->managed_frames, 16128);
		CHECK_EQ(c->store_bytes, 4096);
		CHECK_EQ(c->free_frames, 256 + 15360 - 1);
		CHECK_EQ(c->pending_frames, 512);
		CHECK_EQ(c->reserved_bytes >> 20, 16 + 2 + 1024);
		CHECK_EQ(c->runs, 1);
		CHECK_EQ(c->plan.leaves[PT_L1], 256);
		CHECK_EQ(c->plan.leaves[PT_L2], 31);
		CHECK_EQ(c->plan.leaves[PT_L3], 0);
		CHECK_EQ(c->tables_used, 4);
		CHECK_EQ(c->reclaimed, 512);
	}
	char *r = report(&s, &log);
	CHECK_HAS(r, "line 2 (Boot Data) share 0x200000-0x400000: now "
		     "loader-reclaim\n");
	CHECK_HAS(r, "line 3 (Reserved) share 0x4000000-0x4100000: now "
		     "reserved (not WB)\n");
	CHECK_HAS(r, "line 4: Conventional at 0x10000000 of zero length");
	CHECK_HAS(r, "kernel: direct map: not mapping usable "
		     "0x10000000000-0x10040000000 (1048576 KiB): above the "
		     "CPU's MAXPHYADDR\n");
	CHECK_HAS(r,
		  "kernel: direct map: not mapping fw-runtime-data "
		  "0x5000000-0x5200000 (2048 KiB): not write-back cacheable");
	free(r);
	msim_free(&s);

	/* With 46 bits the RAM at 1 TiB is mapped, with one 1 GiB leaf. */
	struct msim_params p = {.phys_bits = 46};
	CHECK_EQ(msim_run(&s, &log, &p), 0);
	CHECK_EQ(s.refusal_count, 1);
	CHECK_EQ(s.cpu[0].plan.leaves[PT_L3], 1);
	CHECK_EQ(s.cpu[1].plan.leaves[PT_L2], 31 + 512);
	done(&log, &s);
}

/* True when [b, e) meets one of the pieces. */
static bool pieces_meet(const struct msim_cpu *c, uint64_t b, uint64_t e)
{
	for (uint32_t i = 0; i < c->piece_count; i++)
		if (c->pieces[i].phys < e &&
		    c->pieces[i].phys + c->pieces[i].size > b)
			return true;
	return false;
}

/*
 * tests/memmaps/laptop-efi.log (tests/memmaps/make-laptop.py): 112
 * descriptors, RAM first, MMIO after it and lower. Checked against
 * facts: usable is the sum of the Conventional descriptors (none
 * overlap); the direct map covers exactly the write-back RAM of the
 * loader's map and nothing of the GPU aperture, the LAPIC or the holes;
 * the one runtime range without WB is refused; 14 GiB above 4 GiB are
 * 14 leaves of 1 GiB.
 */
static void test_laptop(void)
{
	struct mlog log;
	struct msim s;
	uint64_t conventional = 0, ram = 0;

	if (!run_file("tests/memmaps/laptop-efi.log", 46, false, &log, &s))
		return;
	CHECK(s.entries >= 100);
	CHECK_EQ(s.unsorted, 1);
	CHECK_EQ(s.overlap_count, 0);
	for (uint32_t i = 0; i < log.efi_count; i++)
		if (log.efi[i].type == 7)
			conventional += log.efi[i].pages << 12;
	CHECK_EQ(s.usable_bytes, conventional);
	CHECK_EQ(s.refusal_count, 1);
	if (s.refusal_count == 1) {
		CHECK_EQ(s.refusals[0].kind, DMAP_REFUSED_NOT_WB);
		CHECK_EQ(s.refusals[0].phys, 0x7b000000);
		CHECK_EQ(s.refusals[0].type, MEM_FW_RUNTIME_DATA);
	}
	for (uint32_t i = 0; i < s.loader_count; i++) {
		const struct bi_mem_range *r = &s.loader_map[i];

		if (dmap_type_mapped(r->type) && (r->attr & BI_MEM_WB))
			ram += r->size;
	}
	for (int i = 0; i < 2; i++) {
		const struct msim_cpu *c = &s.cpu[i];
		uint64_t mapped = 0;

		CHECK(c->panic[0] == '\0');
		CHECK_EQ(c->plan.mapped_bytes, ram);
		for (uint32_t k = 0; k < c->piece_count; k++) {
			const struct dmap_piece *p = &c->pieces[k];

			mapped += p->size;
			CHECK(IS_ALIGNED(p->phys | p->size, PT_SIZE(p->leaf)));
		}
		CHECK_EQ(mapped, ram);
		CHECK(!pieces_meet(c, 0x80000000, 0x90000000)); /* aperture */
		CHECK(!pieces_meet(c, 0xfee00000, 0xfee01000)); /* LAPIC */
		CHECK(!pieces_meet(c, 0xa0000, 0x100000));      /* hole */
		CHECK(!pieces_meet(c, 0x7f800000, 0x100000000ull));
		CHECK(!pieces_meet(c, 0x7b000000, 0x7b200000)); /* not WB */
		CHECK_EQ(c->tables_used, c->plan.min_tables);
	}
	CHECK_EQ(s.cpu[0].plan.leaves[PT_L3], 14);
	CHECK(!msim_refused(&s));
	done(&log, &s);
}

/*
 * 1,200 descriptors in descending address order (so every one but the
 * first is out of order): a 16 MiB Conventional one at 1 MiB, then from
 * 17 MiB alternately Boot Data (1 page) and Conventional (3 pages). They
 * normalise to 1,200 ranges; the kernel keeps the lowest 512: the big
 * one and 511 small ones (256 boot data, 255 usable), drops 688 (344 of
 * them usable, 3 pages each). Kept usable: 4096 + 765 pages, 18 MiB.
 * Mapped: [1M, 1M + 5117 pages): [1M, 2M) 256 4K, [2M, 20M) 9 2M,
 * [20M, 0x14fd000) 253 4K; tables PML4, PDPT, PD, 2 PTs: 5.
 */
static void test_thousand_entries(void)
{
	enum { SMALL = 1199 };
	char *text = malloc((SMALL + 1) * 160);
	size_t len = 0;
	uint32_t idx = 0;
	struct mlog log;
	struct msim s;

	for (int j = SMALL - 1; j >= 0; j--) {
		uint64_t base = (17ull << 20) + (uint64_t)(j / 2) * 0x4000 +
				(j % 2 ? 0x1000 : 0);
		uint64_t size = j % 2 ? 0x3000 : 0x1000;

		len +=
		    (size_t)sprintf(text + len,
				    "efi: mem%u: [%s|WB] range=[0x%llx-0x%llx]"
				    "\n",
				    idx++, j % 2 ? "Conventional" : "Boot Data",
				    (unsigned long long)base,
				    (unsigned long long)(base + size - 1));
	}
	len += (size_t)sprintf(text + len,
			       "efi: mem%u: [Conventional|WB] "
			       "range=[0x100000-0x10fffff]\n",
			       idx);
	if (!run_text(text, len, 46, false, &log, &s)) {
		free(text);
		return;
	}
	CHECK_EQ(s.entries, 1200);
	CHECK_EQ(s.unsorted, 1199);
	CHECK_EQ(s.loader_count, 1200);
	CHECK_EQ(s.kept, 512);
	CHECK_EQ(s.dropped, 688);
	CHECK_EQ(s.dropped_usable, 344 * 0x3000);
	CHECK_EQ(s.usable_bytes, (4096 + 765) * 4096ull);
	for (int i = 0; i < 2; i++) {
		const struct msim_cpu *c = &s.cpu[i];

		CHECK(c->panic[0] == '\0');
		CHECK_EQ(c->runs, 1);
		CHECK_EQ(c->plan.leaves[PT_L1], 256 + 253);
		CHECK_EQ(c->plan.leaves[PT_L2], 9);
		CHECK_EQ(c->tables_used, 5);
		CHECK_EQ(c->pending_frames, 256);
	}
	char *r = report(&s, &log);
	CHECK_HAS(r, "kernel: warning: memory map too long: kept 512 entries, "
		     "ignored the last 688\n");
	CHECK_HAS(r, "kernel: memory map: 512 entries, 18 MiB usable");
	free(r);
	CHECK(!msim_refused(&s));
	done(&log, &s);
	free(text);
}

/* Maps the kernel refuses, each with the kernel's own panic text. */
struct refused_case {
	const char *name;
	const char *text;
	const char *panic; /* expected prefix */
};

static const struct refused_case refused_cases[] = {
    /* Only a part of a page is usable: nothing is left to hand over. */
    {"empty map", "BIOS-e820: [mem 0x1000-0x17ff] usable\n",
     "boot: boot info refused: no memory map"},
    /* Usable RAM only below 1 MiB (the rest is boot-services data). */
    {"no room for the bitmaps", NULL,
     "mm: no usable range above 1 MiB holds the frame allocator's bitmaps"},
    /* One usable page at 1 MiB: the bitmaps take it (1 region: 56 bytes
     * and 2 words), none is left for the PML4. */
    {"no frame for the PML4", "BIOS-e820: [mem 0x100000-0x100fff] usable\n",
     "mm: no frame for the PML4"},
    /* Four pages: bitmaps, PML4, PDPT, PD; the PT has no frame. */
    {"direct map out of frames", "BIOS-e820: [mem 0x100000-0x103fff] usable\n",
     "mm: out of memory for page tables mapping the direct map at "
     "0xffff800000100000 (before the switch"},
    /* Five: the direct map fits exactly, the image gets nothing. */
    {"image out of frames", "BIOS-e820: [mem 0x100000-0x104fff] usable\n",
     "mm: out of memory for page tables mapping a kernel segment (0 free"},
};

static void test_refused(void)
{
	size_t len;
	char *laptop_like =
	    check_read_text("tests/memmaps/refused-efi.log", &len);

	for (size_t i = 0; i < sizeof(refused_cases) / sizeof(refused_cases[0]);
	     i++) {
		const struct refused_case *c = &refused_cases[i];
		const char *text = c->text ? c->text : laptop_like;
		struct mlog log;
		struct msim s;
		const char *got;

		CASE_BEGIN(c->name);
		if (text && run_text(text, strlen(text), 46, false, &log, &s)) {
			CHECK(msim_refused(&s));
			got = s.handoff_panic[0] ? s.handoff_panic
						 : s.cpu[1].panic;
			if (strncmp(got, c->panic, strlen(c->panic)) != 0)
				CHECK_STR(got, c->panic);
			done(&log, &s);
		} else {
			CHECK(text != NULL);
		}
		CASE_END();
	}
	free(laptop_like);

	/* Eight pages: three are left for the image, and the map is taken. */
	CASE_BEGIN("just enough frames");
	struct mlog log;
	struct msim s;
	const char *ok = "BIOS-e820: [mem 0x100000-0x107fff] usable\n";
	if (run_text(ok, strlen(ok), 46, false, &log, &s)) {
		CHECK(!msim_refused(&s));
		CHECK_EQ(s.cpu[0].free_after_tables, MSIM_IMAGE_TABLES);
		done(&log, &s);
	}
	CASE_END();
}

/* The command: report on stdout, errors on stderr, exit status 0, 1, 2. */
static char tool[4096];

static int tool_status(const char *args)
{
	char cmd[8192];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", tool, args);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_command_status(void)
{
	CHECK_EQ(tool_status("tests/memmaps/laptop-efi.log"), 0);
	CHECK_EQ(tool_status("--summary tests/memmaps/e820-hole.log"), 0);
	CHECK_EQ(tool_status("- < tests/memmaps/odd-efi.log"), 0);
	CHECK_EQ(tool_status("tests/memmaps/refused-efi.log"), 1);
	CHECK_EQ(tool_status("--help"), 0);
	CHECK_EQ(tool_status(""), 2);
	CHECK_EQ(tool_status("--phys-bits 53 tests/memmaps/odd-efi.log"), 2);
	CHECK_EQ(tool_status("--bogus tests/memmaps/odd-efi.log"), 2);
	CHECK_EQ(tool_status("tests/memmaps/no-such-file.log"), 2);
	CHECK_EQ(tool_status("--e820 tests/memmaps/odd-efi.log"), 2);
	CHECK_EQ(tool_status("tests/unit/check.h"), 2); /* no map lines */
}

/* One error line naming the line, on stderr. */
static void test_command_error_line(void)
{
	char cmd[8192], out[512] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "printf 'x\\nBIOS-e820: [mem 0x0-0xfff] usable\\n"
		 "BIOS-e820: [mem 0x1000-0x1ffe usable\\n' | %s - 2>&1",
		 tool);
	p = popen(cmd, "r");
	if (!p || !fgets(out, sizeof(out), p)) {
		CHECK(!"no output");
	} else {
		CHECK_STR(out, "memmap-check: -: line 3: malformed BIOS-e820 "
			       "line: range does not end in ']'\n");
		CHECK(fgets(out, sizeof(out), p) == NULL);
	}
	if (p)
		CHECK_EQ(WEXITSTATUS(pclose(p)), 2);
}

int main(int argc, char **argv)
{
	char self[4096];

	/* build/host/tests/unit/test_memmap_sim -> build/host/tools/ */
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(tool, sizeof(tool), "%s/../../tools/memmap-check",
		 dirname(self));
	(void)argc;
	RUN(test_e820_hole);
	RUN(test_server_1tib);
	RUN(test_odd_map);
	RUN(test_laptop);
	RUN(test_thousand_entries);
	test_refused();
	RUN(test_command_status);
	RUN(test_command_error_line);
	return check_summary();
}
