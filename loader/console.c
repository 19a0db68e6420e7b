/*
 * Console output: every line the loader prints goes through here, to
 * ConOut only (OVMF mirrors ConOut to the serial port; real firmware
 * shows it on screen). Lines are formatted as ASCII with common/fmt.h and
 * widened to CHAR16 in small chunks, so no line length is too long to
 * print, and nothing outside 0x20..0x7e (plus newline) reaches the
 * firmware's terminal as a control sequence.
 *
 * Only usable before ExitBootServices.
 */
#include "loader.h"

#include "common/fmt.h"
#include "common/string.h"

/* Long enough for the longest line the loader prints: a full command
 * line (BI_CMDLINE_MAX) with its label. Static, not on the stack: the
 * loader is single-threaded and the firmware's stack is not ours. */
static char con_line[BI_CMDLINE_MAX + 128];

/* Writes s, translating "\n" to the "\r\n" a UEFI terminal needs. */
static void con_write(const char *s)
{
	CHAR16 buf[128];
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		/* Room for "\r\n" and the terminating NUL. */
		if (n + 3 > ARRAY_SIZE(buf)) {
			buf[n] = 0;
			efi_st->ConOut->OutputString(efi_st->ConOut, buf);
			n = 0;
		}
		if (c == '\n') {
			buf[n++] = '\r';
			buf[n++] = '\n';
		} else if (c >= 0x20 && c < 0x7f) {
			buf[n++] = c;
		} else {
			buf[n++] = '?';
		}
	}
	buf[n] = 0;
	efi_st->ConOut->OutputString(efi_st->ConOut, buf);
}

static void con_vline(const char *prefix, const char *fmt, va_list ap)
{
	size_t n = str_copy(con_line, prefix, sizeof(con_line));

	fmt_vsnprintf(con_line + n, sizeof(con_line) - n, fmt, ap);
	con_write(con_line);
	con_write("\n");
}

/* Prints one line, "loader: " followed by fmt. */
void con_print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	con_vline("loader: ", fmt, ap);
	va_end(ap);
}

EFI_STATUS loader_error(EFI_STATUS status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	con_vline("loader: error: ", fmt, ap);
	va_end(ap);
	return status;
}

/* Error codes 1..33 of the UEFI specification, appendix D. */
/* clang-format off */
static const char *const efi_error_names[] = {
	[1] = "EFI_LOAD_ERROR",
	[2] = "EFI_INVALID_PARAMETER",
	[3] = "EFI_UNSUPPORTED",
	[4] = "EFI_BAD_BUFFER_SIZE",
	[5] = "EFI_BUFFER_TOO_SMALL",
	[6] = "EFI_NOT_READY",
	[7] = "EFI_DEVICE_ERROR",
	[8] = "EFI_WRITE_PROTECTED",
	[9] = "EFI_OUT_OF_RESOURCES",
	[10] = "EFI_VOLUME_CORRUPTED",
	[11] = "EFI_VOLUME_FULL",
	[12] = "EFI_NO_MEDIA",
	[13] = "EFI_MEDIA_CHANGED",
	[14] = "EFI_NOT_FOUND",
	[15] = "EFI_ACCESS_DENIED",
	[16] = "EFI_NO_RESPONSE",
	[17] = "EFI_NO_MAPPING",
	[18] = "EFI_TIMEOUT",
	[19] = "EFI_NOT_STARTED",
	[20] = "EFI_ALREADY_STARTED",
	[21] = "EFI_ABORTED",
	[22] = "EFI_ICMP_ERROR",
	[23] = "EFI_TFTP_ERROR",
	[24] = "EFI_PROTOCOL_ERROR",
	[25] = "EFI_INCOMPATIBLE_VERSION",
	[26] = "EFI_SECURITY_VIOLATION",
	[27] = "EFI_CRC_ERROR",
	[28] = "EFI_END_OF_MEDIA",
	[31] = "EFI_END_OF_FILE",
	[32] = "EFI_INVALID_LANGUAGE",
	[33] = "EFI_COMPROMISED_DATA",
};
/* clang-format on */

const char *efi_status_name(EFI_STATUS status)
{
	static char other[40];
	uint64_t code = status & ~EFI_ERROR_MASK;

	if (status == EFI_SUCCESS)
		return "EFI_SUCCESS";
	if (EFI_ERROR(status) && code < ARRAY_SIZE(efi_error_names) &&
	    efi_error_names[code])
		return efi_error_names[code];
	fmt_snprintf(other, sizeof(other), "EFI status %p", (uint64_t)status);
	return other;
}
