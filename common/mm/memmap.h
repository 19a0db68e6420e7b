/*
 * Memory-map normalisation: firmware maps (UEFI descriptors, E820/PVH
 * entries) in, the project's sorted, non-overlapping, merged list of
 * struct bi_mem_range out. Pure functions over untrusted input, shared by
 * the loader, the kernel's PVH entry, the host tests and the fuzzer.
 *
 * Odd maps are expected: unsorted, overlapping, zero-sized, unaligned,
 * wrapping past 2^64. Overlaps resolve to the more restrictive type (see
 * mem_type_rank), usable ranges shrink inward to whole pages and every
 * other type grows outward, so a page is never usable if any part of it
 * is not.
 *
 * Each range also carries an attribute word (BI_MEM_WB: write-back
 * cacheable RAM). Type and attribute are painted together, as one
 * "class": the type's rank decides first, and between two ranges of one
 * type the one without BI_MEM_WB wins, so a page one descriptor calls
 * uncacheable is never made cacheable by another of the same type.
 * Neighbours merge only when both type and attribute are equal.
 */
#ifndef COMMON_MEMMAP_H
#define COMMON_MEMMAP_H

#include "common/boot/bootinfo.h"
#include "common/lib/types.h"

/* EFI memory types the loader allocates with (the OS-loader range of the
 * UEFI specification, 0x80000000 and up), so the kernel can tell its own
 * image, the boot page tables and the boot info apart in the final map. */
#define EFI_TYPE_LOADER_KERNEL      0x80000001u
#define EFI_TYPE_LOADER_PAGE_TABLES 0x80000002u
#define EFI_TYPE_LOADER_BOOTINFO    0x80000003u

/* The descriptor's Attribute bit saying the range supports write-back
 * caching (UEFI spec, GetMemoryMap). */
#define EFI_ATTRIBUTE_WB 0x8ull /* EFI_MEMORY_WB (efi.h has it too) */

/* The UEFI memory descriptor (UEFI spec, GetMemoryMap). The firmware's
 * DescriptorSize may be larger: always step by it. */
struct efi_mem_desc {
	uint32_t type;
	uint32_t pad;
	uint64_t phys_start;
	uint64_t virt_start;
	uint64_t pages;
	uint64_t attribute;
};
_Static_assert(sizeof(struct efi_mem_desc) == 40, "EFI descriptor");

/* An E820-style entry, as in the PVH start info's memory map. */
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4
#define E820_UNUSABLE 5

/* Room a loader gives the normalised map of `descs` firmware
 * descriptors: each adds at most two ranges (one landing inside an
 * existing range splits it in three), plus a margin for what the loader
 * adds itself (the framebuffer). loader/firmware.c checks it with a dry
 * run before ExitBootServices; tools/memmap-check uses the same room. */
#define MEMMAP_RANGES_FOR(descs) ((descs)*2 + 32)

struct memmap {
	struct bi_mem_range *ranges; /* caller-provided storage */
	uint32_t count;
	uint32_t cap;
};

void memmap_init(struct memmap *m, struct bi_mem_range *storage, uint32_t cap);

/* Adds [base, base+size) as type with attribute attr (BI_MEM_* bits),
 * keeping the map sorted, disjoint and merged. Returns 0, or -ERR_TOOBIG
 * when the storage is full (the map is then unchanged), -ERR_INVALID for
 * an unknown type or attribute bit. size 0 is a no-op; a range that wraps
 * is clipped at 2^64 - 4 KiB. */
int memmap_add_attr(struct memmap *m, uint64_t base, uint64_t size,
		    uint32_t type, uint32_t attr);

/* memmap_add_attr with mem_type_default_attr(type): for ranges a loader
 * knows by type only (its own allocations, the framebuffer). */
int memmap_add(struct memmap *m, uint64_t base, uint64_t size, uint32_t type);

/* BI_MEM_WB for the types that are RAM by definition (mem_type_is_ram),
 * 0 for the others (reserved, bad, framebuffer). */
uint32_t mem_type_default_attr(uint32_t type);

/* Rank of a type used to resolve overlaps: higher wins. */
uint32_t mem_type_rank(uint32_t type);

uint32_t mem_type_from_efi(uint32_t efi_type);
uint32_t mem_type_from_e820(uint32_t e820_type);
/* BI_MEM_WB when the descriptor's Attribute has EFI_ATTRIBUTE_WB. */
uint32_t mem_attr_from_efi(uint64_t efi_attribute);
/* BI_MEM_WB for the E820 RAM types (RAM, ACPI, NVS), else 0. */
uint32_t mem_attr_from_e820(uint32_t e820_type);

/* Adds every descriptor of a GetMemoryMap buffer. desc_size below
 * sizeof(struct efi_mem_desc) or not a multiple of 8 is -ERR_INVALID. */
int memmap_add_efi(struct memmap *m, const void *buf, uint64_t map_size,
		   uint64_t desc_size);

/* Adds count E820 entries. */
int memmap_add_e820(struct memmap *m, const struct e820_entry *e,
		    uint32_t count);

/* Summary for messages. */
struct memmap_summary {
	uint64_t usable_bytes;
	uint64_t highest_end; /* end of the highest range of any type */
	uint64_t highest_usable_end;
};
void memmap_summarise(const struct bi_mem_range *r, uint32_t count,
		      struct memmap_summary *s);

/*
 * True when [base, base + size) lies wholly in ranges of map (sorted and
 * disjoint, as in the boot info; ranges that touch count as one) for each
 * of which ok(ctx, range) is true. ok is called for the ranges the span
 * meets, in order, until one fails (so it may also gather facts about
 * them). An empty span is covered; one that wraps is not.
 */
typedef bool (*memmap_pred)(void *ctx, const struct bi_mem_range *r);
bool memmap_covers(const struct bi_mem_range *map, uint32_t n, uint64_t base,
		   uint64_t size, memmap_pred ok, void *ctx);

#endif
