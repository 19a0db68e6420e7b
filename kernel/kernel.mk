# The kernel's sources, the console font, and the direct (PVH) run targets.
# Included by the top Makefile, which builds X.c / X.S into
# $(BUILD)/kernel/X.c.o / X.S.o and links $(KERNEL_ELF) with
# kernel/boot/linker.ld. One folder per subsystem: boot/ (entries, kmain,
# hand-off, report, panic, linker script), cpu/ (CPUID, GDT/TSS, IDT,
# traps, fault catching, per-CPU blocks, local APIC, TSC, PIT, timer,
# TLB shootdown, AP start and its trampoline), acpi/ (reaching the ACPI
# tables), mm/ (page tables, allocator, ptdump), dev/ (serial,
# framebuffer, font, console), selftest/.

KERNEL_SRCS := \
	kernel/boot/entry.S \
	kernel/boot/pvh.S \
	kernel/boot/main.c \
	kernel/boot/handoff.c \
	kernel/boot/report.c \
	kernel/boot/pvh.c \
	kernel/boot/panic.c \
	kernel/cpu/cpu.c \
	kernel/cpu/gdt.c \
	kernel/cpu/idt.c \
	kernel/cpu/isr.S \
	kernel/cpu/trap.c \
	kernel/cpu/catch.c \
	kernel/cpu/catch.S \
	kernel/cpu/stack.S \
	kernel/cpu/percpu.c \
	kernel/cpu/irq.c \
	kernel/cpu/pit.c \
	kernel/cpu/tsc.c \
	kernel/cpu/apic.c \
	kernel/cpu/timer.c \
	kernel/cpu/shootdown.c \
	kernel/cpu/smp.c \
	kernel/cpu/trampoline.S \
	kernel/acpi/acpi.c \
	kernel/mm/mm.c \
	kernel/mm/direct.c \
	kernel/mm/mmio.c \
	kernel/mm/image.c \
	kernel/mm/ptdump.c \
	kernel/dev/console.c \
	kernel/dev/serial.c \
	kernel/dev/fbcon.c \
	kernel/dev/psf.c \
	kernel/dev/font.S \
	kernel/dev/tpm.c \
	kernel/selftest/selftest.c \
	kernel/selftest/selftest_cpu.c \
	kernel/selftest/selftest_mm.c \
	kernel/selftest/selftest_dev.c \
	kernel/selftest/selftest_smp.c \
	kernel/selftest/selftest_cost.c \
	kernel/selftest/selftest_pt.c

# The ESP gets the kernel without its debug info (a quarter of the size,
# so a quarter of the loader's read); $(KERNEL_ELF) keeps it for gdb.
KERNEL_ESP_ELF := $(BUILD)/kernel/kernel.esp.elf
$(KERNEL_ESP_ELF): $(BUILD)/kernel/kernel.elf
	objcopy --strip-debug $< $@

# The console font: $(FONT) (gzip'd or not) decompressed into the build
# tree and embedded by kernel/dev/font.S. font.name records which FONT was used,
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

$(BUILD)/kernel/kernel/dev/font.S.o: $(KERNEL_FONT)
$(BUILD)/kernel/kernel/dev/font.S.o: KERNEL_CFLAGS += -DFONT_FILE='"$(KERNEL_FONT)"'

# Direct boot: QEMU loads the ELF through its PVH note (kernel/boot/pvh.S), no
# firmware and no loader (tools/run-qemu.sh --direct: -M microvm, COM1 on
# the terminal, no framebuffer). The runner translates the kernel's exit
# code and explains an unusable KVM, as for `make run-kvm`.
.PHONY: run-direct run-direct-kvm

# KERNEL_ELF is defined after this fragment is read, so prerequisites
# spell the path out. The command line comes from the environment
# (RUN_CMDLINE, exported by the top Makefile), never spliced into the
# recipe, so QEMU's -append gets its bytes as typed; MEM and CPU were
# checked by tools/checks.mk.
run-direct: $(BUILD)/kernel/kernel.elf
	tools/run-qemu.sh --direct $< --append "$$RUN_CMDLINE" --mem $(MEM) \
		--cpu '$(CPU)'

run-direct-kvm: $(BUILD)/kernel/kernel.elf
	tools/run-qemu.sh --kvm --direct $< --append "$$RUN_CMDLINE" \
		--mem $(MEM) --cpu '$(if $(filter qemu64,$(CPU)),host,$(CPU))'
