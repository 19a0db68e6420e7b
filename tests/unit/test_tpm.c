/*
 * The kernel's TPM path on the host: TPM2_PCR_Read as bytes
 * (common/hw/tpm2.c) against responses a real TPM sent, and the FIFO
 * exchange (common/hw/tis.c) against a simulated TPM at the register level
 * that can be absent, another kind of TPM, slow, silent or wrong.
 *
 * The simulator's clock is its own: it advances by TICK_US on every
 * now_us call, so a TPM that never answers costs no real time, and each
 * timeout can be checked to fall within its bound: at least the
 * specified time, and not much more.
 */
#include "common/hw/tis.h"
#include "common/hw/tpm2.h"
#include "tests/unit/check.h"

/* Captured from swtpm 0.7.1 (libtpms) over its socket, after
 * TPM2_Startup(CLEAR) and TPM2_PCR_Extend of PCR 8 with SHA-256("test"):
 * the command tpm2_pcr_read_command builds for PCRs 8 and 9, SHA-256,
 * and the TPM's responses. */
static const char cmd_hex[] = "8001000000140000017e00000001000b03000300";
static const char resp_hex[] =
    "800100000060000000000000001500000001000b0300030000000002"
    "0020516caf854bba78a30ba2a84f9e400642c01c1a3fa429268ff5b47c32a655d4b3"
    "00200000000000000000000000000000000000000000000000000000000000000000";
/* The same PCRs in the SHA-1 bank. */
static const char resp_sha1_hex[] =
    "800100000048000000000000001500000001000403000300000000020014"
    "0000000000000000000000000000000000000000"
    "00140000000000000000000000000000000000000000";
/* TPM2_PCR_Read before TPM2_Startup. */
static const char resp_init_hex[] = "80010000000a00000100";
/* SHA-256(0^32 || SHA-256("test")): PCR 8 after the extend. */
static const char pcr8_hex[] =
    "516caf854bba78a30ba2a84f9e400642c01c1a3fa429268ff5b47c32a655d4b3";

#define PCRS_8_9 ((1u << 8) | (1u << 9))

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	if (n > cap)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
	return n;
}

/* --- TPM2_PCR_Read marshalling ------------------------------------- */

static void test_command_bytes(void)
{
	uint8_t cmd[TPM2_PCR_READ_CMD_SIZE], want[32];
	size_t n = tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, PCRS_8_9);
	size_t wn = unhex(cmd_hex, want, sizeof(want));

	CHECK_EQ(n, wn);
	CHECK(memcmp(cmd, want, wn) == 0);
	/* PCR 0 and PCR 23: the first and last bits of the selection. */
	CHECK_EQ(tpm2_pcr_read_command(cmd, TPM2_ALG_SHA1, 1u | 1u << 23), 20);
	CHECK_EQ(cmd[15], 0x04);
	CHECK_EQ(cmd[17], 0x01);
	CHECK_EQ(cmd[18], 0x00);
	CHECK_EQ(cmd[19], 0x80);
}

static void test_command_refuses_bad_masks(void)
{
	uint8_t cmd[TPM2_PCR_READ_CMD_SIZE];

	CHECK_EQ(tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, 0), 0);
	CHECK_EQ(tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, 1u << 24), 0);
}

static void test_parse_real_response(void)
{
	uint8_t resp[128], want8[32];
	size_t n = unhex(resp_hex, resp, sizeof(resp));
	struct tpm2_pcr_values v;
	const char *why = "unset";
	uint32_t rc = 99;
	static const uint8_t zero[32];

	unhex(pcr8_hex, want8, sizeof(want8));
	CHECK_EQ(tpm2_pcr_read_parse(resp, n, TPM2_ALG_SHA256, PCRS_8_9, &v,
				     &rc, &why),
		 0);
	CHECK_EQ(rc, 0);
	CHECK_STR(why, NULL);
	CHECK_EQ(v.returned, PCRS_8_9);
	CHECK_EQ(v.update_counter, 0x15);
	CHECK(memcmp(v.value[8], want8, 32) == 0);
	CHECK(memcmp(v.value[9], zero, 32) == 0);
}

