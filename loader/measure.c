/*
 * Measured boot: when the firmware offers EFI_TCG2_PROTOCOL (TCG EFI
 * Protocol Specification, family 2.0), the loader extends
 *
 *   PCR 9 with the SHA-256 (and every other active bank's hash) of the
 *         kernel file's bytes, exactly as read from the ESP;
 *   PCR 8 with the hash of the command line the kernel gets: its bytes
 *         without the terminating NUL (an empty line is measured too, as
 *         the hash of nothing, so "no command line" is a measured fact);
 *
 * through HashLogExtendEvent, which also appends each event to the
 * firmware's event log. A verifier replays PCR = H(PCR || H(data)) from
 * zeros; README "Measured boot" has the arithmetic.
 *
 * The event type is EV_IPL (0x0000000d). The TCG PC Client Platform
 * Firmware Profile gives PCRs 8-15 to the OS and its loader and marks
 * EV_IPL as deprecated for firmware; it defines no type of its own for an
 * OS loader's data. EV_IPL is what the widely used loaders (GRUB 2,
 * systemd-boot) log for PCR 8 and 9, so event-log tools show these
 * entries as loader measurements. The event data is text a person can
 * read in the log: the kernel's path, and for PCR 8 the command line
 * itself (so the log entry's data hashes to its own digest).
 *
 * What it prints: one line, either what was measured and into which
 * banks, or that there is no TPM, or why the measurement failed. None of
 * these stops the boot: an unmeasured boot cannot produce the expected
 * PCR values, so whatever is sealed to them stays sealed; refusing to
 * boot would add nothing but an unusable machine.
 */
#include "loader.h"

#include "common/hw/tpm2.h"
#include "common/lib/fmt.h"
#include "common/lib/string.h"

/* TCG EFI Protocol Specification, family 2.0, section 6. */
#define TCG2_PROTOCOL_GUID                                                     \
	{                                                                      \
		0x607f766c, 0x7455, 0x42be,                                    \
		{                                                              \
			0x93, 0x0b, 0xe4, 0xd7, 0x6d, 0xb2, 0x72, 0x0f         \
		}                                                              \
	}

#define TCG2_HASH_SHA1    0x00000001u
#define TCG2_HASH_SHA256  0x00000002u
#define TCG2_HASH_SHA384  0x00000004u
#define TCG2_HASH_SHA512  0x00000008u
#define TCG2_HASH_SM3_256 0x00000010u

#define TCG2_EVENT_HEADER_VERSION 1
#define EV_IPL                    0x0000000du

#define PCR_CMDLINE 8
#define PCR_KERNEL  9
#define PCR_MASK    ((1u << PCR_CMDLINE) | (1u << PCR_KERNEL))

struct tcg2_version {
	uint8_t major, minor;
};

/* Natural alignment, not packed: the specification's 1.1 layout, as
 * firmware (EDK2, and so OVMF) implements it. Size says how much of it
 * the caller has room for. */
struct tcg2_capability {
	uint8_t size;
	struct tcg2_version structure_version;
	struct tcg2_version protocol_version;
	uint32_t hash_algorithm_bitmap;
	uint32_t supported_event_logs;
	uint8_t tpm_present;
	uint16_t max_command_size;
	uint16_t max_response_size;
	uint32_t manufacturer_id;
	uint32_t number_of_pcr_banks;
	uint32_t active_pcr_banks;
};

/* Packed: HeaderSize counts 14 bytes. */
struct tcg2_event_header {
	uint32_t header_size;
	uint16_t header_version;
	uint32_t pcr_index;
	uint32_t event_type;
} __attribute__((packed));

struct tcg2_event {
	uint32_t size; /* of the whole event: this field, header, data */
	struct tcg2_event_header header;
	uint8_t data[];
} __attribute__((packed));

struct tcg2_protocol;
typedef EFI_STATUS(EFIAPI *tcg2_get_capability_fn)(struct tcg2_protocol *self,
						   struct tcg2_capability *cap);
typedef EFI_STATUS(EFIAPI *tcg2_hash_log_extend_event_fn)(
    struct tcg2_protocol *self, uint64_t flags, EFI_PHYSICAL_ADDRESS data,
    uint64_t data_len, struct tcg2_event *event);
