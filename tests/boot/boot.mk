# Boot tests (tests/boot/run.py, cases in tests/boot/cases.py): disk images
# booted under OVMF (TCG) in QEMU, judged by their serial logs or, for the
# machine without a serial port, by screenshots; good boots with
# CMDLINE=test on several CPUs, media and machines, one image per bad input
# (tests/boot/mkbad.py) that the loader must refuse and hand back to the
# firmware, and direct (PVH) boots with a broken boot info that must
# panic, and the Secure Boot cases with the loaders tools/sign.mk signs
# for them (SIGNED_TEST_FILES). Two cases run at a time; logs go to
# $(TEST_RESULTS)/boot/NAME.log.
# BOOT_CASES="a b" runs only those cases.
TEST_SUITES += boot
BOOT_TEST_JOBS ?= 2

.PHONY: test-boot
test-boot: $(LOADER_EFI) $(KERNEL_ELF) $(KERNEL_ESP_ELF) $(KERNEL_FONT) \
		$(SIGNED_TEST_FILES)
	@mkdir -p $(TEST_RESULTS)
	@set -o pipefail; python3 tests/boot/run.py --loader $(LOADER_EFI) \
		--kernel $(KERNEL_ELF) --esp-kernel $(KERNEL_ESP_ELF) \
		--font $(KERNEL_FONT) --results $(TEST_RESULTS)/boot \
		--signed-loader $(SIGNED_TEST_DIR)/BOOTX64.EFI \
		--nohashes-loader $(SIGNED_TEST_DIR)/BOOTX64-nohashes.EFI \
		--signed-config $(SIGNED_TEST_DIR)/loader.conf \
		--signed-hashes $(SIGNED_TEST_DIR)/hashes.txt \
		--chain-loader $(SIGNED_TEST_DIR)/CHAIN.EFI \
		--work $(BUILD)/boot-test --jobs $(BOOT_TEST_JOBS) $(BOOT_CASES) \
		| tee $(TEST_RESULTS)/boot.txt