static void test_parse_sha1_bank(void)
{
	uint8_t resp[128];
	size_t n = unhex(resp_sha1_hex, resp, sizeof(resp));
	struct tpm2_pcr_values v;
	const char *why;
	uint32_t rc;

	CHECK_EQ(tpm2_pcr_read_parse(resp, n, TPM2_ALG_SHA1, PCRS_8_9, &v, &rc,
				     &why),
		 0);
	CHECK_EQ(v.returned, PCRS_8_9);
	/* The same bytes are not a SHA-256 answer. */
	CHECK_EQ(tpm2_pcr_read_parse(resp, n, TPM2_ALG_SHA256, PCRS_8_9, &v,
				     &rc, &why),
		 -ERR_INVALID);
	CHECK_STR(why, "pcrSelectionOut names another bank");
}

static void test_parse_error_code(void)
{
	uint8_t resp[16];
	size_t n = unhex(resp_init_hex, resp, sizeof(resp));
	struct tpm2_pcr_values v;
	const char *why;
	uint32_t rc;

	CHECK_EQ(tpm2_pcr_read_parse(resp, n, TPM2_ALG_SHA256, PCRS_8_9, &v,
				     &rc, &why),
		 -ERR_INVALID);
	CHECK_EQ(rc, TPM2_RC_INITIALIZE);
	CHECK(strstr(tpm2_rc_name(rc), "TPM2_Startup") != NULL);
	CHECK_STR(tpm2_rc_name(0x922), NULL);
}

/* Cut at every length: with the size field left as it was (it then
 * disagrees) and with it rewritten to the cut (so the inner checks must
 * catch the missing bytes). Never accepted, never read past the cut
 * (ASan: each cut is a buffer of its own). */
static void test_parse_every_truncation(void)
{
	uint8_t full[128];
	size_t n = unhex(resp_hex, full, sizeof(full));
	struct tpm2_pcr_values v;
	const char *why;
	uint32_t rc;

	for (size_t cut = 0; cut < n; cut++) {
		for (int fix = 0; fix < 2; fix++) {
			uint8_t *p = malloc(cut ? cut : 1);
			memcpy(p, full, cut);
			if (fix && cut >= 6) {
				p[2] = (uint8_t)(cut >> 24);
				p[3] = (uint8_t)(cut >> 16);
				p[4] = (uint8_t)(cut >> 8);
				p[5] = (uint8_t)cut;
			}
			int r = tpm2_pcr_read_parse(p, cut, TPM2_ALG_SHA256,
						    PCRS_8_9, &v, &rc, &why);
			CHECK_MSG(r == -ERR_INVALID && why,
				  "cut at %zu (size %s) accepted", cut,
				  fix ? "fixed" : "kept");
			free(p);
		}
	}
}

/* One change to the real response each, and what must be said. */
static void test_parse_malformed(void)
{
	static const struct {
		const char *name;
		size_t at; /* byte to change */
		uint8_t value;
		uint32_t mask; /* PCRs asked for */
		const char *why;
	} rows[] = {
	    {"tag with sessions", 1, 0x02, PCRS_8_9,
	     "response tag is not TPM_ST_NO_SESSIONS"},
	    {"size one more", 5, 0x61, PCRS_8_9,
	     "response size field disagrees with the bytes received"},
	    {"two banks", 17, 2, PCRS_8_9,
	     "pcrSelectionOut names more than one bank"},
	    {"no bank", 17, 0, PCRS_8_9,
	     "the TPM returned no PCRs (bank not active?)"},
	    {"select size 4", 20, 4, PCRS_8_9,
	     "pcrSelectionOut is longer than 24 PCRs"},
	    {"PCR 10 too", 22, 0x07, PCRS_8_9,
	     "pcrSelectionOut names a PCR that was not asked for"},
	    {"only PCR 8 asked", 22, 0x03, 1u << 8,
	     "pcrSelectionOut names a PCR that was not asked for"},
	    {"three digests", 27, 3, PCRS_8_9,
	     "pcrValues count differs from the PCRs selected"},
	    {"digest of 31 bytes", 29, 0x1f, PCRS_8_9,
	     "a PCR value is not the bank's digest size"},
	};
	uint8_t resp[128];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t n = unhex(resp_hex, resp, sizeof(resp));
		struct tpm2_pcr_values v;
		const char *why;
		uint32_t rc;

		CASE_BEGIN(rows[i].name);
		resp[rows[i].at] = rows[i].value;
		CHECK_EQ(tpm2_pcr_read_parse(resp, n, TPM2_ALG_SHA256,
					     rows[i].mask, &v, &rc, &why),
			 -ERR_INVALID);
		CHECK_STR(why, rows[i].why);
		CHECK_EQ(v.returned, 0);
		CASE_END();
	}
}

