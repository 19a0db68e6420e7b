/*
 * The boot-info contract: the layout (pinned again here, independently of
 * the header's own asserts, from the numbers the loader and kernel rely
 * on), mem_type_name, bi_secure_boot_name, bootinfo_check, and the
 * loader's phases and lines (version 4).
 */
#include "common/boot/bootinfo.h"
#include "tests/unit/check.h"

#include <stddef.h>

/* The same layout as on the loader's LLP64 target: no field's offset may
 * depend on sizeof(long) or on pointer size. */
_Static_assert(offsetof(struct boot_info, magic) == 0, "magic");
_Static_assert(offsetof(struct boot_info, version) == 8, "version");
_Static_assert(offsetof(struct boot_info, size) == 12, "size");
_Static_assert(offsetof(struct boot_info, source) == 16, "source");
_Static_assert(offsetof(struct boot_info, segment_count) == 20, "segments");
_Static_assert(offsetof(struct boot_info, mmap_addr) == 24, "mmap_addr");
_Static_assert(offsetof(struct boot_info, mmap_count) == 32, "mmap_count");
_Static_assert(offsetof(struct boot_info, mmap_entry_size) == 36, "entry");
_Static_assert(offsetof(struct boot_info, fb) == 40, "fb");
_Static_assert(offsetof(struct boot_info, rsdp) == 88, "rsdp");
_Static_assert(offsetof(struct boot_info, efi_system_table) == 96, "efi");
_Static_assert(offsetof(struct boot_info, cmdline_addr) == 104, "cmdline");
_Static_assert(offsetof(struct boot_info, cmdline_len) == 112, "len");
_Static_assert(offsetof(struct boot_info, segments) == 120, "segments");
_Static_assert(offsetof(struct boot_info, boot_pml4) == 376, "pml4");
_Static_assert(offsetof(struct boot_info, tsc_loader_entry) == 384, "tsc");
_Static_assert(offsetof(struct boot_info, tsc_hz) == 408, "tsc_hz");
_Static_assert(offsetof(struct boot_info, secure_boot) == 416, "sb state");
_Static_assert(offsetof(struct boot_info, sb_flags) == 420, "sb flags");
_Static_assert(offsetof(struct boot_info, kernel_sha256) == 424, "sha256");
_Static_assert(offsetof(struct boot_info, phase_count) == 456, "phases");
_Static_assert(offsetof(struct boot_info, log_len) == 460, "log_len");
_Static_assert(offsetof(struct boot_info, tsc_phase_end) == 464, "stamps");
_Static_assert(offsetof(struct boot_info, log) == 592, "log");
_Static_assert(sizeof(struct boot_info) == 2640, "boot_info");
_Static_assert(BI_PHASE_MAX == 16 && BI_LOG_MAX == 2048, "v4 array sizes");
_Static_assert(BI_PHASE_COUNT == 11, "phases named in the README");
_Static_assert(sizeof(struct boot_info) % 8 == 0, "boot_info padding");
_Static_assert(offsetof(struct bi_framebuffer, width) == 16, "fb width");
_Static_assert(offsetof(struct bi_framebuffer, red_mask) == 32, "fb masks");
_Static_assert(offsetof(struct bi_mem_range, type) == 16, "range type");
_Static_assert(offsetof(struct bi_mem_range, attr) == 20, "range attr");
_Static_assert(sizeof(struct bi_mem_range) == 24, "range size");
_Static_assert(BOOTINFO_VERSION == 4, "version 4: loader phases and lines");
_Static_assert(BI_MEM_WB == 1, "attr bit 0: write-back RAM");
_Static_assert(offsetof(struct bi_segment, flags) == 24, "segment flags");
_Static_assert(BOOTINFO_MAGIC == 0x4f464e49544f4f42ull, "magic value");

static void valid(struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->size = sizeof(*bi);
	bi->source = BOOT_SOURCE_UEFI;
	bi->mmap_addr = 0x100000;
	bi->mmap_count = 10;
	bi->mmap_entry_size = sizeof(struct bi_mem_range);
	bi->segment_count = 3;
}

static void test_magic_spells_bootinfo(void)
{
	uint64_t magic = BOOTINFO_MAGIC;

	CHECK(memcmp(&magic, "BOOTINFO", 8) == 0);
}

static void test_check_valid(void)
{
	struct boot_info bi;

	valid(&bi);
	CHECK_STR(bootinfo_check(&bi), NULL);
	bi.segment_count = BI_MAX_SEGMENTS;
	CHECK_STR(bootinfo_check(&bi), NULL);
}

