/*
 * The loader's configuration file, \boot\loader.conf: a pure parser over
 * untrusted bytes, shared by the loader, the host tests and the fuzzer.
 *
 * Format: one "key=value" per line; spaces and tabs around key and value
 * are trimmed; blank lines and lines whose first non-blank character is
 * '#' are ignored; LF or CRLF line ends. Keys: "kernel" (a path on the
 * ESP, '/' or '\' separators) and "cmdline" (the kernel command line).
 * A key given twice, an unknown key, a line without '=', an empty kernel
 * path, a NUL byte or a value too long for its buffer is an error that
 * names the line.
 */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include "common/boot/bootinfo.h"
#include "common/lib/types.h"

#define CONFIG_PATH_MAX        256
#define CONFIG_DEFAULT_KERNEL  "\\boot\\kernel.elf"
#define CONFIG_DEFAULT_CMDLINE ""

struct loader_config {
	char kernel[CONFIG_PATH_MAX]; /* with '\' separators */
	char cmdline[BI_CMDLINE_MAX];
};

struct config_error {
	uint32_t line;    /* 1-based */
	const char *what; /* "unknown key", "missing '='", ... */
	char detail[64];  /* the key or the start of the line */
};

/* Fills *cfg with the defaults. */
void config_defaults(struct loader_config *cfg);

/* Parses size bytes over the values already in *cfg (call
 * config_defaults first). Returns 0, or -ERR_INVALID / -ERR_TOOBIG with
 * *err filled; *cfg may then be partly updated. */
int config_parse(const char *text, uint64_t size, struct loader_config *cfg,
		 struct config_error *err);

#endif
