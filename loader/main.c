/*
 * efi_main: the boot flow, in the order of DESIGN.md ("Boot flow"):
 *
 *   banner, watchdog off, RSDP, TSC rate -> Secure Boot state ->
 *   loader.conf (its hash) and load options -> kernel file (its hash),
 *   ELF validation, segments -> PML4 copy, mappings, CR3 -> GOP -> boot
 *   info -> memory map, ExitBootServices -> jump.
 *
 * The console is slow: OVMF draws every character on the framebuffer as
 * well as sending it to the serial port, about 20 us a character under
 * QEMU (TCG), so a 60-character line costs over a millisecond. The happy
 * path therefore prints nothing itself: its few summary lines go into
 * the boot info for the kernel to print (console.c), and none says only
 * "as expected" (a config file that was found, an empty cmdline).
 *
 * Each phase of enum bi_phase ends with a TSC stamp (loader_phase_end),
 * which the kernel prints as cycles and a share of the loader's time.
 *
 * Every step that fails has already printed its one `loader: error:`
 * line; efi_main then frees what was allocated, puts the firmware's CR3
 * back and returns the status, so the firmware can try the next boot
 * option or show its menu. Nothing here hangs or resets.
 */
#include "loader.h"

#include "common/lib/string.h"

EFI_SYSTEM_TABLE *efi_st;
EFI_BOOT_SERVICES *efi_bs;

static const EFI_GUID loaded_image_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;

#define CONFIG_FILE "\\boot\\loader.conf"

/* All of the loader's state; static so the firmware's stack holds none
 * of it. */
static struct loader loader;

static EFI_STATUS read_config(struct loader *l)
{
	struct config_error err;
	uint64_t size;
	void *text;
	EFI_STATUS s;
	int rc;

	config_defaults(&l->cfg);
	s = file_read_all(l, "", CONFIG_FILE, &text, &size);
	if (s == EFI_NOT_FOUND) {
		s = secureboot_config_missing(CONFIG_FILE);
		if (!EFI_ERROR(s))
			con_print("no %s: defaults", CONFIG_FILE);
		return s;
	}
	if (EFI_ERROR(s))
		return s;
	/* Checked before it is parsed: a signed loader reads no byte of a
	 * configuration it was not signed with. */
	s = secureboot_verify_config(CONFIG_FILE, text, size);
	if (EFI_ERROR(s)) {
		if (text)
			efi_bs->FreePool(text);
		return s;
	}
	rc = config_parse(text ? text : "", size, &l->cfg, &err);
	if (text)
		efi_bs->FreePool(text);
	if (rc)
		return loader_error(EFI_LOAD_ERROR, "%s line %u: %s (%s)",
				    CONFIG_FILE, err.line, err.what,
				    err.detail);
	return EFI_SUCCESS;
}

void loader_phase_end(struct loader *l, uint32_t p)
{
	l->phase_end[p] = cpu_rdtsc();
	l->phases = p + 1;
	tsc_rate_sample();
}

/* Returns only on failure; on success it ends in the kernel. */
static EFI_STATUS boot(struct loader *l)
{
	EFI_STATUS s;

	con_print("%s %s", LOADER_NAME, PROJECT_VERSION);
	/* The firmware arms a 5-minute watchdog before starting a boot
	 * option; a loader that takes over the machine disarms it. */
	efi_bs->SetWatchdogTimer(0, 0, 0, NULL);
	cpu_features_probe(cpu_cpuid, &l->cpu);
	/* The RSDP first: the ACPI PM timer it leads to times the run. */
	firmware_rsdp(l);
	tsc_rate_start(l);

	s = efi_bs->HandleProtocol(
	    l->image_handle, UEFI_GUID(loaded_image_guid), (void **)&l->image);
	if (EFI_ERROR(s))
		return loader_error(s, "no Loaded Image protocol (%s)",
				    efi_status_name(s));
	loader_phase_end(l, BI_PHASE_START);
	s = secureboot_init(l);
	if (EFI_ERROR(s))
		return s;
	loader_phase_end(l, BI_PHASE_SECURE_BOOT);
	s = file_open_volume(l);
	if (EFI_ERROR(s))
		return s;
	s = read_config(l);
	if (EFI_ERROR(s))
		return s;
	s = options_apply(l);
	if (EFI_ERROR(s))
		return s;
	if (l->cfg.cmdline[0])
		con_print("cmdline \"%s\"%s", l->cfg.cmdline,
			  l->cmdline_from_options ? " (load options)" : "");
	loader_phase_end(l, BI_PHASE_CONFIG);

	s = kernel_load(l); /* ends the phases up to BI_PHASE_TPM_MEASURE */
	if (EFI_ERROR(s))
		return s;
	file_close_volume(l);

	s = paging_build(l);
	if (EFI_ERROR(s))
		return s;
	paging_activate(&l->tables);
	loader_phase_end(l, BI_PHASE_MAPPING);

	firmware_gop(l);
	loader_phase_end(l, BI_PHASE_GOP);
	s = handoff_alloc(l);
	if (EFI_ERROR(s))
		return s;
	/* Ends BI_PHASE_MEMORY_MAP and BI_PHASE_EXIT_BOOT_SERVICES and stores
	 * the stamps. */
	s = handoff_exit_boot_services(l);
	if (EFI_ERROR(s))
		return s;

	cpu_enter_kernel(l->kernel.elf.entry, (uint64_t)(uintptr_t)l->ho.bi,
			 &l->ho.bi->tsc_jump);
}

static void cleanup(struct loader *l)
{
	paging_deactivate(&l->tables);
	if (l->exit_called)
		return; /* boot services are off limits: leak, don't call */
	handoff_free(&l->ho);
	paging_teardown(&l->tables);
	kernel_free(&l->kernel);
	file_close_volume(l);
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_STATUS s;

	/* First thing: the firmware's time ends here. */
	loader.tsc_entry = cpu_rdtsc();
	efi_st = st;
	efi_bs = st->BootServices;
	loader.image_handle = image;

	s = boot(&loader);
	cleanup(&loader);
	return s;
}
