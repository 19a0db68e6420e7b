/*
 * elf_validate: one valid kernel-like image built in memory, mutated into
 * each malformed case. Every case runs on a malloc'd copy of exactly the
 * file's size, so ASan reports any read outside it. Then the real kernel
 * (KERNEL_ELF_PATH and KERNEL_ESP_ELF_PATH, from tests/unit/unit.mk) cut
 * at every length.
 */
#include "common/boot/elf.h"
#include "common/lib/string.h"
#include "tests/unit/check.h"

#include <stdlib.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define HAVE_ASAN 1
#endif
#endif

#define KBASE     0xffffffff80100000ull
#define FILE_SIZE 0x4000u

struct image {
	_Alignas(8) uint8_t bytes[FILE_SIZE];
	uint64_t size;
};

static struct elf64_ehdr *ehdr(struct image *im)
{
	return (struct elf64_ehdr *)im->bytes;
}

static struct elf64_phdr *phdr(struct image *im, int i)
{
	return (struct elf64_phdr *)(im->bytes + ehdr(im)->e_phoff) + i;
}

static void set_load(struct image *im, int i, uint32_t flags, uint64_t off,
		     uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
	struct elf64_phdr *ph = phdr(im, i);

	ph->p_type = ELF_PT_LOAD;
	ph->p_flags = flags;
	ph->p_offset = off;
	ph->p_vaddr = vaddr;
	ph->p_paddr = vaddr - 0xffffffff80000000ull;
	ph->p_filesz = filesz;
	ph->p_memsz = memsz;
	ph->p_align = 0x1000;
}

static struct elf64_shdr *shdr(struct image *im, int i)
{
	return (struct elf64_shdr *)(im->bytes + ehdr(im)->e_shoff) + i;
}

static void set_section(struct image *im, int i, uint32_t type, uint64_t off,
			uint64_t size)
{
	struct elf64_shdr *sh = shdr(im, i);

	sh->sh_type = type;
	sh->sh_offset = off;
	sh->sh_size = size;
}

#define SHOFF  0x3200u
#define SHNUM  5
#define STRTAB 4 /* e_shstrndx */

/*
 * The valid image: text (R-X, 1 page), rodata (R--, half a page), data
 * (RW-, 0x100 bytes of file and 3 pages of memory), and a PT_NOTE, the
 * way the kernel's linker script lays them out; then section headers at
 * SHOFF: NULL, .text, .rodata, .bss (NOBITS, no file bytes) and
 * .shstrtab at 0x3400. The last 0xbe0 bytes are described by nothing.
 */
static void build(struct image *im)
{
	struct elf64_ehdr *eh = ehdr(im);
	struct elf64_phdr *note;

	memset(im, 0, sizeof(*im));
	im->size = FILE_SIZE;
	memcpy(eh->e_ident,
	       "\x7f"
	       "ELF",
	       4);
	eh->e_ident[4] = ELF_CLASS64;
	eh->e_ident[5] = ELF_DATA2LSB;
	eh->e_ident[6] = 1;
	eh->e_type = ELF_ET_EXEC;
	eh->e_machine = ELF_EM_X86_64;
	eh->e_version = 1;
	eh->e_entry = KBASE + 0x10;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(struct elf64_phdr);
	eh->e_phnum = 4;
	set_load(im, 0, ELF_PF_R | ELF_PF_X, 0x1000, KBASE, 0x1000, 0x1000);
	set_load(im, 1, ELF_PF_R, 0x2000, KBASE + 0x1000, 0x800, 0x800);
	set_load(im, 2, ELF_PF_R | ELF_PF_W, 0x3000, KBASE + 0x2000, 0x100,
		 0x3000);
	note = phdr(im, 3);
	note->p_type = ELF_PT_NOTE;
	note->p_flags = ELF_PF_R;
	note->p_offset = 0x2800;
	note->p_filesz = 0x20;

	eh->e_shoff = SHOFF;
	eh->e_shentsize = sizeof(struct elf64_shdr);
	eh->e_shnum = SHNUM;
	eh->e_shstrndx = STRTAB;
	set_section(im, 1, 1, 0x1000, 0x1000);
	set_section(im, 2, 1, 0x2000, 0x800);
	set_section(im, 3, ELF_SHT_NOBITS, 0x3100, 0x2f00);
	set_section(im, 4, 3, 0x3400, 0x20);
}

