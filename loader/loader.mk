# The UEFI loader, BOOTX64.EFI. The top Makefile compiles each source with
# LOADER_CFLAGS and links them with common/ through lld-link.
LOADER_SRCS := \
	loader/console.c \
	loader/cpu.c \
	loader/file.c \
	loader/firmware.c \
	loader/hashes_none.c \
	loader/kernel.c \
	loader/main.c \
	loader/measure.c \
	loader/options.c \
	loader/paging.c \
	loader/secureboot.c \
	loader/pmtimer.c \
	loader/tsc.c

# For gdb (tools/debug.mk links build/loader/BOOTX64.EFI.debug from the same
# objects): DWARF, which gdb reads from a PE, instead of the CodeView
# clang emits for a Windows target; the code is the same.
LOADER_CFLAGS += -gdwarf
# The address the loader is linked at. EDK2 firmware (OVMF) loads an image
# at its linked address when those pages are free (in a QEMU guest of 56 MiB
# or more they are), so gdb has the loader's addresses before the firmware
# starts it. The relocations stay: firmware may still load it anywhere.
LOADER_LDFLAGS += -base:0x400000
