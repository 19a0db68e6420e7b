# libFuzzer targets for the code in common/ that parses untrusted bytes:
# tests/fuzz/fuzz_NAME.c. common/ is compiled again into $(BUILD)/fuzz/
# with coverage instrumentation, ASan and UBSan (separate objects from the
# unit tests'). Seeds are in tests/fuzz/corpus/NAME/ (see make-seeds.py);
# what the fuzzer finds goes to $(BUILD)/fuzz/corpus/NAME/, crashing
# inputs to $(BUILD)/fuzz/crashes/NAME/.
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="elf config"]
#   make test-fuzz      a short deterministic run of each (a test suite)

FUZZ_TARGETS ?= elf config memmap pvh memmap_log sha256 tpm acpi paging
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_RUNS ?= 2000

# A bad FUZZ_SECONDS would make libFuzzer run forever without a word:
# refuse it before building (is_number is tools/checks.mk's).
ifneq ($(filter fuzz,$(MAKECMDGOALS)),)
ifeq ($(and $(call is_number,$(value FUZZ_SECONDS)),$(filter-out 0,$(strip $(call strip_chars,$(value FUZZ_SECONDS),0)))),)
$(error FUZZ_SECONDS='$(value FUZZ_SECONDS)': FUZZ_SECONDS= takes whole seconds per target, at least 1 (default 60))
endif
endif

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CFLAGS := $(COMMON_CFLAGS) -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
FUZZ_COMMON_OBJS := $(patsubst %.c,$(FUZZ_DIR)/%.o,$(COMMON_SRCS))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_DIR)/%.o: %.c | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BINS): $(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/tests/fuzz/fuzz_%.o \
		$(FUZZ_COMMON_OBJS)
	$(CLANG) $(FUZZ_LDFLAGS) -o $@ $^ $(FUZZ_LIBS)

# fuzz_sha256 compares with OpenSSL's SHA-256 (libssl-dev, tools/deps.sh).
$(FUZZ_DIR)/fuzz_sha256: FUZZ_LIBS := -lcrypto

TEST_SUITES += fuzz

.PHONY: fuzz test-fuzz
fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh --seconds $(FUZZ_SECONDS) --dir $(FUZZ_DIR) \
		$(FUZZ_TARGETS)

test-fuzz: $(FUZZ_BINS)
	@mkdir -p $(TEST_RESULTS)
	@tests/fuzz/run.sh --runs $(FUZZ_SMOKE_RUNS) --dir $(FUZZ_DIR) \
		--results $(TEST_RESULTS)/fuzz.txt $(FUZZ_TARGETS)
