# Host unit tests of common/, built with ASan and UBSan (HOST_CFLAGS): one
# binary per module, tests/unit/test_NAME.c linked with every host object
# of common/. `make test-unit` builds and runs them all and writes
# $(TEST_RESULTS)/unit.txt, ending in the summed "N passed, M failed".

UNIT_TESTS := bootinfo config cpu elf fmt memmap pvh string
# tools/memmap-check's parts (tools/tools.mk links them in)
UNIT_TESTS += memmap_log memmap_sim
# ---- the lead adds `paging` here (tests/unit/test_paging.c) ----
UNIT_TESTS += paging frames dmap
# ---- end of the lead's spot ----

UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/host/tests/unit/test_%)

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
