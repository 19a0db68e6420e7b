/*
 * SHA-256 as FIPS 180-4 section 6.2 states it: the message is padded
 * with one 1 bit, zeros, and its length in bits as a 64-bit big-endian
 * number, to a multiple of 512 bits; each 512-bit block is expanded to a
 * 64-word schedule and mixed into the eight-word state in 64 rounds.
 * Words are big-endian throughout, so bytes are assembled explicitly and
 * the code does not depend on the target's byte order or alignment.
 */
#include "common/lib/sha256.h"

#include "common/lib/string.h"

/* The first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes (FIPS 180-4 section 4.2.2). */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The initial hash value: the first 32 bits of the fractional parts of
 * the square roots of the first 8 primes (section 5.3.3). */
static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The functions of section 4.1.2. */
#define CH(x, y, z)  (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x)     (ror(x, 2) ^ ror(x, 13) ^ ror(x, 22))
#define BSIG1(x)     (ror(x, 6) ^ ror(x, 11) ^ ror(x, 25))
#define SSIG0(x)     (ror(x, 7) ^ ror(x, 18) ^ ((x) >> 3))
#define SSIG1(x)     (ror(x, 17) ^ ror(x, 19) ^ ((x) >> 10))

/* Section 6.2.2: one 64-byte block into the state. */
static void compress(uint32_t state[8], const uint8_t *block)
{
	uint32_t w[64];
	uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
	uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

	for (unsigned t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (unsigned t = 16; t < 64; t++)
		w[t] =
		    SSIG1(w[t - 2]) + w[t - 7] + SSIG0(w[t - 15]) + w[t - 16];
	for (unsigned t = 0; t < 64; t++) {
		uint32_t t1 = h + BSIG1(e) + CH(e, f, g) + K[t] + w[t];
		uint32_t t2 = BSIG0(a) + MAJ(a, b, c);

		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

void sha256_init(struct sha256 *c)
{
	mem_copy(c->state, H0, sizeof(H0));
	c->bytes = 0;
	c->fill = 0;
}

void sha256_update(struct sha256 *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (len == 0)
		return; /* data may be NULL, and NULL + 0 is not C */
	c->bytes += len;
	/* Top up a partial block first. */
	if (c->fill) {
		size_t take = SHA256_BLOCK_SIZE - c->fill;

		if (take > len)
			take = len;
		mem_copy(c->block + c->fill, p, take);
		c->fill += (uint32_t)take;
		p += take;
		len -= take;
		if (c->fill < SHA256_BLOCK_SIZE)
			return;
		compress(c->state, c->block);
		c->fill = 0;
	}
	/* Whole blocks straight from the caller's buffer. */
	for (; len >= SHA256_BLOCK_SIZE; len -= SHA256_BLOCK_SIZE) {
		compress(c->state, p);
		p += SHA256_BLOCK_SIZE;
	}
	if (len) {
		mem_copy(c->block, p, len);
		c->fill = (uint32_t)len;
	}
}

void sha256_final(struct sha256 *c, uint8_t out[SHA256_DIGEST_SIZE])
{
	uint64_t bits = c->bytes * 8;

	/* Section 5.1.1: 0x80, then zeros up to 56 bytes into a block (a
	 * second block when fewer than 9 bytes are left in this one), then
	 * the length in bits, big-endian. */
	c->block[c->fill++] = 0x80;
	if (c->fill > SHA256_BLOCK_SIZE - 8) {
		mem_set(c->block + c->fill, 0, SHA256_BLOCK_SIZE - c->fill);
		compress(c->state, c->block);
		c->fill = 0;
	}
	mem_set(c->block + c->fill, 0, SHA256_BLOCK_SIZE - 8 - c->fill);
	store_be32(c->block + 56, (uint32_t)(bits >> 32));
	store_be32(c->block + 60, (uint32_t)bits);
	compress(c->state, c->block);
	for (unsigned i = 0; i < 8; i++)
		store_be32(out + 4 * i, c->state[i]);
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}

void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE],
		char out[SHA256_HEX_SIZE])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[2 * SHA256_DIGEST_SIZE] = 0;
}

bool sha256_equal(const uint8_t a[SHA256_DIGEST_SIZE],
		  const uint8_t b[SHA256_DIGEST_SIZE])
{
	uint8_t diff = 0;

	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
