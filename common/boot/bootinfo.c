/*
 * Names and checks for the boot-info contract (see bootinfo.h).
 */
#include "common/boot/bootinfo.h"

static const char *const mem_type_names[MEM_TYPE_COUNT] = {
    [MEM_NONE] = "none",
    [MEM_USABLE] = "usable",
    [MEM_RESERVED] = "reserved",
    [MEM_ACPI_RECLAIM] = "acpi-reclaim",
    [MEM_ACPI_NVS] = "acpi-nvs",
    [MEM_BAD] = "bad",
    [MEM_LOADER_RECLAIM] = "loader-reclaim",
    [MEM_KERNEL] = "kernel",
    [MEM_PAGE_TABLES] = "page-tables",
    [MEM_FRAMEBUFFER] = "framebuffer",
    [MEM_FW_RUNTIME_CODE] = "fw-runtime-code",
    [MEM_FW_RUNTIME_DATA] = "fw-runtime-data",
};

const char *mem_type_name(uint32_t type)
{
	if (type >= MEM_TYPE_COUNT)
		return "unknown";
	return mem_type_names[type];
}

bool mem_type_is_ram(uint32_t type)
{
	switch (type) {
	case MEM_USABLE:
	case MEM_ACPI_RECLAIM:
	case MEM_ACPI_NVS:
	case MEM_LOADER_RECLAIM:
	case MEM_KERNEL:
	case MEM_PAGE_TABLES:
	case MEM_FW_RUNTIME_CODE:
	case MEM_FW_RUNTIME_DATA:
		return true;
	default:
		return false;
	}
}

static const char *const secure_boot_names[BI_SB_COUNT] = {
    [BI_SB_NONE] = "none (no firmware)",
    [BI_SB_UNSUPPORTED] = "not supported by the firmware",
    [BI_SB_OFF] = "off",
    [BI_SB_SETUP] = "off (setup mode)",
    [BI_SB_ON] = "on",
    [BI_SB_UNREADABLE] = "unreadable (treated as on)",
};

const char *bi_secure_boot_name(uint32_t state)
{
	if (state >= BI_SB_COUNT)
		return "unknown";
	return secure_boot_names[state];
}

static const char *const phase_names[BI_PHASE_COUNT] = {
    [BI_PHASE_START] = "start",
    [BI_PHASE_SECURE_BOOT] = "secure-boot",
    [BI_PHASE_CONFIG] = "config",
    [BI_PHASE_KERNEL_READ] = "kernel-read",
    [BI_PHASE_KERNEL_HASH] = "kernel-hash",
    [BI_PHASE_VALIDATE_COPY] = "validate-copy",
    [BI_PHASE_TPM_MEASURE] = "tpm-measure",
    [BI_PHASE_MAPPING] = "mapping",
    [BI_PHASE_GOP] = "gop",
    [BI_PHASE_MEMORY_MAP] = "memory-map",
    [BI_PHASE_EXIT_BOOT_SERVICES] = "exit-boot-services",
};

const char *bi_phase_name(uint32_t phase)
{
	if (phase >= BI_PHASE_COUNT)
		return NULL;
	return phase_names[phase];
}

const char *bootinfo_phases(const struct boot_info *bi,
			    uint64_t cycles[BI_PHASE_MAX], uint32_t *count)
{
	uint64_t prev = bi->tsc_loader_entry;

	*count = 0;
	if (bi->phase_count == 0 || bi->tsc_loader_entry == 0)
		return "no phase stamps";
	if (bi->phase_count > BI_PHASE_MAX)
		return "phase_count above BI_PHASE_MAX";
	for (uint32_t i = 0; i < bi->phase_count; i++) {
		uint64_t end = bi->tsc_phase_end[i];

		if (end < prev)
			return "a phase ends before the one before it";
		cycles[i] = end - prev;
		prev = end;
	}
	if (bi->tsc_jump < prev)
		return "the last phase ends after tsc_jump";
	/* The last phase runs to the jump, so the phases add up to the
	 * loader's whole time: the few instructions after its last stamp
	 * are the first the emulator translates after ExitBootServices, and
	 * a host that preempts QEMU there would leave a gap no phase owns. */
	cycles[bi->phase_count - 1] += bi->tsc_jump - prev;
	*count = bi->phase_count;
	return NULL;
}

size_t bootinfo_log_text(const struct boot_info *bi, char *out, size_t cap)
{
	size_t len = bi->log_len < BI_LOG_MAX ? bi->log_len : BI_LOG_MAX;
	size_t n = 0;

	if (cap == 0)
		return 0;
	/* Room for the NUL and a closing '\n'. */
	for (size_t i = 0; i < len && n + 2 < cap; i++) {
		unsigned char c = (unsigned char)bi->log[i];

		out[n++] = c == '\n' || (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (n > 0 && out[n - 1] != '\n' && n + 1 < cap)
		out[n++] = '\n';
	out[n] = '\0';
	return n;
}

/*
 * Besides magic, version and size, refuses the few values the kernel
 * indexes or walks with before it could notice anything else is wrong:
 * a segment count beyond the array, an entry size other than the struct's
 * and a missing memory map. Everything else (addresses, the map's
 * contents) is the kernel's to check.
 */
const char *bootinfo_check(const struct boot_info *bi)
{
	if (!bi)
		return "boot info pointer is null";
	if (bi->magic != BOOTINFO_MAGIC)
		return "bad magic (not BOOTINFO_MAGIC)";
	if (bi->version != BOOTINFO_VERSION)
		return "unsupported version (not BOOTINFO_VERSION)";
	if (bi->size != sizeof(struct boot_info))
		return "size is not sizeof(struct boot_info)";
	if (bi->segment_count > BI_MAX_SEGMENTS)
		return "segment_count above BI_MAX_SEGMENTS";
	if (bi->mmap_entry_size != sizeof(struct bi_mem_range))
		return "mmap_entry_size is not sizeof(struct bi_mem_range)";
	if (bi->mmap_addr == 0 || bi->mmap_count == 0)
		return "no memory map";
	return NULL;
}
