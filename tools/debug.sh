#!/usr/bin/env bash
# Starts QEMU stopped at its first instruction with the gdbstub on
# localhost:PORT (through tools/run-qemu.sh), then gdb attached to it with
# the kernel's and the loader's symbols and the project's commands
# (tools/gdb/init.py). When gdb ends, QEMU is stopped too. `make debug`,
# `make debug-direct` and their -kvm forms call this.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	cat <<EOF
usage: tools/debug.sh --image IMG [options] [-- GDB-ARGS...]
       tools/debug.sh --direct KERNEL [--append CMDLINE] [options] [-- GDB-ARGS...]

  --image IMG       boot IMG under OVMF, stopped at the reset vector
  --direct KERNEL   boot KERNEL through its PVH note, stopped at its entry
  --append CMDLINE  kernel command line for --direct
  --port N          the gdbstub's TCP port on localhost (default 1234); it
                    must be free
  --gdb 'CMD'       the debugger to start (default gdb); words are split
                    on spaces, and the init file and the connection are
                    added after them. 'none' starts only QEMU and prints
                    how to attach (from an editor, say)
  --build DIR       where the symbols are (default build)
  --state DIR       where the serial log and QEMU's messages go (default
                    BUILD/debug)
  --kvm             KVM instead of TCG (hardware breakpoints: use hbreak)
  --mem, --cpu, --media, --machine, --timeout SECS
                    as for tools/run-qemu.sh
  --help            this text
  -- ARGS...        more arguments for the debugger, after the connection
                    (e.g. -batch -x script.py)

The guest's serial output goes to BUILD/debug/serial.log; gdb shows its new
lines each time it stops. Exit status: the debugger's; 2 for a usage
error; 125 when QEMU cannot run (no KVM, the port taken, QEMU failed).
EOF
}

say() {
	echo "debug: $*" >&2
}

die() {
	say "error: $*"
	exit "${2:-125}"
}

image='' direct='' append='' port=1234 gdb_cmd=gdb build=build kvm=0 dir=
mem=256 cpu='' media=sata machine=q35 timeout_s=''
gdb_extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--image) image=${2-}; shift 2 || die "--image needs a value" 2 ;;
	--direct) direct=${2-}; shift 2 || die "--direct needs a value" 2 ;;
	--append) append=${2-}; shift 2 || die "--append needs a value" 2 ;;
	--port) port=${2-}; shift 2 || die "--port needs a value" 2 ;;
	--gdb) gdb_cmd=${2-}; shift 2 || die "--gdb needs a value" 2 ;;
	--build) build=${2-}; shift 2 || die "--build needs a value" 2 ;;
	--state) dir=${2-}; shift 2 || die "--state needs a value" 2 ;;
	--kvm) kvm=1; shift ;;
	--mem) mem=${2-}; shift 2 || die "--mem needs a value" 2 ;;
	--cpu) cpu=${2-}; shift 2 || die "--cpu needs a value" 2 ;;
	--media) media=${2-}; shift 2 || die "--media needs a value" 2 ;;
	--machine) machine=${2-}; shift 2 || die "--machine needs a value" 2 ;;
	--timeout) timeout_s=${2-}; shift 2 || die "--timeout needs a value" 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; gdb_extra=("$@"); break ;;
	*) die "unknown argument '$1' (try --help)" 2 ;;
	esac
done

