# Top-level build. Everything goes under build/; each part of the tree
# lists its own sources in a fragment (common/common.mk, loader/loader.mk,
# kernel/kernel.mk, tests/unit/unit.mk, tests/fuzz/fuzz.mk,
# tests/boot/boot.mk) so object lists stay explicit and each file has one
# owner. `make help` lists the targets.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
SHELL := /bin/bash

BUILD ?= build
CLANG ?= clang
LLD_LINK ?= lld-link
LD_LLD ?= ld.lld

# Machine and kernel command line for run targets and `make image`.
MEM ?= 256
CPU ?= qemu64
# How `make run` attaches the image (sata, usb, nvme) and the machine
# (q35, or pc for i440fx).
MEDIA ?= sata
MACHINE ?= q35
CMDLINE ?=
# TPM=1: `make run` and `run-kvm` start a TPM 2.0 (swtpm) beside QEMU.
TPM ?= 0
# A Linux console font (PSF1 or PSF2, gzip'd), from console-setup-linux.
FONT ?= /usr/share/consolefonts/Lat15-Terminus16.psf.gz

# Bad values of the variables above (and OVMF_CODE/OVMF_VARS, DEV) stop
# make here with one line, before anything is built.
include tools/checks.mk

# The command line reaches the scripts through the environment, never
# spliced into a recipe, so every byte arrives as typed; $(value) keeps a
# '$' that make would otherwise expand.
export RUN_CMDLINE := $(value CMDLINE)
# make would expand CMDLINE itself to put it in a recipe's environment
# (a command-line variable is exported), running any $(shell ...) in it.
unexport CMDLINE

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla \
	-Wno-unused-parameter
COMMON_CFLAGS := -std=c11 -O2 -g $(WARN) -I. -MD -MP \
	-DPROJECT_VERSION='"$(VERSION)"'

# The loader: a PE32+ EFI application (MS ABI, LLP64).
EFI_INC ?= /usr/include/efi
LOADER_CFLAGS := $(COMMON_CFLAGS) --target=x86_64-unknown-windows \
	-ffreestanding -fshort-wchar -mno-red-zone -fno-stack-protector \
	-mno-stack-arg-probe -fno-builtin -ffunction-sections -fdata-sections \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64
LOADER_LDFLAGS := -subsystem:efi_application -entry:efi_main -nodefaultlib \
	-machine:x64

# The kernel: ELF, higher half, kernel code model.
KERNEL_CFLAGS := $(COMMON_CFLAGS) --target=x86_64-unknown-none-elf \
	-ffreestanding -fno-builtin -mcmodel=kernel -mno-red-zone \
	-mgeneral-regs-only -fno-pic -fno-pie -fno-stack-protector \
	-fno-omit-frame-pointer
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=4096 \
	-z noexecstack --no-dynamic-linker

# Host builds of common/: unit tests under ASan and UBSan.
HOST_CFLAGS := $(COMMON_CFLAGS) -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
HOST_LDFLAGS := -fsanitize=address,undefined

include common/common.mk
include loader/loader.mk
include kernel/kernel.mk

# Objects depend on this Makefile too, so a change of flags rebuilds them.
# Per-target object lists derived from the source lists in the fragments.
LOADER_OBJS := $(patsubst %.c,$(BUILD)/loader/%.obj,$(LOADER_SRCS) \
	$(COMMON_SRCS) $(COMMON_FREESTANDING_SRCS))
KERNEL_OBJS := $(patsubst %,$(BUILD)/kernel/%.o,$(KERNEL_SRCS) \
	$(COMMON_SRCS) $(COMMON_FREESTANDING_SRCS))
HOST_COMMON_OBJS := $(patsubst %.c,$(BUILD)/host/%.o,$(COMMON_SRCS))

LOADER_EFI := $(BUILD)/loader/BOOTX64.EFI
KERNEL_ELF := $(BUILD)/kernel/kernel.elf
DISK_IMG := $(BUILD)/disk.img
TEST_SUITES :=

# Signed loaders and images (before the test fragments: the boot suite
# uses its signed loaders).
include tools/sign.mk

# Test fragments use the object lists above in their rules.
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
include tests/boot/boot.mk
include tests/bench/bench.mk
include tests/matrix/matrix.mk
include tools/tools.mk
include tests/tools/tools.mk
include tools/debug.mk
include tests/debug/debug.mk

# The version is compiled into the loader's banner and the kernel's report;
# version.txt changes only when `git describe` does, so those two objects
# rebuild when the version changes and nothing else does.
$(BUILD)/version.txt: FORCE
	@mkdir -p $(@D)
	@printf '%s' '$(VERSION)' | cmp -s - $@ || printf '%s' '$(VERSION)' > $@
