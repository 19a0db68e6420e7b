/*
 * TPM 2.0 commands as bytes: TPM2_PCR_Read built and its response
 * checked and taken apart, with no device behind it (the transport is
 * common/hw/tis.c), so the host tests run the same code the kernel does.
 *
 * Everything on the wire is big-endian (TPM 2.0 Library, Part 1,
 * "Canonicalization"). Structures and codes are from Part 2
 * (TPM_ST_NO_SESSIONS, TPM_CC_PCR_Read, TPML_PCR_SELECTION, TPML_DIGEST,
 * TPM_RC_*) and Part 3 (TPM2_PCR_Read).
 */
#ifndef COMMON_TPM2_H
#define COMMON_TPM2_H

#include "common/lib/types.h"

#define TPM2_ST_NO_SESSIONS 0x8001u
#define TPM2_CC_PCR_READ    0x0000017eu
#define TPM2_ALG_SHA1       0x0004u
#define TPM2_ALG_SHA256     0x000bu

/* Every command and response starts with tag, size and code/rc. */
#define TPM2_HEADER_SIZE 10
/* A PC Client TPM has 24 PCRs: a selection is 3 bytes of bits. */
#define TPM2_PCR_COUNT       24
#define TPM2_PCR_SELECT_SIZE 3
#define TPM2_SHA256_SIZE     32
/* TPM2_PCR_Read with one bank: header, count, hash, sizeofSelect, bits. */
#define TPM2_PCR_READ_CMD_SIZE                                                 \
	(TPM2_HEADER_SIZE + 4 + 2 + 1 + TPM2_PCR_SELECT_SIZE)

/* Response codes the kernel names; anything else is printed as a number
 * (TPM 2.0 Part 2, TPM_RC). */
#define TPM2_RC_SUCCESS    0x000u
#define TPM2_RC_INITIALIZE 0x100u /* TPM2_Startup not yet sent */
#define TPM2_RC_FAILURE    0x101u /* the TPM is in failure mode */

/* The values TPM2_PCR_Read returned for one bank. */
struct tpm2_pcr_values {
	uint32_t update_counter; /* the TPM's pcrUpdateCounter */
	uint32_t returned;       /* bit n: value[n] holds PCR n */
	uint8_t value[TPM2_PCR_COUNT][TPM2_SHA256_SIZE];
};

/*
 * Writes TPM2_PCR_Read for the PCRs whose bits are set in pcr_mask (bit n
 * = PCR n, n < 24) of bank `alg` into cmd, which has room for
 * TPM2_PCR_READ_CMD_SIZE bytes. Returns the command's size, or 0 when
 * pcr_mask is empty or names a PCR past 23.
 */
size_t tpm2_pcr_read_command(uint8_t *cmd, uint16_t alg, uint32_t pcr_mask);

/*
 * Checks a TPM2_PCR_Read response of len bytes for the command above and
 * fills *out. Returns 0, or -ERR_INVALID with *why saying what is wrong
 * (a static string, or the TPM's response code through *rc). *rc gets the
 * response code when the header could be read (else 0).
 *
 * Accepted: a well-formed response whose selection names bank `alg` and
 * at most the PCRs asked for, with one digest of the bank's size per PCR
 * selected, in PCR order. A TPM may return fewer PCRs than asked (Part 3
 * allows it); out->returned says which came back. Anything else (a size
 * field that disagrees with len, a digest of the wrong size, a PCR not
 * asked for, bytes left over) is refused.
 */
int tpm2_pcr_read_parse(const uint8_t *resp, size_t len, uint16_t alg,
			uint32_t pcr_mask, struct tpm2_pcr_values *out,
			uint32_t *rc, const char **why);

/* "TPM_RC_INITIALIZE (TPM2_Startup was not sent)", ... or NULL for a code
 * it does not know. */
const char *tpm2_rc_name(uint32_t rc);

/* Digest size of a hash algorithm the kernel reads, 0 for others. */
size_t tpm2_digest_size(uint16_t alg);

#endif
