/*
 * elf_validate on arbitrary bytes. The input is copied into a buffer of
 * exactly its size, so ASan catches any read outside the file; an
 * accepted image must satisfy everything elf.h promises, including the
 * truncation contract: the file cut to img.file_end is accepted as the
 * same image, and one byte shorter it is refused as truncated. A refusal
 * that says "truncated" asks for more bytes than the file has.
 */
#include "common/boot/elf.h"
#include "common/lib/string.h"
#include "tests/fuzz/fuzz_check.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_image(const struct elf_image *img, uint64_t size)
{
	uint64_t pages = 0;
	bool entry_ok = false;

	FUZZ_ASSERT(img->load_count >= 1 && img->load_count <= ELF_MAX_LOADS);
	for (uint32_t i = 0; i < img->load_count; i++) {
		const struct elf_load *l = &img->loads[i];
		uint64_t start = ALIGN_DOWN(l->vaddr, PAGE_SIZE);
		uint64_t end;

		FUZZ_ASSERT(l->offset <= size && l->filesz <= size - l->offset);
		FUZZ_ASSERT(l->filesz <= l->memsz && l->memsz > 0);
		FUZZ_ASSERT(l->vaddr >= ELF_HIGHER_HALF);
		FUZZ_ASSERT(!add_overflows(l->vaddr, l->memsz));
		end = ALIGN_UP(l->vaddr + l->memsz, PAGE_SIZE);
		FUZZ_ASSERT(end > start);
		FUZZ_ASSERT((l->offset - l->vaddr) % PAGE_SIZE == 0);
		FUZZ_ASSERT(!((l->flags & ELF_PF_W) && (l->flags & ELF_PF_X)));
		FUZZ_ASSERT(start >= img->lowest_vaddr);
		FUZZ_ASSERT(end <= img->highest_vaddr);
		for (uint32_t j = 0; j < i; j++) {
			const struct elf_load *o = &img->loads[j];

			FUZZ_ASSERT(
			    end <= ALIGN_DOWN(o->vaddr, PAGE_SIZE) ||
			    start >= ALIGN_UP(o->vaddr + o->memsz, PAGE_SIZE));
		}
		if ((l->flags & ELF_PF_X) && img->entry >= l->vaddr &&
		    img->entry - l->vaddr < l->memsz)
			entry_ok = true;
		pages += (end - start) / PAGE_SIZE;
	}
	FUZZ_ASSERT(entry_ok);
	FUZZ_ASSERT(pages == img->total_pages);
	FUZZ_ASSERT(pages * PAGE_SIZE <= ELF_MAX_IMAGE);
	FUZZ_ASSERT(img->file_end >= sizeof(struct elf64_ehdr));
	FUZZ_ASSERT(img->file_end <= size);
}

static bool is_truncated(const struct elf_error *err)
{
	return err->what && strncmp(err->what, "truncated", 9) == 0;
}

/* Validates the first len bytes of data in a buffer of exactly len. */
static int validate_prefix(const uint8_t *data, uint64_t len,
			   struct elf_image *img, struct elf_error *err)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, data, len);
	rc = elf_validate(copy, len, img, err);
	free(copy);
	return rc;
}

static void check_cuts(const uint8_t *data, const struct elf_image *img)
{
	struct elf_image cut_img;
	struct elf_error err;

	FUZZ_ASSERT(validate_prefix(data, img->file_end, &cut_img, &err) == 0);
	FUZZ_ASSERT(memcmp(&cut_img, img, sizeof(cut_img)) == 0);
	FUZZ_ASSERT(validate_prefix(data, img->file_end - 1, &cut_img, &err) ==
		    -ERR_INVALID);
	FUZZ_ASSERT(is_truncated(&err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct elf_image img;
	struct elf_error err;
	char msg[160];
	size_t n;

	memcpy(copy, data, size);
	if (elf_validate(copy, size, &img, &err) == 0) {
		FUZZ_ASSERT(err.what == NULL);
		check_image(&img, size);
		check_cuts(data, &img);
	} else {
		FUZZ_ASSERT(err.what != NULL);
		FUZZ_ASSERT(err.size == size);
		FUZZ_ASSERT(err.segment >= -1 && err.segment < 0xffff);
		FUZZ_ASSERT(err.section == -1 ||
			    (err.section >= 0 &&
			     (uint64_t)err.section < size / 64 + 1));
		FUZZ_ASSERT(err.segment < 0 || err.section < 0);
		FUZZ_ASSERT(!is_truncated(&err) || err.value > size);
		n = elf_error_format(&err, msg, sizeof(msg));
		FUZZ_ASSERT(n < sizeof(msg) && strlen(msg) == n);
	}
	free(copy);
	return 0;
}
