# Host unit tests of common/, built with ASan and UBSan (HOST_CFLAGS): one
# binary per module, tests/unit/test_NAME.c linked with every host object
# of common/. `make test-unit` builds and runs them all and writes
# $(TEST_RESULTS)/unit.txt, ending in the summed "N passed, M failed".

UNIT_TESTS := acpi bootinfo config cpu elf fmt memmap pvh sha256 string
# tools/memmap-check's parts (tools/tools.mk links them in)
UNIT_TESTS += memmap_log memmap_sim
# ---- the lead adds `paging` here (tests/unit/test_paging.c) ----
UNIT_TESTS += paging frames dmap
# ---- end of the lead's spot ----

# tests/unit/test_tpm.c: TPM2_PCR_Read marshalling and the FIFO (TIS)
# exchange against a simulated TPM, every timeout checked for its bound.
UNIT_TESTS += tpm

# tests/unit/test_fbcon.c: the kernel's framebuffer console (not common/)
# on the host, with the kernel's font, and the console before its shadow
# (tests/bench/fbcon_old.c), which the test must catch reading.
UNIT_TESTS += fbcon

# tests/unit/test_pmtimer.c: the loader's ACPI PM timer and TSC rate
# (loader/pmtimer.c, pure code built for the host too).
UNIT_TESTS += pmtimer

UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/host/tests/unit/test_%)

# test_elf also cuts the real kernel, as linked and as the ESP gets it, at
# every length: it reads them at the paths make uses (relative to the top
# directory, where make runs the tests), built first.
$(BUILD)/host/tests/unit/test_elf.o: HOST_CFLAGS += \
	-DKERNEL_ELF_PATH='"$(KERNEL_ELF)"' \
	-DKERNEL_ESP_ELF_PATH='"$(KERNEL_ESP_ELF)"'
$(BUILD)/host/tests/unit/test_elf: | $(KERNEL_ELF) $(KERNEL_ESP_ELF)

FBCON_HOST_OBJS := $(BUILD)/host/kernel/dev/fbcon.o \
	$(BUILD)/host/kernel/dev/psf.o $(BUILD)/host/kernel/dev/font.S.o \
	$(BUILD)/host/tests/bench/fbcon_old.o
$(BUILD)/host/tests/unit/test_fbcon: $(FBCON_HOST_OBJS)
$(BUILD)/host/tests/unit/test_pmtimer: $(BUILD)/host/loader/pmtimer.o

$(BUILD)/host/kernel/dev/font.S.o: kernel/dev/font.S $(KERNEL_FONT) Makefile
	@mkdir -p $(@D)
	$(CLANG) -c -Wa,--noexecstack -DFONT_FILE='"$(KERNEL_FONT)"' $< -o $@

# The same test run against the console before the shadow: it must fail
# (reads of video memory, writes of unchanged pixels). Not a suite; see
# README, "Consoles".
$(BUILD)/host/tests/unit/test_fbcon_old.o: tests/unit/test_fbcon.c Makefile
	@mkdir -p $(@D)
	$(CLANG) $(HOST_CFLAGS) -DTEST_FBCON_OLD -c $< -o $@
$(BUILD)/host/tests/unit/test_fbcon_old: \
		$(BUILD)/host/tests/unit/test_fbcon_old.o $(FBCON_HOST_OBJS) \
		$(HOST_COMMON_OBJS)
	$(CLANG) $(HOST_LDFLAGS) -o $@ $^

# A static pattern rule, so it cannot also claim the test_NAME.o objects
# (those come from the generic $(BUILD)/host/%.o rule).
$(UNIT_BINS): $(BUILD)/host/tests/unit/test_%: \
		$(BUILD)/host/tests/unit/test_%.o $(HOST_COMMON_OBJS)
	$(CLANG) $(HOST_LDFLAGS) -o $@ $^

TEST_SUITES += unit

.PHONY: test-unit
test-unit: $(UNIT_BINS)
	@mkdir -p $(TEST_RESULTS)
	@tests/unit/run.sh $(TEST_RESULTS)/unit.txt $(UNIT_BINS)
