# The debug suite (tests/debug/run.py): gdb sessions on real QEMU boots,
# one PVH and one OVMF, in which gdb's ptdump must equal the kernel's line
# for line, vtop and bootinfo must agree with what the kernel printed, and
# loader breakpoints must stop on their source lines; plus the commands'
# refusals, the KVM targets' message, GDB_PORT checks, the loader's debug
# file and a host test of the table code. About 30 s;
# `make test-debug DEBUG_CASES=pvh` runs only the cases named.
TEST_SUITES += debug
DEBUG_CASES ?=

.PHONY: test-debug
test-debug: $(LOADER_EFI) $(LOADER_EFI_DEBUG) $(KERNEL_ELF) $(KERNEL_ESP_ELF)
	@mkdir -p $(TEST_RESULTS)
	@set -o pipefail; python3 tests/debug/run.py --build $(BUILD) \
		--results $(TEST_RESULTS)/debug --work $(BUILD)/debug-test \
		$(DEBUG_CASES) | tee $(TEST_RESULTS)/debug.txt
