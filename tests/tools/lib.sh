# shellcheck shell=bash disable=SC2034 # $status is read by the helpers in lib.sh
# Helpers for the cases in tests/tools/test_*.sh (sourced by run.sh). Each
# case runs in a subshell in $ROOT with its own scratch directory $S; the
# helpers leave their results in $S and in $status.

# fail WHY...: the case fails with this reason (ends its subshell).
fail() {
	printf '%s\n' "$*" >"$S/.why"
	exit 1
}

# skip WHY...: the case cannot run on this host (a host limit, with its
# reason); counted as skipped, never as passed.
skip() {
	printf '%s\n' "$*" >"$S/.skip"
	exit 3
}

# rq ARGS...: tools/run-qemu.sh with the fake QEMU first in PATH, a usable
# stand-in for /dev/kvm (unless the case set RUN_QEMU_KVM_DEV), each QEMU
# run's arguments recorded in $S/args/N; stdout in $S/out, stderr in
# $S/err, the exit status in $status.
rq() {
	: >"$S/kvm"
	env PATH="$FAKE:$PATH" RUN_QEMU_KVM_DEV="${RUN_QEMU_KVM_DEV:-$S/kvm}" \
		FAKE_QEMU_ARGS="$S/args" tools/run-qemu.sh "$@" \
		</dev/null >"$S/out" 2>"$S/err"
	status=$?
}

# A file to pass as --direct KERNEL or --image IMG to the fake QEMU, and
# firmware files for --image.
fake_files() {
	echo kernel >"$S/k.elf"
	echo image >"$S/disk.img"
	echo code >"$S/code.fd"
	echo vars >"$S/vars.fd"
	export OVMF_CODE=$S/code.fd OVMF_VARS=$S/vars.fd
}

expect_status() {
	local said=$S/err
	[ -f "$said" ] || said=$S/out
	[ "$status" -eq "$1" ] ||
		fail "exit status $status, expected $1; it said: $(tail -n 5 "$said" 2>/dev/null | tr '\n' '|' | cut -c1-300)"
}

# runs: how many times QEMU was started.
runs() {
	find "$S/args" -type f 2>/dev/null | wc -l
}

expect_runs() {
	[ "$(runs)" -eq "$1" ] || fail "QEMU started $(runs) times, expected $1"
}

# arg_after N FLAG: the argument after the first FLAG in QEMU run N.
arg_after() {
	local -a a
	local i
	mapfile -d '' a <"$S/args/$1" || return 1
	for ((i = 0; i + 1 < ${#a[@]}; i++)); do
		if [ "${a[i]}" = "$2" ]; then
			printf '%s' "${a[i + 1]}"
			return 0
		fi
	done
	return 1
}

# has_arg N WORD: QEMU run N got WORD as one of its arguments.
has_arg() {
	local -a a
	local x
	mapfile -d '' a <"$S/args/$1" || return 1
	for x in "${a[@]}"; do [ "$x" = "$2" ] && return 0; done
	return 1
}

# count FILE REGEX: lines of FILE matching REGEX (extended).
count() {
	grep -cE -- "$2" "$1"
}

expect_lines() {
	local n
	n=$(count "$1" "$2")
	[ "$n" -eq "$3" ] || fail "$n lines of $(basename "$1") match '$2', expected $3: $(tr '\n' '|' <"$1" | cut -c1-300)"
}

# mk ARGS...: make in $ROOT; output (both streams) in $S/out, status in
# $status.
mk() {
	make -C "$ROOT" --no-print-directory "$@" >"$S/out" 2>&1 </dev/null
	status=$?
}

# A make refusal: a nonzero status, one line of output that names the
# variable, and nothing built (the build directory was never created).
expect_refusal() {
	local var=$1 lines
	[ "$status" -ne 0 ] || fail "make succeeded; wanted a refusal naming $var"
	lines=$(grep -c . "$S/out")
	[ "$lines" -eq 1 ] || fail "$lines lines of output, wanted one: $(tr '\n' '|' <"$S/out" | cut -c1-400)"
	grep -q -- "$var" "$S/out" || fail "the line does not name $var: $(cat "$S/out")"
	[ ! -e "$S/b" ] || fail "something was built before the refusal ($S/b exists)"
}

# A self-test transcript for the fake QEMU: kernel: ready, W^X passed, 22
# passing filler tests, then each NAME=OUTCOME[:why] given (PASS, SKIP,
# FAIL), then the summary line.
transcript() {
	local p=0 f=0 s=0 i spec name rest outcome why
	echo "kernel: version fake, booted by PVH"
	echo "kernel: W^X check: passed (9 mappings)"
	echo "kernel: cpus: 1 online"
	for i in $(seq 1 22); do
		echo "selftest: PASS filler-$i (100 cycles)"
		p=$((p + 1))
	done
	for spec in "$@"; do
		name=${spec%%=*}
		rest=${spec#*=}
		outcome=${rest%%:*}
		why=${rest#*:}
		case $outcome in
		PASS) echo "selftest: PASS $name (100 cycles)"; p=$((p + 1)) ;;
		SKIP) echo "selftest: SKIP $name: $why"; s=$((s + 1)) ;;
		FAIL) echo "selftest: FAIL $name: $why"; f=$((f + 1)) ;;
		esac
	done
	echo "selftest: $p passed, $f failed, $s skipped"
	echo "kernel: ready"
}