/* Validates a copy of exactly im->size bytes (at an offset `shift` into
 * a buffer, to test unaligned input). */
static int validate(struct image *im, size_t shift, struct elf_image *img,
		    struct elf_error *err)
{
	uint8_t *copy = malloc(im->size + shift + 1);
	int rc;

	memcpy(copy + shift, im->bytes, im->size);
	rc = elf_validate(copy + shift, im->size, img, err);
	free(copy);
	return rc;
}

/* ---- malformed images ---- */

struct bad_case {
	const char *name;
	void (*mutate)(struct image *im);
	const char *what;
	uint64_t value;
	int32_t segment; /* -1: not about a segment */
	int64_t section; /* -1: not about a section */
};

static void too_small(struct image *im)
{
	im->size = 63;
}

static void empty(struct image *im)
{
	im->size = 0;
}

static void bad_magic(struct image *im)
{
	im->bytes[0] = 'M';
}

static void class32(struct image *im)
{
	im->bytes[4] = 1;
}

static void big_endian(struct image *im)
{
	im->bytes[5] = 2;
}

static void not_x86(struct image *im)
{
	ehdr(im)->e_machine = 183; /* aarch64 */
}

static void shared_object(struct image *im)
{
	ehdr(im)->e_type = 3;
}

static void phentsize(struct image *im)
{
	ehdr(im)->e_phentsize = 32;
}

static void phdrs_past_end(struct image *im)
{
	ehdr(im)->e_phoff = FILE_SIZE - 100;
}

static void phoff_overflow(struct image *im)
{
	ehdr(im)->e_phoff = 0xffffffffffffffc0ull;
}

static void phnum_huge(struct image *im)
{
	ehdr(im)->e_phnum = 0xffff;
}

static void no_phdrs(struct image *im)
{
	ehdr(im)->e_phnum = 0;
}

static void no_loads(struct image *im)
{
	for (int i = 0; i < 3; i++)
		phdr(im, i)->p_type = ELF_PT_NOTE;
}

static void too_many_loads(struct image *im)
{
	ehdr(im)->e_phnum = ELF_MAX_LOADS + 1;
	for (int i = 0; i < ELF_MAX_LOADS + 1; i++)
		set_load(im, i, i == 0 ? ELF_PF_R | ELF_PF_X : ELF_PF_R, 0x1000,
			 KBASE + 0x1000 * (uint64_t)i, 0x10, 0x10);
}

static void data_past_end(struct image *im)
{
	phdr(im, 1)->p_offset = 0x3f00;
	phdr(im, 1)->p_filesz = 0x200;
}

static void data_offset_overflow(struct image *im)
{
	phdr(im, 1)->p_offset = 0xffffffffffffff00ull;
	phdr(im, 1)->p_filesz = 0x200;
}

static void filesz_over_memsz(struct image *im)
{
	phdr(im, 2)->p_memsz = 0x80;
}

static void empty_segment(struct image *im)
{
	phdr(im, 1)->p_filesz = 0;
	phdr(im, 1)->p_memsz = 0;
}

static void lower_half(struct image *im)
{
	phdr(im, 0)->p_vaddr = 0x100000;
}

static void non_canonical(struct image *im)
{
	phdr(im, 1)->p_vaddr = 0x0000800000001000ull;
}

static void wraps(struct image *im)
{
	phdr(im, 2)->p_vaddr = 0xfffffffffffff000ull;
	phdr(im, 2)->p_memsz = 0x2000;
}

static void ends_in_top_page(struct image *im)
{
	phdr(im, 2)->p_vaddr = 0xffffffffffffe000ull;
	phdr(im, 2)->p_memsz = 0x1800;
}

static void huge_memsz(struct image *im)
{
	phdr(im, 2)->p_memsz = 0xffffffffffffff00ull;
}

static void not_congruent(struct image *im)
{
	phdr(im, 1)->p_vaddr += 0x10;
}

static void writable_text(struct image *im)
{
	phdr(im, 0)->p_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X;
}

static void overlap(struct image *im)
{
	phdr(im, 1)->p_vaddr = KBASE + 0x800;
	phdr(im, 1)->p_offset = 0x2800;
}

