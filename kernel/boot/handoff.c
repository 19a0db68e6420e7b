/*
 * Taking over the boot info: copy, check, copy what it points to.
 *
 * Until the kernel runs on its own page tables, physical memory is
 * reached through the identity map the loader (or the PVH entry) left in
 * place; boot_phys() is the one place that assumes so.
 */
#include "kernel/boot/handoff.h"

#include "common/lib/string.h"
#include "kernel/boot/panic.h"

static struct handoff h;

static const void *boot_phys(uint64_t phys)
{
	return (const void *)(uintptr_t)phys;
}

const struct handoff *handoff_get(void)
{
	return &h;
}

void handoff_copy_info(uint64_t bi_phys)
{
	h.phys = bi_phys;
	if (bi_phys == 0)
		panic("boot", "no boot info (address 0 in rdi)");
	/* Its first byte is read first, so a bad pointer faults naming the
	 * address it was given (mem_copy may copy from the end). */
	(void)*(const volatile uint8_t *)boot_phys(bi_phys);
	mem_copy(&h.info, boot_phys(bi_phys), sizeof(h.info));
}

void handoff_check_version(void)
{
	const struct boot_info *bi = &h.info;
	const char *why = bootinfo_check(bi);

	if (why)
		panic("boot",
		      "boot info at 0x%lx refused: %s (magic 0x%lx version %u "
		      "size %u; expected magic 0x%lx version %u size %u)",
		      h.phys, why, bi->magic, bi->version, bi->size,
		      BOOTINFO_MAGIC, BOOTINFO_VERSION,
		      (uint32_t)sizeof(struct boot_info));
}

void handoff_check(void)
{
	const struct boot_info *bi = &h.info;

	if (bi->source != BOOT_SOURCE_UEFI && bi->source != BOOT_SOURCE_PVH)
		panic("boot", "boot info: unknown source %u", bi->source);
	if (bi->segment_count == 0 || bi->segment_count > BI_MAX_SEGMENTS)
		panic("boot", "boot info: segment_count %u (1..%u allowed)",
		      bi->segment_count, BI_MAX_SEGMENTS);
	if (bi->mmap_entry_size != sizeof(struct bi_mem_range))
		panic("boot", "boot info: mmap_entry_size %u, expected %u",
		      bi->mmap_entry_size,
		      (uint32_t)sizeof(struct bi_mem_range));
	if (bi->mmap_count == 0 || bi->mmap_addr == 0)
		panic("boot", "boot info: no memory map (%u entries at 0x%lx)",
		      bi->mmap_count, bi->mmap_addr);
	if (bi->cmdline_len != 0 && bi->cmdline_addr == 0)
		panic("boot", "boot info: command line of %u bytes at 0x0",
		      bi->cmdline_len);
}

/* The contract says: sorted by base, disjoint, page-aligned, known
 * types and attribute bits. Everything that later trusts the map (the frame
 * allocator) relies on it, so a loader that breaks it is stopped here, by entry
 * number. */
static void check_mmap(void)
{
	uint64_t prev_end = 0;

	for (uint32_t i = 0; i < h.mmap_count; i++) {
		const struct bi_mem_range *r = &h.mmap[i];
		if (r->type == MEM_NONE || r->type >= MEM_TYPE_COUNT)
			panic("boot", "memory map entry %u: unknown type %u", i,
			      r->type);
		if (r->attr & ~BI_MEM_ATTR_MASK)
			panic("boot",
			      "memory map entry %u: unknown attribute "
			      "bits 0x%x",
			      i, r->attr & ~BI_MEM_ATTR_MASK);
		if (r->size == 0 || !IS_ALIGNED(r->base, PAGE_SIZE) ||
		    !IS_ALIGNED(r->size, PAGE_SIZE) ||
		    add_overflows(r->base, r->size))
			panic("boot",
			      "memory map entry %u: bad range base 0x%lx size "
			      "0x%lx",
			      i, r->base, r->size);
		if (i > 0 && r->base < prev_end)
			panic("boot",
			      "memory map entry %u: base 0x%lx below the end "
			      "0x%lx of entry %u (unsorted or overlapping)",
			      i, r->base, prev_end, i - 1);
		prev_end = r->base + r->size;
	}
}

void handoff_copy_tables(void)
{
	const struct boot_info *bi = &h.info;
	uint32_t n = bi->mmap_count;
	uint32_t len = bi->cmdline_len;

	if (n > HANDOFF_MMAP_MAX) {
		/* The map is sorted, so what is dropped is the top of the
		 * address space: memory the kernel then just does not use. */
		h.mmap_dropped = n - HANDOFF_MMAP_MAX;
		n = HANDOFF_MMAP_MAX;
	}
	mem_copy(h.mmap, boot_phys(bi->mmap_addr),
		 (size_t)n * sizeof(struct bi_mem_range));
	h.mmap_count = n;
	check_mmap();

	if (len > BI_CMDLINE_MAX - 1) {
		h.cmdline_dropped = len - (BI_CMDLINE_MAX - 1);
		len = BI_CMDLINE_MAX - 1;
	}
	if (len != 0)
		mem_copy(h.cmdline, boot_phys(bi->cmdline_addr), len);
	h.cmdline[len] = '\0';
}
