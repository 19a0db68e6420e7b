/*
 * ELF64 kernel-image validation (see elf.h for what is accepted).
 *
 * The file is untrusted bytes of any alignment: headers are copied into
 * local structs before they are read, and every offset is checked against
 * the size with overflow-safe arithmetic before anything at it is touched.
 *
 * Every refusal is one row of the table below: the message the loader
 * prints (stable wording: the boot tests grep for it) and the name of the
 * field whose value is reported with it, or NULL when the message already
 * ends in a parenthesis naming it (the value then goes inside).
 */
#include "common/boot/elf.h"
#include "common/lib/fmt.h"
#include "common/lib/string.h"

enum refusal {
	R_EMPTY_FILE,
	R_TRUNC_HEADER,
	R_TRUNC_PHDRS,
	R_TRUNC_SHDRS,
	R_TRUNC_DATA,
	R_MAGIC,
	R_CLASS,
	R_DATA,
	R_MACHINE,
	R_TYPE,
	R_PHENTSIZE,
	R_PHDRS_OUTSIDE,
	R_SHENTSIZE,
	R_SHOFF_ZERO,
	R_SHDRS_OUTSIDE,
	R_SHNUM_MISSING,
	R_SHSTRNDX,
	R_SECTION_OUTSIDE,
	R_NO_LOAD,
	R_TOO_MANY_LOADS,
	R_DATA_OUTSIDE,
	R_FILESZ,
	R_EMPTY,
	R_LOWER_HALF,
	R_WRAPS,
	R_CONGRUENCE,
	R_WX,
	R_OVERLAP,
	R_TOO_LARGE,
	R_ENTRY,
};

/* How a row's value is printed. */
enum style {
	S_HEX,       /* "what (field 0x1f)" */
	S_DEC,       /* "what (field 31)" */
	S_IN_HEX,    /* what ends in "(field)": "what (field 0x1f)" */
	S_IN_DEC,    /* the same in decimal */
	S_TRUNCATED, /* "what (file has N bytes, needs M)" */
	S_BARE,      /* what alone */
};

static const struct {
	const char *what;
	const char *field; /* names the value for S_HEX and S_DEC */
	enum style style;
} refusals[] = {
    [R_EMPTY_FILE] = {"truncated: empty file", NULL, S_BARE},
    [R_TRUNC_HEADER] = {"truncated: file ends inside the ELF header", NULL,
			S_TRUNCATED},
    [R_TRUNC_PHDRS] = {"truncated: file ends inside the program headers", NULL,
		       S_TRUNCATED},
    [R_TRUNC_SHDRS] = {"truncated: file ends inside the section headers", NULL,
		       S_TRUNCATED},
    [R_TRUNC_DATA] = {"truncated: file ends inside its data", NULL,
		      S_TRUNCATED},
    [R_MAGIC] = {"not an ELF file (bad magic)", NULL, S_IN_HEX},
    [R_CLASS] = {"not 64-bit (EI_CLASS)", NULL, S_IN_DEC},
    [R_DATA] = {"not little endian", "EI_DATA", S_DEC},
    [R_MACHINE] = {"not x86-64 (e_machine)", NULL, S_IN_DEC},
    [R_TYPE] = {"not an executable (e_type)", NULL, S_IN_DEC},
    [R_PHENTSIZE] = {"e_phentsize is not 56", "e_phentsize", S_DEC},
    [R_PHDRS_OUTSIDE] = {"program headers outside the file", "e_phoff", S_HEX},
    [R_SHENTSIZE] = {"e_shentsize is not 64", "e_shentsize", S_DEC},
    [R_SHOFF_ZERO] = {"section headers at e_shoff 0", "e_shnum", S_DEC},
    [R_SHDRS_OUTSIDE] = {"section headers outside the file", "e_shoff", S_HEX},
    [R_SHNUM_MISSING] = {"e_shnum 0 and no count in section 0", "sh_size",
			 S_DEC},
    [R_SHSTRNDX] = {"section name table outside the section headers",
		    "e_shstrndx", S_DEC},
    [R_SECTION_OUTSIDE] = {"section data outside the file", "sh_offset", S_HEX},
    [R_NO_LOAD] = {"no PT_LOAD segment", "e_phnum", S_DEC},
    [R_TOO_MANY_LOADS] = {"too many PT_LOAD segments", "PT_LOAD count", S_DEC},
    [R_DATA_OUTSIDE] = {"segment data outside the file", "p_offset", S_HEX},
    [R_FILESZ] = {"p_filesz larger than p_memsz", "p_filesz", S_HEX},
    [R_EMPTY] = {"segment has p_memsz 0", "p_memsz", S_HEX},
    [R_LOWER_HALF] = {"segment not in the higher half", "p_vaddr", S_HEX},
    [R_WRAPS] = {"segment wraps the address space", "p_vaddr", S_HEX},
    [R_CONGRUENCE] = {"p_offset and p_vaddr differ modulo the page size",
		      "p_offset", S_HEX},
    [R_WX] = {"writable and executable", "p_flags", S_HEX},
    [R_OVERLAP] = {"segments overlap", "p_vaddr", S_HEX},
    [R_TOO_LARGE] = {"image too large", "bytes", S_HEX},
    [R_ENTRY] = {"entry point not in an executable segment", "e_entry", S_HEX},
};

