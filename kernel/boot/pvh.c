/*
 * pvh_main: the C half of the PVH entry. It plays the part a loader plays
 * on the UEFI path: builds a struct boot_info from the host's start info
 * and calls kmain with its physical address.
 *
 * It runs on the tables kernel/boot/pvh.S built: physical [0, 1 GiB) identity-
 * mapped, the image at its link addresses. The start info is untrusted and
 * may point anywhere, so it is read only through pvh_identity_read, which
 * refuses anything outside that identity map.
 *
 * Being the kernel's own loader, it is also where a broken loader can be
 * played for tests, without building one: the command-line word
 *   break-bootinfo=bad-pointer   passes BREAK_BAD_POINTER to kmain instead
 *                                of the boot info's address;
 *   break-bootinfo=drop-segment  leaves the last segment out of the boot
 *                                info (it stays MEM_KERNEL in the map).
 * kmain must then stop with a decoded panic, not a triple fault or a hang
 * (and with `test`, end QEMU through port 0xf4 at once).
 */
#include "kernel/boot/kernel.h"

#include "common/boot/bootinfo.h"
#include "common/boot/pvh.h"
#include "common/lib/string.h"
#include "common/mm/memmap.h"
#include "kernel/boot/handoff.h"
#include "kernel/boot/layout.h"
#include "kernel/boot/panic.h"
#include "kernel/dev/console.h"

/* A canonical lower-half address nothing maps. */
#define BREAK_BAD_POINTER 0x00007f0000000000ull
#define BREAK_PREFIX      "break-bootinfo="

/* kernel/boot/pvh.S */
extern const char pvh_pml4[];

/* What the boot info points to; kmain copies it, as from any loader. */
static struct bi_mem_range pvh_ranges[HANDOFF_MMAP_MAX];
static char pvh_cmdline[BI_CMDLINE_MAX];
static struct boot_info pvh_bi;

/* The last read pvh_read asked for and did not get, for the panic. */
struct pvh_reader {
	bool refused;
	uint64_t phys;
	uint64_t len;
};

/* The pvh_read callback: an identity pointer when [phys, phys + len) is
 * inside the identity map. Physical 0 is refused too: its pointer would be
 * NULL, which means "refused". */
static const void *pvh_identity_read(void *ctx, uint64_t phys, uint64_t len)
{
	struct pvh_reader *r = ctx;

	if (phys == 0 || len > PVH_IDENTITY_END ||
	    phys > PVH_IDENTITY_END - len) {
		r->refused = true;
		r->phys = phys;
		r->len = len;
		return NULL;
	}
	return (const void *)(uintptr_t)phys;
}

/* On this path the image is where QEMU put it: at its link address minus
 * KERNEL_VMA_BASE. Valid for addresses inside the image only. */
static uint64_t image_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p - KERNEL_VMA_BASE;
}

static void add_image_range(struct memmap *m, const char *start,
			    const char *end, uint32_t type, const char *what)
{
	int err =
	    memmap_add(m, image_phys(start), (uint64_t)(end - start), type);

	if (err)
		panic("pvh", "cannot add %s to the memory map (error %d)", what,
		      err);
}

static void set_segment(uint32_t i, const char *start, const char *end,
			uint32_t flags)
{
	struct bi_segment *s = &pvh_bi.segments[i];

	s->virt = (uint64_t)(uintptr_t)start;
	s->phys = image_phys(start);
	s->size = (uint64_t)(end - start);
	s->flags = flags;
}

/* Reads the start info into pvh_ranges and pvh_cmdline; returns the
 * RSDP. */
