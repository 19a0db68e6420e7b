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
#include "elf.h"
#include "fmt.h"
#include "string.h"

enum refusal {
	R_TOO_SMALL,
	R_MAGIC,
	R_CLASS,
	R_DATA,
	R_MACHINE,
	R_TYPE,
	R_PHENTSIZE,
	R_PHDRS_OUTSIDE,
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

static const struct {
	const char *what;
	const char *field; /* names the value; NULL: see above */
	bool decimal;
} refusals[] = {
	[R_TOO_SMALL] = {"file too small for an ELF header", "size", true},
	[R_MAGIC] = {"not an ELF file (bad magic)", NULL, false},
	[R_CLASS] = {"not 64-bit (EI_CLASS)", NULL, true},
	[R_DATA] = {"not little endian", "EI_DATA", true},
	[R_MACHINE] = {"not x86-64 (e_machine)", NULL, true},
	[R_TYPE] = {"not an executable (e_type)", NULL, true},
	[R_PHENTSIZE] = {"e_phentsize is not 56", "e_phentsize", true},
	[R_PHDRS_OUTSIDE] = {"program headers outside the file", "e_phoff", false},
	[R_NO_LOAD] = {"no PT_LOAD segment", "e_phnum", true},
	[R_TOO_MANY_LOADS] = {"too many PT_LOAD segments", "PT_LOAD count", true},
	[R_DATA_OUTSIDE] = {"segment data outside the file", "p_offset", false},
	[R_FILESZ] = {"p_filesz larger than p_memsz", "p_filesz", false},
	[R_EMPTY] = {"segment has p_memsz 0", "p_memsz", false},
	[R_LOWER_HALF] = {"segment not in the higher half", "p_vaddr", false},
	[R_WRAPS] = {"segment wraps the address space", "p_vaddr", false},
	[R_CONGRUENCE] = {"p_offset and p_vaddr differ modulo the page size",
		      "p_offset", false},
	[R_WX] = {"writable and executable", "p_flags", false},
	[R_OVERLAP] = {"segments overlap", "p_vaddr", false},
	[R_TOO_LARGE] = {"image too large", "bytes", false},
	[R_ENTRY] = {"entry point not in an executable segment", "e_entry", false},
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

static int check_header(const struct elf64_ehdr *eh, uint64_t size,
			struct elf_error *err)
{
	static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};
	uint64_t table;

	if (mem_cmp(eh->e_ident, magic, sizeof(magic)) != 0) {
		uint32_t first;

		mem_copy(&first, eh->e_ident, sizeof(first));
		return refuse(err, R_MAGIC, first, -1);
	}
	if (eh->e_ident[4] != ELF_CLASS64)
		return refuse(err, R_CLASS, eh->e_ident[4], -1);
	if (eh->e_ident[5] != ELF_DATA2LSB)
		return refuse(err, R_DATA, eh->e_ident[5], -1);
	if (eh->e_machine != ELF_EM_X86_64)
		return refuse(err, R_MACHINE, eh->e_machine, -1);
	if (eh->e_type != ELF_ET_EXEC)
		return refuse(err, R_TYPE, eh->e_type, -1);
	if (eh->e_phentsize != sizeof(struct elf64_phdr))
		return refuse(err, R_PHENTSIZE, eh->e_phentsize, -1);
	/* e_phnum < 2^16, so the table's size cannot overflow. */
	table = (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr);
	if (eh->e_phoff > size || table > size - eh->e_phoff)
		return refuse(err, R_PHDRS_OUTSIDE, eh->e_phoff, -1);
	return 0;
}

/* Checks one PT_LOAD on its own; overlap needs the others. */
static int check_load(const struct elf64_phdr *ph, uint64_t size, int32_t index,
		      struct elf_error *err)
{
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return refuse(err, R_DATA_OUTSIDE, ph->p_offset, index);
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
	uint64_t total = 0;
	int rc;

	err->what = NULL;
	err->value = 0;
	err->segment = -1;
	if (size < sizeof(eh))
		return refuse(err, R_TOO_SMALL, size, -1);
	mem_copy(&eh, bytes, sizeof(eh));
	rc = check_header(&eh, size, err);
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
		rc = check_load(&ph, size, (int32_t)i, err);
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
	*img = out;
	return 0;
}

size_t elf_error_format(const struct elf_error *err, char *buf, size_t cap)
{
	const char *field = "value";
	bool decimal = false;
	char seg[24] = "";
	char msg[80];
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		if (err->what == refusals[i].what) {
			field = refusals[i].field;
			decimal = refusals[i].decimal;
		}
	}
	if (err->segment >= 0)
		fmt_snprintf(seg, sizeof(seg), "segment %d: ", err->segment);
	if (!err->what)
		return fmt_snprintf(buf, cap, "%sno error", seg);
	if (field) {
		const char *f = decimal ? "%s%s (%s %lu)" : "%s%s (%s 0x%lx)";

		return fmt_snprintf(buf, cap, f, seg, err->what, field,
				    err->value);
	}
	/* "not x86-64 (e_machine)" becomes "not x86-64 (e_machine 183)":
	 * copy the message without its ')' and put the value before it. */
	len = str_len(err->what);
	str_copy(msg, err->what, len < sizeof(msg) ? len : sizeof(msg));
	return fmt_snprintf(buf, cap, decimal ? "%s%s %lu)" : "%s%s 0x%lx)",
			    seg, msg, err->value);
}