/* A byte after the values; and a TPM that returns only PCR 8 of 8 and 9
 * (Part 3 allows fewer): accepted, and returned says so. */
static void test_parse_trailing_and_fewer(void)
{
	uint8_t resp[160];
	size_t n = unhex(resp_hex, resp, sizeof(resp));
	struct tpm2_pcr_values v;
	const char *why;
	uint32_t rc;

	resp[n] = 0;
	resp[5] = (uint8_t)(n + 1);
	CHECK_EQ(tpm2_pcr_read_parse(resp, n + 1, TPM2_ALG_SHA256, PCRS_8_9, &v,
				     &rc, &why),
		 -ERR_INVALID);
	CHECK_STR(why, "bytes after pcrValues");

	n = unhex(resp_hex, resp, sizeof(resp));
	resp[22] = 0x01; /* PCR 8 only */
	resp[27] = 1;    /* one digest */
	n -= 34;
	resp[5] = (uint8_t)n;
	CHECK_EQ(tpm2_pcr_read_parse(resp, n, TPM2_ALG_SHA256, PCRS_8_9, &v,
				     &rc, &why),
		 0);
	CHECK_EQ(v.returned, 1u << 8);
}

/* --- the FIFO interface against a simulated TPM --------------------- */

#define TICK_US 100u

enum sim_state { S_IDLE, S_READY, S_RECEPTION, S_EXECUTION, S_COMPLETION };

struct sim {
	/* What kind of device, and how it misbehaves. */
	bool absent;          /* every register reads absent_value */
	uint8_t absent_value; /* 0xff (real buses) or 0x00 */
	uint32_t interface_id;
	uint32_t family;
	bool grants; /* grants locality 0 when asked */
	bool active_at_start;
	bool never_ready;    /* ignores commandReady */
	uint32_t burst;      /* burst count offered; 0 = stuck */
	bool silent;         /* never completes a command */
	uint32_t exec_us;    /* time a command takes */
	size_t expect_until; /* 0: correct; N: Expect drops after N bytes */
	bool expect_stays;   /* Expect stays set after the whole command */
	bool drop_valid;     /* stsValid never set once data was written */
	const uint8_t *resp;
	size_t resp_len;
	size_t resp_extra; /* data beyond resp (0x00 bytes) */
	size_t resp_short; /* dataAvail drops this many bytes early */

	/* State. */
	uint64_t now;
	bool active;
	enum sim_state state;
	uint8_t cmd[64];
	size_t cmd_len;
	size_t pos;
	uint64_t go_at;
	/* What the driver did. */
	size_t since_sts; /* FIFO bytes moved since STS was last read */
	bool overrun;     /* more of them than the burst count allowed */
	uint8_t sent[64]; /* the command as it was at tpmGo */
	size_t sent_len;
	int writes;
	int requests;
	int releases;
	int ready_writes;
	bool ready_after_go; /* commandReady written once a command ran */
};

static size_t cmd_size(const struct sim *s)
{
	if (s->cmd_len < 6)
		return SIZE_MAX;
	return (size_t)s->cmd[2] << 24 | (size_t)s->cmd[3] << 16 |
	       (size_t)s->cmd[4] << 8 | s->cmd[5];
}

static bool expecting(const struct sim *s)
{
	if (s->expect_until && s->cmd_len >= s->expect_until)
		return false;
	if (s->expect_stays)
		return true;
	return s->cmd_len < cmd_size(s);
}

