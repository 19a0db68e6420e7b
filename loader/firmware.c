/*
 * What the loader asks the firmware for at the end: the framebuffer, the
 * ACPI RSDP, the memory map, and the exit from boot services.
 *
 * Everything the kernel receives is allocated here before
 * ExitBootServices, in one block of type EFI_TYPE_LOADER_BOOTINFO:
 *
 *   struct boot_info | command line (BI_CMDLINE_MAX) | bi_mem_range[cap]
 *
 * After ExitBootServices there is no console and no allocator, so the
 * timing line is queued and the queue copied into the boot info before
 * it, and the map is normalised once as a dry run to prove the storage
 * is large enough.
 */
#include "loader.h"

#include "common/lib/fmt.h"
#include "common/lib/string.h"
#include "common/mm/memmap.h"

static const EFI_GUID gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
static const EFI_GUID text_out_guid = EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL_GUID;
static const EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static const EFI_GUID acpi10_guid = ACPI_TABLE_GUID;

/* Room for the map to grow between sizing it and the final
 * GetMemoryMap: allocating the buffers themselves splits descriptors. */
#define MAP_SLACK_DESCS 16
/* ExitBootServices attempts; each failure means the map changed under
 * us (an event fired), which should not happen twice in a row. */
#define EXIT_TRIES 4

/* Bits per pixel implied by PixelBitMask masks: the highest set bit,
 * rounded up to whole bytes. */
static uint32_t mask_bpp(const EFI_PIXEL_BITMASK *m)
{
	uint32_t all =
	    m->RedMask | m->GreenMask | m->BlueMask | m->ReservedMask;
	uint32_t bits = 0;

	while (bits < 32 && (all >> bits))
		bits++;
	return ALIGN_UP(bits, 8);
}

/* Fills *fb from the GOP's current mode. Returns true, or false with
 * why[] saying why there is no usable framebuffer. */
static bool gop_mode(const EFI_GRAPHICS_OUTPUT_PROTOCOL *gop,
		     struct bi_framebuffer *fb, char *why, size_t cap)
{
	const EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info = gop->Mode->Info;
	const EFI_PIXEL_BITMASK *bits = &info->PixelInformation;

	switch (info->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor:
		fb->red_mask = 0x000000ff;
		fb->green_mask = 0x0000ff00;
		fb->blue_mask = 0x00ff0000;
		fb->reserved_mask = 0xff000000;
		break;
	case PixelBlueGreenRedReserved8BitPerColor:
		fb->red_mask = 0x00ff0000;
		fb->green_mask = 0x0000ff00;
		fb->blue_mask = 0x000000ff;
		fb->reserved_mask = 0xff000000;
		break;
	case PixelBitMask:
		if (mask_bpp(bits) != 32) {
			fmt_snprintf(why, cap, "%u-bit pixels", mask_bpp(bits));
			return false;
		}
		fb->red_mask = bits->RedMask;
		fb->green_mask = bits->GreenMask;
		fb->blue_mask = bits->BlueMask;
		fb->reserved_mask = bits->ReservedMask;
		break;
	case PixelBltOnly:
		str_copy(why, "graphics output is Blt-only", cap);
		return false;
	default:
		fmt_snprintf(why, cap, "unknown pixel format %u",
			     (uint32_t)info->PixelFormat);
		return false;
	}
	fb->width = info->HorizontalResolution;
	fb->height = info->VerticalResolution;
	fb->pitch = info->PixelsPerScanLine * 4;
	fb->bpp = 32;
	fb->size = gop->Mode->FrameBufferSize;
	fb->base = gop->Mode->FrameBufferBase;
	if (!fb->base || fb->size < (uint64_t)fb->pitch * fb->height) {
		fmt_snprintf(why, cap, "%lu bytes of memory for %ux%u",
			     fb->size, fb->width, fb->height);
		return false;
	}
	return true;
}

/* Fills *fb from the GOP on handle h. Returns true, or false with why[]
 * saying why it has no usable framebuffer. */
static bool gop_on_handle(EFI_HANDLE h, struct bi_framebuffer *fb, char *why,
			  size_t cap)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
	EFI_STATUS s;

	s = efi_bs->HandleProtocol(h, UEFI_GUID(gop_guid), (void **)&gop);
	if (EFI_ERROR(s) || !gop || !gop->Mode || !gop->Mode->Info) {
		fmt_snprintf(why, cap, "no graphics output: %s",
			     EFI_ERROR(s) ? efi_status_name(s) : "no mode");
		return false;
	}
	return gop_mode(gop, fb, why, cap);
}

