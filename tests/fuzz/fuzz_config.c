/*
 * config_parse on arbitrary bytes (not NUL-terminated: the copy is
 * exactly the input's size). Whatever it accepts must be a usable
 * configuration; whatever it refuses must say where and why.
 */
#include "common/boot/config.h"
#include "tests/fuzz/fuzz_check.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct loader_config cfg;
	struct config_error err;
	int rc;

	memcpy(copy, data, size);
	config_defaults(&cfg);
	rc = config_parse(copy, size, &cfg, &err);
	/* Whatever happened, both strings are terminated in their buffers. */
	FUZZ_ASSERT(memchr(cfg.kernel, '\0', sizeof(cfg.kernel)) != NULL);
	FUZZ_ASSERT(memchr(cfg.cmdline, '\0', sizeof(cfg.cmdline)) != NULL);
	if (rc == 0) {
		FUZZ_ASSERT(err.what == NULL);
		FUZZ_ASSERT(cfg.kernel[0] == '\\');
		FUZZ_ASSERT(strlen(cfg.kernel) > 1 ||
			    strcmp(cfg.kernel, "\\") == 0);
		FUZZ_ASSERT(strchr(cfg.kernel, '/') == NULL);
	} else {
		FUZZ_ASSERT(rc == -ERR_INVALID || rc == -ERR_TOOBIG);
		FUZZ_ASSERT(err.what != NULL && err.line >= 1);
		FUZZ_ASSERT(memchr(err.detail, '\0', sizeof(err.detail)));
		for (const char *p = err.detail; *p; p++)
			FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f);
	}
	free(copy);
	return 0;
}
