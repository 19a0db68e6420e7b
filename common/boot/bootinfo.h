/*
 * The boot-info contract: one struct handed from any loader (the UEFI
 * loader, the kernel's own PVH entry) to kmain, in rdi, SysV ABI.
 *
 * Rules that keep the layout identical on the loader's LLP64 target, the
 * kernel's LP64 target and the host:
 *   - only fixed-width fields, every 64-bit field 8-byte aligned;
 *   - every address is a uint64_t *physical* address, never a pointer;
 *   - the struct starts with magic, version and its own size, so a kernel
 *     can refuse a loader it does not understand (kmain panics on any
 *     mismatch).
 * The static asserts at the bottom pin offsets and sizes; change them only
 * together with BOOTINFO_VERSION.
 */
#ifndef COMMON_BOOTINFO_H
#define COMMON_BOOTINFO_H

#include "common/lib/types.h"

#define BOOTINFO_MAGIC 0x4f464e49544f4f42ull /* "BOOTINFO", little endian */
/* 2: struct bi_mem_range's last word became attr (BI_MEM_*).
 * 3: the Secure Boot state and the kernel file's SHA-256 at the end.
 * 4: the loader's phase stamps and its lines for the kernel to print. */
#define BOOTINFO_VERSION 4u

/* Memory-range types: the project's own vocabulary. Loaders translate the
 * firmware's types (EFI, E820) into these; see memmap.h. */
enum mem_type {
	MEM_NONE = 0,
	MEM_USABLE = 1,       /* free RAM */
	MEM_RESERVED = 2,     /* never touch */
	MEM_ACPI_RECLAIM = 3, /* ACPI tables: usable once they are parsed */
	MEM_ACPI_NVS = 4,     /* firmware keeps this across sleep */
	MEM_BAD = 5,          /* defective RAM */
	MEM_LOADER_RECLAIM =
	    6,                    /* boot services, loader code/data, boot info:
				     free once the kernel runs on its own tables */
	MEM_KERNEL = 7,           /* the kernel image's segments */
	MEM_PAGE_TABLES = 8,      /* the loader's page tables (live at entry) */
	MEM_FRAMEBUFFER = 9,      /* the GOP framebuffer */
	MEM_FW_RUNTIME_CODE = 10, /* EFI runtime services code */
	MEM_FW_RUNTIME_DATA = 11, /* EFI runtime services data */
	MEM_TYPE_COUNT
};

/* Attribute bits of a range (struct bi_mem_range.attr); the others are
 * zero. BI_MEM_WB: the firmware says the range may be mapped write-back
 * cacheable, i.e. it is RAM (EFI attribute EFI_MEMORY_WB; the E820 RAM,
 * ACPI and NVS types). */
#define BI_MEM_WB        1u
#define BI_MEM_ATTR_MASK BI_MEM_WB

/* Map entries the kernel keeps (kernel/boot/handoff.c); it ignores those
 * beyond, which in a sorted map are the highest addresses. Here so that
 * host tools can apply the same limit. */
#define BI_MMAP_KERNEL_MAX 512u

/* One physical range. base and size are multiples of 4 KiB. The kernel
 * maps a range in its direct map only when attr has BI_MEM_WB. */
struct bi_mem_range {
	uint64_t base;
	uint64_t size;
	uint32_t type; /* enum mem_type */
	uint32_t attr; /* BI_MEM_* */
};

/* Segment flags, the same bits as ELF's p_flags. */
#define BI_SEG_X 1u
#define BI_SEG_W 2u
#define BI_SEG_R 4u

/* One loaded kernel segment. virt and phys are page aligned; size is the
 * page-rounded memory size. */
struct bi_segment {
	uint64_t virt;
	uint64_t phys;
	uint64_t size;
	uint32_t flags; /* BI_SEG_* */
	uint32_t reserved;
};

/* The framebuffer, when there is one (base == 0 means none). Pixels are
 * 32 bits; the masks say where each colour lives. */
struct bi_framebuffer {
	uint64_t base;
	uint64_t size;
	uint32_t width;
	uint32_t height;
	uint32_t pitch; /* bytes per scan line */
	uint32_t bpp;   /* bits per pixel; only 32 is produced today */
	uint32_t red_mask;
	uint32_t green_mask;
	uint32_t blue_mask;
	uint32_t reserved_mask;
};

enum boot_source {
	BOOT_SOURCE_UEFI = 1,
	BOOT_SOURCE_PVH = 2,
};