$(BUILD)/loader/loader/main.obj $(BUILD)/kernel/kernel/boot/report.c.o: \
	$(BUILD)/version.txt

.PHONY: all help deps loader kernel image run run-kvm test usb clean \
	compile_commands.json format

all: $(LOADER_EFI) $(KERNEL_ELF) $(DISK_IMG) $(UNIT_BINS)

help:
	@echo "make                  build loader, kernel, disk image and host tests"
	@echo "make all              the same"
	@echo "make loader           build/loader/BOOTX64.EFI only"
	@echo "make kernel           build/kernel/kernel.elf only"
	@echo "make run              boot build/disk.img under OVMF in QEMU (TCG); Ctrl-C ends it"
	@echo "make run-kvm          the same with KVM (-cpu host)"
	@echo "make run-secure       boot the signed image (SIGN=1) under OVMF's Secure Boot"
	@echo "                      firmware (snakeoil keys enrolled)"
	@echo "make run-direct       boot the kernel directly (PVH, -M microvm, no firmware)"
	@echo "make run-direct-kvm   the same with KVM"
	@echo "make image            build/disk.img only"
	@echo "make debug            make run, stopped at reset, with gdb attached (kernel and"
	@echo "                      loader symbols; ptdump, vtop, pte, bootinfo: README Debugging)"
	@echo "make debug-kvm        the same with KVM (hbreak: the CPU's 4 debug registers)"
	@echo "make debug-direct     make run-direct the same way, stopped at the PVH entry"
	@echo "make debug-direct-kvm the same with KVM"
	@echo "make test             every suite: $(TEST_SUITES)"
	@echo "                      (host unit tests, fuzz smoke, OVMF boots, direct-boot matrix,"
	@echo "                      the tools' own tests); ends 'N passed, M failed, K skipped'"
	@echo "make test-SUITE       one of them, e.g. make test-unit"
	@echo "make matrix           the direct-boot matrix alone (MATRIX_CPUS=, MATRIX_MEMS=,"
	@echo "                      MATRIX_ACCELS= narrow it)"
	@echo "make fuzz             each fuzz target for FUZZ_SECONDS (default 60)"
	@echo "make bench            page-table mapper: instructions per page, table pages;"
	@echo "                      console: framebuffer bytes per scrolled line"
	@echo "make memmap-check MAP=FILE   what the kernel would do with a memory map from a"
	@echo "                      Linux boot log (efi: memNN / BIOS-e820 lines)"
	@echo "make usb DEV=/dev/sdX write build/disk.img to a USB stick (asks first)"
	@echo "make keys DIR=PATH    your own Secure Boot keys, certificates and the files"
	@echo "                      firmware enrolls (.esl/.auth), into PATH outside the repo"
	@echo "make compile_commands.json   for clangd and other editors"
	@echo "make deps             install missing packages (tools/deps.sh)"
	@echo "make format           clang-format every C file"
	@echo "make clean            remove build/"
	@echo "make help             this list"
	@echo "variables:"
	@echo "  MEM=MiB             guest memory (default 256; at least $(mem_min_ovmf) for run,"
	@echo "                      $(mem_min_pvh) for run-direct)"
	@echo "  CPU=MODEL           QEMU CPU model (default qemu64; host for the -kvm runs)"
	@echo "  CMDLINE='...'       kernel command line, byte for byte: loader.conf for run and"
	@echo "                      image, -append for run-direct ('test' runs the self-tests)"
	@echo "  MEDIA=sata|usb|nvme how make run attaches the image (default sata)"
	@echo "  MACHINE=q35|pc      the machine for make run (default q35; pc is i440fx)"
	@echo "  OVMF_CODE=, OVMF_VARS=   firmware files (both, or neither)"
	@echo "  TPM=1               make run/run-kvm: a TPM 2.0 (swtpm) beside QEMU; the loader"
	@echo "                      measures into PCR 8 and 9, the kernel prints them"
	@echo "  FONT=FILE           PSF1/PSF2 console font (default $(FONT))"
	@echo "  SIGN=1              image, usb, run: the signed loader with the kernel's and"
	@echo "                      loader.conf's SHA-256 in it (build/disk-signed.img)"
	@echo "  SB_KEY=, SB_CERT=   sign with your key (both, or neither: the snakeoil key);"
	@echo "                      a key's pass phrase comes from SB_PASS in the environment"
	@echo "  GDB_PORT=N          the gdbstub's port for the debug targets (default 1234)"
	@echo "  GDB='CMD'           the debugger they start (default gdb; none: QEMU only)"

