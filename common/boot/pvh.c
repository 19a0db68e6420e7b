/*
 * The PVH start-info reader (see pvh.h).
 *
 * Everything is reached through read(), which checks bounds; pointers it
 * returns may have any alignment, so structures are copied out before
 * their fields are read.
 */
#include "common/boot/pvh.h"
#include "common/lib/string.h"

static int fail(const char **why, int code, const char *what)
{
	*why = what;
	return code;
}

/* Adds the memory map's entries one at a time (each is read separately,
 * so a map that is readable only in part fails on the first bad entry,
 * not on a length computed from an untrusted count). */
static int read_memmap(pvh_read_fn read, void *ctx,
		       const struct hvm_start_info *si, struct memmap *m,
		       const char **why)
{
	if (si->memmap_entries == 0)
		return fail(why, -ERR_INVALID,
			    "start info has an empty memory map");
	if (si->memmap_entries > PVH_MEMMAP_MAX)
		return fail(why, -ERR_TOOBIG,
			    "start info memory map has too many entries");
	for (uint32_t k = 0; k < si->memmap_entries; k++) {
		uint64_t at = si->memmap_paddr +
			      (uint64_t)k * sizeof(struct hvm_memmap_entry);
		struct hvm_memmap_entry e;
		const void *p;
		int rc;

		if (add_overflows(si->memmap_paddr, (uint64_t)k * sizeof(e)) ||
		    !(p = read(ctx, at, sizeof(e))))
			return fail(why, -ERR_INVALID,
				    "start info memory map not readable");
		mem_copy(&e, p, sizeof(e));
		rc = memmap_add(m, e.addr, e.size, mem_type_from_e820(e.type));
		if (rc)
			return fail(why, rc, "memory map does not fit");
	}
	return 0;
}

/* Copies the NUL-terminated command line at phys, a byte at a time: its
 * length is unknown, and it may end right at the edge of what is
 * readable. */
static int read_cmdline(pvh_read_fn read, void *ctx, uint64_t phys,
			char *cmdline, size_t cap, struct pvh_result *res,
			const char **why)
{
	size_t n = 0;

	for (;; n++) {
		const char *c;

		if (add_overflows(phys, n) || !(c = read(ctx, phys + n, 1))) {
			if (cap > 0)
				cmdline[0] = '\0';
			return fail(why, -ERR_INVALID,
				    "command line not readable");
		}
		if (*c == '\0')
			break;
		if (n + 1 >= cap) {
			res->cmdline_truncated = true;
			break;
		}
		cmdline[n] = *c;
	}
	/* Here n < cap unless cap is 0 (then nothing was stored). */
	if (cap > 0) {
		cmdline[n] = '\0';
		res->cmdline_len = (uint32_t)n;
	}
	return 0;
}

int pvh_read(pvh_read_fn read, void *ctx, uint64_t start_phys, struct memmap *m,
	     char *cmdline, size_t cap, struct pvh_result *res,
	     const char **why)
{
	struct hvm_start_info si;
	const void *p;
	int rc;

	*why = NULL;
	res->rsdp = 0;
	res->cmdline_len = 0;
	res->cmdline_truncated = false;
	if (cap > 0)
		cmdline[0] = '\0';

	p = read(ctx, start_phys, sizeof(si));
	if (!p)
		return fail(why, -ERR_INVALID, "start info not readable");
	mem_copy(&si, p, sizeof(si));
	if (si.magic != PVH_START_MAGIC)
		return fail(why, -ERR_INVALID, "bad start info magic");
	/* Later versions only add fields, so they are read as version 1. */
	if (si.version < 1)
		return fail(why, -ERR_INVALID,
			    "start info version 0 has no memory map");

	rc = read_memmap(read, ctx, &si, m, why);
	if (rc)
		return rc;
	if (si.cmdline_paddr != 0) {
		rc = read_cmdline(read, ctx, si.cmdline_paddr, cmdline, cap,
				  res, why);
		if (rc)
			return rc;
	}
	res->rsdp = si.rsdp_paddr;
	return 0;
}
