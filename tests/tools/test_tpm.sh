# shellcheck shell=bash disable=SC2034 # $status is read by the helpers in lib.sh
# TPM=1 and tools/run-qemu.sh --tpm against the fake swtpm (tests/tools/
# fake-qemu/swtpm, first in PATH): swtpm started beside QEMU with its
# socket and state in the runner's temporary directory, QEMU given the
# TPM device, swtpm stopped when QEMU ends, times out or is interrupted,
# and a missing or failing swtpm refused with one line before QEMU runs.

# The fake swtpm's log: arguments (NUL separated), "pid N", "stopped by
# SIGTERM".
swtpm_log() {
	export FAKE_SWTPM_LOG=$S/swtpm.log
}

# swtpm_arg_after FLAG: the argument after FLAG in the fake swtpm's run.
swtpm_arg_after() {
	local -a a
	local i
	mapfile -d '' a < <(head -n 1 "$S/swtpm.log")
	for ((i = 0; i + 1 < ${#a[@]}; i++)); do
		if [ "${a[i]}" = "$1" ]; then
			printf '%s' "${a[i + 1]}"
			return 0
		fi
	done
	return 1
}

# The fake swtpm was stopped by the runner, is gone, and the runner's
# temporary directory (which held its socket) with it.
expect_swtpm_stopped() {
	local pid sock
	pid=$(sed -n 's/^pid //p' "$S/swtpm.log")
	[ -n "$pid" ] || fail "swtpm never ran"
	grep -q '^stopped by SIGTERM' "$S/swtpm.log" ||
		fail "swtpm was not stopped by the runner: $(tr '\0' ' ' <"$S/swtpm.log")"
	! kill -0 "$pid" 2>/dev/null || fail "swtpm (pid $pid) still runs"
	sock=$(swtpm_arg_after --ctrl)
	sock=${sock#*path=}
	[ ! -e "$(dirname "$sock")" ] || fail "the runner's directory $(dirname "$sock") is still there"
}

t_rq_tpm_swtpm_beside_qemu() {
	fake_files
	swtpm_log
	rq --tpm --image "$S/disk.img"
	expect_status 0
	expect_runs 1
	local ctrl sock state chardev
	ctrl=$(swtpm_arg_after --ctrl) || fail "swtpm got no --ctrl"
	sock=${ctrl#type=unixio,path=}
	[ "$sock" != "$ctrl" ] || fail "swtpm's --ctrl is not a unix socket: $ctrl"
	state=$(swtpm_arg_after --tpmstate) || fail "swtpm got no --tpmstate"
	[ "${state#dir=}" = "$(dirname "$sock")/tpm" ] ||
		fail "swtpm's state '$state' is not beside its socket $sock"
	head -n 1 "$S/swtpm.log" | tr '\0' '\n' | grep -qx -- --tpm2 || fail "swtpm was not asked for a TPM 2.0"
	chardev=$(arg_after 1 -chardev | grep chrtpm)
	has_arg 1 "socket,id=chrtpm,path=$sock" || fail "QEMU did not get the socket $sock (-chardev $chardev)"
	has_arg 1 emulator,id=tpm0,chardev=chrtpm || fail "QEMU got no -tpmdev emulator"
	has_arg 1 tpm-tis,tpmdev=tpm0 || fail "QEMU got no tpm-tis device"
	expect_lines "$S/err" '^run-qemu: booting .*TPM 2\.0 \(swtpm\)' 1
	expect_swtpm_stopped
}

# Without --tpm nothing of it.
t_rq_no_tpm_no_swtpm() {
	fake_files
	swtpm_log
	rq --image "$S/disk.img"
	expect_status 0
	[ ! -e "$S/swtpm.log" ] || fail "swtpm ran without --tpm"
	if has_arg 1 tpm-tis,tpmdev=tpm0; then fail "QEMU got a TPM without --tpm"; fi
}

t_rq_tpm_missing_swtpm() {
	fake_files
	RUN_QEMU_SWTPM=$S/no-swtpm rq --tpm --image "$S/disk.img"
	expect_status 125
	expect_runs 0
	expect_lines "$S/err" "^run-qemu: error: --tpm needs swtpm, which is not installed: install the 'swtpm' package" 1
}

t_rq_tpm_swtpm_fails_to_start() {
	fake_files
	swtpm_log
	FAKE_SWTPM_MODE=fail rq --tpm --image "$S/disk.img"
	expect_status 125
	expect_runs 0
	expect_lines "$S/err" '^run-qemu: error: swtpm did not start .*fake start failure' 1
}

# QEMU stopped by the runner's --timeout: swtpm goes too.
t_rq_tpm_stopped_after_timeout() {
	fake_files
	swtpm_log
	FAKE_QEMU_MODE=hang rq --tpm --timeout 1 --image "$S/disk.img"
	expect_status 124
	expect_swtpm_stopped
}

# Ctrl-C: SIGINT to the runner's whole process group, as a terminal
# sends it. The fake swtpm ignores it; the runner must stop it.
t_rq_tpm_stopped_after_ctrl_c() {
	fake_files
	swtpm_log
	: >"$S/kvm"
	FAKE_QEMU_MODE=hang FAKE_QEMU_ARGS="$S/args" PATH="$FAKE:$PATH" \
		setsid env --default-signal=INT tools/run-qemu.sh --tpm \
		--image "$S/disk.img" \
		</dev/null >"$S/out" 2>"$S/err" &
	local runner=$! i
	for i in $(seq 100); do
		[ "$(runs)" -eq 1 ] && grep -q '^kernel: ready' "$S/out" && break
		sleep 0.1
	done
	[ "$(runs)" -eq 1 ] || { kill -KILL -- -"$runner"; fail "QEMU did not start"; }
	kill -INT -- -"$runner"
	wait "$runner"
	status=$?
	expect_status 130
	expect_swtpm_stopped
}

t_mk_tpm_refusals() {
	refuse TPM run TPM=2
	refuse TPM run TPM=yes
	refuse TPM run TPM=
	refuse TPM run-kvm "TPM=1 1"
	mk BUILD="$S/b" -n run TPM=1
	expect_status 0
	grep -q -- '--machine q35 --tpm$' "$S/out" || fail "make run TPM=1 does not pass --tpm: $(grep run-qemu "$S/out")"
	mk BUILD="$S/b" -n run
	expect_status 0
	if grep -q -- '--tpm' "$S/out"; then fail "make run passes --tpm without TPM=1"; fi
}
