/*
 * The UEFI loader's internal interfaces. One file per subsystem, called
 * in this order by main.c:
 *
 *   console.c   "loader: " lines on ConOut, the error line, status names
 *   cpu.c       CPUID, MSRs, control registers, TSC, the jump
 *   tsc.c       the TSC rate: CPUID, else the ACPI PM timer (pmtimer.c)
 *               across the whole run, else a Stall
 *   file.c      the loader's own volume: open it, read a whole file
 *   secureboot.c  SecureBoot/SetupMode, the embedded hashes and their
 *               rules (before anything is read from the ESP)
 *   options.c   UEFI load options -> kernel command line
 *   kernel.c    ELF segments -> pages of their own
 *   measure.c   TPM: the kernel file into PCR 9, the command line into
 *               PCR 8 (called by kernel.c while the file is in memory)
 *   paging.c    the writable PML4 copy and the kernel's mappings
 *   firmware.c  GOP, RSDP, memory map, ExitBootServices
 *   main.c      efi_main: the boot flow and the cleanup on failure
 *
 * Conventions: functions that can fail print their own one
 * `loader: error:` line and return an EFI error status; the caller only
 * cleans up and passes the status on. Everything the loader allocates is
 * recorded in struct loader so one cleanup function can free it.
 */
#ifndef LOADER_LOADER_H
#define LOADER_LOADER_H

#include "uefi.h"

#include "loader/pmtimer.h"

#include "common/boot/bootinfo.h"
#include "common/boot/config.h"
#include "common/boot/elf.h"
#include "common/hw/cpu.h"
#include "common/lib/sha256.h"
#include "common/lib/types.h"
#include "common/mm/paging.h"

#ifndef LOADER_NAME
#define LOADER_NAME "BOOTX64.EFI"
#endif

/* The firmware's tables, set first thing by efi_main. */
extern EFI_SYSTEM_TABLE *efi_st;
extern EFI_BOOT_SERVICES *efi_bs;

/* The kernel file and where its segments went. */
struct kernel {
	void *file; /* the whole file (pool), NULL once freed */
	uint64_t file_size;
	uint8_t sha256[SHA256_DIGEST_SIZE]; /* of the whole file */
	uint64_t hash_ticks;                /* TSC ticks hashing took */
	struct elf_image elf;
	/* One per PT_LOAD, in file order; phys 0 = not allocated. */
	struct bi_segment seg[BI_MAX_SEGMENTS];
	uint32_t seg_count;
};

/* The loader's page tables: a copy of the firmware's PML4 plus the
 * higher-half tables below it that map the kernel. */
struct boot_tables {
	uint64_t fw_cr3; /* CR3 as the firmware left it (PCID bits too) */
	uint64_t pml4;   /* physical address of the copy, 0 = none */
	bool active;     /* CR3 holds the copy */
	bool nx;         /* PTE_NX is used (CPUID NX and EFER.NXE) */
	uint64_t pages_mapped;
	struct pt_env env;
	struct page_table pt;
};

/* What is handed to the kernel, allocated before ExitBootServices. */
struct handoff {
	struct boot_info *bi; /* the one EFI_TYPE_LOADER_BOOTINFO block */
	uint64_t bi_pages;
	struct bi_mem_range *ranges; /* memory-map storage inside it */
	uint32_t range_cap;

	/* GetMemoryMap's buffer (pool) and its last result. */
	void *map;
	uint64_t map_cap;  /* bytes */
	uint64_t map_size; /* bytes filled */
	uint64_t map_key;
	uint64_t desc_size;
};

struct loader {
	EFI_HANDLE image_handle;
	EFI_LOADED_IMAGE *image;
	EFI_FILE_HANDLE root; /* the loader's volume, NULL when closed */

