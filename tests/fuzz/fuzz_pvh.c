/*
 * pvh_read over fake physical memory.
 *
 * Input: bytes 0-1 are the start info's address (little endian), byte 2
 * the command-line buffer's size (0..255), and the rest is physical
 * memory from address 0. Reads outside it fail, as they would past the
 * end of RAM.
 */
#include "common/boot/pvh.h"
#include "tests/fuzz/fuzz_check.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct phys {
	const uint8_t *mem;
	uint64_t size;
};

static const void *phys_read(void *ctx, uint64_t phys, uint64_t len)
{
	const struct phys *p = ctx;

	if (phys > p->size || len > p->size - phys)
		return NULL;
	return p->mem + phys;
}

static struct bi_mem_range ranges[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phys phys;
	struct memmap m;
	struct pvh_result res;
	const char *why;
	char *cmdline;
	uint8_t *mem;
	size_t cap;
	int rc;

	if (size < 3)
		return 0;
	cap = data[2];
	phys.size = size - 3;
	mem = malloc(phys.size ? phys.size : 1);
	memcpy(mem, data + 3, phys.size);
	phys.mem = mem;
	/* Exactly cap bytes: ASan catches a write past the buffer. */
	cmdline = malloc(cap ? cap : 1);
	memmap_init(&m, ranges, ARRAY_SIZE(ranges));

	rc = pvh_read(phys_read, &phys, (uint64_t)data[0] | data[1] << 8, &m,
		      cmdline, cap, &res, &why);
	fuzz_check_memmap(&m);
	if (cap > 0) {
		FUZZ_ASSERT(memchr(cmdline, '\0', cap) != NULL);
		FUZZ_ASSERT(strlen(cmdline) == res.cmdline_len);
	} else {
		FUZZ_ASSERT(res.cmdline_len == 0);
	}
	if (rc == 0) {
		FUZZ_ASSERT(why == NULL);
	} else {
		FUZZ_ASSERT(why != NULL);
		FUZZ_ASSERT(rc == -ERR_INVALID || rc == -ERR_TOOBIG);
	}
	free(cmdline);
	free(mem);
	return 0;
}
