/*
 * The FIFO (TIS) exchange, as the PC Client Platform TPM Profile
 * describes it for locality 0:
 *
 *   request the locality (ACCESS.requestUse; wait for activeLocality)
 *   STS.commandReady, wait for it          (TIMEOUT_B)
 *   write the command in bursts of at most STS.burstCount bytes, the
 *   TPM setting STS.expect until the last  (TIMEOUT_A, C)
 *   STS.tpmGo, wait for STS.dataAvail      (TIS_COMMAND_MS)
 *   read the header, then the size it gives, in bursts
 *   STS.commandReady: back to idle
 *
 * Every wait is a loop on the register with a deadline from io->now_us;
 * nothing spins on a device that does not answer. See tis.h.
 */
#include "common/hw/tis.h"

#include "common/hw/tpm2.h"
#include "common/lib/fmt.h"
#include "common/lib/string.h"

static uint32_t sts(const struct tis_io *io)
{
	return io->read32(io->ctx, TIS_STS);
}

static uint32_t burst_count(uint32_t s)
{
	return (s >> TIS_STS_BURST_SHIFT) & TIS_STS_BURST_MASK;
}

/*
 * Waits until (STS & mask) == want, at most ms milliseconds. Returns 0,
 * or -TIS_ERR_TIMEOUT with *last holding the last value read. The
 * register is read once more after the deadline, so a TPM that answered
 * while this code was not running (the deadline passed during an
 * interrupt, or a slow emulator) is not called silent.
 */
static int wait_sts(const struct tis_io *io, uint32_t mask, uint32_t want,
		    uint32_t ms, uint32_t *last)
{
	uint64_t deadline = io->now_us(io->ctx) + (uint64_t)ms * 1000;

	for (;;) {
		bool late = io->now_us(io->ctx) >= deadline;
		*last = sts(io);
		if ((*last & mask) == want)
			return 0;
		if (late)
			return -TIS_ERR_TIMEOUT;
	}
}

/* A nonzero burst count, within TIMEOUT_A. */
static int wait_burst(const struct tis_io *io, uint32_t *burst, uint32_t *last)
{
	uint64_t deadline = io->now_us(io->ctx) + TIS_TIMEOUT_A_MS * 1000ull;

	for (;;) {
		bool late = io->now_us(io->ctx) >= deadline;
		*last = sts(io);
		*burst = burst_count(*last);
		if (*burst)
			return 0;
		if (late)
			return -TIS_ERR_TIMEOUT;
	}
}

static const char *found_name(enum tis_found f)
{
	switch (f) {
	case TIS_FIFO_TPM20:
		return "TPM 2.0, FIFO interface";
	case TIS_CRB:
		return "TPM 2.0 with a CRB interface (this driver speaks FIFO "
		       "only)";
	case TIS_FIFO_TPM12:
		return "TPM 1.2 (TPM 2.0 commands do not apply)";
	case TIS_UNKNOWN_IF:
		return "an unknown interface type";
	case TIS_NONE:
	default:
		return "no TPM";
	}
}

