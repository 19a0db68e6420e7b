#!/usr/bin/env bash
# The tools' own tests: tools/run-qemu.sh, the matrix, tools/test-summary.sh,
# the variable checks and targets of the Makefile, the command-line path
# into loader.conf and QEMU, and the small scripts. QEMU is the fake one in
# tests/tools/fake-qemu/ (put first in PATH), which reproduces what this
# machine cannot: a KVM that aborts on MSR 0x10a, a start-up error, a
# display that cannot open. One real boot (PVH, the memory minimum) checks
# that the stated minimum boots.
#
# usage: tests/tools/run.sh [--build DIR] [--results FILE] [PATTERN]
#
#   --build DIR     the build directory holding the loader and kernel
#                   (default build); make runs inside it use BUILD=DIR
#   --results FILE  also write the lines to FILE
#   PATTERN         run only the cases whose name contains PATTERN
#
# Each case is a function t_NAME in tests/tools/test_*.sh, run in a
# subshell with a scratch directory $S; it passes by returning 0, fails
# by calling `fail WHY`, and calls `skip WHY` when this host cannot run it
# (as root, a file mode cannot refuse access). Prints "PASS name", "FAIL
# name: why" or "SKIP name: why" per case and ends with "N passed, M
# failed, K skipped"; exits 1 when anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
BUILD=build results='' pattern=''
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=${2:?--build needs a value}; shift 2 ;;
	--results) results=${2:?--results needs a value}; shift 2 ;;
	-h | --help) sed -n '10,16p' "$0"; exit 0 ;;
	-*) echo "tests/tools/run.sh: unknown option $1" >&2; exit 2 ;;
	*) pattern=$1; shift ;;
	esac
done
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
FAKE=$here/fake-qemu

# Nothing from an outer make or the user's shell may steer the cases.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
unset CMDLINE RUN_CMDLINE MEM CPU FONT OVMF_CODE OVMF_VARS MEDIA MACHINE DEV
unset DISPLAY WAYLAND_DISPLAY CI FUZZ_SECONDS RUN_QEMU_KVM_DEV
unset FAKE_QEMU_MODE FAKE_QEMU_DIR FAKE_QEMU_OUT FAKE_QEMU_ARGS FAKE_QEMU_GTK FAKE_QEMU_CODE
export LC_ALL=C

# shellcheck source=tests/tools/lib.sh
. "$here/lib.sh"
for f in "$here"/test_*.sh; do
	# shellcheck disable=SC1090
	. "$f"
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tools-test.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
[ -z "$results" ] || : >"$results"
say() {
	echo "$*"
	[ -z "$results" ] || echo "$*" >>"$results"
}

passed=0 failed=0 skipped=0
for t in $(declare -F | awk '$3 ~ /^t_/ { print $3 }'); do
	name=${t#t_}
	name=${name//_/-}
	[ -z "$pattern" ] || [[ $name == *"$pattern"* ]] || continue
	S=$scratch/$name
	mkdir -p "$S"
	start=$(date +%s%N)
	(
		cd "$ROOT" || exit 1
		"$t"
	) >"$S/.case.log" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ $rc -eq 0 ]; then
		say "PASS $name (${ms} ms)"
		passed=$((passed + 1))
	elif [ $rc -eq 3 ] && [ -s "$S/.skip" ]; then
		say "SKIP $name: $(cat "$S/.skip")"
		skipped=$((skipped + 1))
	else
		why=$(cat "$S/.why" 2>/dev/null)
		say "FAIL $name: ${why:-exited $rc without saying why}"
		# The case's own output, for the reader of the failure.
		tail -n 15 "$S/.case.log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
say "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