/* struct boot_info.secure_boot: the firmware's SecureBoot and SetupMode
 * variables as the loader read them. */
enum bi_secure_boot {
	BI_SB_NONE = 0,        /* no firmware to ask (the PVH entry) */
	BI_SB_UNSUPPORTED = 1, /* the firmware has no SecureBoot variable */
	BI_SB_OFF = 2,         /* SecureBoot 0, keys enrolled */
	BI_SB_SETUP = 3,       /* SecureBoot 0, SetupMode 1: no keys, off */
	BI_SB_ON = 4,          /* SecureBoot 1: the firmware checked us */
	/* The variable exists but could not be read as one byte of 0 or
	 * 1; the loader applied the rules for "on". */
	BI_SB_UNREADABLE = 5,
	BI_SB_COUNT
};

/* struct boot_info.sb_flags. */
#define BI_SB_HASHES_CHECKED                                                   \
	1u                     /* the loader embedded hashes of the kernel     \
				  file and loader.conf and both matched */
#define BI_SB_KERNEL_HASHED 2u /* kernel_sha256 holds the file's digest */
#define BI_SB_FLAGS_MASK    3u

#define BI_MAX_SEGMENTS 8
#define BI_CMDLINE_MAX  1024

/*
 * The loader's phases, in the order it runs them (boot-info version 4).
 * Phase i ends at tsc_phase_end[i]; phase 0 starts at tsc_loader_entry,
 * every other one where the one before it ended. The last stamp is a
 * few instructions before tsc_jump; bootinfo_phases counts those in the
 * last phase, so the phases add up to the loader's whole time. A loader may
 * record fewer (phase_count), never more than BI_PHASE_MAX; the kernel names
 * the ones it knows.
 */
enum bi_phase {
	/* watchdog, CPUID, the RSDP and the TSC rate's start, Loaded Image */
	BI_PHASE_START = 0,
	BI_PHASE_SECURE_BOOT, /* the SecureBoot and SetupMode variables */
	/* the volume, loader.conf read, hashed and parsed, load options */
	BI_PHASE_CONFIG,
	BI_PHASE_KERNEL_READ,   /* the kernel file into memory */
	BI_PHASE_KERNEL_HASH,   /* its SHA-256, checked if one is embedded */
	BI_PHASE_VALIDATE_COPY, /* elf_validate, the segments' pages, copy */
	BI_PHASE_TPM_MEASURE,   /* PCR 8 and 9, or finding there is no TPM */
	BI_PHASE_MAPPING,       /* the PML4 copy, the kernel's mappings, CR3 */
	BI_PHASE_GOP,           /* the framebuffer (graphics output) */
	BI_PHASE_MEMORY_MAP,    /* the boot-info block, the map, its dry run */
	BI_PHASE_EXIT_BOOT_SERVICES, /* with its retries, and the final map */
	BI_PHASE_COUNT
};
#define BI_PHASE_MAX 16

/* Bytes of the loader's lines the boot info carries (log, log_len). */
#define BI_LOG_MAX 2048

struct boot_info {
	uint64_t magic;   /* BOOTINFO_MAGIC */
	uint32_t version; /* BOOTINFO_VERSION */
	uint32_t size;    /* sizeof(struct boot_info) */

	uint32_t source; /* enum boot_source */
	uint32_t segment_count;

	/* Memory map: mmap_count entries of struct bi_mem_range at mmap_addr,
	 * sorted by base, not overlapping, adjacent ranges of equal type and
	 * attr merged. */
	uint64_t mmap_addr;
	uint32_t mmap_count;
	uint32_t mmap_entry_size; /* sizeof(struct bi_mem_range) */

	struct bi_framebuffer fb;

	uint64_t rsdp;             /* ACPI RSDP, 0 when none */
	uint64_t efi_system_table; /* 0 when not booted by UEFI */

	/* NUL-terminated command line, cmdline_len bytes without the NUL. */
	uint64_t cmdline_addr;
	uint32_t cmdline_len;
	uint32_t reserved0;

	struct bi_segment segments[BI_MAX_SEGMENTS];

	/* Page tables live at hand-off (the loader's PML4). */
	uint64_t boot_pml4;

	/* TSC readings: at loader entry, just before ExitBootServices, and
	 * just before the jump to the kernel. tsc_hz is the loader's estimate
	 * of the TSC frequency (0 when unknown). */
	uint64_t tsc_loader_entry;
	uint64_t tsc_before_exit;
	uint64_t tsc_jump;
	uint64_t tsc_hz;