int tis_probe(const struct tis_io *io, struct tis_info *info, char *why,
	      size_t why_cap)
{
	uint8_t acc;
	uint32_t last;

	mem_set(info, 0, sizeof(*info));
	info->access = acc = io->read8(io->ctx, TIS_ACCESS);
	/* Nothing decoded there reads as all ones on real buses (0 under
	 * some emulators); both have tpmRegValidSts wrong or the reserved
	 * bit set. */
	if (acc == 0xff || !(acc & TIS_ACCESS_VALID) ||
	    (acc & TIS_ACCESS_RESERVED)) {
		info->found = TIS_NONE;
		fmt_snprintf(why, why_cap,
			     "no TPM (access register reads 0x%02x)",
			     (uint32_t)acc);
		return -ERR_NOTFOUND;
	}
	info->interface_id = io->read32(io->ctx, TIS_INTERFACE_ID);
	info->did_vid = io->read32(io->ctx, TIS_DID_VID);
	info->rid = io->read8(io->ctx, TIS_RID);
	switch (info->interface_id & TIS_IFTYPE_MASK) {
	case TIS_IFTYPE_FIFO:
	case TIS_IFTYPE_TIS13:
		break;
	case TIS_IFTYPE_CRB:
		info->found = TIS_CRB;
		fmt_snprintf(why, why_cap, "%s (interface id 0x%08x)",
			     found_name(info->found), info->interface_id);
		return -ERR_NOTFOUND;
	default:
		info->found = TIS_UNKNOWN_IF;
		fmt_snprintf(why, why_cap, "%s (interface id 0x%08x)",
			     found_name(info->found), info->interface_id);
		return -ERR_NOTFOUND;
	}

	/* Firmware may leave locality 0 active; then it is ours already.
	 * Otherwise ask for it. */
	info->locality_held = acc & TIS_ACCESS_ACTIVE;
	if (!info->locality_held) {
		uint64_t deadline =
		    io->now_us(io->ctx) + TIS_TIMEOUT_A_MS * 1000ull;
		io->write8(io->ctx, TIS_ACCESS, TIS_ACCESS_REQUEST_USE);
		for (;;) {
			bool late = io->now_us(io->ctx) >= deadline;
			acc = io->read8(io->ctx, TIS_ACCESS);
			if ((acc & (TIS_ACCESS_VALID | TIS_ACCESS_ACTIVE)) ==
			    (TIS_ACCESS_VALID | TIS_ACCESS_ACTIVE))
				break;
			if (late) {
				fmt_snprintf(why, why_cap,
					     "locality 0 not granted within "
					     "%u ms (access 0x%02x)",
					     TIS_TIMEOUT_A_MS, (uint32_t)acc);
				return -TIS_ERR_TIMEOUT;
			}
		}
	}

	/* STS reads as meaningful only for the active locality. */
	last = sts(io);
	if (((last >> TIS_STS_FAMILY_SHIFT) & TIS_STS_FAMILY_MASK) !=
	    TIS_FAMILY_TPM20) {
		info->found = (last >> TIS_STS_FAMILY_SHIFT &
			       TIS_STS_FAMILY_MASK) == TIS_FAMILY_TPM12
				  ? TIS_FIFO_TPM12
				  : TIS_UNKNOWN_IF;
		fmt_snprintf(why, why_cap, "%s (status 0x%08x)",
			     found_name(info->found), last);
		tis_release(io);
		return -ERR_NOTFOUND;
	}
	info->found = TIS_FIFO_TPM20;
	fmt_snprintf(why, why_cap, "%s", found_name(info->found));
	return 0;
}

void tis_release(const struct tis_io *io)
{
	io->write8(io->ctx, TIS_ACCESS, TIS_ACCESS_ACTIVE);
}

/* Writes cmd through the FIFO; the TPM must expect more until the last
 * byte and no more after it. */
static int send(const struct tis_io *io, const uint8_t *cmd, size_t len,
		char *why, size_t cap)
{
	uint32_t burst, last;
	size_t i = 0;

	while (i < len) {
		if (wait_burst(io, &burst, &last)) {
			fmt_snprintf(why, cap,
				     "burst count stayed 0 for %u ms after "
				     "%lu of %lu command bytes (status "
				     "0x%08x)",
				     TIS_TIMEOUT_A_MS, (uint64_t)i,
				     (uint64_t)len, last);
			return -TIS_ERR_TIMEOUT;
		}
		for (; burst && i < len; burst--, i++)
			io->write8(io->ctx, TIS_DATA_FIFO, cmd[i]);
		if (wait_sts(io, TIS_STS_VALID, TIS_STS_VALID, TIS_TIMEOUT_C_MS,
			     &last)) {
			fmt_snprintf(why, cap,
				     "status not valid within %u ms after "
				     "%lu command bytes (status 0x%08x)",
				     TIS_TIMEOUT_C_MS, (uint64_t)i, last);
			return -TIS_ERR_TIMEOUT;
		}
		bool expect = last & TIS_STS_EXPECT;
		if (i < len && !expect) {
			fmt_snprintf(why, cap,
				     "the TPM stopped expecting data after "
				     "%lu of %lu command bytes (status "
				     "0x%08x)",
				     (uint64_t)i, (uint64_t)len, last);
			return -TIS_ERR_PROTOCOL;
		}
		if (i == len && expect) {
			fmt_snprintf(why, cap,
				     "the TPM still expects data after the "
				     "whole %lu-byte command (status 0x%08x)",
				     (uint64_t)len, last);
			return -TIS_ERR_PROTOCOL;
		}
	}
	return 0;
}

/* Reads n bytes of the response into buf, burst by burst. Before each
 * burst the TPM must say it has data (stsValid and dataAvail within
 * TIMEOUT_C); a valid status without dataAvail means the response ended
 * early. */
