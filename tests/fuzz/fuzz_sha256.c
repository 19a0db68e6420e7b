/*
 * SHA-256 (common/lib/sha256.c) against OpenSSL's, on arbitrary messages fed
 * in arbitrary pieces.
 *
 * Input: byte 0 seeds the sizes of the pieces the message is fed in
 * (empty pieces, single bytes and runs over block boundaries among
 * them); the rest is the message. Properties: the one-call digest equals
 * OpenSSL's SHA256 of the message and the digest fed in pieces; the hex
 * form is 64 lower-case hex digits that read back as the digest;
 * sha256_equal tells the digest from a copy with any one bit flipped.
 */
#include "common/lib/sha256.h"
#include "tests/fuzz/fuzz_check.h"

#include <openssl/sha.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned hex_value(char c)
{
	return c >= 'a' ? (unsigned)(c - 'a' + 10) : (unsigned)(c - '0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t one[SHA256_DIGEST_SIZE], pieces[SHA256_DIGEST_SIZE];
	uint8_t ref[SHA256_DIGEST_SIZE], copy[SHA256_DIGEST_SIZE];
	char hex[SHA256_HEX_SIZE];
	const uint8_t *msg;
	struct sha256 c;
	uint32_t seed;
	size_t len, done = 0;

	if (size == 0)
		return 0;
	seed = data[0] | 1u;
	msg = data + 1;
	len = size - 1;

	sha256(msg, len, one);
	SHA256(msg, len, ref);
	FUZZ_ASSERT(memcmp(one, ref, sizeof(ref)) == 0);

	sha256_init(&c);
	while (done < len) {
		size_t n;

		/* An LCG step per piece: sizes 0..130, every so often a
		 * few blocks at once. */
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 131;
		if ((seed >> 8) % 7 == 0)
			n += 2 * SHA256_BLOCK_SIZE;
		if (n > len - done)
			n = len - done;
		sha256_update(&c, msg + done, n);
		done += n;
	}
	sha256_final(&c, pieces);
	FUZZ_ASSERT(memcmp(pieces, ref, sizeof(ref)) == 0);

	sha256_hex(one, hex);
	FUZZ_ASSERT(strlen(hex) == 2 * SHA256_DIGEST_SIZE);
	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++) {
		char hi = hex[2 * i], lo = hex[2 * i + 1];

		FUZZ_ASSERT(
		    ((hi >= '0' && hi <= '9') || (hi >= 'a' && hi <= 'f')) &&
		    ((lo >= '0' && lo <= '9') || (lo >= 'a' && lo <= 'f')));
		FUZZ_ASSERT((hex_value(hi) << 4 | hex_value(lo)) == one[i]);
	}

	FUZZ_ASSERT(sha256_equal(one, ref));
	memcpy(copy, one, sizeof(copy));
	copy[seed % SHA256_DIGEST_SIZE] ^= (uint8_t)(1u << (seed >> 8) % 8);
	FUZZ_ASSERT(!sha256_equal(one, copy));
	return 0;
}