static uint32_t sim_sts(struct sim *s)
{
	uint32_t v = s->family << TIS_STS_FAMILY_SHIFT;
	uint32_t burst = s->burst << TIS_STS_BURST_SHIFT;
	size_t total = s->resp_len + s->resp_extra - s->resp_short;

	s->since_sts = 0;
	if (s->state == S_EXECUTION && !s->silent &&
	    s->now >= s->go_at + s->exec_us)
		s->state = S_COMPLETION;
	switch (s->state) {
	case S_IDLE:
		return v | TIS_STS_VALID;
	case S_READY:
		return v | TIS_STS_VALID | TIS_STS_COMMAND_READY | burst;
	case S_RECEPTION:
		return v | (s->drop_valid ? 0 : TIS_STS_VALID) |
		       (expecting(s) ? TIS_STS_EXPECT : 0) | burst;
	case S_EXECUTION:
		return v | TIS_STS_VALID;
	case S_COMPLETION:
	default:
		return v | TIS_STS_VALID |
		       (s->pos < total ? TIS_STS_DATA_AVAIL | burst : 0);
	}
}

static uint8_t sim_read8(void *ctx, uint32_t reg)
{
	struct sim *s = ctx;

	if (s->absent)
		return s->absent_value;
	switch (reg) {
	case TIS_ACCESS:
		return TIS_ACCESS_VALID | (s->active ? TIS_ACCESS_ACTIVE : 0);
	case TIS_RID:
		return 0x01;
	case TIS_DATA_FIFO:
		if (++s->since_sts > s->burst)
			s->overrun = true;
		if (s->state == S_COMPLETION &&
		    s->pos < s->resp_len + s->resp_extra - s->resp_short) {
			size_t i = s->pos++;
			return i < s->resp_len ? s->resp[i] : 0;
		}
		return 0xff;
	default:
		return (uint8_t)sim_sts(s);
	}
}

static uint32_t sim_read32(void *ctx, uint32_t reg)
{
	struct sim *s = ctx;

	if (s->absent)
		return s->absent_value * 0x01010101u;
	switch (reg) {
	case TIS_STS:
		return sim_sts(s);
	case TIS_INTERFACE_ID:
		return s->interface_id;
	case TIS_DID_VID:
		return 0x00011014;
	default:
		return 0;
	}
}

static void sim_write8(void *ctx, uint32_t reg, uint8_t v)
{
	struct sim *s = ctx;

	s->writes++;
	if (s->absent)
		return;
	if (reg == TIS_ACCESS) {
		if (v & TIS_ACCESS_REQUEST_USE) {
			s->requests++;
			s->active = s->active || s->grants;
		}
		if (v & TIS_ACCESS_ACTIVE) {
			s->releases++;
			s->active = false;
		}
		return;
	}
	if (reg == TIS_DATA_FIFO &&
	    (s->state == S_READY || s->state == S_RECEPTION)) {
		s->state = S_RECEPTION;
		if (++s->since_sts > s->burst)
			s->overrun = true;
		if (s->cmd_len < sizeof(s->cmd))
			s->cmd[s->cmd_len++] = v;
	}
}

static void sim_write32(void *ctx, uint32_t reg, uint32_t v)
{
	struct sim *s = ctx;

	s->writes++;
	if (s->absent || reg != TIS_STS)
		return;
	if (v & TIS_STS_COMMAND_READY) {
		s->ready_writes++;
		if (s->state == S_EXECUTION || s->state == S_COMPLETION)
			s->ready_after_go = true;
		if (!s->never_ready) {
			s->state = S_READY;
			s->cmd_len = 0;
			s->pos = 0;
		}
	}
	if ((v & TIS_STS_GO) && s->state == S_RECEPTION) {
		s->state = S_EXECUTION;
		s->go_at = s->now;
		memcpy(s->sent, s->cmd, s->cmd_len);
		s->sent_len = s->cmd_len;
	}
}

static uint64_t sim_now(void *ctx)
{
	struct sim *s = ctx;
	s->now += TICK_US;
	return s->now;
}

