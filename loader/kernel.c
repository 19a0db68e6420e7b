/*
 * The kernel image: read the file, validate it (common/boot/elf.c, the same
 * code the host tests and the fuzzer run), and give each PT_LOAD segment
 * pages of its own.
 *
 * Physical placement is the firmware's choice (AllocateAnyPages): p_paddr
 * is ignored, because nothing says the addresses the kernel was linked
 * for are free RAM on this machine. The pages get the memory type
 * EFI_TYPE_LOADER_KERNEL so the kernel finds its own image in the map.
 */
#include "loader.h"

#include "common/lib/string.h"
#include "common/mm/memmap.h"

/* An empty file is left to elf_validate, which calls it truncated. */
static EFI_STATUS read_kernel(struct loader *l)
{
	struct kernel *k = &l->kernel;
	EFI_STATUS s;

	s = file_read_all(l, "kernel ", l->cfg.kernel, &k->file, &k->file_size);
	if (s == EFI_NOT_FOUND)
		return loader_error(s, "kernel %s: not found", l->cfg.kernel);
	return s;
}

/* Copies one segment into freshly allocated pages: the bytes before
 * p_vaddr in its first page and after p_filesz are zero (.bss). */
static EFI_STATUS load_segment(struct loader *l, uint32_t i)
{
	struct kernel *k = &l->kernel;
	const struct elf_load *e = &k->elf.loads[i];
	struct bi_segment *seg = &k->seg[i];
	uint64_t virt = ALIGN_DOWN(e->vaddr, PAGE_SIZE);
	uint64_t size = ALIGN_UP(e->vaddr + e->memsz, PAGE_SIZE) - virt;
	uint64_t head = e->vaddr - virt;
	EFI_PHYSICAL_ADDRESS phys;
	EFI_STATUS s;
	uint8_t *dst;

	s = efi_bs->AllocatePages(AllocateAnyPages,
				  (EFI_MEMORY_TYPE)EFI_TYPE_LOADER_KERNEL,
				  size / PAGE_SIZE, &phys);
	if (EFI_ERROR(s))
		return loader_error(s,
				    "kernel %s: segment %u: cannot "
				    "allocate %lu pages (%s)",
				    l->cfg.kernel, i, size / PAGE_SIZE,
				    efi_status_name(s));
	/* The firmware identity-maps RAM: phys is usable as a pointer. */
	dst = (uint8_t *)(uintptr_t)phys;
	mem_set(dst, 0, head);
	mem_copy(dst + head, (const uint8_t *)k->file + e->offset, e->filesz);
	mem_set(dst + head + e->filesz, 0, size - head - e->filesz);

	seg->virt = virt;
	seg->phys = phys;
	seg->size = size;
	seg->flags = e->flags & (BI_SEG_R | BI_SEG_W | BI_SEG_X);
	k->seg_count = i + 1;
	return EFI_SUCCESS;
}

static void kernel_free_file(struct kernel *k)
{
	if (k->file) {
		efi_bs->FreePool(k->file);
		k->file = NULL;
	}
}

EFI_STATUS kernel_load(struct loader *l)
{
	struct kernel *k = &l->kernel;
	struct elf_error err;
	char why[128];
	EFI_STATUS s;

	s = read_kernel(l);
	if (EFI_ERROR(s))
		return s;
	loader_phase_end(l, BI_PHASE_KERNEL_READ);
	/* Every byte of the file, always: the boot info carries the digest
	 * (the kernel prints it), and a signed loader compares it with its
	 * embedded hash before elf_validate reads a byte. */
	k->hash_ticks = cpu_rdtsc();
	sha256(k->file, k->file_size, k->sha256);
	k->hash_ticks = cpu_rdtsc() - k->hash_ticks;
	s = secureboot_verify_kernel(l->cfg.kernel, k->sha256);
	if (EFI_ERROR(s))
		return s;
	loader_phase_end(l, BI_PHASE_KERNEL_HASH);
	if (elf_validate(k->file, k->file_size, &k->elf, &err) != 0) {
		elf_error_format(&err, why, sizeof(why));
		return loader_error(EFI_LOAD_ERROR, "kernel %s: %s",
				    l->cfg.kernel, why);
	}
	for (uint32_t i = 0; i < k->elf.load_count; i++) {
		s = load_segment(l, i);
		if (EFI_ERROR(s))
			return s;
	}
	loader_phase_end(l, BI_PHASE_VALIDATE_COPY);
	/* Measured while the file is still in memory, so PCR 9 gets the
	 * very bytes that were validated and loaded, not a second read. */
	measure_boot(l);
	/* Everything needed is in the segments now. The file buffer stays
	 * allocated (a failure later frees it in kernel_free): it is loader
	 * data, which the kernel reclaims, and OVMF's FreePool of it cost
	 * about 200,000 instructions, 0.35 ms under TCG. */
	loader_phase_end(l, BI_PHASE_TPM_MEASURE);
	return EFI_SUCCESS;
}

void kernel_free(struct kernel *k)
{
	kernel_free_file(k);
	for (uint32_t i = 0; i < k->seg_count; i++)
		if (k->seg[i].phys)
			efi_bs->FreePages(k->seg[i].phys,
					  k->seg[i].size / PAGE_SIZE);
	k->seg_count = 0;
}
