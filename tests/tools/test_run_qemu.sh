# shellcheck shell=bash disable=SC2034 # $status is read by the helpers in lib.sh
# tools/run-qemu.sh against the fake QEMU: start failures told apart from
# guest results, the two retries, the KVM device checks, the terminal
# filter, the command line passed through byte for byte.

# QEMU 7.2's abort on MSR 0x10a with -cpu max under KVM: one note, one
# retry with -arch-capabilities, which boots; QEMU's assertion is not shown.
t_rq_msr_abort_retried_with_arch_capabilities() {
	fake_files
	FAKE_QEMU_MODE=msr rq --kvm --cpu max --direct "$S/k.elf" --append test
	expect_status 0
	expect_runs 2
	[ "$(arg_after 1 -cpu)" = max ] || fail "first run had -cpu $(arg_after 1 -cpu)"
	[ "$(arg_after 2 -cpu)" = max,-arch-capabilities ] ||
		fail "the retry had -cpu $(arg_after 2 -cpu)"
	expect_lines "$S/err" '^run-qemu: note: .*-arch-capabilities' 1
	expect_lines "$S/err" 'Assertion|failed to set MSR' 0
	grep -q '^kernel: ready' "$S/out" || fail "the guest's output is not on stdout"
}

# The same with the default model under KVM (-cpu host).
t_rq_msr_abort_retried_for_cpu_host() {
	fake_files
	FAKE_QEMU_MODE=msr rq --kvm --direct "$S/k.elf"
	expect_status 0
	[ "$(arg_after 2 -cpu)" = host,-arch-capabilities ] ||
		fail "the retry had -cpu $(arg_after 2 -cpu)"
}

# When the retry fails too: no third run, status 127, one line naming the
# accelerator, the CPU model and QEMU's message; never success.
t_rq_msr_abort_twice_is_a_start_failure() {
	fake_files
	FAKE_QEMU_MODE=msr-always rq --kvm --cpu max --direct "$S/k.elf"
	expect_status 127
	expect_runs 2
	expect_lines "$S/err" '^run-qemu: error: QEMU failed to start \(KVM, -cpu max,-arch-capabilities\): .*failed to set MSR 0x10a' 1
	expect_lines "$S/err" 'reported success' 0
}

# Any other start failure: no retry, status 127, one line with TCG, the
# model and QEMU's own message.
t_rq_start_error_names_accel_cpu_message() {
	fake_files
	FAKE_QEMU_MODE=start-error rq --cpu Haswell --direct "$S/k.elf"
	expect_status 127
	expect_runs 1
	expect_lines "$S/err" '^run-qemu: error: QEMU failed to start \(TCG, -cpu Haswell\): -cpu Haswell: unable to start' 1
	expect_lines "$S/err" '^qemu-system-x86_64:' 0
}

# Status 1 with no guest byte and no message is still no kernel success.
t_rq_silent_exit_1_is_not_success() {
	fake_files
	FAKE_QEMU_MODE=silent-exit1 rq --direct "$S/k.elf"
	expect_status 127
	expect_lines "$S/err" 'reported success' 0
}

# Without a serial port only QEMU's message tells a start failure.
t_rq_start_error_without_serial() {
	fake_files
	FAKE_QEMU_MODE=start-error rq --no-serial --image "$S/disk.img"
	expect_status 127
}

# A guest that printed and then reset is the guest's failure: judged as
# before (126), not retried, not a host limit.
t_rq_guest_output_then_reset_is_judged() {
	fake_files
	FAKE_QEMU_MODE=reset rq --kvm --cpu max --direct "$S/k.elf"
	expect_status 126
	expect_runs 1
}

# A guest that printed and reported failure code 5 exits 5.
t_rq_guest_failure_code() {
	fake_files
	FAKE_QEMU_CODE=5 rq --direct "$S/k.elf"
	expect_status 5
	grep -q 'kernel reported failure (exit code 5)' "$S/err" || fail "no failure line"
}

# A window that cannot open (a bad DISPLAY): one note, a retry without a
# window, which boots.
t_rq_window_failure_retried_headless() {
	fake_files
	DISPLAY=:99 FAKE_QEMU_GTK=1 FAKE_QEMU_MODE=gtk rq --image "$S/disk.img"
	expect_status 0
	expect_runs 2
	if arg_after 1 -display >/dev/null; then fail "the first run had -display $(arg_after 1 -display)"; fi
	[ "$(arg_after 2 -display)" = none ] || fail "the retry had no -display none"
	expect_lines "$S/err" '^run-qemu: note: QEMU could not start with a window \(gtk initialization failed\)' 1
}

# A start failure that is not about the window still ends as one.
t_rq_window_retry_then_start_failure() {
	fake_files
	DISPLAY=:99 FAKE_QEMU_GTK=1 FAKE_QEMU_MODE=start-error rq --image "$S/disk.img"
	expect_status 127
	expect_runs 2
}

# The /dev/kvm checks still run (through the override) and stop before QEMU.
t_rq_kvm_device_missing() {
	fake_files
	RUN_QEMU_KVM_DEV=$S/no-kvm rq --kvm --direct "$S/k.elf"
	expect_status 125
	expect_runs 0
	expect_lines "$S/err" "^run-qemu: error: $S/no-kvm does not exist" 1
}

