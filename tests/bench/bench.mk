# `make bench`: the page tables of common/ and the framebuffer console
# measured on the host, every figure beside its goal, ending with "N
# passed, M failed" over the goals (see tools/bench.sh).
#
# `make test-bench`, the suite `bench` of `make test`: the same with
# --quick (a scattered set of 32,768 pages instead of 262,144, at the same
# density, and no table()-call column), about 15 s of CPU time. Without
# valgrind it is one case skipped, with the reason.
#
# Built with plain -O2, no sanitizers, into $(BUILD)/bench/: the ASan
# objects in $(BUILD)/host/ would measure the sanitizers, not the code.
# DWARF 4, not clang 14's default DWARF 5: valgrind 3.19 (Debian 12)
# cannot read clang's DWARF 5 forms and gives up on the whole binary.

BENCH_CFLAGS := $(COMMON_CFLAGS) -gdwarf-4
BENCH_COMMON_SRCS := common/mm/paging.c common/mm/paging_page.c \
	common/mm/paging_range.c common/lib/string.c
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

# The framebuffer console, as it is and as it was (tests/bench/fbcon_old.c),
# always with the Terminus 8x16 font whatever FONT= says, so the figure
# stays comparable.
BENCH_FONT_SRC := /usr/share/consolefonts/Lat15-Terminus16.psf.gz
BENCH_FONT := $(BUILD)/bench/terminus16.psf
BENCH_FBCON_BIN := $(BUILD)/bench/bench_fbcon
BENCH_FBCON_OBJS := $(patsubst %.c,$(BUILD)/bench/%.o,\
	tests/bench/bench_fbcon.c tests/bench/fbcon_old.c kernel/dev/fbcon.c \
	kernel/dev/psf.c common/lib/string.c) $(BUILD)/bench/font.S.o

$(BENCH_FONT): $(BENCH_FONT_SRC) | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	gzip -dc $< > $@

$(BUILD)/bench/font.S.o: kernel/dev/font.S $(BENCH_FONT) tests/bench/bench.mk
	@mkdir -p $(@D)
	$(CLANG) -c -Wa,--noexecstack -DFONT_FILE='"$(BENCH_FONT)"' $< -o $@

$(BENCH_FBCON_BIN): $(BENCH_FBCON_OBJS)
	$(CLANG) -o $@ $^

.PHONY: bench
bench: $(BENCH_BIN) $(BENCH_FBCON_BIN)
	@tools/bench.sh --bin $(BENCH_BIN) --fbcon-bin $(BENCH_FBCON_BIN) \
		2>&1 | tee $(BENCH_RESULT); exit $${PIPESTATUS[0]}

TEST_SUITES += bench

.PHONY: test-bench
test-bench: $(BENCH_BIN) $(BENCH_FBCON_BIN)
	@mkdir -p $(TEST_RESULTS)
	@tools/bench.sh --quick --skip-without-valgrind --bin $(BENCH_BIN) \
		--fbcon-bin $(BENCH_FBCON_BIN) 2>&1 | tee $(TEST_RESULTS)/bench.txt; \
		exit $${PIPESTATUS[0]}