/* The bytes do not overlap, but both segments need the same page. */
static void overlap_same_page(struct image *im)
{
	phdr(im, 0)->p_memsz = 0x800;
	phdr(im, 0)->p_filesz = 0x800;
	phdr(im, 1)->p_vaddr = KBASE + 0x900;
	phdr(im, 1)->p_offset = 0x2900;
	phdr(im, 1)->p_filesz = 0x100;
	phdr(im, 1)->p_memsz = 0x100;
}

/* The overlap is reported on the later segment of the table. */
static void overlap_reversed(struct image *im)
{
	phdr(im, 2)->p_vaddr = KBASE;
	phdr(im, 2)->p_offset = 0x3000;
}

static void too_large(struct image *im)
{
	phdr(im, 2)->p_memsz = ELF_MAX_IMAGE;
}

static void entry_in_rodata(struct image *im)
{
	ehdr(im)->e_entry = KBASE + 0x1000;
}

static void entry_past_text(struct image *im)
{
	/* Move rodata away, so the address after text is in no segment. */
	ehdr(im)->e_entry = KBASE + 0x1000;
	phdr(im, 1)->p_vaddr = KBASE + 0x10000;
}

static void entry_zero(struct image *im)
{
	ehdr(im)->e_entry = 0;
}

static void magic_prefix3(struct image *im)
{
	im->size = 3;
}

static void magic_prefix1(struct image *im)
{
	im->size = 1;
}

static void short_not_elf(struct image *im)
{
	memcpy(im->bytes, "MZ", 2);
	im->size = 2;
}

static void short_elf32(struct image *im)
{
	class32(im);
	im->size = 40;
}

static void short_aarch64(struct image *im)
{
	not_x86(im);
	im->size = 20;
}

/* e_machine is cut in half; what is there so far is right. */
static void cut_in_e_machine(struct image *im)
{
	im->size = 19;
}

static void shentsize(struct image *im)
{
	ehdr(im)->e_shentsize = 40;
}

static void shoff_zero(struct image *im)
{
	ehdr(im)->e_shoff = 0;
}

static void shdrs_past_end(struct image *im)
{
	ehdr(im)->e_shoff = FILE_SIZE - 64;
}

static void shoff_overflow(struct image *im)
{
	ehdr(im)->e_shoff = 0xffffffffffffffc8ull;
}

static void shnum_in_section0_zero(struct image *im)
{
	ehdr(im)->e_shnum = 0;
}

static void shnum_in_section0_huge(struct image *im)
{
	ehdr(im)->e_shnum = 0;
	shdr(im, 0)->sh_size = 1ull << 40;
}

static void shnum_in_section0_overflow(struct image *im)
{
	ehdr(im)->e_shnum = 0;
	shdr(im, 0)->sh_size = 1ull << 60;
}

static void shstrndx_past_table(struct image *im)
{
	ehdr(im)->e_shstrndx = SHNUM;
}

static void shstrndx_reserved(struct image *im)
{
	ehdr(im)->e_shstrndx = ELF_SHN_LORESERVE;
}

static void shstrndx_xindex_past_table(struct image *im)
{
	ehdr(im)->e_shstrndx = ELF_SHN_XINDEX;
	shdr(im, 0)->sh_link = 9;
}

static void section_past_end(struct image *im)
{
	set_section(im, 4, 3, FILE_SIZE - 0x10, 0x20);
}

static void section_offset_overflow(struct image *im)
{
	set_section(im, 2, 1, 0xffffffffffffff00ull, 0x200);
}

#define TRUNCATED_HEADER "truncated: file ends inside the ELF header"
#define TRUNCATED_PHDRS  "truncated: file ends inside the program headers"
#define TRUNCATED_SHDRS  "truncated: file ends inside the section headers"
#define TRUNCATED_DATA   "truncated: file ends inside its data"