/* The firmware's console draws on this handle's GOP. */
static bool is_console(EFI_HANDLE h)
{
	void *text;

	return h == efi_st->ConsoleOutHandle ||
	       !EFI_ERROR(
		   efi_bs->HandleProtocol(h, UEFI_GUID(text_out_guid), &text));
}

/*
 * Records a GOP's current mode (the loader never changes modes) in l->fb.
 *
 * Machines with two display adapters, or a console splitter, have several
 * GOP instances, and the first one found may be Blt-only (no linear
 * framebuffer: virtio-gpu's is). So every GOP handle is looked at; those
 * without a usable mode are skipped, and among the rest the first that
 * is also the firmware's console wins (its handle carries the text output
 * protocol, or is the ConsoleOutHandle), else the first usable one.
 *
 * OVMF with one adapter has two handles on the same framebuffer (the
 * adapter's and the console splitter's): that is no choice, and the
 * happy path stays silent. A line names the chosen output only when a
 * handle was skipped or the usable ones differ; none usable is a line.
 */
void firmware_gop(struct loader *l)
{
	struct bi_framebuffer *fb = &l->fb;
	EFI_HANDLE *handles = NULL;
	UINTN count = 0, chosen = 0, first = 0, usable = 0, skipped = 0;
	bool chosen_console = false, differ = false;
	char why[64] = "";
	EFI_STATUS s;

	mem_set(fb, 0, sizeof(*fb));
	s = efi_bs->LocateHandleBuffer(ByProtocol, UEFI_GUID(gop_guid), NULL,
				       &count, &handles);
	if (EFI_ERROR(s) || count == 0) {
		con_print("no framebuffer (no graphics output: %s)",
			  EFI_ERROR(s) ? efi_status_name(s) : "no handle");
		return;
	}
	for (UINTN i = 0; i < count; i++) {
		struct bi_framebuffer cand;
		char cwhy[64];
		bool console;

		if (!gop_on_handle(handles[i], &cand, cwhy, sizeof(cwhy))) {
			if (skipped++ == 0)
				str_copy(why, cwhy, sizeof(why));
			continue;
		}
		console = is_console(handles[i]);
		if (usable++ == 0) {
			first = i;
		} else {
			differ |= cand.base != fb->base ||
				  cand.width != fb->width ||
				  cand.height != fb->height;
			if (!console || chosen_console)
				continue;
		}
		*fb = cand;
		chosen = i;
		chosen_console = console;
	}
	efi_bs->FreePool(handles);

	if (usable == 0 && count == 1)
		con_print("no framebuffer (%s)", why);
	else if (usable == 0)
		con_print("no framebuffer (none of %u graphics outputs usable: "
			  "%s)",
			  (uint32_t)count, why);
	else if (skipped || differ)
		con_print("graphics output %u of %u: %ux%u%s (%u skipped%s%s)",
			  (uint32_t)chosen + 1, (uint32_t)count, fb->width,
			  fb->height, chosen != first ? ", the console's" : "",
			  (uint32_t)skipped, skipped ? ": " : "", why);
}

static uint64_t find_config_table(const EFI_GUID *guid)
{
	for (UINTN i = 0; i < efi_st->NumberOfTableEntries; i++) {
		const EFI_CONFIGURATION_TABLE *t =
		    &efi_st->ConfigurationTable[i];

		if (mem_cmp(&t->VendorGuid, guid, sizeof(*guid)) == 0)
			return (uint64_t)(uintptr_t)t->VendorTable;
	}
	return 0;
}

/* ACPI 2.0's RSDP (with the XSDT) first, else ACPI 1.0's; 0 = none. */
void firmware_rsdp(struct loader *l)
{
	l->rsdp = find_config_table(&acpi20_guid);
	if (!l->rsdp)
		l->rsdp = find_config_table(&acpi10_guid);
	if (!l->rsdp)
		con_print("no ACPI RSDP");
}

/* GetMemoryMap into the preallocated buffer. */
static EFI_STATUS get_map(struct handoff *ho)
{
	UINTN size = ho->map_cap, key, dsize;
	UINT32 dver;
	EFI_STATUS s;

	s = efi_bs->GetMemoryMap(&size, ho->map, &key, &dsize, &dver);
	if (EFI_ERROR(s))
		return s;
	ho->map_size = size;
	ho->map_key = key;
	ho->desc_size = dsize;
	return EFI_SUCCESS;
}