typedef EFI_STATUS(EFIAPI *tcg2_submit_command_fn)(struct tcg2_protocol *self,
						   uint32_t in_size,
						   uint8_t *in,
						   uint32_t out_size,
						   uint8_t *out);
typedef EFI_STATUS(EFIAPI *tcg2_get_active_pcr_banks_fn)(
    struct tcg2_protocol *self, uint32_t *banks);

/* Only the members the loader calls are typed. */
struct tcg2_protocol {
	tcg2_get_capability_fn get_capability;
	void *get_event_log;
	tcg2_hash_log_extend_event_fn hash_log_extend_event;
	tcg2_submit_command_fn submit_command;
	tcg2_get_active_pcr_banks_fn get_active_pcr_banks;
	void *set_active_pcr_banks;
	void *get_result_of_set_active_pcr_banks;
};

_Static_assert(sizeof(struct tcg2_capability) == 36, "TCG2 capability");
_Static_assert(sizeof(struct tcg2_event_header) == 14, "TCG2 event header");
_Static_assert(sizeof(struct tcg2_event) == 18, "TCG2 event");

static const EFI_GUID tcg2_guid = TCG2_PROTOCOL_GUID;

/* One event at a time; static, as every loader buffer: the firmware's
 * stack is not ours. Room for the longest data, the command line. */
static union {
	struct tcg2_event ev;
	uint8_t bytes[sizeof(struct tcg2_event) + BI_CMDLINE_MAX];
} event_buf;

/* Appends the names of the banks in `banks` to buf ("sha1 sha256"). */
static void bank_names(uint32_t banks, char *buf, size_t cap)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
	    {TCG2_HASH_SHA1, "sha1"},     {TCG2_HASH_SHA256, "sha256"},
	    {TCG2_HASH_SHA384, "sha384"}, {TCG2_HASH_SHA512, "sha512"},
	    {TCG2_HASH_SM3_256, "sm3"},
	};
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(banks & names[i].bit))
			continue;
		if (n && n + 1 < cap)
			buf[n++] = ' ';
		n += str_copy(buf + n, names[i].name, cap - n);
	}
	if (!n)
		str_copy(buf, "none", cap);
}

/*
 * What PCRs 8 and 9 hold before the loader extends them, in SHA-256,
 * read through the firmware (SubmitCommand, TPM2_PCR_Read from
 * common/hw/tpm2.c), into buf: "PCR 8, 9 were zero before", or both values,
 * or why they could not be read. A verifier starts its replay from these
 * values: the PC Client profile leaves PCRs 8-15 to the OS, so firmware
 * should not have extended them, but a boot manager run before this
 * loader could have.
 */
static void pcrs_before(struct tcg2_protocol *tcg2, char *buf, size_t cap)
{
	static uint8_t cmd[TPM2_PCR_READ_CMD_SIZE], resp[256];
	static struct tpm2_pcr_values v;
	static const uint8_t zero[TPM2_SHA256_SIZE];
	const char *why;
	uint32_t rc;
	EFI_STATUS s;

	size_t len = tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, PCR_MASK);
	mem_set(resp, 0, sizeof(resp));
	s = tcg2->submit_command(tcg2, (uint32_t)len, cmd, sizeof(resp), resp);
	if (EFI_ERROR(s)) {
		fmt_snprintf(buf, cap, "PCR 8, 9 before: not read (%s)",
			     efi_status_name(s));
		return;
	}
	/* SubmitCommand gives no length: the response's size field does,
	 * bounded by the buffer. */
	len = (uint32_t)resp[2] << 24 | (uint32_t)resp[3] << 16 |
	      (uint32_t)resp[4] << 8 | resp[5];
	if (len > sizeof(resp))
		len = sizeof(resp);
	int bad = tpm2_pcr_read_parse(resp, len, TPM2_ALG_SHA256, PCR_MASK, &v,
				      &rc, &why);
	if (bad || v.returned != PCR_MASK) {
		fmt_snprintf(buf, cap,
			     "PCR 8, 9 before: not read (%s, response code "
			     "0x%x)",
			     bad ? why : "the TPM did not return both", rc);
		return;
	}
	if (!mem_cmp(v.value[PCR_CMDLINE], zero, sizeof(zero)) &&
	    !mem_cmp(v.value[PCR_KERNEL], zero, sizeof(zero))) {
		str_copy(buf, "PCR 8, 9 were zero before", cap);
		return;
	}
	size_t n = str_copy(buf, "before: PCR 8 ", cap);
	for (int pcr = PCR_CMDLINE; pcr <= PCR_KERNEL; pcr++) {
		if (pcr == PCR_KERNEL)
			n += str_copy(buf + n, ", PCR 9 ", cap - n);
		for (int i = 0; i < TPM2_SHA256_SIZE && n + 3 <= cap; i++)
			n += fmt_snprintf(buf + n, cap - n, "%02x",
					  (uint32_t)v.value[pcr][i]);
	}
}

