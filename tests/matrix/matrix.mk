# The direct-boot matrix (tests/matrix/matrix.py): the kernel booted
# through PVH with `test` across CPU models, memory sizes and
# accelerators, each cell's skipped self-tests checked against
# tests/matrix/skips.txt; a cell the host cannot start (no usable KVM,
# QEMU failing before the guest ran) is listed as skipped. Part of
# `make test`; `make matrix` runs it alone. MATRIX_CPUS= / MATRIX_MEMS= /
# MATRIX_ACCELS= narrow it (comma separated; '+' stands for ',' inside a
# CPU model, e.g. qemu64+-nx); MATRIX_SMP= picks CPU counts (1: the grid,
# 2 and 4: the CPU-count cells of the models in MATRIX_CPUS).
TEST_SUITES += matrix
MATRIX_JOBS ?= 2
MATRIX_ARGS = $(if $(MATRIX_CPUS),--cpus $(MATRIX_CPUS)) \
	$(if $(MATRIX_MEMS),--mems $(MATRIX_MEMS)) \
	$(if $(MATRIX_ACCELS),--accels $(MATRIX_ACCELS)) \
	$(if $(MATRIX_SMP),--smp $(MATRIX_SMP))

.PHONY: test-matrix matrix
test-matrix: $(KERNEL_ELF)
	@mkdir -p $(TEST_RESULTS)
	@set -o pipefail; python3 tests/matrix/matrix.py --kernel $(KERNEL_ELF) \
		--logs $(TEST_RESULTS)/matrix --jobs $(MATRIX_JOBS) \
		$(MATRIX_ARGS) | tee $(TEST_RESULTS)/matrix.txt

matrix: test-matrix