EFI_STATUS handoff_alloc(struct loader *l)
{
	struct handoff *ho = &l->ho;
	UINTN size = 0, key, dsize;
	UINT32 dver;
	EFI_PHYSICAL_ADDRESS phys;
	uint64_t bytes, descs;
	struct boot_info *bi;
	char *cmdline;
	EFI_STATUS s;

	/* A zero-sized call reports the size the map needs. */
	s = efi_bs->GetMemoryMap(&size, NULL, &key, &dsize, &dver);
	if (s != EFI_BUFFER_TOO_SMALL)
		return loader_error(EFI_ERROR(s) ? s : EFI_LOAD_ERROR,
				    "GetMemoryMap (sizing): %s",
				    efi_status_name(s));
	if (dsize < sizeof(struct efi_mem_desc) || dsize % 8)
		return loader_error(EFI_UNSUPPORTED,
				    "GetMemoryMap: descriptor size %lu",
				    (uint64_t)dsize);
	descs = size / dsize + MAP_SLACK_DESCS;
	ho->map_cap = descs * dsize;
	s = efi_bs->AllocatePool(EfiLoaderData, ho->map_cap, &ho->map);
	if (EFI_ERROR(s)) {
		ho->map = NULL;
		return loader_error(s,
				    "cannot allocate %lu bytes for the "
				    "memory map (%s)",
				    ho->map_cap, efi_status_name(s));
	}

	/* The dry run before ExitBootServices checks it is enough. */
	ho->range_cap = (uint32_t)MEMMAP_RANGES_FOR(descs);
	bytes = sizeof(struct boot_info) + BI_CMDLINE_MAX +
		(uint64_t)ho->range_cap * sizeof(struct bi_mem_range);
	ho->bi_pages = ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE;
	s = efi_bs->AllocatePages(AllocateAnyPages,
				  (EFI_MEMORY_TYPE)EFI_TYPE_LOADER_BOOTINFO,
				  ho->bi_pages, &phys);
	if (EFI_ERROR(s))
		return loader_error(s,
				    "cannot allocate %lu pages for the "
				    "boot info (%s)",
				    ho->bi_pages, efi_status_name(s));
	mem_set((void *)(uintptr_t)phys, 0, ho->bi_pages * PAGE_SIZE);
	bi = (struct boot_info *)(uintptr_t)phys;
	cmdline = (char *)(bi + 1);
	ho->bi = bi;
	ho->ranges = (struct bi_mem_range *)(cmdline + BI_CMDLINE_MAX);

	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->size = sizeof(*bi);
	bi->source = BOOT_SOURCE_UEFI;
	bi->segment_count = l->kernel.seg_count;
	mem_copy(bi->segments, l->kernel.seg,
		 l->kernel.seg_count * sizeof(bi->segments[0]));
	bi->mmap_addr = (uint64_t)(uintptr_t)ho->ranges;
	bi->mmap_entry_size = sizeof(struct bi_mem_range);
	bi->fb = l->fb;
	bi->rsdp = l->rsdp;
	bi->efi_system_table = (uint64_t)(uintptr_t)efi_st;
	bi->cmdline_len =
	    (uint32_t)str_copy(cmdline, l->cfg.cmdline, BI_CMDLINE_MAX);
	bi->cmdline_addr = (uint64_t)(uintptr_t)cmdline;
	bi->boot_pml4 = l->tables.pml4;
	bi->tsc_loader_entry = l->tsc_entry;
	/* Every check passed by now: a mismatch never gets this far. */
	bi->secure_boot = l->sb_state;
	bi->sb_flags = BI_SB_KERNEL_HASHED |
		       (secureboot_has_hashes() ? BI_SB_HASHES_CHECKED : 0);
	mem_copy(bi->kernel_sha256, l->kernel.sha256,
		 sizeof(bi->kernel_sha256));
	return EFI_SUCCESS;
}

void handoff_free(struct handoff *ho)
{
	if (ho->map) {
		efi_bs->FreePool(ho->map);
		ho->map = NULL;
	}
	if (ho->bi) {
		efi_bs->FreePages((uint64_t)(uintptr_t)ho->bi, ho->bi_pages);
		ho->bi = NULL;
	}
}

/* Normalises the current map buffer into the boot-info storage.
 * Returns 0 or the memmap error. */
