/*
 * SHA-256 (common/lib/sha256.c) against the examples of FIPS 180-4 (NIST's
 * "SHA256.pdf" example values) and against the host's sha256sum on
 * random inputs: every length from 0 to 1100 bytes (over 17 blocks, so
 * every remainder modulo 64 several times, the padding's 55/56 split
 * included), the lengths within 9 bytes of a block boundary at sizes up
 * to 1 MiB, and random lengths up to 1 MiB. Every input is also hashed
 * in random pieces, which must give the one-call digest.
 *
 * sha256sum is run once over a directory of files, one per input. A host
 * without sha256sum fails the case that needs it, naming why (coreutils
 * is on every machine the project builds on).
 */
#define _POSIX_C_SOURCE 200809L /* popen, mkdtemp */
#include "common/lib/sha256.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <unistd.h>

/* xorshift64*: reproducible inputs, different on every case. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rng() >> 56);
}

static void hex_of(const void *data, size_t len, char out[SHA256_HEX_SIZE])
{
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256(data, len, d);
	sha256_hex(d, out);
}

/* The same digest from pieces of random sizes (empty ones included). */
static void hex_in_pieces(const uint8_t *data, size_t len,
			  char out[SHA256_HEX_SIZE])
{
	struct sha256 c;
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t done = 0;

	sha256_init(&c);
	while (done < len) {
		size_t n = rng() % 4 == 0 ? rng() % 3 : rng() % 200;

		if (rng() % 8 == 0)
			n = rng() % (3 * SHA256_BLOCK_SIZE);
		if (n > len - done)
			n = len - done;
		sha256_update(&c, data + done, n);
		done += n;
	}
	sha256_update(&c, NULL, 0);
	sha256_final(&c, d);
	sha256_hex(d, out);
}

/* FIPS 180-4's examples (and the empty message). */
static void test_fips_examples(void)
{
	static const struct {
		const char *msg;
		const char *hex;
	} ex[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb924"
		 "27ae41e4649b934ca495991b7852b855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad"},
	    /* 448 bits: the padding needs a second block. */
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039"
	     "a33ce45964ff2167f6ecedd419db06c1"},
	    /* 896 bits. */
	    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	     "cf5b16a778af8380036ce59e7b049237"
	     "0b249b11e8f07a51afac45037afee9d1"},
	};
	char hex[SHA256_HEX_SIZE];

	for (size_t i = 0; i < ARRAY_SIZE(ex); i++) {
		hex_of(ex[i].msg, strlen(ex[i].msg), hex);
		CHECK_STR(hex, ex[i].hex);
		hex_in_pieces((const uint8_t *)ex[i].msg, strlen(ex[i].msg),
			      hex);
		CHECK_STR(hex, ex[i].hex);
	}
}

/* One million 'a's, given 1000 bytes at a time and in one call. */
static void test_fips_million_a(void)
{
	static const char want[] = "cdc76e5c9914fb9281a1c7e284d73e67"
				   "f1809a48a497200e046d39ccc7112cd0";
	size_t n = 1000000;
	uint8_t *a = malloc(n);
	struct sha256 c;
	uint8_t d[SHA256_DIGEST_SIZE];
	char hex[SHA256_HEX_SIZE];

	if (!a) {
		CHECK_MSG(0, "malloc of %zu bytes failed", n);
		return;
	}
	memset(a, 'a', n);
	hex_of(a, n, hex);
	CHECK_STR(hex, want);
	sha256_init(&c);
	for (size_t i = 0; i < n; i += 1000)
		sha256_update(&c, a + i, 1000);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	CHECK_STR(hex, want);
	free(a);
}

static void test_hex_and_equal(void)
{
	uint8_t a[SHA256_DIGEST_SIZE], b[SHA256_DIGEST_SIZE];
	char hex[SHA256_HEX_SIZE];

	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++)
		a[i] = (uint8_t)(i * 8 + 7);
	sha256_hex(a, hex);
	CHECK_STR(hex, "070f171f272f373f474f575f676f777f"
		       "878f979fa7afb7bfc7cfd7dfe7eff7ff");
	memcpy(b, a, sizeof(a));
	CHECK(sha256_equal(a, b));
	b[0] ^= 1;
	CHECK(!sha256_equal(a, b));
	b[0] ^= 1;
	b[SHA256_DIGEST_SIZE - 1] ^= 0x80;
	CHECK(!sha256_equal(a, b));
}