static const struct bad_case bad_cases[] = {
    {"too small", too_small, TRUNCATED_HEADER, 64, -1, -1},
    {"empty file", empty, "truncated: empty file", 64, -1, -1},
    {"3 bytes of magic", magic_prefix3, TRUNCATED_HEADER, 64, -1, -1},
    {"1 byte of magic", magic_prefix1, TRUNCATED_HEADER, 64, -1, -1},
    {"2 bytes, not ELF", short_not_elf, "not an ELF file (bad magic)", 0x5a4d,
     -1, -1},
    {"40-byte ELF32", short_elf32, "not 64-bit (EI_CLASS)", 1, -1, -1},
    {"20-byte aarch64", short_aarch64, "not x86-64 (e_machine)", 183, -1, -1},
    {"cut inside e_machine", cut_in_e_machine, TRUNCATED_HEADER, 64, -1, -1},
    {"bad magic", bad_magic, "not an ELF file (bad magic)", 0x464c454d, -1, -1},
    {"32-bit", class32, "not 64-bit (EI_CLASS)", 1, -1, -1},
    {"big endian", big_endian, "not little endian", 2, -1, -1},
    {"aarch64", not_x86, "not x86-64 (e_machine)", 183, -1, -1},
    {"ET_DYN", shared_object, "not an executable (e_type)", 3, -1, -1},
    {"e_phentsize", phentsize, "e_phentsize is not 56", 32, -1, -1},
    {"phdrs past the end", phdrs_past_end, TRUNCATED_PHDRS,
     FILE_SIZE - 100 + 4 * 56, -1, -1},
    {"e_phoff overflow", phoff_overflow, "program headers outside the file",
     0xffffffffffffffc0ull, -1, -1},
    {"e_phnum 65535", phnum_huge, TRUNCATED_PHDRS, 64 + 0xffff * 56, -1, -1},
    {"e_shentsize 40", shentsize, "e_shentsize is not 64", 40, -1, -1},
    {"e_shoff 0", shoff_zero, "section headers at e_shoff 0", SHNUM, -1, -1},
    {"shdrs past the end", shdrs_past_end, TRUNCATED_SHDRS,
     FILE_SIZE - 64 + SHNUM * 64, -1, -1},
    {"e_shoff overflow", shoff_overflow, "section headers outside the file",
     0xffffffffffffffc8ull, -1, -1},
    {"e_shnum 0, no count", shnum_in_section0_zero,
     "e_shnum 0 and no count in section 0", 0, -1, -1},
    {"e_shnum 0, 2^40 sections", shnum_in_section0_huge, TRUNCATED_SHDRS,
     SHOFF + (64ull << 40), -1, -1},
    {"e_shnum 0, 2^60 sections", shnum_in_section0_overflow,
     "section headers outside the file", SHOFF, -1, -1},
    {"e_shstrndx = e_shnum", shstrndx_past_table,
     "section name table outside the section headers", SHNUM, -1, -1},
    {"e_shstrndx reserved", shstrndx_reserved,
     "section name table outside the section headers", 0xff00, -1, -1},
    {"SHN_XINDEX, sh_link 9", shstrndx_xindex_past_table,
     "section name table outside the section headers", 9, -1, -1},
    {"section past the end", section_past_end, TRUNCATED_DATA, FILE_SIZE + 0x10,
     -1, 4},
    {"section offset overflow", section_offset_overflow,
     "section data outside the file", 0xffffffffffffff00ull, -1, 2},
    {"e_phnum 0", no_phdrs, "no PT_LOAD segment", 0, -1, -1},
    {"only PT_NOTE", no_loads, "no PT_LOAD segment", 4, -1, -1},
    {"9 PT_LOADs", too_many_loads, "too many PT_LOAD segments",
     ELF_MAX_LOADS + 1, ELF_MAX_LOADS, -1},
    {"data past the end", data_past_end, TRUNCATED_DATA, 0x4100, 1, -1},
    {"p_offset overflow", data_offset_overflow, "segment data outside the file",
     0xffffffffffffff00ull, 1, -1},
    {"filesz > memsz", filesz_over_memsz, "p_filesz larger than p_memsz", 0x100,
     2, -1},
    {"memsz 0", empty_segment, "segment has p_memsz 0", 0, 1, -1},
    {"lower half", lower_half, "segment not in the higher half", 0x100000, 0,
     -1},
    {"non-canonical", non_canonical, "segment not in the higher half",
     0x0000800000001000ull, 1, -1},
    {"wraps", wraps, "segment wraps the address space", 0xfffffffffffff000ull,
     2, -1},
    {"ends in the top page", ends_in_top_page,
     "segment wraps the address space", 0xffffffffffffe000ull, 2, -1},
    {"huge p_memsz", huge_memsz, "segment wraps the address space",
     KBASE + 0x2000, 2, -1},
    {"offset/vaddr not congruent", not_congruent,
     "p_offset and p_vaddr differ modulo the page size", 0x2000, 1, -1},
    {"W+X", writable_text, "writable and executable", 7, 0, -1},
    {"overlap", overlap, "segments overlap", KBASE + 0x800, 1, -1},
    {"overlap in one page", overlap_same_page, "segments overlap",
     KBASE + 0x900, 1, -1},
    {"overlap, later first", overlap_reversed, "segments overlap", KBASE, 2,
     -1},
    {"too large", too_large, "image too large", 0x2000 + ELF_MAX_IMAGE, 2, -1},
    {"entry in rodata", entry_in_rodata,
     "entry point not in an executable segment", KBASE + 0x1000, -1, -1},
    {"entry just past text", entry_past_text,
     "entry point not in an executable segment", KBASE + 0x1000, -1, -1},
    {"entry 0", entry_zero, "entry point not in an executable segment", 0, -1,
     -1},
};