[ -n "$image" ] || [ -n "$direct" ] || die "give --image IMG or --direct KERNEL (try --help)" 2
[ -z "$image" ] || [ -z "$direct" ] || die "--image and --direct exclude each other" 2
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	die "GDB_PORT='$port': the gdbstub's port is a number from 1 to 65535 (default 1234)" 2
fi
read -r -a gdb_words <<<"$gdb_cmd"
[ ${#gdb_words[@]} -gt 0 ] || die "GDB= is empty: give a debugger (gdb, gdb-multiarch, 'gdb -tui') or 'none'" 2
if [ "${gdb_words[0]}" != none ] && ! command -v "${gdb_words[0]}" >/dev/null 2>&1; then
	die "GDB=${gdb_words[0]}: no such program (tools/deps.sh installs gdb)" 2
fi

# The kernel's symbols always; the loader's for a boot through it.
kernel_elf=$build/kernel/kernel.elf
loader_debug=$build/loader/BOOTX64.EFI.debug
[ -f "$kernel_elf" ] || die "$kernel_elf is missing (make kernel)"
[ -z "$image" ] || [ -f "$loader_debug" ] || die "$loader_debug is missing (make loader)"

# KVM: said here in this target's words before run-qemu.sh says it in
# those of `make run`. Under KVM only the CPU's four debug registers
# (hbreak) stop in code that is not loaded yet.
accel=tcg
if [ $kvm -eq 1 ]; then
	accel=kvm
	target=debug
	[ -z "$direct" ] || target=debug-direct
	kvm_dev=${RUN_QEMU_KVM_DEV:-/dev/kvm}
	if [ ! -e "$kvm_dev" ]; then
		die "$kvm_dev does not exist: this machine has no KVM (no virtualization support, or the kvm module is not loaded). Use 'make $target' (emulation, no KVM) instead."
	fi
	if [ ! -r "$kvm_dev" ] || [ ! -w "$kvm_dev" ]; then
		die "$kvm_dev exists but user $(id -un) may not use it: add yourself to group '$(stat -c %G "$kvm_dev")' and log in again, or use 'make $target' (emulation, no KVM)."
	fi
fi

# Is something listening on the port already (IPv4 or IPv6, any address)?
port_taken() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] || continue
		# local_address is ADDR:PORT in hex; state 0A is LISTEN.
		awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p && $4 == "0A" { found = 1 } END { exit !found }' "$f" && return 0
	done
	return 1
}
if port_taken "$port"; then
	die "GDB_PORT=$port is in use (another debug session, or another program listening there); pick another, e.g. GDB_PORT=$((port % 65535 + 1))"
fi

dir=${dir:-$build/debug}
mkdir -p "$dir" || die "cannot create $dir"
serial_log=$dir/serial.log
qemu_out=$dir/qemu.log
: >"$serial_log"

run=("$root/tools/run-qemu.sh" --mem "$mem" --log "$serial_log")
if [ -n "$image" ]; then
	run+=(--image "$image" --media "$media" --machine "$machine")
else
	run+=(--direct "$direct" --append "$append")
fi
[ -z "$cpu" ] || run+=(--cpu "$cpu")
[ $kvm -eq 0 ] || run+=(--kvm)
[ -z "$timeout_s" ] || run+=(--timeout "$timeout_s")
run+=(-- -gdb "tcp:127.0.0.1:$port" -S)

# QEMU runs in a session of its own, so a Ctrl-C typed at gdb interrupts
# the guest (through gdb) instead of ending QEMU; it is stopped through
# its process group when gdb ends.
setsid "${run[@]}" </dev/null >"$qemu_out" 2>&1 &
qemu_group=$!
# shellcheck disable=SC2317 # run by the EXIT trap
stop_qemu() {
	kill -TERM -- "-$qemu_group" 2>/dev/null
	wait "$qemu_group" 2>/dev/null
}
trap stop_qemu EXIT
trap 'exit 143' TERM HUP

# Wait until the gdbstub listens, or QEMU has ended (and say why).
for _ in $(seq 1 100); do
	port_taken "$port" && break
	if ! kill -0 "$qemu_group" 2>/dev/null; then
		wait "$qemu_group"
		status=$?
		say "error: QEMU ended before its gdbstub listened (run-qemu.sh status $status):"
		sed 's/^/  /' "$qemu_out" >&2
		trap - EXIT
		exit 125
	fi
	sleep 0.1
done
port_taken "$port" || die "QEMU's gdbstub did not listen on port $port within 10 s (see $qemu_out)"

what=${image:-$direct}
say "QEMU is stopped before its first instruction ($what, ${accel^^}); gdbstub on localhost:$port"
say "serial output: $serial_log (new lines are shown when gdb stops)"

export DEBUG_BUILD=$build DEBUG_SERIAL_LOG=$serial_log DEBUG_ACCEL=$accel
# No loader runs in a PVH boot: gdb gets the kernel's symbols only.
if [ -n "$direct" ]; then export DEBUG_LOADER=none; else unset DEBUG_LOADER; fi
if [ "${gdb_words[0]}" = none ]; then
	say "attach a debugger: target remote localhost:$port, then source $root/tools/gdb/init.py"
	say "(with DEBUG_BUILD=$build in its environment when that is not $root/build); Ctrl-C ends QEMU"
	trap 'exit 130' INT
	wait "$qemu_group"
	status=$?
	trap - EXIT
	exit $status
fi

# gdb gets the terminal and Ctrl-C; this script only waits for it.
trap ':' INT
"${gdb_words[@]}" -q -ex "source $root/tools/gdb/init.py" \
	-ex "target remote localhost:$port" "${gdb_extra[@]}"
exit $?