/* The top page of the address space is never part of a segment, so that
 * rounding a segment's end up to a page cannot overflow. */
#define VADDR_LIMIT (0ull - PAGE_SIZE)

static int refuse(struct elf_error *err, enum refusal r, uint64_t value,
		  int32_t segment)
{
	err->what = refusals[r].what;
	err->value = value;
	err->segment = segment;
	return -ERR_INVALID;
}

/*
 * Checks that [offset, offset + len) is inside the file. A range that
 * ends past the file's end is a truncated file (value: the size it
 * needs); one whose end does not fit in 64 bits cannot come from a cut
 * and is refused as `outside`. *end grows to the range's end.
 */
static int check_range(uint64_t offset, uint64_t len, uint64_t size,
		       uint64_t *end, enum refusal truncated,
		       enum refusal outside, int32_t segment,
		       struct elf_error *err)
{
	if (add_overflows(offset, len))
		return refuse(err, outside, offset, segment);
	if (offset + len > size)
		return refuse(err, truncated, offset + len, segment);
	if (offset + len > *end)
		*end = offset + len;
	return 0;
}

/*
 * The ELF header, of which a cut file may hold only a part: each field is
 * checked when the file has its bytes (so a short 32-bit file says
 * "not 64-bit"), and a file that ends before the header does while all
 * it has is right is truncated. *eh is the file's first bytes padded
 * with zeros.
 */
static int check_header(const struct elf64_ehdr *eh, uint64_t size,
			struct elf_error *err)
{
	static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};

	if (mem_cmp(eh->e_ident, magic, size < 4 ? size : 4) != 0) {
		uint32_t first;

		mem_copy(&first, eh->e_ident, sizeof(first));
		return refuse(err, R_MAGIC, first, -1);
	}
	if (size > 4 && eh->e_ident[4] != ELF_CLASS64)
		return refuse(err, R_CLASS, eh->e_ident[4], -1);
	if (size > 5 && eh->e_ident[5] != ELF_DATA2LSB)
		return refuse(err, R_DATA, eh->e_ident[5], -1);
	if (size >= offsetof(struct elf64_ehdr, e_machine) + 2 &&
	    eh->e_machine != ELF_EM_X86_64)
		return refuse(err, R_MACHINE, eh->e_machine, -1);
	if (size >= offsetof(struct elf64_ehdr, e_type) + 2 &&
	    eh->e_type != ELF_ET_EXEC)
		return refuse(err, R_TYPE, eh->e_type, -1);
	if (size == 0)
		return refuse(err, R_EMPTY_FILE, sizeof(*eh), -1);
	if (size < sizeof(*eh))
		return refuse(err, R_TRUNC_HEADER, sizeof(*eh), -1);
	if (eh->e_phentsize != sizeof(struct elf64_phdr))
		return refuse(err, R_PHENTSIZE, eh->e_phentsize, -1);
	return 0;
}

static void read_shdr(const uint8_t *bytes, uint64_t shoff, uint64_t i,
		      struct elf64_shdr *sh)
{
	mem_copy(sh, bytes + shoff + i * sizeof(*sh), sizeof(*sh));
}

/*
 * The section header table and every section's bytes, when there is a
 * table. Nothing in the loader reads sections; they are checked so that
 * a cut anywhere in the file is noticed (the table is a linker's last
 * output) and a table that makes no sense is not taken for a kernel.
 */
