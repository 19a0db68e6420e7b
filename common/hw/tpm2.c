/*
 * TPM2_PCR_Read marshalling (TPM 2.0 Library, Parts 2 and 3). See
 * tpm2.h for the contract.
 *
 * Response layout:
 *   tag u16 | responseSize u32 | responseCode u32
 *   pcrUpdateCounter u32
 *   pcrSelectionOut: count u32, then count x (hash u16, sizeofSelect u8,
 *                    pcrSelect[sizeofSelect])
 *   pcrValues: count u32, then count x (size u16, buffer[size])
 * A response with an error code ends after its header.
 */
#include "common/hw/tpm2.h"

#include "common/lib/string.h"

/* A cursor over the response: every read checks the bytes are there. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static bool get_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->left--;
	return true;
}

static bool get_u16(struct rd *r, uint16_t *v)
{
	if (r->left < 2)
		return false;
	*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return true;
}

static bool get_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	     (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return true;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t tpm2_digest_size(uint16_t alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1:
		return 20;
	case TPM2_ALG_SHA256:
		return TPM2_SHA256_SIZE;
	default:
		return 0;
	}
}

size_t tpm2_pcr_read_command(uint8_t *cmd, uint16_t alg, uint32_t pcr_mask)
{
	if (!pcr_mask || pcr_mask >> TPM2_PCR_COUNT)
		return 0;
	put_u16(cmd, TPM2_ST_NO_SESSIONS);
	put_u32(cmd + 2, TPM2_PCR_READ_CMD_SIZE);
	put_u32(cmd + 6, TPM2_CC_PCR_READ);
	put_u32(cmd + 10, 1); /* one TPMS_PCR_SELECTION */
	put_u16(cmd + 14, alg);
	cmd[16] = TPM2_PCR_SELECT_SIZE;
	/* pcrSelect[i] bit j selects PCR 8 * i + j. */
	for (int i = 0; i < TPM2_PCR_SELECT_SIZE; i++)
		cmd[17 + i] = (uint8_t)(pcr_mask >> (8 * i));
	return TPM2_PCR_READ_CMD_SIZE;
}

int tpm2_pcr_read_parse(const uint8_t *resp, size_t len, uint16_t alg,
			uint32_t pcr_mask, struct tpm2_pcr_values *out,
			uint32_t *rc, const char **why)
{
	struct rd r = {resp, len};
	uint16_t tag, hash, dsize;
	uint32_t size, count, selected = 0;
	uint8_t select_size, bits;
	size_t want = tpm2_digest_size(alg);

	mem_set(out, 0, sizeof(*out));
	*rc = 0;
	*why = "response shorter than its 10-byte header";
	if (!get_u16(&r, &tag) || !get_u32(&r, &size) || !get_u32(&r, rc))
		return -ERR_INVALID;
	*why = "response size field disagrees with the bytes received";
	if (size != len)
		return -ERR_INVALID;
	if (*rc != TPM2_RC_SUCCESS) {
		*why = "the TPM returned an error";
		return -ERR_INVALID;
	}
	*why = "response tag is not TPM_ST_NO_SESSIONS";
	if (tag != TPM2_ST_NO_SESSIONS)
		return -ERR_INVALID;
	*why = "response ends inside pcrUpdateCounter";
	if (!get_u32(&r, &out->update_counter))
		return -ERR_INVALID;

	*why = "response ends inside pcrSelectionOut";
	if (!get_u32(&r, &count))
		return -ERR_INVALID;
	if (count != 1) {
		/* Zero banks back is "none of these PCRs"; more than the one
		 * asked for is not an answer to this command. */
		*why = count ? "pcrSelectionOut names more than one bank"
			     : "the TPM returned no PCRs (bank not active?)";
		return -ERR_INVALID;
	}
	if (!get_u16(&r, &hash) || !get_u8(&r, &select_size))
		return -ERR_INVALID;
	*why = "pcrSelectionOut names another bank";
	if (hash != alg)
		return -ERR_INVALID;
	*why = "pcrSelectionOut is longer than 24 PCRs";
	if (select_size > TPM2_PCR_SELECT_SIZE)
		return -ERR_INVALID;
	for (uint8_t i = 0; i < select_size; i++) {
		*why = "response ends inside pcrSelectionOut";
		if (!get_u8(&r, &bits))
			return -ERR_INVALID;
		selected |= (uint32_t)bits << (8 * i);
	}
	*why = "pcrSelectionOut names a PCR that was not asked for";
	if (selected & ~pcr_mask)
		return -ERR_INVALID;

	*why = "response ends inside pcrValues";
	if (!get_u32(&r, &count))
		return -ERR_INVALID;
	*why = "pcrValues count differs from the PCRs selected";
	if (count != (uint32_t)__builtin_popcount(selected))
		return -ERR_INVALID;
	/* Digests come in PCR order, one per selected PCR. */
	for (uint32_t pcr = 0; pcr < TPM2_PCR_COUNT; pcr++) {
		if (!(selected & (1u << pcr)))
			continue;
		*why = "response ends inside pcrValues";
		if (!get_u16(&r, &dsize))
			return -ERR_INVALID;
		*why = "a PCR value is not the bank's digest size";
		if (dsize != want)
			return -ERR_INVALID;
		*why = "response ends inside a PCR value";
		if (r.left < dsize)
			return -ERR_INVALID;
		mem_copy(out->value[pcr], r.p, dsize);
		r.p += dsize;
		r.left -= dsize;
	}
	*why = "bytes after pcrValues";
	if (r.left)
		return -ERR_INVALID;
	out->returned = selected;
	*why = NULL;
	return 0;
}

const char *tpm2_rc_name(uint32_t rc)
{
	switch (rc) {
	case TPM2_RC_SUCCESS:
		return "TPM_RC_SUCCESS";
	case TPM2_RC_INITIALIZE:
		return "TPM_RC_INITIALIZE (TPM2_Startup was not sent)";
	case TPM2_RC_FAILURE:
		return "TPM_RC_FAILURE (the TPM is in failure mode)";
	default:
		return NULL;
	}
}
