/*
 * Reading the memory maps Linux prints at boot (dmesg, journalctl -k, a
 * serial log), for tools/memmap-check: untrusted text in, the firmware's
 * own entries out (EFI descriptors or E820 entries, with the line each
 * came from), before any of the project's normalisation.
 *
 * A map line is recognised by its marker anywhere in the line, so
 * whatever stands before it (the dmesg timestamp "[    0.000000] ", a
 * syslog prefix, terminal escapes from a serial console) does not matter:
 *
 *   efi: memNN: [Conventional|   |  |...|WB|WT|WC|UC] range=[0xA-0xB] (NMB)
 *       the bracketed type name (short names of recent kernels, or the
 *       longer "Conventional Memory" of 4.x kernels, or "type=N") and
 *       attribute columns; the range end is inclusive with ']' and
 *       exclusive with ')' (some 4.x kernels printed that);
 *   efi: memNN: type=7, attr=0xf, range=[0xA-0xB) (NMB)
 *       older kernels, exclusive end; "EFI:" as well as "efi:";
 *   BIOS-e820: [mem 0xA-0xB] usable
 *       inclusive end; usable, reserved, ACPI data, ACPI NVS, unusable,
 *       persistent (type N), soft reserved, type N;
 *   BIOS-e820: A - B (usable)
 *       kernels before 3.x, exclusive end.
 *
 * A line with a marker that does not parse is an error naming the line
 * (the marker "efi: mem" needs a digit after it, so "efi: memattr" is not
 * one). Every other line is counted and ignored.
 *
 * Linux prints the EFI map a second time after it has switched to
 * virtual mode ("efi: EFI runtime memory map:", runtime ranges only,
 * numbered from mem00 again): the first map is the firmware's, so an
 * EFI line whose number does not follow the previous one starts a later
 * map, whose lines are counted and ignored. Likewise a second block of
 * BIOS-e820 lines (another boot in the same log).
 */
#ifndef TOOLS_MEMMAP_LOG_H
#define TOOLS_MEMMAP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More map lines than this (of one kind) is an error: firmware maps have
 * a few hundred, and normalising costs O(n^2). */
#define MLOG_MAX_ENTRIES 16384u

enum mlog_kind {
	MLOG_OTHER = 0, /* not a map line */
	MLOG_EFI = 1,
	MLOG_E820 = 2,
	MLOG_ERROR = 3, /* looks like a map line but does not parse */
};

struct mlog_entry {
	uint64_t base;
	/* EFI: 4 KiB pages (the descriptor's NumberOfPages). */
	uint64_t pages;
	/* E820: bytes; UINT64_MAX for a range that reaches 2^64. */
	uint64_t size;
	uint64_t attr; /* EFI: the Attribute word; E820: 0 */
	uint32_t type; /* the firmware's number: EFI memory type or E820 type */
	uint32_t line; /* 1-based line of the input */
	uint32_t index;  /* EFI: NN of memNN */
	uint8_t kind;    /* MLOG_EFI or MLOG_E820 */
	bool old_format; /* "type=N, attr=" or "BIOS-e820: A - B (...)" */
};

/* True when the entry covers no byte. */
bool mlog_entry_empty(const struct mlog_entry *e);

/*
 * Parses one line (len bytes, need not be NUL-terminated; a trailing
 * '\r' or blanks are allowed). Returns MLOG_OTHER, MLOG_EFI or MLOG_E820
 * (with *e filled, its line left 0), or MLOG_ERROR with *why naming what
 * is wrong (a static string).
 */
int mlog_parse_line(const char *s, size_t len, struct mlog_entry *e,
		    const char **why);

struct mlog {
	struct mlog_entry *efi;  /* the first EFI map, in input order */
	struct mlog_entry *e820; /* the first BIOS-e820 block */
	uint32_t efi_count, e820_count;
	uint32_t efi_cap, e820_cap;
	uint32_t lines;           /* lines read */
	uint32_t other_lines;     /* neither map lines nor errors */
	uint32_t later_efi_lines; /* EFI lines of later maps, ignored */
	uint32_t later_efi_first; /* line where the first later map starts */
	uint32_t later_e820_lines;
	uint32_t later_e820_first;
	bool efi_old, efi_new; /* which EFI formats were seen */
	uint32_t error_line;   /* 0 when no error */
	char error[192];       /* "line N: ...", one line */
};

void mlog_init(struct mlog *m);

/*
 * Parses a whole log of len bytes (lines end in '\n'; NUL bytes are
 * ordinary characters). Returns 0, or -1 at the first line that looks
 * like a map line and does not parse (m->error says which and why), at
 * more than MLOG_MAX_ENTRIES map lines of one kind, or when out of
 * memory. Entries read so far stay in m either way.
 */
int mlog_parse(struct mlog *m, const char *text, size_t len);

void mlog_free(struct mlog *m);

/* "Conventional", "Boot Data", ... for an EFI memory type, or NULL. */
const char *mlog_efi_type_name(uint32_t type);

/* "usable", "reserved", ... for an E820 type, or NULL. */
const char *mlog_e820_type_name(uint32_t type);

#endif