static int normalise_map(struct loader *l)
{
	struct handoff *ho = &l->ho;
	const struct bi_framebuffer *fb = &l->fb;
	struct memmap m;
	int err;

	memmap_init(&m, ho->ranges, ho->range_cap);
	err = memmap_add_efi(&m, ho->map, ho->map_size, ho->desc_size);
	if (!err && fb->base)
		err = memmap_add(&m, ALIGN_DOWN(fb->base, PAGE_SIZE),
				 ALIGN_UP(fb->base + fb->size, PAGE_SIZE) -
				     ALIGN_DOWN(fb->base, PAGE_SIZE),
				 MEM_FRAMEBUFFER);
	ho->bi->mmap_count = m.count;
	return err;
}

/* The loader's time so far against the firmware's before it (the TSC
 * counts from reset), both from the TSC, and how much of it hashing the
 * kernel file took. */
static void print_timing(const struct loader *l)
{
	uint64_t ticks = cpu_rdtsc() - l->tsc_entry;
	uint64_t khz = l->tsc_hz / 1000 ? l->tsc_hz / 1000 : 1;
	uint64_t us = ticks * 1000 / khz;
	uint64_t hash_us = l->kernel.hash_ticks * 1000 / khz;
	uint64_t bp = l->tsc_entry ? ticks * 10000 / l->tsc_entry : 0;

	con_print("time %lu.%lu ms (kernel sha256 %lu.%lu ms), %lu.%02lu%% of "
		  "firmware's %lu ms; TSC %lu MHz from %s%s%s%s",
		  us / 1000, us % 1000 / 100, hash_us / 1000,
		  hash_us % 1000 / 100, bp / 100, bp % 100, l->tsc_entry / khz,
		  l->tsc_hz / 1000000, l->tsc_how, l->tsc_why ? " (" : "",
		  l->tsc_why ? l->tsc_why : "", l->tsc_why ? ")" : "");
}

EFI_STATUS handoff_exit_boot_services(struct loader *l)
{
	struct handoff *ho = &l->ho;
	const char *step;
	EFI_STATUS s;
	int err, tries;

	/* Dry run on the current map: the final one differs only by what
	 * the console does in between, and the storage has room for that. */
	s = get_map(ho);
	if (EFI_ERROR(s))
		return loader_error(s, "GetMemoryMap: %s", efi_status_name(s));
	err = normalise_map(l);
	if (err)
		return loader_error(EFI_BUFFER_TOO_SMALL,
				    "memory map: %lu descriptors do not "
				    "normalise into %u ranges (error %d)",
				    ho->map_size / ho->desc_size, ho->range_cap,
				    err);
	tsc_rate_finish(l);
	ho->bi->tsc_hz = l->tsc_hz;
	print_timing(l);
	loader_phase_end(l, BI_PHASE_MEMORY_MAP);
	/* The queued lines go to the kernel; they stay queued too, so that
	 * a failure below still prints them before its error line. */
	ho->bi->log_len =
	    (uint32_t)con_copy_queue(ho->bi->log, sizeof(ho->bi->log));

	/* From here to the jump: no printing, no allocation. A stale map
	 * key (the map changed) is EFI_INVALID_PARAMETER: get the map
	 * again into the same buffer and retry. */
	for (tries = 1;; tries++) {
		step = "GetMemoryMap";
		s = get_map(ho);
		if (EFI_ERROR(s))
			break;
		step = "ExitBootServices";
		ho->bi->tsc_before_exit = cpu_rdtsc();
		l->exit_called = true;
		s = efi_bs->ExitBootServices(l->image_handle, ho->map_key);
		if (s != EFI_INVALID_PARAMETER || tries == EXIT_TRIES)
			break;
	}
	/* After a failed ExitBootServices the spec allows nothing but
	 * GetMemoryMap; the console usually still works, so this one line
	 * is best effort. */
	if (EFI_ERROR(s))
		return loader_error(s, "%s failed on attempt %d of %d (%s)",
				    step, tries, EXIT_TRIES,
				    efi_status_name(s));

	/* The final map. It fit in the dry run with room to spare; should
	 * it not fit now, the kernel gets the ranges that did, and a range
	 * missing from the map is never taken for usable RAM. */
	normalise_map(l);
	loader_phase_end(l, BI_PHASE_EXIT_BOOT_SERVICES);
	ho->bi->phase_count = l->phases;
	mem_copy(ho->bi->tsc_phase_end, l->phase_end,
		 l->phases * sizeof(l->phase_end[0]));
	return EFI_SUCCESS;
}