static struct sim sim_good(const uint8_t *resp, size_t resp_len)
{
	struct sim s = {
	    .interface_id = 0x00000010 | TIS_IFTYPE_FIFO,
	    .family = TIS_FAMILY_TPM20,
	    .grants = true,
	    .burst = 64,
	    .exec_us = 1000,
	    .resp = resp,
	    .resp_len = resp_len,
	};
	return s;
}

static struct tis_io sim_io(struct sim *s)
{
	struct tis_io io = {s,          sim_read8,   sim_read32,
			    sim_write8, sim_write32, sim_now};
	return io;
}

/* The time a failed exchange took must be at least the bound of the wait
 * that failed and at most that plus a few dozen polls (the steps before
 * it). */
#define CHECK_WAITED(s, from, ms)                                              \
	do {                                                                   \
		uint64_t waited_ = (s)->now - (from);                          \
		CHECK_MSG(waited_ >= (ms)*1000ull &&                           \
			      waited_ <= (ms)*1000ull + 50 * TICK_US,          \
			  "waited %" PRIu64 " us, bound %u ms", waited_,       \
			  (unsigned)(ms));                                     \
	} while (0)

static void test_probe_absent(void)
{
	static const uint8_t values[] = {0xff, 0x00};

	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		struct sim s = sim_good(NULL, 0);
		struct tis_io io = sim_io(&s);
		struct tis_info info;
		char why[128];

		CASE_BEGIN(values[i] ? "reads 0xff" : "reads 0x00");
		s.absent = true;
		s.absent_value = values[i];
		CHECK_EQ(tis_probe(&io, &info, why, sizeof(why)),
			 -ERR_NOTFOUND);
		CHECK_EQ(info.found, TIS_NONE);
		CHECK(strstr(why, values[i] ? "0xff" : "0x00") != NULL);
		/* Nothing written, no waiting. */
		CHECK_EQ(s.writes, 0);
		CHECK_EQ(s.now, 0);
		CASE_END();
	}
}