/* Extends `pcr` with the hash of [data, data + len) and logs an EV_IPL
 * event whose data is `text` (at most BI_CMDLINE_MAX bytes are kept). */
static EFI_STATUS extend(struct tcg2_protocol *tcg2, uint32_t pcr,
			 const void *data, uint64_t len, const char *text)
{
	struct tcg2_event *ev = &event_buf.ev;
	size_t text_len = str_nlen(text, BI_CMDLINE_MAX);

	ev->size = (uint32_t)(sizeof(*ev) + text_len);
	ev->header.header_size = sizeof(ev->header);
	ev->header.header_version = TCG2_EVENT_HEADER_VERSION;
	ev->header.pcr_index = pcr;
	ev->header.event_type = EV_IPL;
	mem_copy(ev->data, text, text_len);
	/* An empty command line still has an address: the firmware may
	 * refuse a null one even for length 0. */
	return tcg2->hash_log_extend_event(
	    tcg2, 0, (EFI_PHYSICAL_ADDRESS)(uintptr_t)data, len, ev);
}

void measure_boot(struct loader *l)
{
	struct tcg2_protocol *tcg2 = NULL;
	struct tcg2_capability cap;
	uint32_t banks = 0;
	char names[48], before[180];
	EFI_STATUS s;

	s = efi_bs->LocateProtocol(UEFI_GUID(tcg2_guid), NULL, (void **)&tcg2);
	if (EFI_ERROR(s) || !tcg2) {
		con_print(
		    "tpm: none (no EFI_TCG2_PROTOCOL), boot not measured");
		return;
	}
	mem_set(&cap, 0, sizeof(cap));
	cap.size = sizeof(cap);
	s = tcg2->get_capability(tcg2, &cap);
	if (EFI_ERROR(s)) {
		con_print("tpm: GetCapability failed (%s), boot not measured",
			  efi_status_name(s));
		return;
	}
	if (!cap.tpm_present) {
		con_print("tpm: the firmware reports no TPM, boot not "
			  "measured");
		return;
	}
	/* The banks the firmware extends. Should GetActivePcrBanks fail, the
	 * capability's copy (0, printed "none", from a firmware that fills
	 * only the protocol 1.0 part of the structure). */
	s = tcg2->get_active_pcr_banks(tcg2, &banks);
	if (EFI_ERROR(s))
		banks = cap.active_pcr_banks;
	bank_names(banks, names, sizeof(names));
	pcrs_before(tcg2, before, sizeof(before));

	s = extend(tcg2, PCR_KERNEL, l->kernel.file, l->kernel.file_size,
		   l->cfg.kernel);
	if (EFI_ERROR(s)) {
		con_print("tpm: measuring %s into PCR %u failed (%s), boot not "
			  "measured",
			  l->cfg.kernel, PCR_KERNEL, efi_status_name(s));
		return;
	}
	s = extend(tcg2, PCR_CMDLINE, l->cfg.cmdline, str_len(l->cfg.cmdline),
		   l->cfg.cmdline);
	if (EFI_ERROR(s)) {
		con_print("tpm: measuring the command line into PCR %u failed "
			  "(%s); the kernel is measured into PCR %u",
			  PCR_CMDLINE, efi_status_name(s), PCR_KERNEL);
		return;
	}
	con_print("tpm: measured %s (%lu bytes) into PCR %u, the command line "
		  "(%lu bytes) into PCR %u; banks %s; %s",
		  l->cfg.kernel, l->kernel.file_size, PCR_KERNEL,
		  (uint64_t)str_len(l->cfg.cmdline), PCR_CMDLINE, names,
		  before);
}