#define MAX_LEN (1u << 20)

/* The inputs compared with sha256sum: lengths only; the bytes are drawn
 * when the file is written. */
static size_t lengths[4096];
static size_t nlengths;

static void add_length(size_t len)
{
	if (len <= MAX_LEN && nlengths < ARRAY_SIZE(lengths))
		lengths[nlengths++] = len;
}

static void choose_lengths(void)
{
	/* Block counts whose boundaries are checked, up to 1 MiB. */
	static const size_t blocks[] = {32,    100,   1000, 4096,
					10000, 16383, 16384};

	for (size_t len = 0; len <= 1100; len++)
		add_length(len);
	for (size_t i = 0; i < ARRAY_SIZE(blocks); i++)
		for (int d = -9; d <= 9; d++)
			add_length(blocks[i] * SHA256_BLOCK_SIZE + (size_t)d);
	for (int i = 0; i < 40; i++)
		add_length((size_t)(rng() % (MAX_LEN + 1)));
}

/* Writes every input to dir/N, runs sha256sum over them once and
 * compares. Returns the number of mismatches, or -1 when sha256sum
 * could not be run (said why). */
static int compare_with_sha256sum(const char *dir)
{
	uint8_t *buf = malloc(MAX_LEN);
	static char ours[ARRAY_SIZE(lengths)][SHA256_HEX_SIZE];
	static char pieces[ARRAY_SIZE(lengths)][SHA256_HEX_SIZE];
	char path[512], cmd[600], line[700];
	size_t seen = 0;
	int bad = 0;
	FILE *p;

	if (!buf) {
		printf("malloc of %u bytes failed\n", MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < nlengths; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%zu", dir, i);
		fill_random(buf, lengths[i]);
		hex_of(buf, lengths[i], ours[i]);
		hex_in_pieces(buf, lengths[i], pieces[i]);
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, lengths[i], f) != lengths[i]) {
			printf("cannot write %s: %s\n", path, strerror(errno));
			if (f)
				fclose(f);
			free(buf);
			return -1;
		}
		fclose(f);
	}
	free(buf);

	/* "HEX  DIR/N" per file; N gives the input. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && sha256sum -- * 2>&1", dir);
	p = popen(cmd, "r");
	if (!p) {
		printf("cannot run sha256sum: %s\n", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), p)) {
		char hex[SHA256_HEX_SIZE];
		size_t i;

		if (sscanf(line, "%64[0-9a-f]  %zu", hex, &i) != 2 ||
		    strlen(hex) != 64 || i >= nlengths) {
			printf("sha256sum said: %s", line);
			bad++;
			continue;
		}
		seen++;
		if (strcmp(hex, ours[i]) != 0) {
			if (bad++ < 10)
				printf("length %zu: sha256sum %s, ours %s\n",
				       lengths[i], hex, ours[i]);
		}
		if (strcmp(pieces[i], ours[i]) != 0) {
			if (bad++ < 10)
				printf("length %zu: in pieces %s, in one "
				       "call %s\n",
				       lengths[i], pieces[i], ours[i]);
		}
	}
	if (pclose(p) != 0 || seen != nlengths) {
		printf("sha256sum reported %zu of %zu files (is coreutils' "
		       "sha256sum installed?)\n",
		       seen, nlengths);
		return -1;
	}
	return bad;
}

static void remove_dir(const char *dir)
{
	char path[512];

	for (size_t i = 0; i < nlengths; i++) {
		snprintf(path, sizeof(path), "%s/%zu", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

static void test_against_sha256sum(void)
{
	char dir[] = "/tmp/test_sha256.XXXXXX";
	int bad;

	choose_lengths();
	if (!mkdtemp(dir)) {
		CHECK_MSG(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	bad = compare_with_sha256sum(dir);
	remove_dir(dir);
	CHECK_MSG(bad == 0, "%d of %zu inputs differ from sha256sum%s", bad,
		  nlengths, bad < 0 ? " (could not compare)" : "");
}

int main(void)
{
	RUN(test_fips_examples);
	RUN(test_fips_million_a);
	RUN(test_hex_and_equal);
	RUN(test_against_sha256sum);
	return check_summary();
}
