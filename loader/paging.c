/*
 * The loader's page tables.
 *
 * The firmware's tables may be read-only (OVMF write-protects them), so
 * the loader never writes to them: it copies the PML4 page into a page of
 * its own, adds the kernel's higher-half mappings below that copy in
 * tables it allocates, and loads CR3 with the copy. The lower-half PML4
 * entries still point at the firmware's tables, so the firmware's identity
 * map (and with it the running loader, its stack and boot services) keeps
 * working after the switch.
 *
 * Mapping goes through common/mm/paging.c (pt_attach/pt_map), whose entry
 * validator knows each level's reserved bits and MAXPHYADDR. Kernel pages
 * are 4 KiB leaves: R-X, R-- or RW-, NX where the CPU has it, global.
 */
#include "loader.h"

#include "common/lib/string.h"
#include "common/mm/memmap.h"

/* One page of EFI_TYPE_LOADER_PAGE_TABLES, so the kernel finds the live
 * tables in the memory map. */
static EFI_STATUS alloc_table_page(EFI_PHYSICAL_ADDRESS *phys)
{
	return efi_bs->AllocatePages(
	    AllocateAnyPages, (EFI_MEMORY_TYPE)EFI_TYPE_LOADER_PAGE_TABLES, 1,
	    phys);
}

/* pt_env callbacks: table pages are reached by identity, because the
 * firmware identity-maps all memory. (Physical page 0, which firmware
 * does not hand out, would read as "out of memory".) */
static uint64_t env_alloc(void *ctx)
{
	EFI_PHYSICAL_ADDRESS phys;

	if (EFI_ERROR(alloc_table_page(&phys)))
		return 0;
	mem_set((void *)(uintptr_t)phys, 0, PAGE_SIZE);
	return phys;
}

static uint64_t *env_table(void *ctx, uint64_t phys)
{
	return (uint64_t *)(uintptr_t)phys;
}

static uint64_t *fw_pml4(const struct boot_tables *t)
{
	return (uint64_t *)(uintptr_t)(t->fw_cr3 & PTE_ADDR_MAX_MASK);
}

/*
 * Refuses a kernel whose higher-half PML4 slots the firmware already
 * uses: the loader would have to write below the firmware's entry, into
 * a table that is not its own (and the kernel's tables would share it).
 */
static EFI_STATUS check_slots(struct loader *l)
{
	const uint64_t *pml4 = fw_pml4(&l->tables);
	const struct kernel *k = &l->kernel;

	for (uint32_t i = 0; i < k->seg_count; i++) {
		const struct bi_segment *seg = &k->seg[i];
		uint32_t first = PT_INDEX(seg->virt, PT_L4);
		uint32_t last = PT_INDEX(seg->virt + seg->size - 1, PT_L4);

		for (uint32_t slot = first; slot <= last; slot++)
			if (pml4[slot] & PTE_P)
				return loader_error(
				    EFI_UNSUPPORTED,
				    "kernel %s: segment %u at %p needs "
				    "PML4 slot %u, which the firmware "
				    "already uses (entry %p)",
				    l->cfg.kernel, i, seg->virt, slot,
				    pml4[slot]);
	}
	return EFI_SUCCESS;
}

static uint64_t segment_attr(const struct boot_tables *t, uint32_t flags)
{
	uint64_t attr = PTE_G;

	if (flags & BI_SEG_W)
		attr |= PTE_W;
	if (!(flags & BI_SEG_X) && t->nx)
		attr |= PTE_NX;
	return attr;
}

static const char *map_error_text(int err)
{
	switch (-err) {
	case ERR_NOMEM:
		return "out of memory for page tables";
	case ERR_EXISTS:
		return "page already mapped";
	case ERR_RANGE:
		return "address beyond what the CPU supports";
	default:
		return "entry refused by the validator";
	}
}