static int read_bytes(const struct tis_io *io, uint8_t *buf, size_t n,
		      size_t done, char *why, size_t cap)
{
	const uint32_t ready = TIS_STS_VALID | TIS_STS_DATA_AVAIL;
	uint32_t burst, last;
	size_t i = 0;

	while (i < n) {
		if (wait_sts(io, ready, ready, TIS_TIMEOUT_C_MS, &last)) {
			if (last & TIS_STS_VALID) {
				fmt_snprintf(why, cap,
					     "response ended after %lu bytes, "
					     "before its size field's %lu "
					     "(status 0x%08x)",
					     (uint64_t)(done + i),
					     (uint64_t)(done + n), last);
				return -TIS_ERR_PROTOCOL;
			}
			fmt_snprintf(why, cap,
				     "status not valid within %u ms after "
				     "%lu response bytes (status 0x%08x)",
				     TIS_TIMEOUT_C_MS, (uint64_t)(done + i),
				     last);
			return -TIS_ERR_TIMEOUT;
		}
		if (wait_burst(io, &burst, &last)) {
			fmt_snprintf(why, cap,
				     "burst count stayed 0 for %u ms after "
				     "%lu response bytes (status 0x%08x)",
				     TIS_TIMEOUT_A_MS, (uint64_t)(done + i),
				     last);
			return -TIS_ERR_TIMEOUT;
		}
		for (; burst && i < n; burst--, i++)
			buf[i] = io->read8(io->ctx, TIS_DATA_FIFO);
	}
	return 0;
}

static int receive(const struct tis_io *io, uint8_t *resp, size_t cap,
		   size_t *resp_len, char *why, size_t why_cap)
{
	uint32_t size, last;
	int rc;

	rc = read_bytes(io, resp, TPM2_HEADER_SIZE, 0, why, why_cap);
	if (rc)
		return rc;
	size = (uint32_t)resp[2] << 24 | (uint32_t)resp[3] << 16 |
	       (uint32_t)resp[4] << 8 | resp[5];
	if (size < TPM2_HEADER_SIZE || size > cap) {
		fmt_snprintf(why, why_cap,
			     "response size field %u outside [%u, %lu]", size,
			     TPM2_HEADER_SIZE, (uint64_t)cap);
		return -TIS_ERR_PROTOCOL;
	}
	rc = read_bytes(io, resp + TPM2_HEADER_SIZE, size - TPM2_HEADER_SIZE,
			TPM2_HEADER_SIZE, why, why_cap);
	if (rc)
		return rc;
	if (wait_sts(io, TIS_STS_VALID, TIS_STS_VALID, TIS_TIMEOUT_C_MS,
		     &last)) {
		fmt_snprintf(why, why_cap,
			     "status not valid within %u ms after the "
			     "response (status 0x%08x)",
			     TIS_TIMEOUT_C_MS, last);
		return -TIS_ERR_TIMEOUT;
	}
	if (last & TIS_STS_DATA_AVAIL) {
		fmt_snprintf(why, why_cap,
			     "more data after the %u bytes the response's "
			     "size field gives (status 0x%08x)",
			     size, last);
		return -TIS_ERR_PROTOCOL;
	}
	*resp_len = size;
	return 0;
}

static int exchange(const struct tis_io *io, const uint8_t *cmd, size_t cmd_len,
		    uint8_t *resp, size_t resp_cap, size_t *resp_len, char *why,
		    size_t why_cap)
{
	uint32_t last;
	int rc;

	io->write32(io->ctx, TIS_STS, TIS_STS_COMMAND_READY);
	if (wait_sts(io, TIS_STS_COMMAND_READY, TIS_STS_COMMAND_READY,
		     TIS_TIMEOUT_B_MS, &last)) {
		fmt_snprintf(why, why_cap,
			     "not ready for a command within %u ms (status "
			     "0x%08x)",
			     TIS_TIMEOUT_B_MS, last);
		return -TIS_ERR_TIMEOUT;
	}
	rc = send(io, cmd, cmd_len, why, why_cap);
	if (rc)
		return rc;
	io->write32(io->ctx, TIS_STS, TIS_STS_GO);
	if (wait_sts(io, TIS_STS_VALID | TIS_STS_DATA_AVAIL,
		     TIS_STS_VALID | TIS_STS_DATA_AVAIL, TIS_COMMAND_MS,
		     &last)) {
		fmt_snprintf(why, why_cap,
			     "no response within %u ms of tpmGo (status "
			     "0x%08x)",
			     TIS_COMMAND_MS, last);
		return -TIS_ERR_TIMEOUT;
	}
	return receive(io, resp, resp_cap, resp_len, why, why_cap);
}

int tis_transmit(const struct tis_io *io, const uint8_t *cmd, size_t cmd_len,
		 uint8_t *resp, size_t resp_cap, size_t *resp_len, char *why,
		 size_t why_cap)
{
	int rc;

	*resp_len = 0;
	if (cmd_len < TPM2_HEADER_SIZE || resp_cap < TPM2_HEADER_SIZE) {
		fmt_snprintf(why, why_cap,
			     "command or response buffer "
			     "shorter than a header");
		return -ERR_INVALID;
	}
	rc = exchange(io, cmd, cmd_len, resp, resp_cap, resp_len, why, why_cap);
	/* Idle again, also after a failure: commandReady aborts a command
	 * the TPM is still receiving or executing. */
	io->write32(io->ctx, TIS_STS, TIS_STS_COMMAND_READY);
	return rc;
}
