# Host tools built from common/ (included from the Makefile after the test
# fragments, whose object lists and directories it uses).
#
# tools/memmap-check: the loader's and the kernel's memory planning run
# over a memory map Linux printed at boot. Built like the unit tests (the
# host objects of common/, ASan and UBSan), so it runs exactly the code
# the tests check. tools/memmap-check (the script) builds it when needed.
#
#   make memmap-check [MAP=FILE] [MEMMAP_ARGS='--phys-bits 39 --summary']

MEMMAP_CHECK_SRCS := tools/memmap_log.c tools/memmap_sim.c \
	tools/memmap_report.c
MEMMAP_CHECK_OBJS := $(patsubst %.c,$(BUILD)/host/%.o,$(MEMMAP_CHECK_SRCS))
MEMMAP_CHECK := $(BUILD)/host/tools/memmap-check

$(MEMMAP_CHECK): $(BUILD)/host/tools/memmap_check.o $(MEMMAP_CHECK_OBJS) \
		$(HOST_COMMON_OBJS)
	$(CLANG) $(HOST_LDFLAGS) -o $@ $^

# The unit tests and the fuzz target of the tool's parts link them too.
$(BUILD)/host/tests/unit/test_memmap_log: $(MEMMAP_CHECK_OBJS)
# test_memmap_sim also runs the built tool (its exit statuses), so a
# fresh `make test` builds it first.
$(BUILD)/host/tests/unit/test_memmap_sim: $(MEMMAP_CHECK_OBJS) | $(MEMMAP_CHECK)
$(FUZZ_DIR)/fuzz_memmap_log: \
	$(patsubst %.c,$(FUZZ_DIR)/%.o,$(MEMMAP_CHECK_SRCS))

all: $(MEMMAP_CHECK)

.PHONY: memmap-check
memmap-check: $(MEMMAP_CHECK)
	@if [ -n "$(MAP)" ]; then $(MEMMAP_CHECK) $(MEMMAP_ARGS) "$(MAP)"; \
	else echo "built $(MEMMAP_CHECK); run tools/memmap-check FILE" \
		"(or make memmap-check MAP=FILE)"; fi
