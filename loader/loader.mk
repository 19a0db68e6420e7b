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
	loader/secureboot.c