static void test_probe_other_devices(void)
{
	static const struct {
		const char *name;
		uint32_t interface_id, family;
		enum tis_found found;
		const char *says;
	} rows[] = {
	    {"CRB", 0x00000011, TIS_FAMILY_TPM20, TIS_CRB, "CRB"},
	    {"TPM 1.2 on TIS 1.3", 0xffffffff, TIS_FAMILY_TPM12, TIS_FIFO_TPM12,
	     "TPM 1.2"},
	    {"interface type 5", 0x00000005, TIS_FAMILY_TPM20, TIS_UNKNOWN_IF,
	     "unknown"},
	    {"family 3", 0x00000000, 3, TIS_UNKNOWN_IF, "unknown"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct sim s = sim_good(NULL, 0);
		struct tis_io io = sim_io(&s);
		struct tis_info info;
		char why[128];

		CASE_BEGIN(rows[i].name);
		s.interface_id = rows[i].interface_id;
		s.family = rows[i].family;
		CHECK_EQ(tis_probe(&io, &info, why, sizeof(why)),
			 -ERR_NOTFOUND);
		CHECK_EQ(info.found, rows[i].found);
		CHECK_MSG(strstr(why, rows[i].says), "why: %s", why);
		/* A locality taken to look at the family is given back. */
		CHECK(!s.active);
		CASE_END();
	}
}

static void test_probe_locality(void)
{
	struct sim s = sim_good(NULL, 0);
	struct tis_io io = sim_io(&s);
	struct tis_info info;
	char why[128];

	CHECK_EQ(tis_probe(&io, &info, why, sizeof(why)), 0);
	CHECK_EQ(info.found, TIS_FIFO_TPM20);
	CHECK_EQ(info.did_vid, 0x00011014);
	CHECK_EQ(s.requests, 1);
	CHECK(s.active);
	CHECK(!info.locality_held);
	tis_release(&io);
	CHECK(!s.active);

	/* Left active by the firmware: used as it is. */
	s = sim_good(NULL, 0);
	s.active = true;
	CHECK_EQ(tis_probe(&io, &info, why, sizeof(why)), 0);
	CHECK_EQ(s.requests, 0);
	CHECK(info.locality_held);
}

static void test_probe_locality_never_granted(void)
{
	struct sim s = sim_good(NULL, 0);
	struct tis_io io = sim_io(&s);
	struct tis_info info;
	char why[128];

	s.grants = false;
	CHECK_EQ(tis_probe(&io, &info, why, sizeof(why)), -TIS_ERR_TIMEOUT);
	CHECK_WAITED(&s, 0, TIS_TIMEOUT_A_MS);
	CHECK_MSG(strstr(why, "locality 0 not granted within 750 ms"), "%s",
		  why);
}

/* A whole PCR read as the kernel does it, with bursts of 1, 3 and 64. */
static void test_exchange(void)
{
	static const uint32_t bursts[] = {1, 3, 64};
	uint8_t want[128], cmd[TPM2_PCR_READ_CMD_SIZE];
	size_t want_len = unhex(resp_hex, want, sizeof(want));
	size_t cmd_len = tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, PCRS_8_9);

	for (size_t i = 0; i < ARRAY_SIZE(bursts); i++) {
		struct sim s = sim_good(want, want_len);
		struct tis_io io = sim_io(&s);
		struct tis_info info;
		struct tpm2_pcr_values v;
		uint8_t resp[512];
		size_t resp_len = 0;
		const char *what;
		char why[160] = "";
		uint32_t rc;
		char name[32];

		snprintf(name, sizeof(name), "burst %u", bursts[i]);
		CASE_BEGIN(name);
		s.burst = bursts[i];
		CHECK_EQ(tis_probe(&io, &info, why, sizeof(why)), 0);
		CHECK_EQ(tis_transmit(&io, cmd, cmd_len, resp, sizeof(resp),
				      &resp_len, why, sizeof(why)),
			 0);
		CHECK_MSG(!why[0] || !strcmp(why, "TPM 2.0, FIFO interface"),
			  "why: %s", why);
		CHECK_EQ(s.sent_len, cmd_len);
		CHECK(memcmp(s.sent, cmd, cmd_len) == 0);
		CHECK_EQ(resp_len, want_len);
		CHECK(memcmp(resp, want, want_len) == 0);
		CHECK(!s.overrun);
		/* Back to idle after reading the response. */
		CHECK(s.ready_after_go);
		CHECK_EQ(s.state, S_READY);
		CHECK_EQ(tpm2_pcr_read_parse(resp, resp_len, TPM2_ALG_SHA256,
					     PCRS_8_9, &v, &rc, &what),
			 0);
		CASE_END();
	}
}

/* A TPM that takes 1.5 s (less than the 2 s allowed) is waited for. */
static void test_exchange_slow_but_in_time(void)
{
	uint8_t want[128], cmd[TPM2_PCR_READ_CMD_SIZE], resp[512];
	size_t want_len = unhex(resp_hex, want, sizeof(want)), resp_len;
	size_t cmd_len = tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, PCRS_8_9);
	struct sim s = sim_good(want, want_len);
	struct tis_io io = sim_io(&s);
	char why[160];

	s.active = true;
	s.exec_us = 1500000;
	CHECK_EQ(tis_transmit(&io, cmd, cmd_len, resp, sizeof(resp), &resp_len,
			      why, sizeof(why)),
		 0);
	CHECK_EQ(resp_len, want_len);
}

/* Each way a TPM can fail the exchange: the error, what the message
 * says, and for timeouts the bound it waited. Whatever happened, the
 * driver wrote commandReady last, so the TPM is idle or aborting. */
