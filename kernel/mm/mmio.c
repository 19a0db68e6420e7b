/*
 * Device memory: one virtual area (MMIO_BASE..MMIO_END) where every
 * device the kernel talks to through memory is mapped, each mapping with
 * the memory type the device needs and never executable; and firmware
 * tables outside the direct map, read-only (MM_FW_RO). Device memory
 * is never in the direct map (common/mm/dmap.h says why), so this is the
 * only way to reach it.
 *
 * Mappings are placed upwards with an unmapped page between two, so a
 * driver that runs past its registers faults instead of touching the next
 * device. They are never unmapped (devices stay for the kernel's life).
 */
#include "kernel/cpu/cpu.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm_internal.h"

static uint64_t mmio_next = MMIO_BASE;

struct mmio_map {
	uint64_t delta; /* va - pa */
	uint64_t attr;
	struct pt_tally *tally;
};

static int map_mmio_piece(void *ctx, uint64_t pa, uint64_t size, int level)
{
	struct mmio_map *m = ctx;
	int rc = pt_map(mm_kernel_pt(), pa + m->delta, pa, size, m->attr, level,
			NULL);
	if (rc)
		return rc;
	if (m->tally)
		pt_tally_add(m->tally, pa + m->delta, size, level);
	return 0;
}

uint64_t mm_mmio_map(uint64_t phys, uint64_t size, enum mm_cache *type,
		     struct pt_tally *t, const char **why)
{
	uint64_t pa = ALIGN_DOWN(phys, PAGE_SIZE);
	*why = "empty or wrapping range";
	if (!size || add_overflows(phys, size) ||
	    phys + size > 0ull - PAGE_SIZE)
		return 0;
	uint64_t len = ALIGN_UP(phys + size, PAGE_SIZE) - pa;
	/* When a 2 MiB leaf fits in the device's range, congruent to pa
	 * modulo 2 MiB, so pt_cut's leaves fit both; else on the next page
	 * (a register page must not cost 2 MiB of room and a table). */
	bool large = ALIGN_UP(pa, PAGE_SIZE_2M) + PAGE_SIZE_2M <= pa + len;
	uint64_t va = large ? ALIGN_UP(mmio_next, PAGE_SIZE_2M) +
				  (pa & (PAGE_SIZE_2M - 1))
			    : mmio_next;
	*why = "the MMIO area is full";
	if (len > MMIO_END - va)
		return 0;
	/* Without the kernel's PAT, PWT alone would select write-through,
	 * not WC: the request becomes UC. */
	if (*type == MM_WC && cpu_pat() != PAT_KERNEL)
		*type = MM_UC;
	uint64_t attr = *type == MM_WC   ? PTE_W | PTE_CACHE_WC
			: *type == MM_UC ? PTE_W | PTE_CACHE_UC
					 : PTE_CACHE_WB; /* MM_FW_RO */
	struct mmio_map m = {va - pa, attr | PTE_G | mm_nx(), t};
	int rc = pt_cut(pa, len, PT_L2, map_mmio_piece, &m);
	if (rc) {
		*why = rc == -ERR_NOMEM   ? "no memory for page tables"
		       : rc == -ERR_RANGE ? mm_kernel_pt()->env->last_error
					  : "pt_map failed";
		/* Undo what was mapped (a tallied caller panics anyway). */
		pt_unmap(mm_kernel_pt(), va, len);
		return 0;
	}
	mmio_next = va + len + PAGE_SIZE;
	*why = NULL;
	return va + (phys - pa);
}

uint64_t mm_map_mmio(uint64_t phys, uint64_t size, enum mm_cache type)
{
	const char *why;
	return mm_mmio_map(phys, size, &type, NULL, &why);
}
