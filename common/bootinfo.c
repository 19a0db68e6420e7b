/*
 * Names and checks for the boot-info contract (see bootinfo.h).
 */
#include "bootinfo.h"

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
