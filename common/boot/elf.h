/*
 * ELF64 kernel-image validation: a pure function over untrusted bytes,
 * shared by the loader, the host tests and the fuzzer.
 *
 * What it accepts: ELF64, little endian, x86-64, ET_EXEC; program headers
 * inside the file; 1..ELF_MAX_LOADS PT_LOAD segments, each with
 * offset+filesz inside the file, filesz <= memsz, a canonical higher-half
 * range (>= 0xffff800000000000) that does not wrap, p_offset and p_vaddr
 * congruent modulo 4 KiB, page-rounded ranges that overlap no other
 * segment, never both writable and executable; an entry point inside an
 * executable segment; a total memory size of at most ELF_MAX_IMAGE.
 * When there is a section header table (e_shoff or e_shnum nonzero):
 * e_shentsize 64, the table and every section's bytes (but SHT_NOBITS)
 * inside the file, e_shstrndx naming a section of the table; e_shnum 0
 * with the count in section 0's sh_size and e_shstrndx SHN_XINDEX with
 * the index in its sh_link, as the ELF specification allows.
 * The loader additionally refuses what its page tables cannot take (a slot
 * already used in the firmware's PML4), which this function cannot know.
 *
 * Truncation: every byte a header describes (the headers, the program
 * header table, segment data, the section header table and section data)
 * must be inside the file, and a file that ends before one of them is
 * refused with a message starting "truncated" (a prefix of the ELF magic,
 * the empty file included, is a truncated file). Linkers end an
 * executable with its section header table, so a kernel cut at any
 * length is refused that way; the host tests check every length of the
 * real kernel. Bytes after everything described (img->file_end) are
 * ignored, so cutting those off cannot be noticed.
 */
#ifndef COMMON_ELF_H
#define COMMON_ELF_H

#include "common/lib/types.h"

#define ELF_MAX_LOADS   8              /* matches BI_MAX_SEGMENTS */
#define ELF_MAX_IMAGE   (256ull << 20) /* sum of page-rounded memsz */
#define ELF_HIGHER_HALF 0xffff800000000000ull

/* On-disk structures (ELF64, from the System V ABI). */
struct elf64_ehdr {
	uint8_t e_ident[16];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

struct elf64_shdr {
	uint32_t sh_name;
	uint32_t sh_type;
	uint64_t sh_flags;
	uint64_t sh_addr;
	uint64_t sh_offset;
	uint64_t sh_size;
	uint32_t sh_link;
	uint32_t sh_info;
	uint64_t sh_addralign;
	uint64_t sh_entsize;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");
_Static_assert(sizeof(struct elf64_shdr) == 64, "ELF64 section header");

#define ELF_CLASS64       2
#define ELF_DATA2LSB      1
#define ELF_ET_EXEC       2
#define ELF_EM_X86_64     62
#define ELF_PT_LOAD       1
#define ELF_PT_NOTE       4
#define ELF_PF_X          1u
#define ELF_PF_W          2u
#define ELF_PF_R          4u
#define ELF_SHT_NULL      0
#define ELF_SHT_NOBITS    8
#define ELF_SHN_UNDEF     0
#define ELF_SHN_LORESERVE 0xff00
#define ELF_SHN_XINDEX    0xffff

/* One PT_LOAD segment as the loader needs it. */
struct elf_load {
	uint64_t vaddr;  /* p_vaddr */
	uint64_t paddr;  /* p_paddr (used by the PVH path, ignored by UEFI) */
	uint64_t offset; /* p_offset */
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags; /* ELF_PF_* */
	uint32_t reserved;
};

struct elf_image {
	uint64_t entry;
	uint32_t load_count;
	uint32_t reserved;
	struct elf_load loads[ELF_MAX_LOADS];
	uint64_t lowest_vaddr;  /* page-rounded down */
	uint64_t highest_vaddr; /* page-rounded up, exclusive */
	uint64_t total_pages;   /* sum of each segment's page-rounded size */
	uint64_t file_end;      /* end of the last byte a header describes */
};

/* Why a file was refused: a static message naming the field, plus the
 * offending value (for a truncated file: the size it needs), the file's
 * size, and the program or section header index (-1 when not about
 * one). */
struct elf_error {
	const char *what;
	uint64_t value;
	uint64_t size;
	int32_t segment;
	int64_t section;
};

/* Validates size bytes at file. Returns 0 and fills *img, or -ERR_INVALID
 * and fills *err. Never reads outside [file, file+size). */
int elf_validate(const void *file, uint64_t size, struct elf_image *img,
		 struct elf_error *err);

/* Formats err as one line, e.g.
 * "segment 1: writable and executable (p_flags 0x7)" or
 * "truncated: file ends inside the section headers (file has 9000 bytes,
 * needs 9920)". Returns the full length, as snprintf does. */
size_t elf_error_format(const struct elf_error *err, char *buf, size_t cap);

#endif