static void test_check_mismatches(void)
{
	struct boot_info bi;

	CHECK_STR(bootinfo_check(NULL), "boot info pointer is null");
	valid(&bi);
	bi.magic ^= 1;
	CHECK_STR(bootinfo_check(&bi), "bad magic (not BOOTINFO_MAGIC)");
	valid(&bi);
	bi.version = 1; /* before struct bi_mem_range had attr */
	CHECK_STR(bootinfo_check(&bi),
		  "unsupported version (not BOOTINFO_VERSION)");
	valid(&bi);
	bi.version = 2; /* before the Secure Boot fields */
	CHECK_STR(bootinfo_check(&bi),
		  "unsupported version (not BOOTINFO_VERSION)");
	valid(&bi);
	bi.version = 3; /* before the phase stamps */
	CHECK_STR(bootinfo_check(&bi),
		  "unsupported version (not BOOTINFO_VERSION)");
	valid(&bi);
	bi.version = 5;
	CHECK_STR(bootinfo_check(&bi),
		  "unsupported version (not BOOTINFO_VERSION)");
	valid(&bi);
	bi.size = 416; /* version 2's size */
	CHECK_STR(bootinfo_check(&bi), "size is not sizeof(struct boot_info)");
	valid(&bi);
	bi.size = 456; /* version 3's size */
	CHECK_STR(bootinfo_check(&bi), "size is not sizeof(struct boot_info)");
	valid(&bi);
	bi.segment_count = BI_MAX_SEGMENTS + 1;
	CHECK_STR(bootinfo_check(&bi), "segment_count above BI_MAX_SEGMENTS");
	valid(&bi);
	bi.mmap_entry_size = 20;
	CHECK_STR(bootinfo_check(&bi),
		  "mmap_entry_size is not sizeof(struct bi_mem_range)");
	valid(&bi);
	bi.mmap_count = 0;
	CHECK_STR(bootinfo_check(&bi), "no memory map");
	valid(&bi);
	bi.mmap_addr = 0;
	CHECK_STR(bootinfo_check(&bi), "no memory map");
	/* The first mismatch is the one named. */
	valid(&bi);
	bi.magic = 0;
	bi.version = 0;
	CHECK_STR(bootinfo_check(&bi), "bad magic (not BOOTINFO_MAGIC)");
}

static void test_type_names(void)
{
	CHECK_STR(mem_type_name(MEM_NONE), "none");
	CHECK_STR(mem_type_name(MEM_USABLE), "usable");
	CHECK_STR(mem_type_name(MEM_RESERVED), "reserved");
	CHECK_STR(mem_type_name(MEM_ACPI_RECLAIM), "acpi-reclaim");
	CHECK_STR(mem_type_name(MEM_ACPI_NVS), "acpi-nvs");
	CHECK_STR(mem_type_name(MEM_BAD), "bad");
	CHECK_STR(mem_type_name(MEM_LOADER_RECLAIM), "loader-reclaim");
	CHECK_STR(mem_type_name(MEM_KERNEL), "kernel");
	CHECK_STR(mem_type_name(MEM_PAGE_TABLES), "page-tables");
	CHECK_STR(mem_type_name(MEM_FRAMEBUFFER), "framebuffer");
	CHECK_STR(mem_type_name(MEM_FW_RUNTIME_CODE), "fw-runtime-code");
	CHECK_STR(mem_type_name(MEM_FW_RUNTIME_DATA), "fw-runtime-data");
	CHECK_STR(mem_type_name(MEM_TYPE_COUNT), "unknown");
	CHECK_STR(mem_type_name(0xffffffffu), "unknown");
	/* Every type has a name of its own. */
	for (uint32_t t = 0; t < MEM_TYPE_COUNT; t++) {
		CHECK(mem_type_name(t) != NULL);
		for (uint32_t u = 0; u < t; u++)
			CHECK(strcmp(mem_type_name(t), mem_type_name(u)) != 0);
	}
}

/* Exactly the eight RAM types; the list is spelled out here, not taken
 * from the code under test. */
static void test_ram_types(void)
{
	static const uint32_t ram[] = {
	    MEM_USABLE,          MEM_ACPI_RECLAIM,    MEM_ACPI_NVS,
	    MEM_LOADER_RECLAIM,  MEM_KERNEL,          MEM_PAGE_TABLES,
	    MEM_FW_RUNTIME_CODE, MEM_FW_RUNTIME_DATA,
	};
	uint32_t count = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ram); i++)
		CHECK(mem_type_is_ram(ram[i]));
	for (uint32_t t = 0; t < MEM_TYPE_COUNT + 2; t++)
		count += mem_type_is_ram(t);
	CHECK_EQ(count, ARRAY_SIZE(ram));
	CHECK(!mem_type_is_ram(MEM_RESERVED));
	CHECK(!mem_type_is_ram(MEM_BAD));
	CHECK(!mem_type_is_ram(MEM_FRAMEBUFFER));
	CHECK(!mem_type_is_ram(MEM_NONE));
	CHECK(!mem_type_is_ram(0xffffffffu));
}

