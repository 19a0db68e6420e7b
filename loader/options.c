/*
 * UEFI load options as the kernel command line.
 *
 * LoadedImage->LoadOptions is whatever started the loader chose to pass:
 *   - the UEFI shell passes the command as typed, UTF-16, starting with
 *     the image's own name ("fs0:\EFI\BOOT\BOOTX64.EFI quiet"): that
 *     first word is dropped, like argv[0];
 *   - a Boot#### entry passes its optional data, which efibootmgr -u
 *     makes a UTF-16 string ("quiet") and OVMF's automatically created
 *     entries make a binary GUID, not text;
 *   - nothing at all (size 0).
 * So options are used only when they are printable text, and then they
 * replace the command line from loader.conf; anything else is ignored.
 * With Secure Boot on (l->sb_enforce) text is ignored too, with a line
 * saying so: the command line is part of what the signed loader's
 * embedded loader.conf hash fixes, and anyone at the firmware's shell or
 * boot menu can type load options.
 */
#include "loader.h"

#include "common/lib/string.h"

#define DP_TYPE_MEDIA        0x04
#define DP_SUBTYPE_FILE_PATH 0x04
#define DP_TYPE_END          0x7f

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool has_efi_suffix(const char *s, size_t len)
{
	return len > 4 && s[len - 4] == '.' && ascii_lower(s[len - 3]) == 'e' &&
	       ascii_lower(s[len - 2]) == 'f' && ascii_lower(s[len - 1]) == 'i';
}

/* The last path component of s[0..len), without a ".efi" suffix. */
static void base_name(const char *s, size_t len, const char **base,
		      size_t *base_len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] == '\\' || s[i] == '/' || s[i] == ':')
			start = i + 1;
	s += start;
	len -= start;
	if (has_efi_suffix(s, len))
		len -= 4;
	*base = s;
	*base_len = len;
}

/* The image's file name from its device path ("BOOTX64.EFI"), ASCII,
 * or "" when the path has no file-path node. */
static void image_file_name(const EFI_LOADED_IMAGE *li, char *out, size_t cap)
{
	const uint8_t *node = (const uint8_t *)li->FilePath;
	size_t n = 0;

	out[0] = 0;
	while (node && node[0] != DP_TYPE_END) {
		uint16_t len = (uint16_t)(node[2] | node[3] << 8);

		if (len < 4)
			break; /* malformed: stop rather than loop */
		if (node[0] == DP_TYPE_MEDIA &&
		    node[1] == DP_SUBTYPE_FILE_PATH) {
			/* Nodes may be split ("\EFI\BOOT", "BOOTX64.EFI"):
			 * the last one holds the file name. */
			const uint8_t *name = node + 4;
			n = 0;
			for (size_t i = 0;
			     i + 1 < (size_t)(len - 4) && n + 1 < cap; i += 2) {
				uint16_t c =
				    (uint16_t)(name[i] | name[i + 1] << 8);
				if (c == 0)
					break;
				out[n++] = c < 0x80 ? (char)c : '?';
			}
			out[n] = 0;
		}
		node += len;
	}
}

/* True when word (len bytes) names this image, as the shell's argv[0]
 * does: same base name, case-insensitive, ".efi" optional on both. */
static bool names_image(const EFI_LOADED_IMAGE *li, const char *word,
			size_t len)
{
	char file[64];
	const char *a, *b;
	size_t alen, blen;

	image_file_name(li, file, sizeof(file));
	if (!file[0]) /* no file path to compare with */
		return has_efi_suffix(word, len);
	base_name(word, len, &a, &alen);
	base_name(file, str_len(file), &b, &blen);
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/* Secure Boot on: options that hold text are reported, not used. */
static EFI_STATUS ignore(const char *text)
{
	con_print("secure boot: load options ignored (\"%s\"); the command "
		  "line is loader.conf's",
		  text);
	return EFI_SUCCESS;
}

EFI_STATUS options_apply(struct loader *l)
{
	const CHAR16 *opt = l->image->LoadOptions;
	size_t count = l->image->LoadOptionsSize / sizeof(CHAR16);
	char text[BI_CMDLINE_MAX + 64];
	size_t n = 0, start, end;

	if (!opt || count == 0)
		return EFI_SUCCESS;
	for (size_t i = 0; i < count && opt[i]; i++) {
		CHAR16 c = opt[i];

		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c < 0x20 || c > 0x7e)
			return EFI_SUCCESS; /* binary data, not a command */
		if (n + 1 >= sizeof(text) && l->sb_enforce) {
			text[n] = 0;
			return ignore(text);
		}
		if (n + 1 >= sizeof(text))
			return loader_error(EFI_INVALID_PARAMETER,
					    "load options: longer than %u "
					    "characters",
					    (unsigned)(sizeof(text) - 1));
		text[n++] = (char)c;
	}
	text[n] = 0;

	start = 0;
	while (start < n && text[start] == ' ')
		start++;
	end = start;
	while (end < n && text[end] != ' ')
		end++;
	if (end > start && names_image(l->image, text + start, end - start))
		start = end;
	while (start < n && text[start] == ' ')
		start++;
	while (n > start && text[n - 1] == ' ')
		text[--n] = 0;
	/* Only the image name: loader.conf's command line stands. */
	if (start == n)
		return EFI_SUCCESS;

	if (l->sb_enforce)
		return ignore(text + start);
	if (n - start >= sizeof(l->cfg.cmdline))
		return loader_error(EFI_INVALID_PARAMETER,
				    "load options: command line of %u bytes, "
				    "the limit is %u",
				    (unsigned)(n - start),
				    (unsigned)(sizeof(l->cfg.cmdline) - 1));
	str_copy(l->cfg.cmdline, text + start, sizeof(l->cfg.cmdline));
	l->cmdline_from_options = true;
	return EFI_SUCCESS;
}