	/* Version 3. */
	uint32_t secure_boot; /* enum bi_secure_boot */
	uint32_t sb_flags;    /* BI_SB_HASHES_CHECKED, BI_SB_KERNEL_HASHED */
	/* SHA-256 of the kernel file as the loader read it from the ESP,
	 * every byte of it (zero without BI_SB_KERNEL_HASHED). */
	uint8_t kernel_sha256[32];

	/* Version 4. */
	uint32_t phase_count; /* stamps in tsc_phase_end; 0 without a loader */
	/* Bytes of text in log, without a terminating NUL (there may be
	 * none): the loader's lines it did not print itself, "loader: ..."
	 * each ending in '\n', exactly as it would have printed them. The
	 * firmware console costs about 20 us a character under QEMU's TCG,
	 * so a loader whose boot goes well leaves its lines to the kernel;
	 * one that fails prints them before its error line. */
	uint32_t log_len;
	uint64_t tsc_phase_end[BI_PHASE_MAX]; /* see enum bi_phase */
	char log[BI_LOG_MAX];
};

_Static_assert(sizeof(struct bi_mem_range) == 24, "bi_mem_range layout");
_Static_assert(__builtin_offsetof(struct bi_mem_range, type) == 16,
	       "bi_mem_range layout");
_Static_assert(__builtin_offsetof(struct bi_mem_range, attr) == 20,
	       "bi_mem_range layout");
_Static_assert(sizeof(struct bi_segment) == 32, "bi_segment layout");
_Static_assert(sizeof(struct bi_framebuffer) == 48, "bi_framebuffer layout");
_Static_assert(__builtin_offsetof(struct boot_info, mmap_addr) == 24,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, fb) == 40,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, rsdp) == 88,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, segments) == 120,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, boot_pml4) == 376,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, secure_boot) == 416,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, kernel_sha256) == 424,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, phase_count) == 456,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, tsc_phase_end) == 464,
	       "boot_info layout");
_Static_assert(__builtin_offsetof(struct boot_info, log) == 592,
	       "boot_info layout");
_Static_assert(sizeof(struct boot_info) == 2640, "boot_info layout");
_Static_assert(BI_PHASE_COUNT <= BI_PHASE_MAX, "room for every phase");

/* True for the types that are RAM by definition: usable, loader and ACPI
 * reclaimable, ACPI NVS, kernel, boot page tables, firmware runtime code
 * and data (not reserved, bad or the framebuffer). Such a range is
 * write-back cacheable unless the firmware says otherwise (memmap.c's
 * default attribute), and only such ranges go into the direct map. */
bool mem_type_is_ram(uint32_t type);

/* Name of a mem_type for messages ("usable", "acpi-nvs", ...). */
const char *mem_type_name(uint32_t type);
/* The Secure Boot state in words ("on", "off (setup mode)", ...);
 * "unknown" for a value outside enum bi_secure_boot. */
const char *bi_secure_boot_name(uint32_t state);

/* The name of loader phase i ("config", "kernel-read", ...); NULL for an
 * index beyond enum bi_phase (a newer loader's). */
const char *bi_phase_name(uint32_t phase);

/*
 * The loader's phases as durations: cycles[i] for i < *count, each the
 * TSC difference from the end of the phase before (tsc_loader_entry for
 * the first); the last one runs to tsc_jump, so they add up to the
 * loader's time from entry to the jump. Returns NULL, or a static string naming
 * why the stamps cannot be used (none, too many, a stamp before the one it
 * follows or after tsc_jump); then *count is 0.
 */
const char *bootinfo_phases(const struct boot_info *bi,
			    uint64_t cycles[BI_PHASE_MAX], uint32_t *count);

/*
 * The loader's lines, ready to print: copies the first min(log_len,
 * BI_LOG_MAX) bytes of bi->log into out (cap bytes, NUL-terminated),
 * with every byte outside 0x20..0x7e and '\n' replaced by '?', and a
 * '\n' after a last line that has none. Returns the length of out.
 */
size_t bootinfo_log_text(const struct boot_info *bi, char *out, size_t cap);

/* Checks magic, version and size. Returns NULL when bi is acceptable,
 * else a static string naming the first mismatch. */
const char *bootinfo_check(const struct boot_info *bi);

#endif
