/*
 * Files on the loader's own volume: the device the firmware loaded
 * BOOTX64.EFI from (LoadedImage->DeviceHandle), through the Simple File
 * System protocol. Paths are ASCII from loader.conf; both '/' and '\'
 * are accepted and handed to the firmware as '\'.
 */
#include "loader.h"

#include "common/string.h"

static const EFI_GUID simple_fs_guid = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
static const EFI_GUID file_info_guid = EFI_FILE_INFO_ID;

EFI_STATUS file_open_volume(struct loader *l)
{
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_STATUS s;

	s = efi_bs->HandleProtocol(l->image->DeviceHandle,
				   UEFI_GUID(simple_fs_guid), (void **)&fs);
	if (EFI_ERROR(s))
		return loader_error(s,
				    "the boot device has no file system "
				    "(Simple File System: %s)",
				    efi_status_name(s));
	s = fs->OpenVolume(fs, &l->root);
	if (EFI_ERROR(s)) {
		l->root = NULL;
		return loader_error(s, "cannot open the boot volume (%s)",
				    efi_status_name(s));
	}
	return EFI_SUCCESS;
}

void file_close_volume(struct loader *l)
{
	if (l->root) {
		l->root->Close(l->root);
		l->root = NULL;
	}
}

/* Room for EFI_FILE_INFO and a file name of CONFIG_PATH_MAX CHAR16s. */
union file_info_buf {
	EFI_FILE_INFO info;
	uint8_t bytes[sizeof(EFI_FILE_INFO) + CONFIG_PATH_MAX * sizeof(CHAR16)];
};

EFI_STATUS file_read_all(struct loader *l, const char *path, void **buf,
			 uint64_t *size, const char **why)
{
	CHAR16 wpath[CONFIG_PATH_MAX];
	union file_info_buf fi;
	EFI_FILE_HANDLE f;
	EFI_STATUS s;
	UINTN n;
	size_t i;

	*buf = NULL;
	*size = 0;
	for (i = 0; path[i] && i + 1 < ARRAY_SIZE(wpath); i++)
		wpath[i] = path[i] == '/' ? '\\' : (unsigned char)path[i];
	if (path[i]) {
		*why = "path too long";
		return EFI_INVALID_PARAMETER;
	}
	wpath[i] = 0;

	s = l->root->Open(l->root, &f, wpath, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(s)) {
		*why = s == EFI_NOT_FOUND ? "not found" : "cannot open";
		return s;
	}

	n = sizeof(fi);
	s = f->GetInfo(f, UEFI_GUID(file_info_guid), &n, &fi);
	if (EFI_ERROR(s)) {
		*why = "cannot get file info";
		goto out;
	}
	if (fi.info.Attribute & EFI_FILE_DIRECTORY) {
		*why = "is a directory";
		s = EFI_INVALID_PARAMETER;
		goto out;
	}
	if (fi.info.FileSize == 0)
		goto out;

	/* One read of the whole file: the simplest thing, and the firmware
	 * reads large requests faster than many small ones. */
	s = efi_bs->AllocatePool(EfiLoaderData, fi.info.FileSize, buf);
	if (EFI_ERROR(s)) {
		*buf = NULL;
		*why = "cannot allocate a buffer for it";
		goto out;
	}
	n = fi.info.FileSize;
	s = f->Read(f, &n, *buf);
	if (EFI_ERROR(s) || n != fi.info.FileSize) {
		*why = EFI_ERROR(s) ? "read failed" : "short read";
		if (!EFI_ERROR(s))
			s = EFI_DEVICE_ERROR;
		efi_bs->FreePool(*buf);
		*buf = NULL;
		goto out;
	}
	*size = fi.info.FileSize;
out:
	f->Close(f);
	return s;
}
