# Sources in common/, built for the loader, the kernel and the host.
COMMON_SRCS := \
	common/acpi.c \
	common/bootinfo.c \
	common/config.c \
	common/cpu.c \
	common/dmap.c \
	common/elf.c \
	common/fmt.c \
	common/frames.c \
	common/memmap.c \
	common/paging.c \
	common/paging_page.c \
	common/paging_range.c \
	common/pvh.c \
	common/sha256.c \
	common/string.c

# The TPM: TPM2_PCR_Read marshalling and the FIFO (TIS) protocol; used by
# the kernel and the host tests.
COMMON_SRCS += common/tis.c common/tpm2.c

# Built for the two freestanding targets only (the host has libc).
COMMON_FREESTANDING_SRCS := \
	common/libc.c