static void run_bad_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct image im;
		struct elf_image img;
		struct elf_error err;

		CASE_BEGIN(c->name);
		build(&im);
		c->mutate(&im);
		CHECK_EQ(validate(&im, 0, &img, &err), -ERR_INVALID);
		CHECK_STR(err.what, c->what);
		CHECK_EQ(err.value, c->value);
		CHECK_EQ(err.size, im.size);
		CHECK_EQ(err.segment, c->segment);
		CHECK_EQ(err.section, c->section);
		CASE_END();
	}
}

/* ---- valid images ---- */

static void test_valid(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	build(&im);
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
	CHECK_STR(err.what, NULL);
	CHECK_EQ(img.entry, KBASE + 0x10);
	CHECK_EQ(img.load_count, 3);
	CHECK_EQ(img.lowest_vaddr, KBASE);
	CHECK_EQ(img.highest_vaddr, KBASE + 0x5000);
	CHECK_EQ(img.total_pages, 5);
	CHECK_EQ(img.loads[0].vaddr, KBASE);
	CHECK_EQ(img.loads[0].paddr, 0x100000);
	CHECK_EQ(img.loads[0].offset, 0x1000);
	CHECK_EQ(img.loads[0].flags, ELF_PF_R | ELF_PF_X);
	CHECK_EQ(img.loads[1].filesz, 0x800);
	CHECK_EQ(img.loads[2].filesz, 0x100);
	CHECK_EQ(img.loads[2].memsz, 0x3000);
	CHECK_EQ(img.loads[2].flags, ELF_PF_R | ELF_PF_W);
	CHECK_EQ(img.file_end, 0x3420); /* .shstrtab's end */
}

static void test_valid_unaligned_buffer(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	build(&im);
	for (size_t shift = 1; shift < 8; shift++)
		CHECK_EQ(validate(&im, shift, &img, &err), 0);
	CHECK_EQ(img.load_count, 3);
}

static void test_valid_entry_at_last_byte(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	build(&im);
	ehdr(&im)->e_entry = KBASE + 0xfff;
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
}

/* Only PT_LOAD is checked: other headers may point anywhere. */
static void test_valid_ignores_other_headers(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	build(&im);
	phdr(&im, 3)->p_offset = 0xffffffffffffff00ull;
	phdr(&im, 3)->p_filesz = 0x1000;
	phdr(&im, 3)->p_vaddr = 0x1000;
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
}

static void test_valid_max_loads(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	build(&im);
	ehdr(&im)->e_phnum = ELF_MAX_LOADS;
	ehdr(&im)->e_entry = KBASE;
	for (int i = 0; i < ELF_MAX_LOADS; i++)
		set_load(&im, i, i == 0 ? ELF_PF_R | ELF_PF_X : ELF_PF_R,
			 0x1000, KBASE + 0x1000 * (uint64_t)i, 0x10, 0x10);
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
	CHECK_EQ(img.load_count, ELF_MAX_LOADS);
	CHECK_EQ(img.total_pages, ELF_MAX_LOADS);
}

static void test_valid_max_image(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	build(&im);
	phdr(&im, 2)->p_memsz = ELF_MAX_IMAGE - 0x2000;
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
	CHECK_EQ(img.total_pages, ELF_MAX_IMAGE / 0x1000);
}

