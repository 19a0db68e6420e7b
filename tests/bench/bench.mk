# `make bench`: the page-table mapper of common/ measured on the host.
# Not part of `make test` (no TEST_SUITES entry): it needs valgrind and
# measures rather than tests, although it ends with "N passed, M failed"
# against its goals (see tools/bench.sh).
#
# Built with plain -O2, no sanitizers, into $(BUILD)/bench/: the ASan
# objects in $(BUILD)/host/ would measure the sanitizers, not the code.
# DWARF 4, not clang 14's default DWARF 5: valgrind 3.19 (Debian 12)
# cannot read clang's DWARF 5 forms and gives up on the whole binary.

BENCH_CFLAGS := $(COMMON_CFLAGS) -gdwarf-4
BENCH_COMMON_SRCS := common/paging.c common/string.c
BENCH_BIN := $(BUILD)/bench/bench_paging
BENCH_OBJS := $(patsubst %.c,$(BUILD)/bench/%.o,\
	tests/bench/bench_paging.c $(BENCH_COMMON_SRCS))
BENCH_RESULT := $(BUILD)/bench/bench.txt

# This file is a prerequisite so that a change of the flags rebuilds.
$(BUILD)/bench/%.o: %.c tests/bench/bench.mk | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(CLANG) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_BIN): $(BENCH_OBJS)
	$(CLANG) -o $@ $^

.PHONY: bench
bench: $(BENCH_BIN)
	@tools/bench.sh --bin $(BENCH_BIN) 2>&1 | tee $(BENCH_RESULT); \
		exit $${PIPESTATUS[0]}