static void test_secure_boot_names(void)
{
	CHECK_STR(bi_secure_boot_name(BI_SB_ON), "on");
	CHECK_STR(bi_secure_boot_name(BI_SB_OFF), "off");
	CHECK_STR(bi_secure_boot_name(BI_SB_SETUP), "off (setup mode)");
	CHECK_STR(bi_secure_boot_name(BI_SB_COUNT), "unknown");
	CHECK_STR(bi_secure_boot_name(0xffffffffu), "unknown");
	for (uint32_t t = 0; t < BI_SB_COUNT; t++) {
		CHECK(bi_secure_boot_name(t) != NULL);
		for (uint32_t u = 0; u < t; u++)
			CHECK(strcmp(bi_secure_boot_name(t),
				     bi_secure_boot_name(u)) != 0);
	}
}

/* The names the kernel prints, spelled out here; each distinct. */
static void test_phase_names(void)
{
	static const char *const want[] = {
	    "start",
	    "secure-boot",
	    "config",
	    "kernel-read",
	    "kernel-hash",
	    "validate-copy",
	    "tpm-measure",
	    "mapping",
	    "gop",
	    "memory-map",
	    "exit-boot-services",
	};
	_Static_assert(ARRAY_SIZE(want) == BI_PHASE_COUNT, "every phase");
	for (uint32_t i = 0; i < BI_PHASE_COUNT; i++)
		CHECK_STR(bi_phase_name(i), want[i]);
	CHECK_STR(bi_phase_name(BI_PHASE_COUNT), NULL);
	CHECK_STR(bi_phase_name(BI_PHASE_MAX), NULL);
	CHECK_STR(bi_phase_name(0xffffffffu), NULL);
	for (uint32_t t = 0; t < BI_PHASE_COUNT; t++)
		for (uint32_t u = 0; u < t; u++)
			CHECK(strcmp(bi_phase_name(t), bi_phase_name(u)) != 0);
}

/* Stamps as a loader writes them: entry 1000, phase i ends 100 * (i + 1)
 * later, the jump 5 after the last. */
static void stamped(struct boot_info *bi, uint32_t count)
{
	valid(bi);
	bi->tsc_loader_entry = 1000;
	bi->phase_count = count;
	for (uint32_t i = 0; i < count; i++)
		bi->tsc_phase_end[i] = 1000 + 50 * (i + 1) * (i + 2);
	bi->tsc_jump = (count ? bi->tsc_phase_end[count - 1] : 1000) + 5;
}

static void test_phases(void)
{
	static struct boot_info bi;
	uint64_t cycles[BI_PHASE_MAX];
	uint32_t count = 99;

	stamped(&bi, BI_PHASE_COUNT);
	CHECK_STR(bootinfo_phases(&bi, cycles, &count), NULL);
	CHECK_EQ(count, BI_PHASE_COUNT);
	/* The last one runs to tsc_jump, 5 cycles after its stamp. */
	for (uint32_t i = 0; i < count; i++)
		CHECK_EQ(cycles[i], 100 * (i + 1) + (i + 1 == count ? 5 : 0));
	/* All BI_PHASE_MAX slots (a newer loader's phases). */
	stamped(&bi, BI_PHASE_MAX);
	CHECK_STR(bootinfo_phases(&bi, cycles, &count), NULL);
	CHECK_EQ(count, BI_PHASE_MAX);
	CHECK_EQ(cycles[BI_PHASE_MAX - 1], 100 * BI_PHASE_MAX + 5);
	/* Equal stamps: a phase of zero cycles. */
	stamped(&bi, 3);
	bi.tsc_phase_end[1] = bi.tsc_phase_end[0];
	CHECK_STR(bootinfo_phases(&bi, cycles, &count), NULL);
	CHECK_EQ(cycles[1], 0);
	CHECK_EQ(cycles[2], bi.tsc_jump - bi.tsc_phase_end[0]);
	bi.tsc_jump = bi.tsc_phase_end[2];
	CHECK_STR(bootinfo_phases(&bi, cycles, &count), NULL);
}

