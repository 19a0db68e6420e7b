# The tools' own tests (tests/tools/run.sh): tools/run-qemu.sh and the
# matrix against a fake qemu-system-x86_64 (a KVM that aborts on MSR 0x10a,
# start-up errors, a display that cannot open), tools/test-summary.sh, the
# Makefile's variable checks and targets, and CMDLINE reaching loader.conf
# and QEMU byte for byte; one real PVH boot at the stated memory minimum.
# A few seconds; `make test-tools TOOLS_CASES=rq-` runs the cases whose
# name contains rq-.
TEST_SUITES += tools
TOOLS_CASES ?=

.PHONY: test-tools
test-tools: $(LOADER_EFI) $(KERNEL_ESP_ELF) $(KERNEL_ELF)
	@mkdir -p $(TEST_RESULTS)
	@tests/tools/run.sh --build $(BUILD) --results $(TEST_RESULTS)/tools.txt \
		$(TOOLS_CASES)
