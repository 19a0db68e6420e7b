# Sources in common/, built for the loader, the kernel and the host.
COMMON_SRCS := \
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
	common/string.c

# Built for the two freestanding targets only (the host has libc).
COMMON_FREESTANDING_SRCS := \
	common/libc.c
