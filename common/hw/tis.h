/*
 * The TPM's FIFO interface (TCG PC Client Platform TPM Profile, "FIFO
 * Interface"; the TIS of TPM 1.2 days): locality 0's registers, the
 * command/response exchange through the data FIFO, and every wait bounded
 * by the specification's timeouts.
 *
 * No MMIO here: registers are reached through struct tis_io, so the
 * kernel passes an uncached mapping of 0xfed40000 and the host tests a
 * simulated TPM that can be absent, slow, silent or wrong.
 */
#ifndef COMMON_TIS_H
#define COMMON_TIS_H

#include "common/lib/types.h"

/* Where PC firmware puts locality 0 of a FIFO (or CRB) TPM. */
#define TIS_BASE        0xfed40000ull
#define TIS_LOCALITY_SZ 0x1000u

/* Register offsets in a locality's 4 KiB. */
#define TIS_ACCESS       0x000u /* 8 bits */
#define TIS_STS          0x018u /* 32 bits */
#define TIS_DATA_FIFO    0x024u /* 8-bit accesses */
#define TIS_INTERFACE_ID 0x030u /* 32 bits; PTP only */
#define TIS_DID_VID      0xf00u /* 32 bits */
#define TIS_RID          0xf04u /* 8 bits */

#define TIS_ACCESS_ESTABLISHMENT 0x01u
#define TIS_ACCESS_REQUEST_USE   0x02u
#define TIS_ACCESS_PENDING       0x04u
#define TIS_ACCESS_SEIZE         0x08u
#define TIS_ACCESS_SEIZED        0x10u
#define TIS_ACCESS_ACTIVE        0x20u /* reads: ours; write: relinquish */
#define TIS_ACCESS_RESERVED      0x40u
#define TIS_ACCESS_VALID         0x80u

#define TIS_STS_RESPONSE_RETRY 0x00000002u
#define TIS_STS_EXPECT         0x00000008u
#define TIS_STS_DATA_AVAIL     0x00000010u
#define TIS_STS_GO             0x00000020u
#define TIS_STS_COMMAND_READY  0x00000040u
#define TIS_STS_VALID          0x00000080u
#define TIS_STS_BURST_SHIFT    8
#define TIS_STS_BURST_MASK     0xffffu
#define TIS_STS_FAMILY_SHIFT   26
#define TIS_STS_FAMILY_MASK    0x3u
#define TIS_FAMILY_TPM12       0u
#define TIS_FAMILY_TPM20       1u

/* INTERFACE_ID bits 3:0. */
#define TIS_IFTYPE_FIFO  0x0u /* FIFO, TPM 2.0 (PTP) */
#define TIS_IFTYPE_CRB   0x1u /* Command Response Buffer */
#define TIS_IFTYPE_TIS13 0xfu /* TIS 1.3: no INTERFACE_ID register */
#define TIS_IFTYPE_MASK  0xfu

/* The PTP's interface timeouts, in milliseconds: A for a locality and a
 * burst count, B for commandReady, C and D for stsValid after data. */
#define TIS_TIMEOUT_A_MS 750u
#define TIS_TIMEOUT_B_MS 2000u
#define TIS_TIMEOUT_C_MS 200u
#define TIS_TIMEOUT_D_MS 30u
/* How long a command may execute before its response is there. The
 * PTP gives no duration for TPM2_PCR_Read, a read of registers inside the
 * TPM that takes microseconds; 2 s (as TIMEOUT_B, and Linux's
 * TPM2_DURATION_LONG) leaves room for a slow TPM or a loaded emulator. */
#define TIS_COMMAND_MS 2000u

struct tis_io {
	void *ctx;
	uint8_t (*read8)(void *ctx, uint32_t reg);
	uint32_t (*read32)(void *ctx, uint32_t reg);
	void (*write8)(void *ctx, uint32_t reg, uint8_t v);
	void (*write32)(void *ctx, uint32_t reg, uint32_t v);
	/* A monotonic clock in microseconds; it must not run faster than
	 * real time, or the timeouts would be shorter than the spec's. */
	uint64_t (*now_us)(void *ctx);
};

enum tis_found {
	TIS_NONE,       /* nothing that answers like a TPM */
	TIS_FIFO_TPM20, /* a TPM 2.0 with a FIFO interface: usable */
	TIS_CRB,        /* a TPM 2.0 with a CRB interface: not this driver */
	TIS_FIFO_TPM12, /* a TPM 1.2: TPM2 commands do not apply */
	TIS_UNKNOWN_IF, /* an interface type this driver does not know */
};

struct tis_info {
	enum tis_found found;
	uint8_t access;        /* TPM_ACCESS_0 as first read */
	uint32_t interface_id; /* TPM_INTERFACE_ID_0 */
	uint32_t did_vid;      /* vendor in bits 15:0, device in 31:16 */
	uint8_t rid;
	bool locality_held; /* locality 0 was already active */
};

/* Error codes (negated) beyond common/lib/types.h's. */
enum {
	TIS_ERR_TIMEOUT = 16, /* a wait ran past its specified bound */
	TIS_ERR_PROTOCOL = 17 /* the TPM broke the FIFO protocol */
};

/*
 * Looks at locality 0 without writing anything: the access register must
 * be valid (an absent device reads 0xff or 0x00, both invalid), then the
 * interface type and the TPM family. Fills *info; for TIS_FIFO_TPM20 the
 * locality is requested and held (tis_release gives it back). Returns 0
 * when a usable TPM 2.0 is there; else -ERR_NOTFOUND (info->found says
 * what is there), or -TIS_ERR_TIMEOUT when the TPM does not grant the
 * locality within TIMEOUT_A. why[] says it in words either way.
 */
int tis_probe(const struct tis_io *io, struct tis_info *info, char *why,
	      size_t why_cap);

/*
 * Sends cmd (cmd_len bytes, a whole TPM command with its header) and reads
 * the response into resp (resp_cap bytes), setting *resp_len. Every wait
 * is bounded (TIMEOUT_A/B/C and TIS_COMMAND_MS); a TPM that does not
 * answer within its bound gives -TIS_ERR_TIMEOUT, one that breaks the
 * protocol (stops expecting data early, a size field outside [10,
 * resp_cap], more data than the size said) -TIS_ERR_PROTOCOL, with why[]
 * naming the step and the register value. The TPM is put back to idle
 * (commandReady) in every case.
 */
int tis_transmit(const struct tis_io *io, const uint8_t *cmd, size_t cmd_len,
		 uint8_t *resp, size_t resp_cap, size_t *resp_len, char *why,
		 size_t why_cap);

/* Relinquishes locality 0 (after a successful tis_probe). */
void tis_release(const struct tis_io *io);

#endif
