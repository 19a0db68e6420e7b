/*
 * The one place the loader includes gnu-efi's headers.
 *
 * gnu-efi 3.0.15 declares EFI_RESERVED_SERVICE as `(EFIAPI *)()`, which
 * -Wstrict-prototypes (an error in this build) rejects; the headers are
 * not ours to fix, so that one warning is silenced around them only.
 * Include this, never <efi.h> directly, for the #undef below too.
 *
 * Only headers are used: no libefi/libgnuefi is linked, so the GUID
 * objects those libraries define (gEfiFileInfoGuid, ...) do not exist.
 * Each loader file defines the GUIDs it uses as static constants from
 * the headers' macros (EFI_FILE_INFO_ID, ...).
 */
#ifndef LOADER_UEFI_H
#define LOADER_UEFI_H

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wstrict-prototypes"
#include <efi.h>
#pragma clang diagnostic pop

/* gnu-efi's eficompiler.h defines __attribute__(x) to nothing when
 * _MSC_EXTENSIONS is set, as it is on clang's windows target. The loader
 * needs its attributes (sysv_abi on the kernel's entry above all: without
 * it the call would pass the boot info in rcx, not rdi). */
#undef __attribute__

/* Boot services take non-const GUID pointers; the GUIDs are never
 * written through them. */
#define UEFI_GUID(g) ((EFI_GUID *)&(g))

#endif