t_rq_kvm_device_not_accessible() {
	fake_files
	[ "$(id -u)" -ne 0 ] || skip "running as root, which may use any file"
	: >"$S/kvm-ro"
	chmod 0400 "$S/kvm-ro"
	RUN_QEMU_KVM_DEV=$S/kvm-ro rq --kvm --direct "$S/k.elf"
	expect_status 125
	expect_runs 0
	expect_lines "$S/err" 'may not use it' 1
}

# On a terminal the firmware's clear-screen, cursor-home and screen-mode
# sequences are left out, colours kept; the --log file keeps every byte.
t_rq_terminal_drops_clear_screen() {
	fake_files
	printf 'a\033[2J\033[01;01Hb\033[=3hc\033[1mbold\033[0m\n' >"$S/guest"
	FAKE_QEMU_OUT=$S/guest PATH="$FAKE:$PATH" python3 - "$S" <<'PY' || fail "$(cat "$S/pty.err" 2>/dev/null)"
import os, pty, sys
s = sys.argv[1]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("tools/run-qemu.sh", ["run-qemu.sh", "--direct", s + "/k.elf",
                                     "--log", s + "/serial.log"])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
os.waitpid(pid, 0)
open(s + "/tty", "wb").write(out)
PY
	grep -q $'abc\033\\[1mbold' "$S/tty" || fail "terminal got: $(od -c "$S/tty" | head -5 | tr '\n' ' ')"
	if grep -q $'\033\\[2J\\|\033\\[01;01H\\|\033\\[=3h' "$S/tty"; then
		fail "a clear-screen sequence reached the terminal"
	fi
	cmp -s "$S/guest" "$S/serial.log" || fail "the log is not the raw serial output"
}

# Through a pipe (tests, logs) the bytes pass as they are.
t_rq_pipe_gets_raw_bytes() {
	fake_files
	printf 'a\033[2J\033[01;01Hb\n' >"$S/guest"
	FAKE_QEMU_OUT=$S/guest rq --direct "$S/k.elf"
	expect_status 0
	cmp -s "$S/guest" "$S/out" || fail "stdout differs from the guest's bytes"
}

# --append reaches QEMU's -append byte for byte.
t_rq_append_byte_for_byte() {
	fake_files
	local line
	line=$'it\'s "x" $HOME;touch '"$S/injected"$' `id` \\back\\\\slash # %  two  spaces \xc3\xa9'
	rq --direct "$S/k.elf" --append "$line"
	expect_status 0
	[ "$(arg_after 1 -append)" = "$line" ] || fail "QEMU got -append '$(arg_after 1 -append)'"
	[ ! -e "$S/injected" ] || fail "a command in the line ran"
}

t_rq_append_refuses_line_break() {
	fake_files
	rq --direct "$S/k.elf" --append $'test\nptdump'
	expect_status 125
	expect_runs 0
	expect_lines "$S/err" '^run-qemu: error: --append: .*line break' 1
}

# BI_CMDLINE_MAX - 1 bytes fit, one more does not.
t_rq_append_length_limit() {
	fake_files
	local max
	max=$(sed -n 's/^#define[[:space:]]*BI_CMDLINE_MAX[[:space:]]*\([0-9]*\).*/\1/p' common/boot/bootinfo.h)
	rq --direct "$S/k.elf" --append "$(head -c $((max - 1)) /dev/zero | tr '\0' x)"
	expect_status 0
	rq --direct "$S/k.elf" --append "$(head -c "$max" /dev/zero | tr '\0' x)"
	expect_status 125
	expect_lines "$S/err" "^run-qemu: error: --append: .*$max bytes; at most $((max - 1))" 1
}

t_rq_mem_minimum() {
	fake_files
	local ovmf pvh
	ovmf=$(sed -n 's/^mem_min_ovmf=//p' tools/run-qemu.sh)
	pvh=$(sed -n 's/^mem_min_pvh=//p' tools/run-qemu.sh)
	rq --image "$S/disk.img" --mem $((ovmf - 1))
	expect_status 125
	expect_lines "$S/err" "at least $ovmf MiB" 1
	rq --image "$S/disk.img" --mem "$ovmf"
	expect_status 0
	rq --direct "$S/k.elf" --mem $((pvh - 1))
	expect_status 125
	rq --direct "$S/k.elf" --mem 0
	expect_status 125
	rq --direct "$S/k.elf" --mem "$pvh"
	expect_status 0
	expect_runs 2
}

# One firmware file without the other is refused, each way.
t_rq_ovmf_pair_required() {
	fake_files
	OVMF_CODE='' rq --image "$S/disk.img"
	expect_status 125
	expect_lines "$S/err" '^run-qemu: error: OVMF_VARS=.* without OVMF_CODE' 1
	OVMF_VARS='' rq --image "$S/disk.img"
	expect_status 125
	expect_lines "$S/err" '^run-qemu: error: OVMF_CODE=.* without OVMF_VARS' 1
	expect_runs 0
}