static uint64_t read_start_info(uint64_t start_phys, struct memmap *m)
{
	struct pvh_reader reader = {0};
	struct pvh_result res = {0};
	const char *why = "unknown";
	int err;

	memmap_init(m, pvh_ranges, ARRAY_SIZE(pvh_ranges));
	err = pvh_read(pvh_identity_read, &reader, start_phys, m, pvh_cmdline,
		       sizeof(pvh_cmdline), &res, &why);
	/*
	 * A failed read leaves no command line to tell whether this is a
	 * test run. PVH only exists inside virtual machines, where ending the
	 * run through port 0xf4 is harmless and beats a test hanging until
	 * its timeout: so a failure here always ends the run.
	 */
	pvh_cmdline[sizeof(pvh_cmdline) - 1] = '\0';
	panic_set_test_mode(err != 0 || cmdline_has(pvh_cmdline, "test"));
	if (err && reader.refused)
		panic("pvh",
		      "start info at 0x%lx: %s (%lu bytes at 0x%lx, outside "
		      "the entry's identity map of [0, 1 GiB))",
		      start_phys, why, reader.len, reader.phys);
	if (err)
		panic("pvh", "start info at 0x%lx: %s (error %d)", start_phys,
		      why, err);
	if (res.cmdline_truncated)
		kprintf("kernel: warning: PVH command line longer than %u "
			"bytes, truncated\n",
			(uint32_t)(sizeof(pvh_cmdline) - 1));
	return res.rsdp;
}

enum breakage { BREAK_NONE, BREAK_POINTER, BREAK_SEGMENT };

static bool value_is(const char *v, size_t len, const char *want)
{
	return len == str_len(want) && mem_cmp(v, want, len) == 0;
}

/* What the first break-bootinfo= word on the command line asks for;
 * panics on an unknown value (a typo must not quietly boot a good
 * kernel). */
static enum breakage breakage(const char *cmdline)
{
	size_t len;
	const char *v = cmdline_value(cmdline, BREAK_PREFIX, &len);
	if (!v)
		return BREAK_NONE;
	if (value_is(v, len, "bad-pointer"))
		return BREAK_POINTER;
	if (value_is(v, len, "drop-segment"))
		return BREAK_SEGMENT;
	panic("pvh", "unknown %s value (bad-pointer or drop-segment)",
	      BREAK_PREFIX);
}

void pvh_main(uint64_t start_info_phys)
{
	struct memmap m;

	console_init_serial();
	pvh_bi.rsdp = read_start_info(start_info_phys, &m);

	/* The image and the entry's tables are in RAM the host called
	 * usable: mark them so nothing ever hands them out. The tables are
	 * reclaimable like a loader's once the kernel has its own. */
	add_image_range(&m, __kernel_start, __boot_tables_start, MEM_KERNEL,
			"the kernel image");
	add_image_range(&m, __boot_tables_start, __boot_tables_end,
			MEM_PAGE_TABLES, "the boot page tables");

	pvh_bi.magic = BOOTINFO_MAGIC;
	pvh_bi.version = BOOTINFO_VERSION;
	pvh_bi.size = sizeof(pvh_bi);
	pvh_bi.source = BOOT_SOURCE_PVH;
	pvh_bi.mmap_addr = image_phys(pvh_ranges);
	pvh_bi.mmap_count = m.count;
	pvh_bi.mmap_entry_size = sizeof(struct bi_mem_range);
	pvh_bi.cmdline_addr = image_phys(pvh_cmdline);
	pvh_bi.cmdline_len = (uint32_t)str_len(pvh_cmdline);
	pvh_bi.boot_pml4 = image_phys(pvh_pml4);
	/* The data segment stops before the boot tables: they are not part
	 * of the image the kernel maps for itself. */
	set_segment(0, __text_start, __text_end, BI_SEG_R | BI_SEG_X);
	set_segment(1, __rodata_start, __rodata_end, BI_SEG_R);
	set_segment(2, __data_start, __boot_tables_start, BI_SEG_R | BI_SEG_W);
	pvh_bi.segment_count = 3;
	/* No framebuffer, no EFI, no loader timestamps: all zero. */

	switch (breakage(pvh_cmdline)) {
	case BREAK_POINTER:
		kputs("kernel: pvh: break-bootinfo=bad-pointer: passing "
		      "0x00007f0000000000 as the boot info\n");
		kmain(BREAK_BAD_POINTER);
	case BREAK_SEGMENT:
		pvh_bi.segment_count--;
		kprintf("kernel: pvh: break-bootinfo=drop-segment: boot info "
			"without segment %u\n",
			pvh_bi.segment_count);
		break;
	case BREAK_NONE:
		break;
	}
	kmain(image_phys(&pvh_bi));
}
