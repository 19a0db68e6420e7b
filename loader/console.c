/*
 * Console output: every line the loader has for the user goes through
 * here, and ends up on ConOut (OVMF mirrors ConOut to the serial port;
 * real firmware shows it on screen) or in the boot info.
 *
 * ConOut is slow: OVMF draws every character on the framebuffer as well,
 * about 20 us a character under QEMU's TCG, which made the five lines of
 * a good boot a third of the loader's time. So con_print only queues its
 * line; on a good boot handoff_take_log() moves the queue into the boot
 * info and the kernel prints it, word for word, before its own first
 * line. loader_error() prints the queue on ConOut first and then the
 * error line, so a failure shows everything a loader that printed at
 * once would have shown, in the same order. A queue that would overflow
 * is printed at that point instead, so no line is ever dropped.
 *
 * Lines are formatted as ASCII with common/lib/fmt.h and widened to CHAR16
 * in small chunks, so no line length is too long to print, and nothing
 * outside 0x20..0x7e (plus newline) reaches the firmware's terminal as a
 * control sequence (or the kernel's log: queued lines are filtered the
 * same way).
 *
 * Printing is only possible before ExitBootServices.
 */
#include "loader.h"

#include "common/lib/fmt.h"
#include "common/lib/string.h"

/* Long enough for the longest line the loader prints: a full command
 * line (BI_CMDLINE_MAX) with its label. Static, not on the stack: the
 * loader is single-threaded and the firmware's stack is not ours. */
static char con_line[BI_CMDLINE_MAX + 128];

/* The lines queued for the kernel, each ending in '\n'. */
static char con_queue[BI_LOG_MAX];
static size_t con_queued;

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

/* Formats prefix and fmt into con_line; returns its length. */
static size_t con_format(const char *prefix, const char *fmt, va_list ap)
{
	size_t n = str_copy(con_line, prefix, sizeof(con_line));

	return n + fmt_vsnprintf(con_line + n, sizeof(con_line) - n, fmt, ap);
}

void con_flush(void)
{
	if (con_queued == 0)
		return;
	con_queue[con_queued] = '\0';
	con_write(con_queue);
	con_queued = 0;
}

/* Queues con_line as one line, filtered as con_write filters. */
static void con_enqueue(size_t len)
{
	if (len > sizeof(con_line) - 1)
		len = sizeof(con_line) - 1;
	/* Room for the line, its '\n' and con_flush's NUL. */
	if (con_queued + len + 2 > sizeof(con_queue)) {
		con_flush();
		if (len + 2 > sizeof(con_queue)) {
			con_write(con_line);
			con_write("\n");
			return;
		}
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)con_line[i];
		con_queue[con_queued++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	con_queue[con_queued++] = '\n';
}

void con_print(const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	len = con_format("loader: ", fmt, ap);
	va_end(ap);
	con_enqueue(len);
}

size_t con_copy_queue(char *dst, size_t cap)
{
	/* The queue is never longer than the boot info's log; should a
	 * caller have less room, the lines go to ConOut instead: nothing is
	 * dropped. */
	if (con_queued > cap) {
		con_flush();
		return 0;
	}
	mem_copy(dst, con_queue, con_queued);
	return con_queued;
}

EFI_STATUS loader_error(EFI_STATUS status, const char *fmt, ...)
{
	va_list ap;

	con_flush();
	va_start(ap, fmt);
	con_format("loader: error: ", fmt, ap);
	va_end(ap);
	con_write(con_line);
	con_write("\n");
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
