# Sources in common/, built for the loader, the kernel and the host.
COMMON_SRCS := \
	common/boot/bootinfo.c \
	common/boot/config.c \
	common/boot/elf.c \
	common/boot/pvh.c \
	common/hw/acpi.c \
	common/hw/cpu.c \
	common/lib/fmt.c \
	common/lib/sha256.c \
	common/lib/string.c \
	common/mm/dmap.c \
	common/mm/frames.c \
	common/mm/memmap.c \
	common/mm/paging.c \
	common/mm/paging_page.c \
	common/mm/paging_range.c

# The TPM: TPM2_PCR_Read marshalling and the FIFO (TIS) protocol; used by
# the kernel and the host tests.
COMMON_SRCS += common/hw/tis.c common/hw/tpm2.c

# Built for the two freestanding targets only (the host has libc).
COMMON_FREESTANDING_SRCS := \
	common/lib/libc.c