static void test_phases_refused(void)
{
	static struct boot_info bi;
	uint64_t cycles[BI_PHASE_MAX];
	uint32_t count;

	stamped(&bi, 0); /* the PVH entry's */
	count = 7;
	CHECK_STR(bootinfo_phases(&bi, cycles, &count), "no phase stamps");
	CHECK_EQ(count, 0);
	stamped(&bi, 4);
	bi.tsc_loader_entry = 0;
	CHECK_STR(bootinfo_phases(&bi, cycles, &count), "no phase stamps");
	stamped(&bi, BI_PHASE_MAX);
	bi.phase_count = BI_PHASE_MAX + 1;
	count = 7;
	CHECK_STR(bootinfo_phases(&bi, cycles, &count),
		  "phase_count above BI_PHASE_MAX");
	CHECK_EQ(count, 0);
	stamped(&bi, 5);
	bi.tsc_phase_end[3] = bi.tsc_phase_end[2] - 1;
	CHECK_STR(bootinfo_phases(&bi, cycles, &count),
		  "a phase ends before the one before it");
	CHECK_EQ(count, 0);
	stamped(&bi, 5);
	bi.tsc_phase_end[0] = bi.tsc_loader_entry - 1;
	CHECK_STR(bootinfo_phases(&bi, cycles, &count),
		  "a phase ends before the one before it");
	stamped(&bi, 5);
	bi.tsc_jump = bi.tsc_phase_end[4] - 1;
	CHECK_STR(bootinfo_phases(&bi, cycles, &count),
		  "the last phase ends after tsc_jump");
	CHECK_EQ(count, 0);
}

static void set_log(struct boot_info *bi, const char *text)
{
	valid(bi);
	bi->log_len = (uint32_t)strlen(text);
	memcpy(bi->log, text, strlen(text));
}

static void test_log_text(void)
{
	static struct boot_info bi;
	/* Larger than any log: the bound must come from BI_LOG_MAX. */
	static char out[2 * BI_LOG_MAX];

	set_log(&bi, "");
	CHECK_EQ(bootinfo_log_text(&bi, out, sizeof(out)), 0);
	CHECK_STR(out, "");
	set_log(&bi, "loader: a\nloader: b\n");
	CHECK_EQ(bootinfo_log_text(&bi, out, sizeof(out)), 20);
	CHECK_STR(out, "loader: a\nloader: b\n");
	/* A last line without its newline gets one. */
	set_log(&bi, "loader: a\nloader: b");
	CHECK_EQ(bootinfo_log_text(&bi, out, sizeof(out)), 20);
	CHECK_STR(out, "loader: a\nloader: b\n");
	/* Control bytes, escape sequences, NULs and bytes above 0x7e are not
	 * passed to the consoles. */
	set_log(&bi, "loader: \x1b[2J\tx\x7f\xff\r\n");
	bi.log[9] = '\0';
	CHECK_EQ(bootinfo_log_text(&bi, out, sizeof(out)), 18);
	CHECK_STR(out, "loader: ??2J?x???\n");
	/* log_len is what counts, not a NUL, and at most BI_LOG_MAX. */
	set_log(&bi, "loader: abc");
	bi.log_len = 8;
	CHECK_STR((bootinfo_log_text(&bi, out, sizeof(out)), out),
		  "loader: \n");
	memset(bi.log, 'x', sizeof(bi.log));
	bi.log_len = 0xffffffffu;
	CHECK_EQ(bootinfo_log_text(&bi, out, sizeof(out)), BI_LOG_MAX + 1);
	CHECK_EQ(out[BI_LOG_MAX - 1], 'x');
	CHECK_EQ(out[BI_LOG_MAX], '\n');
	CHECK_EQ(out[BI_LOG_MAX + 1], '\0');
	bi.log_len = BI_LOG_MAX + 1;
	CHECK_EQ(bootinfo_log_text(&bi, out, sizeof(out)), BI_LOG_MAX + 1);
	/* A small buffer: cut, still a line, still terminated. */
	set_log(&bi, "loader: abcdef\n");
	CHECK_EQ(bootinfo_log_text(&bi, out, 6), 5);
	CHECK_STR(out, "load\n");
	CHECK_EQ(bootinfo_log_text(&bi, out, 3), 2);
	CHECK_STR(out, "l\n");
	CHECK_EQ(bootinfo_log_text(&bi, out, 2), 0);
	CHECK_STR(out, "");
	CHECK_EQ(bootinfo_log_text(&bi, out, 1), 0);
	CHECK_STR(out, "");
	CHECK_EQ(bootinfo_log_text(&bi, out, 0), 0);
}

int main(void)
{
	RUN(test_magic_spells_bootinfo);
	RUN(test_check_valid);
	RUN(test_check_mismatches);
	RUN(test_type_names);
	RUN(test_ram_types);
	RUN(test_secure_boot_names);
	RUN(test_phase_names);
	RUN(test_phases);
	RUN(test_phases_refused);
	RUN(test_log_text);
	return check_summary();
}
