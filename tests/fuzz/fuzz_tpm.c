/*
 * The kernel's TPM path on bytes a broken or hostile device could send.
 *
 * Input: byte 0 picks the PCRs asked for (bits 0-6 shifted to PCRs 3-9,
 * so 8 and 9 are often in) and the bank (bit 7: SHA-1, else SHA-256);
 * the rest, first, is a TPM2_PCR_Read response for tpm2_pcr_read_parse,
 * and then the stream every register read of a simulated TPM takes its
 * value from (0xff once it runs out, like an absent device), for
 * tis_probe and tis_transmit. The simulated clock advances 1 ms a call,
 * so every wait ends at its bound.
 *
 * Properties: no out-of-bounds access (ASan); an accepted response names
 * only PCRs asked for, with the response's own size; a transmit returns
 * one of its documented codes and never a response longer than the
 * buffer or shorter than a header; each probe and exchange ends within
 * the sum of its timeouts.
 */
#include "common/hw/tis.h"
#include "common/hw/tpm2.h"
#include "tests/fuzz/fuzz_check.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct regs {
	const uint8_t *p;
	size_t left;
	uint64_t now_us;
};

static uint8_t next(struct regs *r)
{
	if (!r->left)
		return 0xff;
	r->left--;
	return *r->p++;
}

static uint8_t rd8(void *ctx, uint32_t reg)
{
	return next(ctx);
}

static uint32_t rd32(void *ctx, uint32_t reg)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | next(ctx);
	return v;
}

static void wr8(void *ctx, uint32_t reg, uint8_t v)
{
}

static void wr32(void *ctx, uint32_t reg, uint32_t v)
{
}

static uint64_t now(void *ctx)
{
	struct regs *r = ctx;
	r->now_us += 1000;
	return r->now_us;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpm2_pcr_values v;
	const char *why;
	uint32_t rc;

	if (size < 1)
		return 0;
	uint32_t mask = (uint32_t)(data[0] & 0x7f) << 3;
	uint16_t alg = data[0] & 0x80 ? TPM2_ALG_SHA1 : TPM2_ALG_SHA256;
	data++;
	size--;

	/* The parser, on a copy of exactly the response's bytes. */
	size_t resp_len = size < 600 ? size : 600;
	uint8_t *resp = malloc(resp_len ? resp_len : 1);
	memcpy(resp, data, resp_len);
	if (mask && tpm2_pcr_read_parse(resp, resp_len, alg, mask, &v, &rc,
					&why) == 0) {
		FUZZ_ASSERT(why == NULL);
		FUZZ_ASSERT((v.returned & ~mask) == 0);
		FUZZ_ASSERT(resp_len >= TPM2_HEADER_SIZE);
		FUZZ_ASSERT(((uint32_t)resp[2] << 24 | (uint32_t)resp[3] << 16 |
			     (uint32_t)resp[4] << 8 | resp[5]) == resp_len);
	} else if (mask) {
		FUZZ_ASSERT(why != NULL);
	}
	free(resp);

	/* The FIFO exchange against registers that read as the input. */
	struct regs regs = {data, size, 0};
	struct tis_io io = {&regs, rd8, rd32, wr8, wr32, now};
	struct tis_info info;
	char msg[160];
	uint8_t cmd[TPM2_PCR_READ_CMD_SIZE], out[64];
	size_t out_len = 99;

	int r = tis_probe(&io, &info, msg, sizeof(msg));
	FUZZ_ASSERT(r == 0 || r == -ERR_NOTFOUND || r == -TIS_ERR_TIMEOUT);
	FUZZ_ASSERT(regs.now_us <= (TIS_TIMEOUT_A_MS + 10) * 1000ull);
	size_t cmd_len = tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, 0x300);
	uint64_t start = regs.now_us;
	r = tis_transmit(&io, cmd, cmd_len, out, sizeof(out), &out_len, msg,
			 sizeof(msg));
	FUZZ_ASSERT(r == 0 || r == -TIS_ERR_TIMEOUT || r == -TIS_ERR_PROTOCOL);
	if (r == 0)
		FUZZ_ASSERT(out_len >= TPM2_HEADER_SIZE &&
			    out_len <= sizeof(out));
	else
		FUZZ_ASSERT(out_len == 0);
	/* commandReady, then per command byte a burst wait and a stsValid
	 * wait, tpmGo, then per response byte the same: each at most its
	 * bound plus one poll. */
	uint64_t bound_ms =
	    TIS_TIMEOUT_B_MS + TIS_COMMAND_MS +
	    (cmd_len + sizeof(out)) * (TIS_TIMEOUT_A_MS + TIS_TIMEOUT_C_MS) +
	    (cmd_len + sizeof(out)) * 4;
	FUZZ_ASSERT(regs.now_us - start <= bound_ms * 1000);
	return 0;
}