static void test_exchange_failures(void)
{
	enum fault {
		NEVER_READY,
		BURST_STUCK,
		DROP_VALID,
		SILENT,
		EXPECT_EARLY,
		EXPECT_STAYS,
		SIZE_HUGE,
		SIZE_TINY,
		EXTRA_DATA,
		SHORT_DATA,
	};
	static const struct {
		const char *name;
		enum fault fault;
		int err;
		uint32_t bound_ms; /* for timeouts */
		const char *says;
	} rows[] = {
	    {"never ready", NEVER_READY, -TIS_ERR_TIMEOUT, TIS_TIMEOUT_B_MS,
	     "not ready for a command within 2000 ms"},
	    {"burst count stuck at 0", BURST_STUCK, -TIS_ERR_TIMEOUT,
	     TIS_TIMEOUT_A_MS, "burst count stayed 0 for 750 ms after 0 of 20"},
	    {"stsValid never set", DROP_VALID, -TIS_ERR_TIMEOUT,
	     TIS_TIMEOUT_C_MS, "status not valid within 200 ms"},
	    {"no response", SILENT, -TIS_ERR_TIMEOUT, TIS_COMMAND_MS,
	     "no response within 2000 ms of tpmGo"},
	    {"Expect drops early", EXPECT_EARLY, -TIS_ERR_PROTOCOL, 0,
	     "stopped expecting data after 8 of 20"},
	    {"Expect stays", EXPECT_STAYS, -TIS_ERR_PROTOCOL, 0,
	     "still expects data after the whole 20-byte command"},
	    {"size field past the buffer", SIZE_HUGE, -TIS_ERR_PROTOCOL, 0,
	     "response size field 4096 outside [10, 512]"},
	    {"size field under a header", SIZE_TINY, -TIS_ERR_PROTOCOL, 0,
	     "response size field 9 outside [10, 512]"},
	    {"more data than the size", EXTRA_DATA, -TIS_ERR_PROTOCOL, 0,
	     "more data after the 96 bytes"},
	    {"less data than the size", SHORT_DATA, -TIS_ERR_PROTOCOL, 0,
	     "response ended after 90 bytes, before its size field's 96"},
	};
	uint8_t good[128], cmd[TPM2_PCR_READ_CMD_SIZE];
	size_t good_len = unhex(resp_hex, good, sizeof(good));
	size_t cmd_len = tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, PCRS_8_9);

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		uint8_t bytes[128], resp[512];
		size_t resp_len = 1;
		char why[160] = "";
		struct sim s;
		struct tis_io io;
		uint64_t start;

		memcpy(bytes, good, good_len);
		s = sim_good(bytes, good_len);
		io = sim_io(&s);
		s.active = true;
		s.burst = 8;
		switch (rows[i].fault) {
		case NEVER_READY:
			s.never_ready = true;
			break;
		case BURST_STUCK:
			s.burst = 0;
			break;
		case DROP_VALID:
			s.drop_valid = true;
			break;
		case SILENT:
			s.silent = true;
			break;
		case EXPECT_EARLY:
			s.expect_until = 8;
			break;
		case EXPECT_STAYS:
			s.expect_stays = true;
			break;
		case SIZE_HUGE:
			bytes[4] = 0x10;
			bytes[5] = 0x00;
			break;
		case SIZE_TINY:
			bytes[5] = 9;
			break;
		case EXTRA_DATA:
			s.resp_extra = 1;
			break;
		case SHORT_DATA:
			s.resp_short = 6;
			break;
		}
		CASE_BEGIN(rows[i].name);
		start = s.now;
		CHECK_EQ(tis_transmit(&io, cmd, cmd_len, resp, sizeof(resp),
				      &resp_len, why, sizeof(why)),
			 rows[i].err);
		CHECK_MSG(strstr(why, rows[i].says), "why: %s", why);
		CHECK_EQ(resp_len, 0);
		if (rows[i].bound_ms)
			CHECK_WAITED(&s, start, rows[i].bound_ms);
		/* The last write: commandReady (abort, or idle). */
		CHECK(s.ready_writes >= 2);
		CASE_END();
	}
}

int main(void)
{
	RUN(test_command_bytes);
	RUN(test_command_refuses_bad_masks);
	RUN(test_parse_real_response);
	RUN(test_parse_sha1_bank);
	RUN(test_parse_error_code);
	RUN(test_parse_every_truncation);
	test_parse_malformed();
	RUN(test_parse_trailing_and_fewer);
	test_probe_absent();
	test_probe_other_devices();
	RUN(test_probe_locality);
	RUN(test_probe_locality_never_granted);
	test_exchange();
	RUN(test_exchange_slow_but_in_time);
	test_exchange_failures();
	return check_summary();
}
