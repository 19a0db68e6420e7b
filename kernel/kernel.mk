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
	kernel/selftest_mm.c

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
# firmware and no loader. microvm has no framebuffer; the console is COM1.
# The kernel ends a `test` run by writing to port 0xf4, and QEMU exits with
# (code << 1) | 1: status 1 is success. QEMU's own start-up errors also
# exit 1, so the message below says what was seen, and a test must look for
# "kernel: ready" in the output as well.
QEMU ?= qemu-system-x86_64
KERNEL_DIRECT_QEMU = $(QEMU) -M microvm,isa-serial=on \
	-kernel $(BUILD)/kernel/kernel.elf -append "$(CMDLINE)" -m $(MEM) \
	-serial stdio -display none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4

# $(1): extra QEMU arguments.
define kernel_run_direct
	@echo '$(KERNEL_DIRECT_QEMU) $(1)'
	@$(KERNEL_DIRECT_QEMU) $(1); rc=$$?; \
	case $$rc in \
	1) echo "run-direct: kernel wrote exit code 0 (success)" ;; \
	0) echo "run-direct: QEMU stopped without an exit code from the kernel (reset or quit)"; exit 1 ;; \
	*) printf 'run-direct: kernel wrote exit code 0x%x (QEMU status %d)\n' \
		$$(( (rc - 1) / 2 )) $$rc; exit 1 ;; \
	esac
endef

.PHONY: run-direct run-direct-kvm

# KERNEL_ELF is defined after this fragment is read, so prerequisites
# spell the path out.
run-direct: $(BUILD)/kernel/kernel.elf
	$(call kernel_run_direct,-cpu $(CPU))

run-direct-kvm: $(BUILD)/kernel/kernel.elf
	$(call kernel_run_direct,-accel kvm -cpu $(if $(filter qemu64,$(CPU)),host,$(CPU)))