EFI_STATUS paging_build(struct loader *l)
{
	struct boot_tables *t = &l->tables;
	const struct kernel *k = &l->kernel;
	EFI_PHYSICAL_ADDRESS phys;
	EFI_STATUS s;

	/* The copy below is a 4-level PML4; with 5-level paging CR3 points
	 * at a PML5 and none of this applies. */
	if (cpu_read_cr4() & CR4_LA57)
		return loader_error(EFI_UNSUPPORTED,
				    "the firmware runs 5-level paging "
				    "(CR4.LA57); only 4-level is supported");

	t->nx = l->cpu.nx && (cpu_rdmsr(MSR_EFER) & EFER_NXE);
	t->fw_cr3 = cpu_read_cr3();
	s = check_slots(l);
	if (EFI_ERROR(s))
		return s;

	s = alloc_table_page(&phys);
	if (EFI_ERROR(s))
		return loader_error(s, "cannot allocate the PML4 copy (%s)",
				    efi_status_name(s));
	mem_copy((void *)(uintptr_t)phys, fw_pml4(t), PAGE_SIZE);
	t->pml4 = phys;

	t->env = (struct pt_env){
	    .alloc = env_alloc,
	    .free = NULL,
	    .table = NULL, /* identity: tables at phys + 0 */
	    .flush = NULL, /* not live yet; CR3 is loaded afterwards */
	    .ctx = NULL,
	    .phys_mask = cpu_phys_addr_mask(&l->cpu),
	    .nx = t->nx,
	    .page1g = false,
	};
	pt_attach(&t->pt, &t->env, t->pml4);

	for (uint32_t i = 0; i < k->seg_count; i++) {
		const struct bi_segment *seg = &k->seg[i];
		uint64_t fail_va = 0;
		int err;

		err = pt_map(&t->pt, seg->virt, seg->phys, seg->size,
			     segment_attr(t, seg->flags), PT_L1, &fail_va);
		if (err)
			return loader_error(
			    err == -ERR_NOMEM ? EFI_OUT_OF_RESOURCES
					      : EFI_LOAD_ERROR,
			    "kernel %s: segment %u: mapping %p failed: %s",
			    l->cfg.kernel, i, fail_va, map_error_text(err));
		t->pages_mapped += seg->size / PAGE_SIZE;
	}
	/* Table pages: the PML4 copy and the tables pt_map added. */
	con_print("%s: %u segments, %lu pages mapped, %lu table pages, NX %s",
		  l->cfg.kernel, k->seg_count, t->pages_mapped,
		  t->env.tables_allocated + 1, t->nx ? "on" : "off");
	return EFI_SUCCESS;
}

/* Keeps the firmware's PCID bits (CR3 11:0 when CR4.PCIDE is set). */
void paging_activate(struct boot_tables *t)
{
	cpu_write_cr3(t->pml4 | (t->fw_cr3 & (PAGE_SIZE - 1)));
	t->active = true;
}

/* Frees a table the loader allocated and the tables below it. Leaves are
 * only ever 4 KiB here, so every present entry above L1 is a table. */
static void free_tree(uint64_t table, int level)
{
	const uint64_t *e = env_table(NULL, table);

	if (level > PT_L1)
		for (uint32_t i = 0; i < PT_ENTRIES; i++)
			if (e[i] & PTE_P)
				free_tree(e[i] & PTE_ADDR_MAX_MASK, level - 1);
	efi_bs->FreePages(table, 1);
}

void paging_deactivate(struct boot_tables *t)
{
	if (!t->active)
		return;
	cpu_write_cr3(t->fw_cr3);
	/* The kernel's pages are global: drop them from the TLB too. */
	cpu_flush_global_tlb();
	t->active = false;
}

void paging_teardown(struct boot_tables *t)
{
	const uint64_t *copy, *fw;

	paging_deactivate(t);
	if (!t->pml4)
		return;
	/* The slots the firmware left empty and the copy has are ours. */
	copy = env_table(NULL, t->pml4);
	fw = fw_pml4(t);
	for (uint32_t i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		if ((copy[i] & PTE_P) && !(fw[i] & PTE_P))
			free_tree(copy[i] & PTE_ADDR_MAX_MASK, PT_L3);
	efi_bs->FreePages(t->pml4, 1);
	t->pml4 = 0;
}
