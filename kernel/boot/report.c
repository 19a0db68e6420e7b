/*
 * The boot report. Each function prints one item of what the kernel was
 * handed; none of them changes anything.
 */
#include "kernel/boot/report.h"

#include "common/lib/fmt.h"
#include "common/lib/sha256.h"
#include "common/mm/memmap.h"
#include "kernel/boot/layout.h"
#include "kernel/dev/console.h"
#include "kernel/dev/fbcon.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

void report_format_cycles(char *buf, size_t cap, uint64_t cycles,
			  uint64_t tsc_hz)
{
	if (tsc_hz == 0) {
		fmt_snprintf(buf, cap, "%lu cycles", cycles);
		return;
	}
	/* Split so that no product overflows for any plausible rate. */
	uint64_t us =
	    cycles / tsc_hz * 1000000 + cycles % tsc_hz * 1000000 / tsc_hz;
	fmt_snprintf(buf, cap, "%lu cycles (%lu.%03lu ms)", cycles, us / 1000,
		     us % 1000);
}

static const char *source_name(uint32_t source)
{
	switch (source) {
	case BOOT_SOURCE_UEFI:
		return "UEFI";
	case BOOT_SOURCE_PVH:
		return "PVH";
	}
	return "unknown";
}

static void report_banner(const struct handoff *h)
{
	kprintf("kernel: version %s, booted by %s, boot info at 0x%lx\n",
		PROJECT_VERSION, source_name(h->info.source), h->phys);
}

/* Where the code and the stack really are: rip is read, not taken from a
 * link-time constant, so this shows the higher half is what runs. */
static void report_location(void)
{
	uint64_t rip;
	uint64_t stack = (uint64_t)(uintptr_t)__builtin_frame_address(0);

	__asm__ volatile("leaq 0(%%rip), %0" : "=r"(rip));
	bool high = rip >= KERNEL_VMA_BASE && stack >= KERNEL_VMA_BASE;
	kprintf("kernel: running at %p, stack at %p (%s)\n", rip, stack,
		high ? "higher half" : "NOT the higher half");
}

static void report_memory(const struct handoff *h)
{
	struct memmap_summary s;

	memmap_summarise(h->mmap, h->mmap_count, &s);
	kprintf("kernel: memory map: %u entries, %lu MiB usable, highest "
		"address 0x%lx\n",
		h->mmap_count, s.usable_bytes >> 20,
		s.highest_end ? s.highest_end - 1 : 0);
	if (h->mmap_dropped)
		kprintf("kernel: warning: memory map too long: kept %u "
			"entries, ignored the last %u\n",
			h->mmap_count, h->mmap_dropped);
}

static void report_framebuffer(const struct handoff *h, const char *fb_why)
{
	const struct bi_framebuffer *fb = &h->info.fb;
	uint32_t cols, rows, fw, fh;

	if (fb->base == 0) {
		kputs("kernel: no framebuffer\n");
		return;
	}
	kprintf("kernel: framebuffer: %ux%u, pitch %u, base 0x%lx\n", fb->width,
		fb->height, fb->pitch, fb->base);
	if (fb_why) {
		kprintf("kernel: warning: no framebuffer console: %s\n",
			fb_why);
		return;
	}
	fbcon_geometry(&cols, &rows, &fw, &fh);
	kprintf("kernel: framebuffer console: %ux%u characters, font %ux%u\n",
		cols, rows, fw, fh);
}

static void report_firmware_tables(const struct handoff *h)
{
	if (h->info.rsdp)
		kprintf("kernel: ACPI RSDP at 0x%lx\n", h->info.rsdp);
	else
		kputs("kernel: no ACPI RSDP\n");
	if (h->info.efi_system_table)
		kprintf("kernel: EFI system table at 0x%lx\n",
			h->info.efi_system_table);
}

/* Printed in pieces: the command line may be longer than kprintf's
 * buffer. */
static void report_cmdline(const struct handoff *h)
{
	kputs("kernel: command line: \"");
	kputs(h->cmdline);
	kputs("\"\n");
	if (h->cmdline_dropped)
		kprintf("kernel: warning: command line too long: kept %u "
			"bytes, dropped %u\n",
			(uint32_t)(BI_CMDLINE_MAX - 1), h->cmdline_dropped);
}

static void report_segments(const struct handoff *h)
{
	for (uint32_t i = 0; i < h->info.segment_count; i++) {
		const struct bi_segment *s = &h->info.segments[i];
		kprintf("kernel: segment %u: 0x%lx at phys 0x%lx, %lu KiB, "
			"%c%c%c\n",
			i, s->virt, s->phys, s->size >> 10,
			(s->flags & BI_SEG_R) ? 'r' : '-',
			(s->flags & BI_SEG_W) ? 'w' : '-',
			(s->flags & BI_SEG_X) ? 'x' : '-');
	}
}

/* Each of the loader's phases (boot-info version 4) as cycles and a share
 * of its time from entry to the jump (total, not 0). */
