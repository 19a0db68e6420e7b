# shellcheck shell=bash disable=SC2034 # $status is read by the helpers in lib.sh
# tests/matrix/matrix.py against the fake QEMU: cells the host cannot
# start are skipped with their reason and never hide a guest failure; the
# pinned skips of tests/matrix/skips.txt are exact under TCG and follow
# the host under KVM.

# The self-tests the kernel skips under any KVM (tests/matrix/skips.txt).
KVM_SKIPS=(int3-caught-and-resumed=SKIP:"under KVM, which may be a software KVM"
	int-past-idt-limit-raises-gp=SKIP:"under KVM, which may be a software KVM"
	smap-stac-clac-open-and-close=SKIP:"under KVM, which may be a software KVM")
HASWELL=(smep-blocks-user-exec=PASS smap-blocks-user-read=SKIP:"CPU has no SMAP"
	smap-stac-clac-open-and-close=SKIP:"CPU has no SMAP")

# cell ACCEL CPU [MODE] -- TRANSCRIPT-SPECS...: what the fake QEMU does
# for that cell.
cell() {
	local accel=$1 cpu=$2
	shift 2
	mkdir -p "$S/cells"
	if [ "$1" != -- ]; then
		echo "$1" >"$S/cells/$accel-$cpu.mode"
		shift
	fi
	shift
	transcript "$@" >"$S/cells/$accel-$cpu.out"
}

# mx ACCELS CPUS [HOST-FLAGS [SMP]]: the matrix at 64 MiB (the grid, on
# one CPU, unless SMP asks for CPU-count cells); output in $S/out.
mx() {
	echo k >"$S/k.elf"
	: >"$S/kvm"
	echo "flags : fpu ${3:-nx pat}" >"$S/cpuinfo"
	env PATH="$FAKE:$PATH" RUN_QEMU_KVM_DEV="${RUN_QEMU_KVM_DEV:-$S/kvm}" \
		FAKE_QEMU_DIR="$S/cells" python3 tests/matrix/matrix.py \
		--kernel "$S/k.elf" --logs "$S/logs" --jobs 2 --mems 64 \
		--accels "$1" --cpus "$2" --host-cpuinfo "$S/cpuinfo" \
		--smp "${4:-1}" >"$S/out" 2>&1 </dev/null
	status=$?
}

# pins ACCEL CPU HOST-FLAGS -- SPECS...: judge a transcript's skips the way
# a matrix cell is judged (matrix.check_skips with tests/matrix/skips.txt),
# without booting anything; the verdict in $S/out, status 1 if it failed.
pins() {
	local accel=$1 cpu=$2 flags=$3
	shift 4
	transcript "$@" >"$S/transcript"
	python3 - "$accel" "$cpu" "$flags" "$S/transcript" >"$S/out" 2>&1 <<'PY'
import sys
sys.path.insert(0, "tests/matrix")
import matrix
accel, cpu, flags, path = sys.argv[1:]
cell = {"accel": accel, "cpu": cpu, "results": {}}
for line in open(path):
    m = matrix.RESULT.match(line)
    if m:
        cell["results"][m.group(2)] = (m.group(1), m.group(3))
why = matrix.check_skips(cell, matrix.load_pins(matrix.PINS), set(flags.split()))
print(why or "pinned skips match")
sys.exit(1 if why else 0)
PY
	status=$?
}

expect_last() {
	[ "$(tail -n 1 "$S/out")" = "$1" ] ||
		fail "closing line '$(tail -n 1 "$S/out")', expected '$1'"
}

# A KVM cell QEMU cannot start (the MSR abort, retried and failing again)
# is skipped with its reason, and the TCG cell beside it still counts.
t_mx_host_cannot_run_is_skipped() {
	cell tcg max -- smep-blocks-user-exec=PASS
	cell kvm max msr-always --
	mx tcg,kvm max
	expect_status 0
	expect_last "1 passed, 0 failed, 1 skipped"
	expect_lines "$S/out" '^kvm +max +64M +host cannot run: QEMU failed to start \(KVM, -cpu max,-arch-capabilities\): .*MSR 0x10a' 1
	expect_lines "$S/out" '^kvm .* pass ' 0
}

# Where the guest printed anything, the cell is judged, even when QEMU
# was asked for the same model that fails elsewhere.
t_mx_guest_failure_is_not_hidden() {
	cell tcg max -- smep-blocks-user-exec=PASS
	mkdir -p "$S/cells"
	echo reset >"$S/cells/kvm-max.mode"
	printf 'kernel: version fake\npanic: mm: out of frames\n' >"$S/cells/kvm-max.out"
	mx tcg,kvm max
	expect_status 1
	expect_last "1 passed, 1 failed, 0 skipped"
	expect_lines "$S/out" '^ +panic: mm: out of frames' 1
}

# The MSR abort's retry boots: the cell passes and shows the note.
t_mx_msr_retry_cell_passes() {
	cell kvm max msr -- "${KVM_SKIPS[@]}"
	mx kvm max
	expect_status 0
	expect_last "1 passed, 0 failed, 0 skipped"
	expect_lines "$S/out" 'note: .*-arch-capabilities' 1
}

# Without a usable KVM device every KVM cell is a host limit.
t_mx_no_kvm_device_skips_kvm_cells() {
	cell tcg Haswell -- "${HASWELL[@]}"
	RUN_QEMU_KVM_DEV=$S/no-kvm mx tcg,kvm Haswell
	expect_status 0
	expect_last "1 passed, 0 failed, 1 skipped"
	expect_lines "$S/out" "^kvm +Haswell +64M +host cannot run: no $S/no-kvm" 1
}

