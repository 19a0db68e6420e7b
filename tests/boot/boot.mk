# Boot tests: disk images booted under OVMF (TCG) in QEMU, judged by their
# serial logs (tests/boot/run.py). One good boot with CMDLINE=test that the
# kernel ends through port 0xf4, and one image per bad input (broken kernel
# files from tests/boot/mkbad.py, a missing kernel, a config typo) that the
# loader must refuse with one `loader: error:` line. Two cases run at a
# time; logs go to $(TEST_RESULTS)/boot/NAME.log.
TEST_SUITES += boot
BOOT_TEST_JOBS ?= 2

.PHONY: test-boot
test-boot: $(LOADER_EFI) $(KERNEL_ELF)
	@mkdir -p $(TEST_RESULTS)
	@set -o pipefail; python3 tests/boot/run.py --loader $(LOADER_EFI) \
		--kernel $(KERNEL_ELF) --results $(TEST_RESULTS)/boot \
		--work $(BUILD)/boot-test --jobs $(BOOT_TEST_JOBS) $(BOOT_CASES) \
		| tee $(TEST_RESULTS)/boot.txt