/* The forms of the section header table the ELF specification allows. */
static void test_valid_sections(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	/* More than 65279 sections: e_shnum 0, the count in section 0. */
	build(&im);
	ehdr(&im)->e_shnum = 0;
	shdr(&im, 0)->sh_size = SHNUM;
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
	CHECK_EQ(img.file_end, 0x3420);

	/* A string table index from 65280 on: SHN_XINDEX, the index in
	 * section 0's sh_link. */
	build(&im);
	ehdr(&im)->e_shstrndx = ELF_SHN_XINDEX;
	shdr(&im, 0)->sh_link = STRTAB;
	CHECK_EQ(validate(&im, 0, &img, &err), 0);

	/* No section names at all. */
	build(&im);
	ehdr(&im)->e_shstrndx = ELF_SHN_UNDEF;
	CHECK_EQ(validate(&im, 0, &img, &err), 0);

	/* No section header table (what sstrip leaves): e_shentsize is
	 * then not looked at. */
	build(&im);
	ehdr(&im)->e_shoff = 0;
	ehdr(&im)->e_shnum = 0;
	ehdr(&im)->e_shentsize = 0;
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
	CHECK_EQ(img.file_end, 0x3100);

	/* NOBITS sections have no bytes in the file, wherever sh_offset
	 * points. */
	build(&im);
	set_section(&im, 3, ELF_SHT_NOBITS, 0xffffffffffffff00ull, 0x1000);
	CHECK_EQ(validate(&im, 0, &img, &err), 0);

	/* The table and the last section end exactly at the end of the
	 * file; one byte less is truncated. */
	build(&im);
	im.size = 0x3420;
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
	CHECK_EQ(img.file_end, im.size);
	im.size--;
	CHECK_EQ(validate(&im, 0, &img, &err), -ERR_INVALID);
	CHECK_STR(err.what, TRUNCATED_DATA);
	CHECK_EQ(err.section, STRTAB);
}

/* Segments listed out of address order, and one starting mid-page. */
static void test_valid_unordered(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	build(&im);
	set_load(&im, 0, ELF_PF_R | ELF_PF_W, 0x3010, KBASE + 0x8010, 0x10,
		 0x20);
	set_load(&im, 2, ELF_PF_R | ELF_PF_X, 0x1000, KBASE, 0x1000, 0x1000);
	CHECK_EQ(validate(&im, 0, &img, &err), 0);
	CHECK_EQ(img.lowest_vaddr, KBASE);
	CHECK_EQ(img.highest_vaddr, KBASE + 0x9000);
	CHECK_EQ(img.total_pages, 3);
	CHECK_EQ(img.loads[0].vaddr, KBASE + 0x8010);
}

/* A failed validation leaves *img alone. */
static void test_img_untouched_on_error(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;

	memset(&img, 0xaa, sizeof(img));
	build(&im);
	writable_text(&im);
	CHECK_EQ(validate(&im, 0, &img, &err), -ERR_INVALID);
	CHECK_EQ(img.entry, 0xaaaaaaaaaaaaaaaaull);
}

/* ---- messages ---- */

static void test_format(void)
{
	struct image im;
	struct elf_image img;
	struct elf_error err;
	char buf[128];
	size_t n;

	build(&im);
	writable_text(&im);
	phdr(&im, 1)->p_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X;
	validate(&im, 0, &img, &err);
	n = elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf, "segment 0: writable and executable (p_flags 0x7)");
	CHECK_EQ(n, strlen(buf));

	build(&im);
	im.size = 12;
	validate(&im, 0, &img, &err);
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf,
		  "truncated: file ends inside the ELF header (file has 12 "
		  "bytes, needs 64)");

	build(&im);
	im.size = 0;
	validate(&im, 0, &img, &err);
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf, "truncated: empty file");

	build(&im);
	section_past_end(&im);
	validate(&im, 0, &img, &err);
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf, "section 4: truncated: file ends inside its data (file "
		       "has 16384 bytes, needs 16400)");

	build(&im);
	shoff_overflow(&im);
	validate(&im, 0, &img, &err);
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(
	    buf,
	    "section headers outside the file (e_shoff 0xffffffffffffffc8)");

	build(&im);
	data_past_end(&im);
	validate(&im, 0, &img, &err);
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf, "segment 1: truncated: file ends inside its data (file "
		       "has 16384 bytes, needs 16640)");

	build(&im);
	data_offset_overflow(&im);
	validate(&im, 0, &img, &err);
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf, "segment 1: segment data outside the file (p_offset "
		       "0xffffffffffffff00)");

	build(&im);
	not_x86(&im);
	validate(&im, 0, &img, &err);
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf, "not x86-64 (e_machine 183)");

	/* Truncated output still terminates and reports the full length. */
	n = elf_error_format(&err, buf, 8);
	CHECK_STR(buf, "not x86");
	CHECK_EQ(n, strlen("not x86-64 (e_machine 183)"));

	/* An error this file did not produce. */
	err.what = "custom";
	err.value = 0x2a;
	err.segment = 3;
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf, "segment 3: custom (value 0x2a)");

	build(&im);
	bad_magic(&im);
	validate(&im, 0, &img, &err);
	elf_error_format(&err, buf, sizeof(buf));
	CHECK_STR(buf, "not an ELF file (bad magic 0x464c454d)");
}