t_mx_tcg_exact_pins_pass() {
	pins tcg Haswell "" -- "${HASWELL[@]}"
	expect_status 0
	pins tcg max "" -- smep-blocks-user-exec=PASS smap-blocks-user-read=PASS
	expect_status 0
}

# SMEP left off by the kernel on a model that has it (what forcing it off
# in common/hw/cpu.c gives): the cell fails and names the test. Through the
# whole matrix, so the pins are known to be wired into a cell's verdict.
t_mx_tcg_unexpected_skip_fails() {
	cell tcg Haswell -- smep-blocks-user-exec=SKIP:"CPU has no SMEP" \
		smap-blocks-user-read=SKIP:"CPU has no SMAP" \
		smap-stac-clac-open-and-close=SKIP:"CPU has no SMAP"
	mx tcg Haswell
	expect_status 1
	expect_last "0 passed, 1 failed, 0 skipped"
	expect_lines "$S/out" '^ +unexpected skips: smep-blocks-user-exec skipped \(CPU has no SMEP\), not pinned' 1
}

# A pinned skip that now passes is a stale pin: the cell fails by name.
t_mx_tcg_pinned_skip_that_passes_fails() {
	pins tcg Haswell "" -- smep-blocks-user-exec=PASS smap-blocks-user-read=PASS \
		smap-stac-clac-open-and-close=SKIP:"CPU has no SMAP"
	expect_status 1
	expect_lines "$S/out" '^unexpected skips: smap-blocks-user-read pinned as skipped but passed$' 1
	pins tcg Haswell "" -- smep-blocks-user-exec=PASS \
		smap-stac-clac-open-and-close=SKIP:"CPU has no SMAP"
	expect_status 1
	expect_lines "$S/out" 'smap-blocks-user-read pinned as skipped but did not run' 1
}

# A pinned test skipped for another reason than its pin fails too.
t_mx_tcg_skip_for_other_reason_fails() {
	pins tcg Haswell "" -- smep-blocks-user-exec=PASS \
		smap-blocks-user-read=SKIP:"under KVM, which may be a software KVM" \
		smap-stac-clac-open-and-close=SKIP:"CPU has no SMAP"
	expect_status 1
	expect_lines "$S/out" "^unexpected skips: smap-blocks-user-read skipped \(under KVM.*\), pinned as 'CPU has no SMAP'" 1
}

t_mx_tcg_model_without_pins_fails() {
	pins tcg Cooperlake "" -- smep-blocks-user-exec=PASS
	expect_status 1
	expect_lines "$S/out" '^no pinned skips for tcg Cooperlake' 1
}

# Under KVM a skip the host explains passes: a feature /proc/cpuinfo
# lacks, or a test any KVM may skip; the same skip on a host that has
# the feature fails by name.
t_mx_kvm_skips_follow_the_host() {
	local spec=(smep-blocks-user-exec=SKIP:"CPU has no SMEP"
		smap-blocks-user-read=PASS "${KVM_SKIPS[@]}")
	pins kvm Skylake-Server "nx pat" -- "${spec[@]}"
	expect_status 0
	pins kvm Skylake-Server "nx pat smep smap" -- "${spec[@]}"
	expect_status 1
	expect_lines "$S/out" '^unexpected skips under KVM: smep-blocks-user-exec skipped \(CPU has no SMEP\) although the host CPU has smep$' 1
	# -cpu host has no TCG pins: the host decides alone.
	pins kvm host "nx pat" -- "${spec[@]}"
	expect_status 0
}

# A KVM cell may pass what its model's TCG pins skip (PVM shows SMEP and
# SMAP even for qemu64), and may skip them; any other skip fails.
t_mx_kvm_other_skip_fails() {
	pins kvm qemu64 "nx pat smep smap" -- smep-blocks-user-exec=PASS \
		smap-blocks-user-read=SKIP:"CPU has no SMAP" "${KVM_SKIPS[@]}"
	expect_status 0
	pins kvm qemu64 "nx pat smep smap" -- ud2-raises-ud=SKIP:"something else" "${KVM_SKIPS[@]}"
	expect_status 1
	expect_lines "$S/out" '^unexpected skips under KVM: ud2-raises-ud skipped \(something else\)$' 1
}

# The TCG/KVM comparison still fails a KVM cell whose results differ
# other than by a skip (here a test KVM did not run).
t_mx_tcg_kvm_difference_fails() {
	cell tcg Haswell -- "${HASWELL[@]}" ud2-raises-ud=PASS
	cell kvm Haswell -- "${HASWELL[@]}"
	mx tcg,kvm Haswell
	expect_status 1
	expect_lines "$S/out" '^ +self-tests differ from TCG: ud2-raises-ud tcg=PASS kvm=None' 1
}

# A CPU-count cell passes only with as many CPUs online as it asked for:
# the fake guest reports 1. The nosmp and no-ACPI cells beside it ask for
# 1 of 2 and pass. (The real cells show that -smp reaches QEMU: 2 and 4
# online.)
t_mx_cpu_count_must_match() {
	cell tcg qemu64 -- smep-blocks-user-exec=SKIP:"CPU has no SMEP" \
		smap-blocks-user-read=SKIP:"CPU has no SMAP" \
		smap-stac-clac-open-and-close=SKIP:"CPU has no SMAP"
	mx tcg qemu64 "" 2
	expect_status 1
	expect_last "2 passed, 1 failed, 0 skipped"
	expect_lines "$S/out" '^FAIL tcg-qemu64-512M-smp2 .*kernel: cpus: 1 online, 2 asked for' 1
	expect_lines "$S/out" '^PASS tcg-qemu64-512M-smp2-nosmp ' 1
}
