/*
 * Files on the loader's own volume: the device the firmware loaded
 * BOOTX64.EFI from (LoadedImage->DeviceHandle), through the Simple File
 * System protocol. Paths are ASCII from loader.conf; both '/' and '\'
 * are accepted and handed to the firmware as '\'.
 */
#include "loader.h"

#include "common/lib/string.h"

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

/* The largest single Read: some firmware fails large reads, which is why
 * Linux's EFI stub reads files in 1 MiB chunks too. */
#define READ_CHUNK (1ull << 20)

/* Reads size bytes of f into buf, READ_CHUNK at a time. Anything but the
 * full chunk asked for is an error naming the offset: the size comes
 * from the file's own EFI_FILE_INFO, so a short read is a file system
 * that disagrees with itself. */
static EFI_STATUS read_chunks(EFI_FILE_HANDLE f, uint8_t *buf, uint64_t size,
			      const char *what, const char *path)
{
	for (uint64_t done = 0; done < size;) {
		UINTN want =
		    size - done < READ_CHUNK ? size - done : READ_CHUNK;
		UINTN n = want;
		EFI_STATUS s = f->Read(f, &n, buf + done);

		if (EFI_ERROR(s))
			return loader_error(s,
					    "%s%s: read failed at offset %lu "
					    "of %lu (%s)",
					    what, path, done, size,
					    efi_status_name(s));
		if (n != want)
			return loader_error(EFI_DEVICE_ERROR,
					    "%s%s: short read at offset %lu: "
					    "%lu of %lu bytes (file size %lu)",
					    what, path, done, (uint64_t)n,
					    (uint64_t)want, size);
		done += n;
	}
	return EFI_SUCCESS;
}

EFI_STATUS file_read_all(struct loader *l, const char *what, const char *path,
			 void **buf, uint64_t *size)
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
	if (path[i])
		return loader_error(EFI_INVALID_PARAMETER,
				    "%s%s: path too long", what, path);
	wpath[i] = 0;

	s = l->root->Open(l->root, &f, wpath, EFI_FILE_MODE_READ, 0);
	if (s == EFI_NOT_FOUND)
		return s;
	if (EFI_ERROR(s))
		return loader_error(s, "%s%s: cannot open (%s)", what, path,
				    efi_status_name(s));

	n = sizeof(fi);
	s = f->GetInfo(f, UEFI_GUID(file_info_guid), &n, &fi);
	if (EFI_ERROR(s)) {
		loader_error(s, "%s%s: cannot get file info (%s)", what, path,
			     efi_status_name(s));
		goto out;
	}
	if (fi.info.Attribute & EFI_FILE_DIRECTORY) {
		s = loader_error(EFI_INVALID_PARAMETER, "%s%s: is a directory",
				 what, path);
		goto out;
	}
	if (fi.info.FileSize == 0)
		goto out;

	s = efi_bs->AllocatePool(EfiLoaderData, fi.info.FileSize, buf);
	if (EFI_ERROR(s)) {
		*buf = NULL;
		loader_error(s, "%s%s: cannot allocate %lu bytes for it (%s)",
			     what, path, (uint64_t)fi.info.FileSize,
			     efi_status_name(s));
		goto out;
	}
	s = read_chunks(f, *buf, fi.info.FileSize, what, path);
	if (EFI_ERROR(s)) {
		efi_bs->FreePool(*buf);
		*buf = NULL;
		goto out;
	}
	*size = fi.info.FileSize;
out:
	f->Close(f);
	return s;
}