/* Edge cases next to the bounds checks. Inputs that crash a fuzz target
 * (tests/fuzz/) are added here once fixed. */
static void test_edges(void)
{
	/* Only a header, e_phnum 1 and e_phoff at the end of the file: the
	 * table is one byte past the end. */
	struct image im;
	struct elf_image img;
	struct elf_error err;

	build(&im);
	im.size = 64 + 55;
	ehdr(&im)->e_phnum = 1;
	CHECK_EQ(validate(&im, 0, &img, &err), -ERR_INVALID);
	CHECK_STR(err.what, TRUNCATED_PHDRS);
	CHECK_EQ(err.value, 64 + 56);
}

/* ---- the real kernel, cut at every length ---- */

/*
 * The whole file is accepted and every header-described byte reaches its
 * end; every shorter length 0..size-1 is refused with an error whose
 * message starts "truncated" and that asks for more than the cut has.
 * Cuts run from the longest down, and before each the byte at the cut
 * is poisoned for ASan, so the buffer behaves as one of exactly the cut's
 * length: a read past the cut is reported, as in the table cases. (One
 * copy per length would cost size^2/2 bytes of copying.)
 */
static void check_every_cut(const char *path)
{
	struct elf_image img;
	struct elf_error err;
	uint64_t bad = 0;
	size_t size;
	uint8_t *buf = check_read_file(path, &size, false);

	CHECK(buf != NULL && size > 0);
	if (!buf || !size) {
		free(buf);
		return;
	}
	CHECK_EQ(elf_validate(buf, size, &img, &err), 0);
	CHECK_EQ(img.file_end, size);
	for (uint64_t cut = size; cut-- > 0;) {
#ifdef HAVE_ASAN
		ASAN_POISON_MEMORY_REGION(buf + cut, 1);
		if (!__asan_address_is_poisoned(buf + cut)) {
			check_fail_prefix(__FILE__, __LINE__);
			printf("ASan did not poison byte %" PRIu64 "\n", cut);
			break;
		}
#endif
		if (elf_validate(buf, cut, &img, &err) == -ERR_INVALID &&
		    err.what && strncmp(err.what, "truncated", 9) == 0 &&
		    err.value > cut)
			continue;
		/* One line for the first wrong length, a count for all. */
		if (bad++ == 0) {
			char msg[160];

			elf_error_format(&err, msg, sizeof(msg));
			check_fail_prefix(__FILE__, __LINE__);
			printf("%s cut to %" PRIu64 " of %" PRIu64
			       " bytes: not refused as truncated: %s\n",
			       path, cut, size, err.what ? msg : "accepted");
		}
	}
	if (bad) {
		check_fail_prefix(__FILE__, __LINE__);
		printf("%" PRIu64 " of %" PRIu64 " cut lengths wrong\n", bad,
		       size);
	}
#ifdef HAVE_ASAN
	ASAN_UNPOISON_MEMORY_REGION(buf, size);
#endif
	free(buf);
}

static void test_cut_kernel(void)
{
	check_every_cut(KERNEL_ELF_PATH);
}

static void test_cut_kernel_stripped(void)
{
	check_every_cut(KERNEL_ESP_ELF_PATH);
}

int main(void)
{
	run_bad_cases();
	RUN(test_valid);
	RUN(test_valid_unaligned_buffer);
	RUN(test_valid_entry_at_last_byte);
	RUN(test_valid_ignores_other_headers);
	RUN(test_valid_max_loads);
	RUN(test_valid_max_image);
	RUN(test_valid_sections);
	RUN(test_valid_unordered);
	RUN(test_img_untouched_on_error);
	RUN(test_format);
	RUN(test_edges);
	RUN(test_cut_kernel);
	RUN(test_cut_kernel_stripped);
	return check_summary();
}
