/*
 * A chain loader for the boot suite's load-options cases
 * (tests/boot/cases.py, SECURE): started by the firmware as
 * \EFI\BOOT\BOOTX64.EFI, it loads \EFI\BOOT\LOADER.EFI from its own
 * volume through the firmware (LoadImage: with Secure Boot on, the
 * firmware checks that image's signature as it does a boot option's),
 * gives it the load options CHAIN_OPTIONS, as the UEFI shell would for
 * "LOADER.EFI test chained", and starts it. It prints one line and
 * returns what the loader returned.
 *
 * Built only for the tests (tools/sign.mk), signed with the snakeoil key
 * like the loader beside it; nothing else uses it.
 */
#include "loader/uefi.h"

#define CHAIN_TARGET  L"\\EFI\\BOOT\\LOADER.EFI"
#define CHAIN_OPTIONS L"LOADER.EFI test chained"

static const EFI_GUID loaded_image_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
static const EFI_GUID device_path_guid = EFI_DEVICE_PATH_PROTOCOL_GUID;

#define DP_TYPE_MEDIA        0x04
#define DP_SUBTYPE_FILE_PATH 0x04
#define DP_TYPE_END          0x7f
#define DP_SUBTYPE_END       0xff

static void say(EFI_SYSTEM_TABLE *st, CHAR16 *text)
{
	st->ConOut->OutputString(st->ConOut, L"chain: ");
	st->ConOut->OutputString(st->ConOut, text);
	st->ConOut->OutputString(st->ConOut, L"\r\n");
}

static UINTN wlen(const CHAR16 *s)
{
	UINTN n = 0;

	while (s[n])
		n++;
	return n;
}

/* The partition's device path followed by a file-path node for
 * CHAIN_TARGET, in pool memory; NULL when something is missing. */
static EFI_DEVICE_PATH *target_path(EFI_BOOT_SERVICES *bs, EFI_HANDLE dev)
{
	EFI_DEVICE_PATH *dp;
	UINT8 *p, *out;
	UINTN head = 0, name = (wlen(CHAIN_TARGET) + 1) * sizeof(CHAR16);

	if (EFI_ERROR(bs->HandleProtocol(dev, UEFI_GUID(device_path_guid),
					 (void **)&dp)))
		return NULL;
	p = (UINT8 *)dp;
	while (p[head] != DP_TYPE_END)
		head += (UINTN)(p[head + 2] | p[head + 3] << 8);
	if (EFI_ERROR(bs->AllocatePool(EfiLoaderData, head + 4 + name + 4,
				       (void **)&out)))
		return NULL;
	for (UINTN i = 0; i < head; i++)
		out[i] = p[i];
	out[head] = DP_TYPE_MEDIA;
	out[head + 1] = DP_SUBTYPE_FILE_PATH;
	out[head + 2] = (UINT8)(4 + name);
	out[head + 3] = (UINT8)((4 + name) >> 8);
	for (UINTN i = 0; i < name; i++)
		out[head + 4 + i] = ((const UINT8 *)CHAIN_TARGET)[i];
	out[head + 4 + name] = DP_TYPE_END;
	out[head + 4 + name + 1] = DP_SUBTYPE_END;
	out[head + 4 + name + 2] = 4;
	out[head + 4 + name + 3] = 0;
	return (EFI_DEVICE_PATH *)out;
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_BOOT_SERVICES *bs = st->BootServices;
	static CHAR16 options[] = CHAIN_OPTIONS;
	EFI_LOADED_IMAGE *self, *child_li;
	EFI_DEVICE_PATH *path;
	EFI_HANDLE child;
	EFI_STATUS s;

	s = bs->HandleProtocol(image, UEFI_GUID(loaded_image_guid),
			       (void **)&self);
	if (EFI_ERROR(s) || !(path = target_path(bs, self->DeviceHandle))) {
		say(st, L"error: no device path for " CHAIN_TARGET);
		return EFI_NOT_FOUND;
	}
	s = bs->LoadImage(FALSE, image, path, NULL, 0, &child);
	if (EFI_ERROR(s)) {
		say(st, L"error: LoadImage of " CHAIN_TARGET " refused");
		return s;
	}
	s = bs->HandleProtocol(child, UEFI_GUID(loaded_image_guid),
			       (void **)&child_li);
	if (EFI_ERROR(s))
		return s;
	child_li->LoadOptions = options;
	child_li->LoadOptionsSize = (UINT32)sizeof(options);
	say(st, L"starting " CHAIN_TARGET " with load options \"" CHAIN_OPTIONS
		"\"");
	return bs->StartImage(child, NULL, NULL);
}
