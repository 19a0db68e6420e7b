/*
 * SHA-256 (FIPS 180-4), for the loader's checks of the kernel file and
 * loader.conf against the hashes a signed build embeds, and for the
 * kernel hash the boot info carries. Freestanding and allocation-free:
 * the context lives wherever the caller puts it.
 *
 * Messages are whole bytes (FIPS 180-4 also defines bit lengths; nothing
 * here needs them) of at most 2^61 - 1 bytes, so the bit length fits the
 * 64-bit length field. Feeding the data in pieces of any sizes gives the
 * same digest as one call over all of it.
 */
#ifndef COMMON_SHA256_H
#define COMMON_SHA256_H

#include "common/lib/types.h"

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE  64
/* Lower-case hex of a digest and its NUL, as sha256sum prints it. */
#define SHA256_HEX_SIZE (2 * SHA256_DIGEST_SIZE + 1)

struct sha256 {
	uint32_t state[8];
	uint64_t bytes;                   /* message length so far */
	uint8_t block[SHA256_BLOCK_SIZE]; /* a partial block */
	uint32_t fill;                    /* bytes used in block */
};

void sha256_init(struct sha256 *c);
/* Appends len bytes (data may be NULL when len is 0). */
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* Pads, writes the digest to out and leaves c unusable until the next
 * sha256_init. */
void sha256_final(struct sha256 *c, uint8_t out[SHA256_DIGEST_SIZE]);

/* The digest of one buffer. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE]);

/* out gets the digest as 64 lower-case hex digits and a NUL. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE],
		char out[SHA256_HEX_SIZE]);

/* True when the two digests are equal. Reads every byte whatever the
 * first difference: what is compared is public, but a comparison that
 * always takes the same time needs no argument about it. */
bool sha256_equal(const uint8_t a[SHA256_DIGEST_SIZE],
		  const uint8_t b[SHA256_DIGEST_SIZE]);

#endif
