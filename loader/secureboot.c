/*
 * Secure Boot: the firmware's state and the loader's rules.
 *
 * With Secure Boot on, the firmware has checked this loader's signature
 * and nothing else; the loader extends that check to what it boots. A
 * signed build (tools/sign.mk) embeds the SHA-256 of the kernel file
 * and of loader.conf (loader/hashes.h), so the rules are:
 *
 *   - hashes embedded: the kernel file and loader.conf must match them,
 *     Secure Boot on or off (the same signed stick behaves the same on a
 *     PC with Secure Boot off); a mismatch is an error, never a boot;
 *   - Secure Boot on and no hashes embedded: refuse to boot, because a
 *     signed loader that boots any file it finds would let anyone with
 *     the ESP replace the kernel;
 *   - Secure Boot on: UEFI load options do not replace the command line
 *     from loader.conf (loader/options.c), since anyone at the firmware's
 *     shell or boot menu could otherwise change it.
 *
 * "On" is the global variable SecureBoot = 1 (UEFI 2.x, 3.3 "Globally
 * Defined Variables"; the firmware sets it at boot and nobody can write
 * it). A SecureBoot variable that exists but cannot be read as one byte
 * of 0 or 1 is treated as on: the rules then cost a boot, not the chain.
 * No variable at all is firmware without Secure Boot: off.
 */
#include "loader.h"

#include "common/lib/fmt.h"
#include "common/lib/sha256.h"
#include "loader/hashes.h"

static const EFI_GUID global_variable_guid = EFI_GLOBAL_VARIABLE;

/* Reads a global variable that must be one byte of 0 or 1 into *value.
 * Returns EFI_NOT_FOUND when it does not exist; any other failure is an
 * error status with its cause in why. */
static EFI_STATUS read_flag(CHAR16 *name, uint8_t *value, char *why, size_t cap)
{
	uint8_t buf[8];
	UINTN size = sizeof(buf);
	UINT32 attr;
	EFI_STATUS s;

	s = efi_st->RuntimeServices->GetVariable(
	    name, UEFI_GUID(global_variable_guid), &attr, &size, buf);
	if (s == EFI_NOT_FOUND)
		return s;
	if (EFI_ERROR(s)) {
		fmt_snprintf(why, cap, "GetVariable: %s", efi_status_name(s));
		return s;
	}
	if (size != 1 || buf[0] > 1) {
		fmt_snprintf(why, cap, "%lu bytes, first 0x%x", (uint64_t)size,
			     buf[0]);
		return EFI_COMPROMISED_DATA;
	}
	*value = buf[0];
	return EFI_SUCCESS;
}

/* The state from SecureBoot and SetupMode; why says what went wrong for
 * BI_SB_UNREADABLE. */
static uint32_t firmware_state(char *why, size_t cap)
{
	uint8_t on = 0, setup = 0;
	EFI_STATUS s;

	s = read_flag(L"SecureBoot", &on, why, cap);
	if (s == EFI_NOT_FOUND)
		return BI_SB_UNSUPPORTED;
	if (EFI_ERROR(s))
		return BI_SB_UNREADABLE;
	if (on)
		return BI_SB_ON;
	/* SetupMode only tells why it is off; a missing or odd one does not
	 * change that. */
	if (read_flag(L"SetupMode", &setup, why, cap) == EFI_SUCCESS && setup)
		return BI_SB_SETUP;
	return BI_SB_OFF;
}

EFI_STATUS secureboot_init(struct loader *l)
{
	const char *hashes = loader_hashes.present
				 ? "kernel and config hashes embedded"
				 : "no hashes embedded";
	const char *state;
	char why[48] = "";

	l->sb_state = firmware_state(why, sizeof(why));
	l->sb_enforce =
	    l->sb_state == BI_SB_ON || l->sb_state == BI_SB_UNREADABLE;
	state = bi_secure_boot_name(l->sb_state);
	if (l->sb_state == BI_SB_UNREADABLE)
		con_print("secure boot: %s (SecureBoot variable: %s), %s",
			  state, why, hashes);
	else
		con_print("secure boot: %s, %s", state, hashes);
	if (l->sb_enforce && !loader_hashes.present)
		return loader_error(EFI_SECURITY_VIOLATION,
				    "secure boot is on and this loader embeds "
				    "no kernel or config hashes, so it would "
				    "boot any file: refused (build a signed "
				    "loader with make image SIGN=1)");
	return EFI_SUCCESS;
}

bool secureboot_has_hashes(void)
{
	return loader_hashes.present != 0;
}

/* The comparison itself, for the kernel and the configuration alike. */
static EFI_STATUS verify(const char *what, const char *path,
			 const uint8_t expected[SHA256_DIGEST_SIZE],
			 const uint8_t actual[SHA256_DIGEST_SIZE])
{
	char want[SHA256_HEX_SIZE], got[SHA256_HEX_SIZE];

	if (!loader_hashes.present || sha256_equal(expected, actual))
		return EFI_SUCCESS;
	sha256_hex(expected, want);
	sha256_hex(actual, got);
	return loader_error(EFI_SECURITY_VIOLATION,
			    "%s%s: SHA-256 mismatch: expected %s, actual %s "
			    "(not the file this loader was signed with)",
			    what, path, want, got);
}

EFI_STATUS secureboot_verify_kernel(const char *path,
				    const uint8_t digest[SHA256_DIGEST_SIZE])
{
	return verify("kernel ", path, loader_hashes.kernel, digest);
}

EFI_STATUS secureboot_verify_config(const char *path, const void *text,
				    uint64_t size)
{
	uint8_t digest[SHA256_DIGEST_SIZE];

	if (!loader_hashes.present)
		return EFI_SUCCESS;
	sha256(text, size, digest);
	return verify("", path, loader_hashes.config, digest);
}

EFI_STATUS secureboot_config_missing(const char *path)
{
	char want[SHA256_HEX_SIZE];

	if (!loader_hashes.present)
		return EFI_SUCCESS;
	sha256_hex(loader_hashes.config, want);
	return loader_error(EFI_SECURITY_VIOLATION,
			    "%s: not found, but this loader was signed with "
			    "it (expected SHA-256 %s)",
			    path, want);
}