	uint64_t tsc_entry;
	uint64_t tsc_hz;     /* 0 until tsc_rate_finish, unless CPUID says */
	const char *tsc_how; /* where tsc_hz came from */
	const char *tsc_why; /* why not from the PM timer, or NULL */
	/* TSC at the end of each phase (enum bi_phase), for the boot info;
	 * phases records how many have ended. */
	uint64_t phase_end[BI_PHASE_COUNT];
	uint32_t phases;
	struct cpu_features cpu;

	uint32_t sb_state; /* enum bi_secure_boot */
	/* Secure Boot's rules apply: on, or a SecureBoot variable that
	 * could not be read (secureboot.c). */
	bool sb_enforce;

	struct loader_config cfg;
	bool cmdline_from_options; /* the load options replaced it */

	struct kernel kernel;
	struct boot_tables tables;
	struct bi_framebuffer fb; /* base 0 = none */
	uint64_t rsdp;            /* 0 = none */
	struct handoff ho;
	/* ExitBootServices was called: boot services must not be used
	 * again, even when it failed. */
	bool exit_called;
};

/* console.c */
/* Queues one line, "loader: " followed by fmt, for the kernel to print
 * (the boot info's log); see con_flush and loader_error. */
void con_print(const char *fmt, ...);
/* Prints the queued lines on ConOut now. */
void con_flush(void);
/* Copies the queued lines into dst (cap bytes, not NUL-terminated) and
 * returns their length; lines that do not fit are printed instead. The
 * queue keeps them, so an error after this still prints them. */
size_t con_copy_queue(char *dst, size_t cap);
/* Prints the queued lines, then `loader: error: <fmt>`, on ConOut and
 * returns status, so callers can write
 * `return loader_error(EFI_LOAD_ERROR, "...", ...);`. */
EFI_STATUS loader_error(EFI_STATUS status, const char *fmt, ...);
/* "EFI_NOT_FOUND", ... or "EFI status 0x..." for codes it does not
 * know (then in a static buffer, valid until the next call). */
const char *efi_status_name(EFI_STATUS status);

/* cpu.c */
void cpu_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
uint64_t cpu_rdtsc(void);
uint64_t cpu_rdmsr(uint32_t msr);
uint64_t cpu_read_cr3(void);
void cpu_write_cr3(uint64_t value);
uint64_t cpu_read_cr4(void);
void cpu_flush_global_tlb(void);
/* The TSC frequency in Hz from CPUID's exact leaves (0x15, a hypervisor's
 * timing leaf), from leaf 0x16's nominal base frequency, or across a
 * 0.5 ms Stall; 0 when CPUID does not say. loader/tsc.c picks. */
uint64_t cpu_tsc_hz_cpuid(void);
uint64_t cpu_tsc_hz_nominal(void);
uint64_t cpu_tsc_hz_stall(void);
uint32_t cpu_inl(uint16_t port);
/* Interrupts off, timestamp into *tsc_jump, then calls entry(arg) as
 * SysV. Never returns. */
__attribute__((noreturn)) void cpu_enter_kernel(uint64_t entry, uint64_t arg,
						uint64_t *tsc_jump);

#define MSR_EFER 0xc0000080u
#define EFER_NXE (1ull << 11)
#define CR4_PGE  (1ull << 7)
#define CR4_LA57 (1ull << 12)

/* file.c */
EFI_STATUS file_open_volume(struct loader *l);
void file_close_volume(struct loader *l);
/*
 * Reads the whole file at path (ASCII, '\' or '/' separators) into a pool
 * buffer of EfiLoaderData, in chunks of at most 1 MiB. On success *buf is
 * the buffer (NULL when the file is empty) and *size its length. A file
 * that does not exist returns EFI_NOT_FOUND and prints nothing, so the
 * caller decides whether that is an error; every other failure prints
 * its one error line, "<what><path>: <cause>" (what is a prefix such as
 * "kernel ", or ""), and returns an EFI error status.
 */
EFI_STATUS file_read_all(struct loader *l, const char *what, const char *path,
			 void **buf, uint64_t *size);

