# Debugging with gdb (README "Debugging"): the loader's debug file and the
# debug targets. Included by the top Makefile after the object lists.
#
#   make debug              OVMF boot of build/disk.img, stopped at reset
#   make debug-direct       PVH boot of the kernel, stopped at its entry
#   make debug-kvm, make debug-direct-kvm   the same under KVM
#
# GDB_PORT= the gdbstub's port (default 1234); GDB= the debugger ('gdb
# -tui', gdb-multiarch, or none to start only QEMU and attach yourself).

# BOOTX64.EFI.debug: the loader linked again from the same objects, with
# their DWARF kept (-debug:dwarf; -opt:ref,icf because -debug would turn
# off the dead-code removal and folding the shipped link does). gdb reads
# it for BOOTX64.EFI's code; pe.py checks that every section of the shipped
# image is in it at the same address with the same bytes, so a link flag
# that would make them differ fails the build instead of misleading gdb.
LOADER_EFI_DEBUG := $(BUILD)/loader/BOOTX64.EFI.debug

all: $(LOADER_EFI_DEBUG)

$(LOADER_OBJS): loader/loader.mk

$(LOADER_EFI_DEBUG): $(LOADER_OBJS) $(LOADER_EFI) tools/gdb/pe.py
	$(LLD_LINK) $(LOADER_LDFLAGS) -debug:dwarf -opt:ref,icf -out:$@ \
		$(LOADER_OBJS)
	@python3 tools/gdb/pe.py --same-code $(LOADER_EFI) $@ || \
		{ rm -f $@; exit 1; }

GDB_PORT ?= 1234
GDB ?= gdb

debug_goals := $(filter debug debug-kvm debug-direct debug-direct-kvm,\
	$(MAKECMDGOALS))
# The variables these goals read, checked before anything is built (as
# tools/checks.mk does for the run targets).
ifneq ($(debug_goals),)
ifeq ($(call is_number,$(value GDB_PORT)),)
$(error GDB_PORT='$(value GDB_PORT)': GDB_PORT= takes the gdbstub's TCP port, a number from 1 to 65535 (default 1234))
endif
ifeq ($(shell [ $(value GDB_PORT) -ge 1 ] && [ $(value GDB_PORT) -le 65535 ] && echo y),)
$(error GDB_PORT=$(value GDB_PORT): GDB_PORT= takes a port from 1 to 65535 (default 1234))
endif
ifneq ($(words $(value CPU))$(strip $(call strip_chars,$(value CPU),$(cpu_chars))),1)
$(error CPU='$(value CPU)': CPU= takes a QEMU CPU model such as qemu64, Haswell or qemu64,-nx (letters, digits and , . _ + = -))
endif
ifeq ($(strip $(value GDB)),)
$(error GDB= is empty: it takes the debugger to start (gdb, gdb-multiarch, 'gdb -tui') or none)
endif
ifneq ($(filter debug debug-kvm,$(debug_goals)),)
$(eval $(call check_mem,$(mem_min_ovmf),make $(firstword $(debug_goals)) (OVMF)))
cmdline_why := $(shell tools/check-cmdline.sh --conf $(call sh_quote,$(value CMDLINE)))
endif
ifneq ($(filter debug-direct debug-direct-kvm,$(debug_goals)),)
$(eval $(call check_mem,$(mem_min_pvh),make $(firstword $(debug_goals)) (PVH)))
cmdline_why := $(shell tools/check-cmdline.sh --direct $(call sh_quote,$(value CMDLINE)))
endif
ifneq ($(cmdline_why),)
$(error CMDLINE: $(cmdline_why))
endif
endif

# GDB reaches the script through the environment, as typed.
debug_args = --port $(GDB_PORT) --build $(BUILD) --mem $(MEM)
debug debug-kvm debug-direct debug-direct-kvm: export DEBUG_GDB = $(value GDB)

.PHONY: debug debug-kvm debug-direct debug-direct-kvm
debug: $(DISK_IMG) $(LOADER_EFI_DEBUG) $(KERNEL_ELF)
	tools/debug.sh --image $(DISK_IMG) $(debug_args) --cpu '$(CPU)' \
		--media $(MEDIA) --machine $(MACHINE) --gdb "$$DEBUG_GDB"

debug-kvm: $(DISK_IMG) $(LOADER_EFI_DEBUG) $(KERNEL_ELF)
	tools/debug.sh --kvm --image $(DISK_IMG) $(debug_args) \
		--cpu '$(if $(filter qemu64,$(CPU)),host,$(CPU))' \
		--media $(MEDIA) --machine $(MACHINE) --gdb "$$DEBUG_GDB"

debug-direct: $(KERNEL_ELF)
	tools/debug.sh --direct $(KERNEL_ELF) --append "$$RUN_CMDLINE" \
		$(debug_args) --cpu '$(CPU)' --gdb "$$DEBUG_GDB"

debug-direct-kvm: $(KERNEL_ELF)
	tools/debug.sh --kvm --direct $(KERNEL_ELF) --append "$$RUN_CMDLINE" \
		$(debug_args) --cpu '$(if $(filter qemu64,$(CPU)),host,$(CPU))' \
		--gdb "$$DEBUG_GDB"