static void report_loader_phases(const struct boot_info *bi, uint64_t total)
{
	uint64_t cycles[BI_PHASE_MAX];
	uint32_t count;
	const char *why = bootinfo_phases(bi, cycles, &count);
	char buf[64], name[24];

	if (why) {
		kprintf("kernel: loader phases: none (%s)\n", why);
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		const char *known = bi_phase_name(i);
		uint64_t permille = cycles[i] * 1000 / total;

		if (known)
			fmt_snprintf(name, sizeof(name), "%s:", known);
		else
			fmt_snprintf(name, sizeof(name), "phase %u:", i);
		report_format_cycles(buf, sizeof(buf), cycles[i], bi->tsc_hz);
		kprintf("kernel: loader phase %-20s %3lu.%lu%% %s\n", name,
			permille / 10, permille % 10, buf);
	}
}

static void report_loader_time(const struct handoff *h)
{
	const struct boot_info *bi = &h->info;
	char buf[64];

	if (bi->source == BOOT_SOURCE_PVH) {
		kputs("kernel: loader time: none (PVH entry, no loader)\n");
		return;
	}
	if (bi->tsc_loader_entry == 0 ||
	    bi->tsc_before_exit < bi->tsc_loader_entry ||
	    bi->tsc_jump < bi->tsc_before_exit) {
		kprintf("kernel: loader time: timestamps missing or out of "
			"order (entry %lu, before exit %lu, jump %lu)\n",
			bi->tsc_loader_entry, bi->tsc_before_exit,
			bi->tsc_jump);
		return;
	}
	report_format_cycles(buf, sizeof(buf),
			     bi->tsc_before_exit - bi->tsc_loader_entry,
			     bi->tsc_hz);
	kprintf("kernel: loader time: entry -> before exit: %s\n", buf);
	report_format_cycles(buf, sizeof(buf),
			     bi->tsc_jump - bi->tsc_before_exit, bi->tsc_hz);
	kprintf("kernel: loader time: before exit -> jump: %s\n", buf);
	report_format_cycles(buf, sizeof(buf),
			     bi->tsc_jump - bi->tsc_loader_entry, bi->tsc_hz);
	/* The TSC counts from reset, so its value at loader entry is the
	 * firmware's time; the ratio is free of the TSC rate estimate. */
	uint64_t total = bi->tsc_jump - bi->tsc_loader_entry;
	uint64_t permille100 = total * 10000 / bi->tsc_loader_entry;
	kprintf("kernel: loader time: total: %s, %lu.%02lu%% of the "
		"firmware's %lu cycles before it\n",
		buf, permille100 / 100, permille100 % 100,
		bi->tsc_loader_entry);
	report_loader_phases(bi, total ? total : 1);
	if (kernel_entry_tsc >= bi->tsc_jump) {
		report_format_cycles(buf, sizeof(buf),
				     kernel_entry_tsc - bi->tsc_jump,
				     bi->tsc_hz);
		kprintf("kernel: jump -> kernel entry: %s\n", buf);
	}
	if (bi->tsc_hz)
		kprintf("kernel: TSC rate %lu MHz (loader's estimate)\n",
			bi->tsc_hz / 1000000);
}

/* What the loader found of Secure Boot and the kernel file's SHA-256
 * (boot-info version 3). The digest is the loader's, over the file it
 * read: `sha256sum` of the ESP's \boot\kernel.elf gives the same hex. */
static void report_secure_boot(const struct handoff *h)
{
	const struct boot_info *bi = &h->info;
	char hex[SHA256_HEX_SIZE];
	const char *checked = "";

	if (bi->sb_flags & BI_SB_HASHES_CHECKED)
		checked = ", kernel and config hashes checked by the loader";
	else if (bi->source == BOOT_SOURCE_UEFI)
		checked = ", no hashes embedded in the loader";
	kprintf("kernel: secure boot: %s%s\n",
		bi_secure_boot_name(bi->secure_boot), checked);
	if (bi->sb_flags & ~BI_SB_FLAGS_MASK)
		kprintf("kernel: warning: unknown secure boot flags 0x%x\n",
			bi->sb_flags & ~BI_SB_FLAGS_MASK);
	if (!(bi->sb_flags & BI_SB_KERNEL_HASHED)) {
		kputs("kernel: kernel file sha256: none (no loader read "
		      "the file)\n");
		return;
	}
	sha256_hex(bi->kernel_sha256, hex);
	kprintf("kernel: kernel file sha256: %s\n", hex);
}

/* The loader's own lines, which a loader whose boot went well leaves in
 * the boot info instead of printing them through the slow firmware
 * console (loader/console.c). First, so the log reads as if the loader
 * had printed them. */
void report_loader_lines(const struct handoff *h)
{
	static char text[BI_LOG_MAX + 2];

	if (h->info.log_len > BI_LOG_MAX)
		kprintf("kernel: warning: loader's lines: log_len %u above "
			"BI_LOG_MAX, %u bytes kept\n",
			h->info.log_len, (uint32_t)BI_LOG_MAX);
	if (bootinfo_log_text(&h->info, text, sizeof(text)))
		kputs(text);
}

void report_boot(const struct handoff *h, const char *fb_why)
{
	report_banner(h);
	report_location();
	report_memory(h);
	report_framebuffer(h, fb_why);
	report_firmware_tables(h);
	report_cmdline(h);
	report_segments(h);
	report_secure_boot(h);
	report_loader_time(h);
}
