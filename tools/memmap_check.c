/*
 * memmap-check: what the loader and the kernel would do with a real PC's
 * memory map, as Linux printed it at boot. See usage() and README's
 * "Real PCs" section.
 *
 * Exit status: 0 the kernel takes the map; 1 it would refuse it (the
 * loader stops, or the kernel panics in the hand-off or mm_init); 2 bad
 * usage, an unreadable file, a malformed map line, no map lines, or a map
 * beyond what this tool can simulate.
 */
#include "tools/memmap_log.h"
#include "tools/memmap_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Logs are text; a bigger input is a mistake (a disk image?). */
#define INPUT_MAX         (64u << 20)
#define PHYS_BITS_DEFAULT 46u

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: memmap-check [--phys-bits N] [--e820] [--summary] FILE\n"
	    "\n"
	    "Reads a memory map as Linux prints it at boot (FILE, or - for\n"
	    "standard input: dmesg, journalctl -k or a serial log, with or\n"
	    "without timestamps) and prints what this project's loader and\n"
	    "kernel would do with it: the ranges in the project's types,\n"
	    "usable MiB, the frames the allocator manages, the direct map's\n"
	    "pieces and leaf sizes with and without 1 GiB pages, table pages\n"
	    "against the minimum, and every refusal with its reason.\n"
	    "\n"
	    "Map lines (anything else is counted and ignored):\n"
	    "  efi: memNN: [Conventional|...|WB|WT|WC|UC] range=[0x..-0x..] "
	    "(N MB)\n"
	    "  efi: memNN: type=7, attr=0xf, range=[0x..-0x..) (NMB)   "
	    "(also EFI:)\n"
	    "  BIOS-e820: [mem 0x..-0x..] usable\n"
	    "Linux prints the EFI lines with efi=debug on its command line.\n"
	    "\n"
	    "  --phys-bits N  the CPU's MAXPHYADDR, 32..52 (default %u, as "
	    "Intel\n"
	    "                 server CPUs; desktops have 39, AMD Zen 48; "
	    "see\n"
	    "                 \"address sizes\" in /proc/cpuinfo)\n"
	    "  --e820         use the BIOS-e820 lines even when EFI lines "
	    "are there\n"
	    "  --summary      leave out the listings of ranges and pieces\n"
	    "  --help         this text\n"
	    "\n"
	    "Exit status: 0 the kernel takes the map, 1 it would refuse it,\n"
	    "2 usage or input errors.\n",
	    PHYS_BITS_DEFAULT);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "memmap-check: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (memmap-check --help)\n");
	return 2;
}

/* The whole input; NULL (with the reason printed) on failure. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (!f) {
		fprintf(stderr, "memmap-check: %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
		if (n > INPUT_MAX) {
			fprintf(stderr,
				"memmap-check: %s: over %u MiB; not a "
				"boot log\n",
				path, INPUT_MAX >> 20);
			free(buf);
			buf = NULL;
			break;
		}
		if (n == cap) {
			char *more = realloc(buf, cap * 2);

			if (!more) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = more;
			cap *= 2;
		}
	}
	if (buf && ferror(f)) {
		fprintf(stderr, "memmap-check: %s: read error\n", path);
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	struct msim_params params = {.phys_bits = PHYS_BITS_DEFAULT};
	bool summary = false, want_e820 = false;
	const char *path = NULL;
	struct mlog log;
	struct msim sim;
	size_t len;
	char *text;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--summary") == 0) {
			summary = true;
		} else if (strcmp(a, "--e820") == 0) {
			want_e820 = true;
		} else if (strcmp(a, "--phys-bits") == 0) {
			char *end;
			unsigned long v;

			if (++i == argc)
				return usage_error("--phys-bits needs a "
						   "number%s",
						   "");
			errno = 0;
			v = strtoul(argv[i], &end, 10);
			if (errno || *end || end == argv[i] || v < 32 || v > 52)
				return usage_error("--phys-bits %s: not a "
						   "number from 32 to 52",
						   argv[i]);
			params.phys_bits = (uint32_t)v;
		} else if (a[0] == '-' && a[1] != '\0') {
			return usage_error("unknown option %s", a);
		} else if (path) {
			return usage_error("one FILE only (%s is a second)", a);
		} else {
			path = a;
		}
	}
	if (!path)
		return usage_error("no FILE given%s", "");

	text = read_all(path, &len);
	if (!text)
		return 2;
	mlog_init(&log);
	rc = mlog_parse(&log, text, len);
	free(text);
	if (rc) {
		fprintf(stderr, "memmap-check: %s: %s\n", path, log.error);
		mlog_free(&log);
		return 2;
	}
	params.e820 = want_e820 || log.efi_count == 0;
	if ((params.e820 ? log.e820_count : log.efi_count) == 0) {
		fprintf(stderr,
			"memmap-check: %s: no %s lines among its %u lines\n",
			path,
			want_e820 ? "BIOS-e820"
				  : "memory-map (efi: memNN: or BIOS-e820:)",
			log.lines);
		mlog_free(&log);
		return 2;
	}
	if (msim_run(&sim, &log, &params)) {
		fprintf(stderr, "memmap-check: %s: %s\n", path, sim.tool_error);
		msim_free(&sim);
		mlog_free(&log);
		return 2;
	}
	msim_print(stdout, &sim, &log, summary);
	rc = msim_refused(&sim) ? 1 : 0;
	msim_free(&sim);
	mlog_free(&log);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "memmap-check: writing the report: %s\n",
			strerror(errno));
		return 2;
	}
	return rc;
}
