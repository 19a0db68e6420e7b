/*
 * The kernel image in the new tables: each boot-info segment mapped at
 * its link address with its own permissions, after checking what the
 * kernel is about to bet its life on. A segment left out, misplaced or
 * misaligned would make the CR3 switch fault with no handler able to run
 * (a triple fault: the machine just resets), so before the switch:
 *   - every segment is page aligned and lies in MEM_KERNEL ranges of the
 *     map (memory nothing else may hand out);
 *   - every page of the linked image (text, rodata, data, bss) translates
 *     in the new tables to the very frame it translates to in the live
 *     ones, the tables the kernel is running on.
 * A failure panics naming the segment.
 */
#include "common/mm/memmap.h"
#include "kernel/boot/handoff.h"
#include "kernel/boot/layout.h"
#include "kernel/boot/panic.h"
#include "kernel/cpu/arch.h"
#include "kernel/mm/mm_internal.h"

/* Attributes for a kernel segment: writable only if W, NX unless X (and
 * only when the CPU has NX), global always. */
static uint64_t segment_attr(uint32_t flags)
{
	uint64_t attr = PTE_G;
	if (flags & BI_SEG_W)
		attr |= PTE_W;
	if (!(flags & BI_SEG_X))
		attr |= mm_nx();
	return attr;
}

static bool is_kernel(void *ctx, const struct bi_mem_range *r)
{
	return r->type == MEM_KERNEL;
}

static void check_segment(const struct handoff *h, uint32_t i)
{
	const struct bi_segment *s = &h->info.segments[i];
	if (!IS_ALIGNED(s->virt | s->phys | s->size, PAGE_SIZE) || !s->size ||
	    add_overflows(s->phys, s->size) || add_overflows(s->virt, s->size))
		panic("mm",
		      "boot-info segment %u (virt 0x%lx, phys 0x%lx, "
		      "size 0x%lx) is empty or not page aligned",
		      i, s->virt, s->phys, s->size);
	if (!memmap_covers(h->mmap, h->mmap_count, s->phys, s->size, is_kernel,
			   NULL))
		panic("mm",
		      "boot-info segment %u (phys 0x%lx-0x%lx) is not "
		      "kernel memory (MEM_KERNEL) in the memory map",
		      i, s->phys, s->phys + s->size);
}

/* Which part of the linked image va is in, for messages. */
static const char *image_part(uint64_t va)
{
	if (va >= (uint64_t)(uintptr_t)__text_start &&
	    va < (uint64_t)(uintptr_t)__text_end)
		return "text";
	if (va >= (uint64_t)(uintptr_t)__rodata_start &&
	    va < (uint64_t)(uintptr_t)__rodata_end)
		return "rodata";
	return "data/bss";
}

static void check_image(const struct page_table *kpt)
{
	struct page_table live;
	mm_live_tables(&live);
	for (uint64_t va = (uint64_t)(uintptr_t)__kernel_start;
	     va < (uint64_t)(uintptr_t)__bss_end; va += PAGE_SIZE) {
		uint64_t now, next;
		if (pt_translate(&live, va, &now, NULL, NULL, NULL))
			panic("mm",
			      "kernel image page 0x%lx (%s segment) is "
			      "not mapped in the tables it runs on",
			      va, image_part(va));
		if (pt_translate(kpt, va, &next, NULL, NULL, NULL))
			panic("mm",
			      "kernel image page 0x%lx (%s segment, phys "
			      "0x%lx) is in no boot-info segment: the new "
			      "tables would not map it",
			      va, image_part(va), now);
		if (next != now)
			panic("mm",
			      "kernel image page 0x%lx (%s segment) runs "
			      "from phys 0x%lx but its boot-info segment puts "
			      "it at 0x%lx",
			      va, image_part(va), now, next);
	}
}

void mm_image_build(const struct handoff *h, struct pt_tally *t)
{
	const struct boot_info *bi = &h->info;
	uint32_t order[BI_MAX_SEGMENTS];

	for (uint32_t i = 0; i < bi->segment_count; i++) {
		check_segment(h, i);
		order[i] = i;
	}
	/* The tally wants address order; the ELF's program headers may list
	 * segments in any order. */
	for (uint32_t i = 1; i < bi->segment_count; i++)
		for (uint32_t j = i;
		     j > 0 && bi->segments[order[j]].virt <
				  bi->segments[order[j - 1]].virt;
		     j--) {
			uint32_t x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (uint32_t k = 0; k < bi->segment_count; k++) {
		const struct bi_segment *s = &bi->segments[order[k]];
		mm_map_or_panic(s->virt, s->phys, s->size,
				segment_attr(s->flags), PT_L1,
				"a kernel segment");
		pt_tally_add(t, s->virt, s->size, PT_L1);
	}
	check_image(mm_kernel_pt());
}