static int check_sections(const uint8_t *bytes, const struct elf64_ehdr *eh,
			  uint64_t size, uint64_t *end, struct elf_error *err)
{
	struct elf64_shdr sh0, sh;
	uint64_t count = eh->e_shnum, strndx = eh->e_shstrndx;
	int rc;

	if (eh->e_shoff == 0 && eh->e_shnum == 0)
		return 0; /* no table (e_shstrndx is then meaningless) */
	if (eh->e_shentsize != sizeof(sh))
		return refuse(err, R_SHENTSIZE, eh->e_shentsize, -1);
	/* Offset 0 holds the ELF header, and e_shoff 0 means "no table". */
	if (eh->e_shoff == 0)
		return refuse(err, R_SHOFF_ZERO, eh->e_shnum, -1);
	rc = check_range(eh->e_shoff, sizeof(sh0), size, end, R_TRUNC_SHDRS,
			 R_SHDRS_OUTSIDE, -1, err);
	if (rc)
		return rc;
	read_shdr(bytes, eh->e_shoff, 0, &sh0);
	/* 65280 sections or more: e_shnum is 0 and section 0 counts them;
	 * an index of the string table from 65280 on is in its sh_link. */
	if (count == 0) {
		count = sh0.sh_size;
		if (count == 0)
			return refuse(err, R_SHNUM_MISSING, 0, -1);
	}
	if (count > UINT64_MAX / sizeof(sh))
		return refuse(err, R_SHDRS_OUTSIDE, eh->e_shoff, -1);
	rc = check_range(eh->e_shoff, count * sizeof(sh), size, end,
			 R_TRUNC_SHDRS, R_SHDRS_OUTSIDE, -1, err);
	if (rc)
		return rc;
	if (strndx == ELF_SHN_XINDEX)
		strndx = sh0.sh_link;
	else if (strndx >= ELF_SHN_LORESERVE)
		return refuse(err, R_SHSTRNDX, strndx, -1);
	if (strndx != ELF_SHN_UNDEF && strndx >= count)
		return refuse(err, R_SHSTRNDX, strndx, -1);

	/* The table is inside the file, so count < size / 64: this loop
	 * is bounded by the file, whatever the headers say. */
	for (uint64_t i = 1; i < count; i++) {
		read_shdr(bytes, eh->e_shoff, i, &sh);
		if (sh.sh_type == ELF_SHT_NULL || sh.sh_type == ELF_SHT_NOBITS)
			continue;
		rc = check_range(sh.sh_offset, sh.sh_size, size, end,
				 R_TRUNC_DATA, R_SECTION_OUTSIDE, -1, err);
		if (rc) {
			err->section = (int64_t)i;
			return rc;
		}
	}
	return 0;
}

/* Checks one PT_LOAD on its own; overlap needs the others. */
static int check_load(const struct elf64_phdr *ph, uint64_t size, int32_t index,
		      uint64_t *end, struct elf_error *err)
{
	int rc = check_range(ph->p_offset, ph->p_filesz, size, end,
			     R_TRUNC_DATA, R_DATA_OUTSIDE, index, err);

	if (rc)
		return rc;
	if (ph->p_filesz > ph->p_memsz)
		return refuse(err, R_FILESZ, ph->p_filesz, index);
	/* An empty segment maps nothing and would make the loader ask the
	 * firmware for zero pages: most likely a broken linker script. */
	if (ph->p_memsz == 0)
		return refuse(err, R_EMPTY, ph->p_memsz, index);
	if (ph->p_vaddr < ELF_HIGHER_HALF)
		return refuse(err, R_LOWER_HALF, ph->p_vaddr, index);
	if (add_overflows(ph->p_vaddr, ph->p_memsz) ||
	    ph->p_vaddr + ph->p_memsz > VADDR_LIMIT)
		return refuse(err, R_WRAPS, ph->p_vaddr, index);
	if ((ph->p_offset - ph->p_vaddr) % PAGE_SIZE != 0)
		return refuse(err, R_CONGRUENCE, ph->p_offset, index);
	if ((ph->p_flags & ELF_PF_W) && (ph->p_flags & ELF_PF_X))
		return refuse(err, R_WX, ph->p_flags, index);
	return 0;
}

static uint64_t load_start(const struct elf_load *l)
{
	return ALIGN_DOWN(l->vaddr, PAGE_SIZE);
}

static uint64_t load_end(const struct elf_load *l)
{
	return ALIGN_UP(l->vaddr + l->memsz, PAGE_SIZE);
}

/*
 * Segment numbers in messages are indices into the program header table
 * (what `readelf -l` lists), not counts of PT_LOADs. img is written only
 * on success.
 */
int elf_validate(const void *file, uint64_t size, struct elf_image *img,
		 struct elf_error *err)
{
	const uint8_t *bytes = file;
	struct elf64_ehdr eh;
	struct elf_image out;
	uint64_t total = 0, end;
	int rc;