/* secureboot.c */
/* Reads SecureBoot and SetupMode into l->sb_state and l->sb_enforce and
 * prints the one line saying what it found and whether hashes are
 * embedded. Fails (EFI_SECURITY_VIOLATION) when the rules apply and this
 * loader embeds no hashes. */
EFI_STATUS secureboot_init(struct loader *l);
/* True when this loader embeds hashes (a signed build). */
bool secureboot_has_hashes(void);
/* When hashes are embedded, each compares a file with its embedded hash;
 * a mismatch prints the error line (file, expected and actual hash) and
 * returns EFI_SECURITY_VIOLATION. Without embedded hashes: success. */
EFI_STATUS secureboot_verify_kernel(const char *path,
				    const uint8_t digest[SHA256_DIGEST_SIZE]);
EFI_STATUS secureboot_verify_config(const char *path, const void *text,
				    uint64_t size);
/* loader.conf does not exist: an error when its hash is embedded. */
EFI_STATUS secureboot_config_missing(const char *path);

/* options.c */
/* Replaces l->cfg.cmdline with the load options when they hold text,
 * unless l->sb_enforce: then it says it ignored them. */
EFI_STATUS options_apply(struct loader *l);

/* kernel.c */
/* Reads the kernel named by l->cfg.kernel, hashes it (checked against
 * the embedded hash, if any, before anything parses it), validates and
 * loads it. The file buffer is kept (kernel_free frees it; on a good boot
 * the kernel reclaims it as loader memory). */
EFI_STATUS kernel_load(struct loader *l);
/* Frees the file buffer and every segment's pages. */
void kernel_free(struct kernel *k);

/* measure.c */
/* Measures l->kernel.file into PCR 9 and l->cfg.cmdline into PCR 8
 * through EFI_TCG2_PROTOCOL, and prints one line: what was measured, or
 * that there is no TPM, or what failed. Never stops the boot. Needs the
 * whole kernel file in memory and the final command line. */
void measure_boot(struct loader *l);

/* paging.c */
/* Copies the firmware's PML4, checks that the kernel's higher-half slots
 * are free and maps every segment below the copy; prints the summary
 * line. Does not load CR3. */
EFI_STATUS paging_build(struct loader *l);
/* Loads CR3 with the copy. */
void paging_activate(struct boot_tables *t);
/* Restores the firmware's CR3, when switched. Needs no boot services. */
void paging_deactivate(struct boot_tables *t);
/* paging_deactivate, then frees every table the loader allocated. */
void paging_teardown(struct boot_tables *t);

/* main.c */
/* Ends phase p (enum bi_phase) now; phases end in order. */
void loader_phase_end(struct loader *l, uint32_t p);

/* tsc.c */
/* Takes the rate from CPUID, or finds the PM timer (l->rsdp must be set)
 * and takes the first reading. */
void tsc_rate_start(struct loader *l);
/* A reading of the PM timer, at the end of each phase. */
void tsc_rate_sample(void);
/* Sets l->tsc_hz and l->tsc_how (a 0.5 ms Stall when nothing else
 * worked). */
void tsc_rate_finish(struct loader *l);

/* firmware.c: GOP and RSDP record what they find in l->fb and l->rsdp,
 * and print a line only when there is none. */
void firmware_gop(struct loader *l);
void firmware_rsdp(struct loader *l);
/* Sizes the memory map, allocates its buffer and the boot-info block, and
 * fills the boot info with all but the memory map and the last two
 * timestamps. */
EFI_STATUS handoff_alloc(struct loader *l);
void handoff_free(struct handoff *ho);
/* Last call before the jump: queues the timing line, copies the queued
 * lines into the boot info, exits boot services (retrying as the spec
 * requires), fills the boot info's memory map and phase stamps. On
 * failure with l->exit_called set, boot services must not be used
 * again. */
EFI_STATUS handoff_exit_boot_services(struct loader *l);

#endif
