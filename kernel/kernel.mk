# The kernel's sources, the console font, and the direct (PVH) run targets.
# Included by the top Makefile, which builds X.c / X.S into
# $(BUILD)/kernel/X.c.o / X.S.o and links $(KERNEL_ELF) with kernel/linker.ld.

KERNEL_SRCS := \
	kernel/entry.S \
	kernel/pvh.S \
	kernel/font.S \
	kernel/main.c \
	kernel/handoff.c \
	kernel/report.c \
	kernel/pvh.c \
	kernel/console.c \
	kernel/serial.c \
	kernel/fbcon.c \
	kernel/psf.c \
	kernel/panic.c \
	kernel/mm.c \
	kernel/ptdump.c \
	kernel/stack.S \
	kernel/gdt.c \
	kernel/idt.c \
	kernel/isr.S \
	kernel/trap.c \
	kernel/catch.c \
	kernel/catch.S \
	kernel/cpu.c \
	kernel/selftest.c \
	kernel/selftest_cpu.c \
	kernel/selftest_mm.c \
	kernel/selftest_pt.c

# The console font: $(FONT) (gzip'd or not) decompressed into the build
# tree and embedded by kernel/font.S. font.name records which FONT was used,
# so changing FONT= rebuilds even when the new file is older.
KERNEL_FONT := $(BUILD)/kernel/font.psf

$(BUILD)/kernel/font.name: FORCE
	@mkdir -p $(@D)
	@printf '%s' '$(FONT)' | cmp -s - $@ || printf '%s' '$(FONT)' > $@

$(KERNEL_FONT): $(FONT) $(BUILD)/kernel/font.name
	@mkdir -p $(@D)
	@case '$(FONT)' in \
	*.gz) gzip -dc '$(FONT)' > $@.tmp ;; \
	*) cp '$(FONT)' $@.tmp ;; \
	esac
	@magic=$$(od -An -tx1 -N4 $@.tmp | tr -d ' \n'); \
	case $$magic in \
	3604*|72b54a86) mv $@.tmp $@ ;; \
	*) rm -f $@.tmp; \
	   echo "error: FONT=$(FONT) is not a PSF1 or PSF2 font (magic $$magic)"; \
	   exit 1 ;; \
	esac

$(BUILD)/kernel/kernel/font.S.o: $(KERNEL_FONT)
$(BUILD)/kernel/kernel/font.S.o: KERNEL_CFLAGS += -DFONT_FILE='"$(KERNEL_FONT)"'

# Direct boot: QEMU loads the ELF through its PVH note (kernel/pvh.S), no
# firmware and no loader (tools/run-qemu.sh --direct: -M microvm, COM1 on
# the terminal, no framebuffer). The runner translates the kernel's exit
# code and explains an unusable KVM, as for `make run-kvm`.
.PHONY: run-direct run-direct-kvm

# KERNEL_ELF is defined after this fragment is read, so prerequisites
# spell the path out.
run-direct: $(BUILD)/kernel/kernel.elf
	tools/run-qemu.sh --direct $< --append "$(CMDLINE)" --mem $(MEM) \
		--cpu $(CPU)

run-direct-kvm: $(BUILD)/kernel/kernel.elf
	tools/run-qemu.sh --kvm --direct $< --append "$(CMDLINE)" \
		--mem $(MEM) --cpu $(if $(filter qemu64,$(CPU)),host,$(CPU))