	err->what = NULL;
	err->value = 0;
	err->size = size;
	err->segment = -1;
	err->section = -1;
	mem_set(&eh, 0, sizeof(eh));
	if (size)
		mem_copy(&eh, bytes, size < sizeof(eh) ? size : sizeof(eh));
	rc = check_header(&eh, size, err);
	if (rc)
		return rc;
	end = sizeof(eh);
	/* e_phnum < 2^16, so the table's size cannot overflow. With no
	 * entries, e_phoff points at nothing and is not checked. */
	rc = eh.e_phnum == 0
		 ? 0
		 : check_range(eh.e_phoff,
			       (uint64_t)eh.e_phnum * sizeof(struct elf64_phdr),
			       size, &end, R_TRUNC_PHDRS, R_PHDRS_OUTSIDE, -1,
			       err);
	if (rc)
		return rc;
	rc = check_sections(bytes, &eh, size, &end, err);
	if (rc)
		return rc;

	mem_set(&out, 0, sizeof(out));
	out.entry = eh.e_entry;
	for (uint32_t i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph;
		struct elf_load *l;

		mem_copy(&ph, bytes + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != ELF_PT_LOAD)
			continue;
		if (out.load_count == ELF_MAX_LOADS)
			return refuse(err, R_TOO_MANY_LOADS, out.load_count + 1,
				      (int32_t)i);
		rc = check_load(&ph, size, (int32_t)i, &end, err);
		if (rc)
			return rc;

		l = &out.loads[out.load_count];
		l->vaddr = ph.p_vaddr;
		l->paddr = ph.p_paddr;
		l->offset = ph.p_offset;
		l->filesz = ph.p_filesz;
		l->memsz = ph.p_memsz;
		l->flags = ph.p_flags;
		for (uint32_t j = 0; j < out.load_count; j++) {
			const struct elf_load *o = &out.loads[j];

			if (load_start(l) < load_end(o) &&
			    load_start(o) < load_end(l))
				return refuse(err, R_OVERLAP, ph.p_vaddr,
					      (int32_t)i);
		}
		/* Each segment is below 2^64 and there are at most 8, but
		 * their sum is checked as it grows anyway. */
		total += load_end(l) - load_start(l);
		if (total > ELF_MAX_IMAGE)
			return refuse(err, R_TOO_LARGE, total, (int32_t)i);
		if (out.load_count == 0 || load_start(l) < out.lowest_vaddr)
			out.lowest_vaddr = load_start(l);
		if (load_end(l) > out.highest_vaddr)
			out.highest_vaddr = load_end(l);
		out.load_count++;
	}
	if (out.load_count == 0)
		return refuse(err, R_NO_LOAD, eh.e_phnum, -1);

	for (uint32_t j = 0;; j++) {
		const struct elf_load *l = &out.loads[j];

		if (j == out.load_count)
			return refuse(err, R_ENTRY, eh.e_entry, -1);
		if ((l->flags & ELF_PF_X) && eh.e_entry >= l->vaddr &&
		    eh.e_entry - l->vaddr < l->memsz)
			break;
	}
	out.total_pages = total / PAGE_SIZE;
	out.file_end = end;
	*img = out;
	return 0;
}

size_t elf_error_format(const struct elf_error *err, char *buf, size_t cap)
{
	const char *field = "value";
	enum style style = S_HEX;
	char where[32] = "";
	char msg[80];
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		if (err->what == refusals[i].what) {
			field = refusals[i].field;
			style = refusals[i].style;
		}
	}
	if (err->segment >= 0)
		fmt_snprintf(where, sizeof(where),
			     "segment %d: ", err->segment);
	else if (err->section >= 0)
		fmt_snprintf(where, sizeof(where),
			     "section %lu: ", (uint64_t)err->section);
	if (!err->what)
		return fmt_snprintf(buf, cap, "%sno error", where);
	switch (style) {
	case S_HEX:
		return fmt_snprintf(buf, cap, "%s%s (%s 0x%lx)", where,
				    err->what, field, err->value);
	case S_DEC:
		return fmt_snprintf(buf, cap, "%s%s (%s %lu)", where, err->what,
				    field, err->value);
	case S_TRUNCATED:
		return fmt_snprintf(buf, cap,
				    "%s%s (file has %lu bytes, needs %lu)",
				    where, err->what, err->size, err->value);
	case S_BARE:
		return fmt_snprintf(buf, cap, "%s%s", where, err->what);
	case S_IN_HEX:
	case S_IN_DEC:
		break;
	}
	/* "not x86-64 (e_machine)" becomes "not x86-64 (e_machine 183)":
	 * copy the message without its ')' and put the value before it. */
	len = str_len(err->what);
	str_copy(msg, err->what, len < sizeof(msg) ? len : sizeof(msg));
	return fmt_snprintf(buf, cap,
			    style == S_IN_DEC ? "%s%s %lu)" : "%s%s 0x%lx)",
			    where, msg, err->value);
}