# deps.sh is quick and silent when everything is installed.
deps:
	@tools/deps.sh

$(BUILD)/.deps-ok: tools/deps.sh
	@tools/deps.sh
	@mkdir -p $(@D) && touch $@

loader: $(LOADER_EFI)
kernel: $(KERNEL_ELF)

$(BUILD)/loader/%.obj: %.c Makefile | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(CLANG) $(LOADER_CFLAGS) -c $< -o $@

$(LOADER_EFI): $(LOADER_OBJS)
	@mkdir -p $(@D)
	$(LLD_LINK) $(LOADER_LDFLAGS) -out:$@ $^
	@size=$$(stat -c %s $@); if [ $$size -gt 65536 ]; then \
		echo "error: $@ is $$size bytes, over the 64 KiB budget"; \
		rm -f $@; exit 1; fi

$(KERNEL_ELF): $(KERNEL_OBJS) kernel/boot/linker.ld
	@mkdir -p $(@D)
	$(LD_LLD) $(KERNEL_LDFLAGS) -T kernel/boot/linker.ld -o $@ $(KERNEL_OBJS)

$(BUILD)/kernel/%.c.o: %.c Makefile | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(CLANG) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/kernel/%.S.o: %.S Makefile | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(CLANG) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/host/%.o: %.c Makefile | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(CLANG) $(HOST_CFLAGS) -c $< -o $@

image: $(DISK_IMG)

# The command line is part of the image, so a change rebuilds it. It sits
# beside the image (DISK_IMG= may put an image elsewhere) and goes to
# mkimage.sh as a file: the exact bytes, through the environment.
DISK_CMDLINE = $(DISK_IMG).cmdline
$(DISK_CMDLINE): FORCE
	@mkdir -p $(@D)
	@printf '%s' "$$RUN_CMDLINE" | cmp -s - $@ || printf '%s' "$$RUN_CMDLINE" > $@

# The loader and loader.conf come from tools/sign.mk: the default loader
# and CMDLINE's loader.conf, or with SIGN=1 the signed loader and the
# exact loader.conf it embeds the hash of, checked in the image after.
$(DISK_IMG): $(IMAGE_LOADER) $(KERNEL_ESP_ELF) $(DISK_CMDLINE) \
		$(IMAGE_PREREQS) tools/mkimage.sh tools/check-cmdline.sh \
		$(shell find esp -type f 2>/dev/null)
	tools/mkimage.sh --out $@ --loader $(IMAGE_LOADER) \
		--kernel $(KERNEL_ESP_ELF) $(IMAGE_CONFIG_ARGS)
	$(IMAGE_CHECK)

# TPM= was checked (tools/checks.mk): 0 or 1.
RUN_TPM := $(if $(filter 1,$(TPM)),--tpm)

run: $(DISK_IMG)
	tools/run-qemu.sh --image $(DISK_IMG) --mem $(MEM) --cpu '$(CPU)' \
		--media $(MEDIA) --machine $(MACHINE) $(RUN_TPM)

run-kvm: $(DISK_IMG)
	tools/run-qemu.sh --kvm --image $(DISK_IMG) --mem $(MEM) \
		--cpu '$(if $(filter qemu64,$(CPU)),host,$(CPU))' \
		--media $(MEDIA) --machine $(MACHINE) $(RUN_TPM)

# DEV= is checked before anything is built (tools/checks.mk); usb.sh
# checks the device itself.
usb: $(DISK_IMG)
	tools/usb.sh --image $(DISK_IMG) --device "$$DEV"

# Each test fragment appends its suite to TEST_SUITES and provides a
# target test-SUITE that writes $(BUILD)/test-results/SUITE.txt ending in
# "N passed, M failed" (", K skipped" may follow). A suite that fails to
# build or run counts as failed.
TEST_RESULTS := $(BUILD)/test-results
test: $(BUILD)/.deps-ok
	@rm -rf $(TEST_RESULTS) && mkdir -p $(TEST_RESULTS)
	@for s in $(TEST_SUITES); do \
		$(MAKE) --no-print-directory test-$$s || true; done
	@EXPECTED_SUITES="$(TEST_SUITES)" tools/test-summary.sh $(TEST_RESULTS)

# Everything that is compiled: the default build plus the fuzz targets and
# the benchmark, so editors know their flags too.
COMPILE_DB_GOALS = all $(FUZZ_BINS) $(BENCH_BIN)
compile_commands.json:
	tools/compile-commands.sh $(COMPILE_DB_GOALS) > $@

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

FORCE:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
