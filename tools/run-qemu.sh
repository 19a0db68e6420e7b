#!/usr/bin/env bash
# shellcheck disable=SC2054 # commas inside QEMU options, not separators
# Boots the disk image under OVMF in QEMU, or a PVH kernel directly under
# `-M microvm`, with the serial port on this terminal, and turns QEMU's exit
# status into words.
#
# The kernel ends a run by writing a code to I/O port 0xf4, where
# isa-debug-exit makes QEMU exit with (code << 1) | 1. So QEMU's status 1
# means the kernel reported success, 3 means code 1, and so on; status 0
# means QEMU stopped for another reason (with -no-reboot, a guest reset,
# e.g. a triple fault, ends QEMU instead of rebooting).
#
# QEMU also exits with status 1 when it cannot start (a bad option, a
# display it cannot open, a CPU model this host's KVM refuses). So the
# serial output always goes to a log file too, and a QEMU that ends
# without a single guest byte on the serial port did not start: that is
# never a kernel result. Two such failures have a known cure and are
# retried once, each with one line saying so: QEMU 7.2 aborting on MSR
# 0x10a (IA32_ARCH_CAPABILITIES) with -cpu host or max under some KVMs
# (retried with -arch-capabilities), and a window that cannot open (retried
# without one). Any other start failure is one line and status 127.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# The least guest memory that boots to `kernel: ready`, measured with TCG
# (README, "Facts measured here"). OVMF needs 48 MiB on q35 and pc with
# any --media (47 MiB hangs in the firmware); the PVH kernel reaches
# `kernel: ready` in 2 MiB and passes its self-tests from 4 MiB. The
# Makefile reads these two lines for MEM=.
mem_min_ovmf=48
mem_min_pvh=4
# OVMF's Secure Boot build (SMM) finds no boot device with 64 MiB (every
# option "Not Found") and resets with 48; 65 boots (--secure).
mem_min_ovmf_secure=65

usage() {
	cat <<EOF
usage: tools/run-qemu.sh --image IMG [options] [-- QEMU-ARGS...]
       tools/run-qemu.sh --direct KERNEL [--append CMDLINE] [options] [-- QEMU-ARGS...]

  --image IMG       boot IMG (a GPT disk, see tools/mkimage.sh) under OVMF
  --direct KERNEL   boot the kernel ELF through its PVH note instead
                    (-M microvm -kernel KERNEL; no firmware, no loader)
  --append CMDLINE  kernel command line for --direct, passed byte for byte
                    (one line, at most BI_CMDLINE_MAX - 1 bytes; see
                    tools/check-cmdline.sh)
  --mem MIB         guest memory in MiB (default 256; at least $mem_min_ovmf with
                    --image, $mem_min_ovmf_secure with --secure, $mem_min_pvh with
                    --direct)
  --cpu MODEL       QEMU CPU model (default qemu64, or host with --kvm)
  --kvm             use KVM (-accel kvm) instead of TCG emulation
  --media MEDIA     how the image is attached (with --image): sata (the
                    default: the machine's own disk controller), usb (a
                    USB stick on an xHCI controller) or nvme (an NVMe disk)
  --machine TYPE    q35 (the default) or pc (i440fx) for --image
  --secure          Secure Boot on (with --image, q35 only): OVMF's snakeoil
                    firmware pair, whose PK, KEK and db hold Debian's test
                    key (the one make image SIGN=1 signs with by default),
                    with SMM and the flash's secure property as it needs;
                    OVMF_CODE=/OVMF_VARS= give another Secure Boot pair
  --no-serial       no serial port at all (-serial none), as on PCs
                    without COM1; only the screen shows the kernel's lines
  --tpm             a TPM 2.0 (tpm-tis at 0xfed40000) emulated by swtpm,
                    started for each QEMU run with a fresh state in the
                    runner's temporary directory and stopped when QEMU ends
                    or the runner is interrupted (package swtpm)
  --timeout SECS    stop QEMU after SECS seconds and fail ("timed out")
  --log FILE        also write the serial output to FILE (raw bytes)
  --headless        no window even when a display is available
  --help            this text
  -- ARGS...        passed to qemu-system-x86_64 as they are

Firmware: OVMF_CODE=FILE and OVMF_VARS=FILE (both, or neither) override
the search of the usual Debian/Ubuntu/Fedora/Arch paths (for --secure,
Debian's snakeoil pair). The VARS file is copied for each run.

On a terminal, the firmware's clear-screen and cursor-home sequences are
left out of what is shown, so the build log above stays; --log keeps them.

QEMU that ends before the guest wrote a byte to the serial port did not
start. With -cpu host or max under KVM, QEMU 7.2 on some hosts aborts
("failed to set MSR 0x10a"); the run is retried once with
-arch-capabilities added to the CPU model. A window that cannot open
("gtk initialization failed") is retried once without one. Either retry
prints one line.

Exit status: 0 the kernel reported success; 1-123 the kernel reported
failure with that code (larger codes as 123); 124 timed out; 125 QEMU could
not run (missing firmware, KVM problem, bad option); 126 QEMU stopped with
no result from the kernel (reset, power-off, window closed); 127 QEMU
failed to start on this host before the guest ran (one line names the
accelerator, the CPU model and QEMU's message: a host limit, not a guest
result); 130 Ctrl-C.

For tests: RUN_QEMU_KVM_DEV=FILE replaces /dev/kvm in the checks made
before QEMU runs (so a fake qemu-system-x86_64 first in PATH can be run
with --kvm on a machine without KVM); RUN_QEMU_SWTPM=CMD replaces the
swtpm command (so a test can stand in for it, or make it missing).
EOF
}

say() {
	echo "run-qemu: $*" >&2
}

die() {
	say "error: $*"
	exit 125
}

image='' direct='' append='' mem=256 cpu='' kvm=0 timeout_s='' log='' headless=0
media=sata machine=q35 serial=1 secure=0 tpm=0
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--image) image=${2-}; shift 2 || die "--image needs a value" ;;
	--direct) direct=${2-}; shift 2 || die "--direct needs a value" ;;
	--append) append=${2-}; shift 2 || die "--append needs a value" ;;
	--mem) mem=${2-}; shift 2 || die "--mem needs a value" ;;
	--cpu) cpu=${2-}; shift 2 || die "--cpu needs a value" ;;
	--kvm) kvm=1; shift ;;
	--media) media=${2-}; shift 2 || die "--media needs a value" ;;
	--machine) machine=${2-}; shift 2 || die "--machine needs a value" ;;
	--no-serial) serial=0; shift ;;
	--secure) secure=1; shift ;;
	--tpm) tpm=1; shift ;;
	--timeout) timeout_s=${2-}; shift 2 || die "--timeout needs a value" ;;
	--log) log=${2-}; shift 2 || die "--log needs a value" ;;
	--headless) headless=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; extra=("$@"); break ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done

[ -n "$image" ] || [ -n "$direct" ] || die "give --image IMG or --direct KERNEL (try --help)"
[ -z "$image" ] || [ -z "$direct" ] || die "--image and --direct exclude each other"
[[ $mem =~ ^[0-9]{1,9}$ ]] || die "--mem takes a number of MiB, not '$mem'"
if [ -n "$image" ] && [ $secure -eq 1 ] && [ "$mem" -lt $mem_min_ovmf_secure ]; then
	die "--mem $mem: OVMF with Secure Boot needs at least $mem_min_ovmf_secure MiB to boot (with 64 it finds no boot device)"
fi
if [ -n "$image" ] && [ "$mem" -lt $mem_min_ovmf ]; then
	die "--mem $mem: OVMF needs at least $mem_min_ovmf MiB to boot (below that it hangs before the loader)"
fi
if [ -n "$direct" ] && [ "$mem" -lt $mem_min_pvh ]; then
	die "--mem $mem: the kernel needs at least $mem_min_pvh MiB"
fi
if [ -n "$direct" ]; then
	why=$("$root/tools/check-cmdline.sh" --direct "$append") || die "--append: $why"
fi
case $media in
sata | usb | nvme) ;;
*) die "--media takes sata, usb or nvme, not '$media'" ;;
esac
case $machine in
q35 | pc) ;;
*) die "--machine takes q35 or pc (i440fx), not '$machine'" ;;
esac
[ -n "$image" ] || { [ "$media" = sata ] && [ "$machine" = q35 ]; } ||
	die "--media and --machine apply to --image boots only"
[ $serial -eq 1 ] || [ -z "$log" ] || die "--log needs the serial port (drop --no-serial)"
[ $secure -eq 0 ] || [ -n "$image" ] || die "--secure needs --image (Secure Boot is the firmware's)"
[ $secure -eq 0 ] || [ "$machine" = q35 ] ||
	die "--secure needs --machine q35 (OVMF's Secure Boot build needs SMM, which QEMU's q35 has)"
[ -z "$timeout_s" ] || [[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout takes whole seconds, not '$timeout_s'"
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	die "qemu-system-x86_64 not found (run tools/deps.sh)"
swtpm=${RUN_QEMU_SWTPM:-swtpm}
if [ $tpm -eq 1 ] && ! command -v "$swtpm" >/dev/null 2>&1; then
	die "--tpm needs swtpm, which is not installed: install the 'swtpm' package (tools/deps.sh does)"
fi

# KVM: say plainly when it cannot work here, before QEMU says it cryptically.
kvm_dev=${RUN_QEMU_KVM_DEV:-/dev/kvm}
if [ $kvm -eq 1 ]; then
	if [ ! -e "$kvm_dev" ]; then
		die "$kvm_dev does not exist: this machine has no KVM (no virtualization support, or the kvm module is not loaded). Use 'make run' (emulation, no KVM) instead."
	fi
	if [ ! -r "$kvm_dev" ] || [ ! -w "$kvm_dev" ]; then
		group=$(stat -c %G "$kvm_dev")
		hint="ask an administrator for access (most distributions use group 'kvm')"
		[ "$group" = root ] || hint="add yourself to group '$group' and log in again"
		die "$kvm_dev exists but user $(id -un) may not use it: $hint. Or use 'make run' (emulation, no KVM)."
	fi
	accel=(-accel kvm)
	cpu=${cpu:-host}
else
	accel=(-accel tcg)
	cpu=${cpu:-qemu64}
fi

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/run-qemu.XXXXXX") || die "mktemp failed"
swtpm_pid=''
trap 'stop_swtpm; rm -rf "$tmpdir"' EXIT
trap 'exit 143' TERM
interrupted=0
trap 'interrupted=1' INT

# OVMF: an explicit pair, else the first pair found on the usual paths.
find_ovmf() {
	local pairs=(
		/usr/share/OVMF/OVMF_CODE_4M.fd:/usr/share/OVMF/OVMF_VARS_4M.fd
		/usr/share/OVMF/OVMF_CODE.fd:/usr/share/OVMF/OVMF_VARS.fd
		/usr/share/edk2/ovmf/OVMF_CODE.fd:/usr/share/edk2/ovmf/OVMF_VARS.fd
		/usr/share/edk2/x64/OVMF_CODE.4m.fd:/usr/share/edk2/x64/OVMF_VARS.4m.fd
		/usr/share/edk2/x64/OVMF_CODE.fd:/usr/share/edk2/x64/OVMF_VARS.fd
		/usr/share/edk2-ovmf/x64/OVMF_CODE.fd:/usr/share/edk2-ovmf/x64/OVMF_VARS.fd
		/usr/share/qemu/edk2-x86_64-code.fd:/usr/share/qemu/edk2-i386-vars.fd
	)
	local p
	# Secure Boot: a firmware built with it, and variables with keys
	# enrolled. Debian's snakeoil pair enrolls the test key whose private
	# half ships beside it, so the build can sign for it.
	if [ $secure -eq 1 ]; then
		pairs=(/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd:/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd)
	fi
	# A CODE file with the wrong VARS file boots into odd firmware
	# states, so one of the two alone is refused rather than guessed.
	if [ -n "${OVMF_CODE:-}" ] && [ -z "${OVMF_VARS:-}" ]; then
		die "OVMF_CODE=$OVMF_CODE is set without OVMF_VARS: give both (the VARS file that matches this CODE file), or neither"
	fi
	if [ -z "${OVMF_CODE:-}" ] && [ -n "${OVMF_VARS:-}" ]; then
		die "OVMF_VARS=$OVMF_VARS is set without OVMF_CODE: give both (the CODE file that matches this VARS file), or neither"
	fi
	if [ -n "${OVMF_CODE:-}" ]; then
		[ -f "$OVMF_CODE" ] || die "OVMF_CODE=$OVMF_CODE: no such file"
		[ -f "$OVMF_VARS" ] || die "OVMF_VARS=$OVMF_VARS: no such file"
		ovmf_code=$OVMF_CODE
		ovmf_vars=$OVMF_VARS
		return
	fi
	for p in "${pairs[@]}"; do
		if [ -f "${p%%:*}" ] && [ -f "${p#*:}" ]; then
			ovmf_code=${p%%:*}
			ovmf_vars=${p#*:}
			return
		fi
	done
	[ $secure -eq 0 ] ||
		die "no Secure Boot OVMF with enrolled keys found (Debian's ovmf has OVMF_CODE_4M.snakeoil.fd and OVMF_VARS_4M.snakeoil.fd; elsewhere set OVMF_CODE=... OVMF_VARS=... to a Secure Boot pair whose db trusts your signing key)"
	die "no OVMF firmware found (install the 'ovmf' package with tools/deps.sh, or set OVMF_CODE=... OVMF_VARS=...)"
}

# Everything but the CPU model and the display, which a retry changes.
machine_args=()
if [ -n "$image" ]; then
	[ -f "$image" ] || die "image '$image' not found (build it with 'make image')"
	find_ovmf
	if [ $secure -eq 1 ]; then
		# The Secure Boot build keeps its variables' checks in SMM and
		# refuses a flash the OS could write outside it.
		machine_args+=(-machine "$machine,smm=on"
			-global driver=cfi.pflash01,property=secure,value=on)
	else
		machine_args+=(-machine "$machine")
	fi
	machine_args+=(
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code"
		-drive "if=pflash,format=raw,unit=1,file=$tmpdir/vars.fd")
	# The disk: on the machine's own controller (AHCI on q35, IDE on
	# pc), as a USB stick behind xHCI, or as an NVMe namespace.
	case $media in
	sata) machine_args+=(-drive "format=raw,file=$image") ;;
	usb) machine_args+=(-drive "if=none,id=boot,format=raw,file=$image"
		-device qemu-xhci -device usb-storage,drive=boot) ;;
	nvme) machine_args+=(-drive "if=none,id=boot,format=raw,file=$image"
		-device nvme,serial=boot0001,drive=boot) ;;
	esac
	what="$image under OVMF ($machine, $media)"
	[ $secure -eq 0 ] || what="$image under OVMF with Secure Boot ($machine, $media, $(basename "$ovmf_vars"))"
else
	[ -f "$direct" ] || die "kernel '$direct' not found (build it with 'make kernel')"
	machine_args+=(-M microvm,isa-serial=on -kernel "$direct" -append "$append")
	what="$direct directly (PVH)"
fi

# A window when there is a display and this QEMU has a GUI; the serial
# port is on this terminal either way.
window=0
if [ $headless -eq 0 ] && [ -z "${CI:-}" ] && [ -n "$image" ] &&
	{ [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
	if qemu-system-x86_64 -display help 2>/dev/null | grep -qE '^(gtk|sdl)$'; then
		window=1
	else
		say "note: this QEMU has no GTK/SDL display; showing the serial port only"
	fi
fi

# The serial port: always into a log (--log FILE, else one in tmpdir), so
# that "did the guest write anything" has an answer.
serial_log=${log:-$tmpdir/serial.log}
if [ $serial -eq 0 ]; then
	serial_args=(-serial none)
else
	mkdir -p "$(dirname "$serial_log")"
	serial_args=(-chardev "stdio,id=serial0,signal=on,logfile=$serial_log,logappend=off"
		-serial chardev:serial0)
fi
# On a terminal, the firmware's clear-screen sequences are left out of
# what is shown (tools/serial-filter.py); a pipe gets the bytes as they are.
filter=0
[ $serial -eq 1 ] && [ -t 1 ] && command -v python3 >/dev/null 2>&1 && filter=1

# QEMU's stderr goes through this filter. It recognises KVM's internal
# error (after which QEMU pauses the guest and waits forever) and stops
# QEMU, and it notes QEMU's own error messages. Until the guest has
# written to the serial port, QEMU's lines are held back (in
# $tmpdir/held): if QEMU then fails to start, one line of this script
# says what happened instead; once the guest runs, they are shown.
marker=$tmpdir/marker
stop_qemu() {
	local _
	# QEMU writes its pid file during start-up; the error can come first.
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		if [ -s "$tmpdir/qemu.pid" ]; then
			kill "$(cat "$tmpdir/qemu.pid")" 2>/dev/null
			return
		fi
		sleep 0.1
	done
}
guest_started() {
	[ $serial -eq 1 ] && [ -s "$serial_log" ]
}
release_held() {
	if [ -s "$tmpdir/held" ]; then
		cat "$tmpdir/held" >&2
		: >"$tmpdir/held"
	: >"$tmpdir/stderr"
	fi
}
note_line() {
	local line=$1
	printf '%s\n' "$line" >>"$tmpdir/stderr"
	if guest_started; then
		release_held
		printf '%s\n' "$line" >&2
	else
		printf '%s\n' "$line" >>"$tmpdir/held"
	fi
	case $line in
	*"KVM internal error"* | *"emulation failure"* | *"KVM: entry failed"*)
		echo kvm-internal >>"$marker"
		[ $stopped -eq 1 ] || stop_qemu
		stopped=1
		;;
	*"Could not access KVM kernel module"* | *"failed to initialize kvm"* | *"failed to initialize KVM"*)
		echo kvm-init >>"$marker" ;;
	*"terminating on signal"* | "qemu-system-x86_64: warning:"*) ;;
	"qemu-system-x86_64: "*) echo qemu-error >>"$marker" ;;
	esac
}
watch_stderr() {
	local line='' part='' rc
	stopped=0
	while :; do
		IFS= read -r -t 0.2 line
		rc=$?
		if [ $rc -eq 0 ]; then
			note_line "$part$line"
			part=''
		elif [ $rc -gt 128 ]; then
			# No whole line yet: keep what came, and show held lines
			# as soon as the guest has started.
			part+=$line
			guest_started && release_held
		else
			[ -z "$part$line" ] || note_line "$part$line"
			break
		fi
	done
}

# The one line that says why QEMU did not start: its first error line
# (without the program name), else its last line, else its status.
qemu_message() {
	local msg
	msg=$(grep -v -e '^qemu-system-x86_64: warning:' -e 'terminating on signal' \
		"$tmpdir/stderr" 2>/dev/null | grep -m1 '^qemu-system-x86_64: ')
	[ -n "$msg" ] || msg=$(grep -v '^[[:space:]]*$' "$tmpdir/stderr" 2>/dev/null | tail -n 1)
	[ -n "$msg" ] || msg="exit status $status and no message"
	printf '%s' "${msg#qemu-system-x86_64: }"
}

# The TPM: swtpm, a TPM 2.0 simulator, serves QEMU's tpm-tis device
# through a socket in $tmpdir. Each QEMU run gets a fresh one (a TPM that
# was just powered on: PCRs zero, no state), in the runner's process group
# so a signal to the group reaches it too. --terminate makes it end when
# QEMU disconnects; stop_swtpm makes sure, also when the runner is
# stopped, and waits a bounded time before SIGKILL.
tpm_args=()
start_swtpm() {
	local sock=$tmpdir/swtpm.sock state=$tmpdir/tpm _
	stop_swtpm
	rm -rf "$state" "$sock"
	mkdir -p "$state"
	"$swtpm" socket --tpm2 --terminate \
		--ctrl "type=unixio,path=$sock" --tpmstate "dir=$state" \
		--log "file=$tmpdir/swtpm.log" </dev/null >>"$tmpdir/swtpm.log" 2>&1 &
	swtpm_pid=$!
	for _ in $(seq 50); do
		[ -S "$sock" ] && break
		kill -0 "$swtpm_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "$sock" ]; then
		stop_swtpm
		die "swtpm did not start (no socket after 5 s): $(tail -n 1 "$tmpdir/swtpm.log" 2>/dev/null)"
	fi
	tpm_args=(-chardev "socket,id=chrtpm,path=$sock"
		-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0)
}
stop_swtpm() {
	local _
	[ -n "$swtpm_pid" ] || return 0
	kill "$swtpm_pid" 2>/dev/null
	for _ in $(seq 20); do
		kill -0 "$swtpm_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$swtpm_pid" 2>/dev/null
	wait "$swtpm_pid" 2>/dev/null
	swtpm_pid=''
}

# Runs QEMU once with the current $cpu and $window; sets $status.
run_once() {
	local qemu display=()
	[ $window -eq 1 ] || display=(-display none)
	[ $tpm -eq 0 ] || start_swtpm # sets tpm_args
	qemu=(qemu-system-x86_64 "${accel[@]}" -m "$mem" -cpu "$cpu"
		"${machine_args[@]}" "${display[@]}" "${serial_args[@]}"
		-no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 -net none
		-pidfile "$tmpdir/qemu.pid" "${tpm_args[@]}" "${extra[@]}")
	[ -z "$timeout_s" ] || qemu=(timeout --foreground -k 5 "$timeout_s" "${qemu[@]}")
	rm -f "$marker" "$tmpdir/stderr" "$tmpdir/held" "$tmpdir/qemu.pid" "$tmpdir/stderr.fifo"
	: >"$tmpdir/held"
	: >"$tmpdir/stderr"
	if [ $serial -eq 1 ]; then : >"$serial_log"; fi
	if [ -n "$image" ]; then
		cp "$ovmf_vars" "$tmpdir/vars.fd" || die "cannot copy $ovmf_vars"
		chmod u+w "$tmpdir/vars.fd"
	fi
	mkfifo "$tmpdir/stderr.fifo" || die "mkfifo failed"
	watch_stderr <"$tmpdir/stderr.fifo" &
	local watcher=$!
	if [ $filter -eq 1 ]; then
		# --foreground keeps QEMU on the terminal (it reads the serial
		# input). The filter ignores SIGINT so it shows QEMU's last
		# bytes after a Ctrl-C.
		# The braces' 2>/dev/null takes bash's own "Aborted" report of
		# a QEMU that aborts; QEMU's stderr goes to the watcher.
		{
			"${qemu[@]}" 2>"$tmpdir/stderr.fifo" |
				(trap '' INT && exec python3 "$root/tools/serial-filter.py")
			status=${PIPESTATUS[0]}
		} 2>/dev/null
	else
		{
			"${qemu[@]}" 2>"$tmpdir/stderr.fifo"
			status=$?
		} 2>/dev/null
	fi
	wait $watcher # the filter's notes are complete once QEMU's stderr closed
	stop_swtpm
}

# Did QEMU fail before the guest ran? With a serial port: no guest byte
# and an exit that was not a guest reset (0), the timeout (124) or Ctrl-C.
# Without one, only QEMU's own error line can tell.
start_failed() {
	[ $interrupted -eq 0 ] || return 1
	if [ -n "$timeout_s" ] && [ "$status" -eq 124 ]; then return 1; fi
	if [ $serial -eq 1 ]; then
		[ "$status" -ne 0 ] && ! [ -s "$serial_log" ]
	else
		[ "$status" -ne 0 ] && grep -qx qemu-error "$marker" 2>/dev/null
	fi
}

mode=TCG
[ $kvm -eq 1 ] && mode=KVM
tpm_note=''
[ $tpm -eq 0 ] || tpm_note=', TPM 2.0 (swtpm)'
say "booting $what ($mode, $mem MiB, -cpu $cpu$tpm_note)${timeout_s:+, timeout ${timeout_s}s}"
[ $window -eq 1 ] || say "serial output follows; Ctrl-C stops QEMU"

msr_retried=0 window_retried=0
while :; do
	run_once
	start_failed || break
	# The known QEMU 7.2 abort on some KVMs; the host's ARCH_CAPABILITIES
	# MSR is what fails, and the guest does not need it.
	if [ $msr_retried -eq 0 ] && grep -q 'failed to set MSR 0x10a' "$tmpdir/stderr" &&
		[[ ,$cpu, != *,-arch-capabilities,* ]]; then
		msr_retried=1
		cpu="$cpu,-arch-capabilities"
		say "note: QEMU could not set MSR 0x10a (IA32_ARCH_CAPABILITIES) for this $mode CPU (a known QEMU 7.2 failure on some KVM hosts); running again with -cpu $cpu"
		continue
	fi
	if [ $window -eq 1 ] && [ $window_retried -eq 0 ]; then
		window_retried=1
		window=0
		say "note: QEMU could not start with a window ($(qemu_message)); running again without one (serial output only)"
		continue
	fi
	if grep -qx kvm-init "$marker" 2>/dev/null; then
		say "error: QEMU could not use KVM here ($mode, -cpu $cpu): $(qemu_message). Use 'make run' (emulation, no KVM) instead."
		exit 127
	fi
	say "error: QEMU failed to start ($mode, -cpu $cpu): $(qemu_message)"
	exit 127
done
# The guest ran (or QEMU was stopped): what QEMU said is shown now.
release_held

# The reason QEMU stopped, most specific first.
if grep -qx kvm-internal "$marker" 2>/dev/null; then
	say "this machine's KVM cannot run the UEFI firmware (QEMU reported a KVM internal error; some nested or software KVMs cannot emulate what OVMF needs)."
	say "Use 'make run' (emulation, no KVM) for the UEFI path, or 'make run-direct-kvm' to boot the kernel directly under KVM."
	exit 125
fi
if grep -qx kvm-init "$marker" 2>/dev/null; then
	say "QEMU could not use KVM here. Use 'make run' (emulation, no KVM) instead."
	exit 125
fi
if [ $interrupted -eq 1 ]; then
	say "stopped by Ctrl-C"
	exit 130
fi
if [ -n "$timeout_s" ] && [ "$status" -eq 124 ]; then
	say "timed out after ${timeout_s}s with no result from the kernel (QEMU stopped)"
	exit 124
fi
if [ "$status" -eq 1 ] && grep -qx qemu-error "$marker" 2>/dev/null; then
	say "QEMU failed after the guest started: $(qemu_message)"
	exit 125
fi
if [ "$status" -eq 0 ]; then
	say "QEMU stopped with no result from the kernel: the guest reset or powered off (with -no-reboot a reset, such as a triple fault, ends QEMU), or the window was closed"
	exit 126
fi
if [ $((status % 2)) -eq 1 ]; then
	code=$(((status - 1) / 2))
	if [ $code -eq 0 ]; then
		say "kernel reported success (exit code 0)"
		exit 0
	fi
	say "kernel reported failure (exit code $code)"
	[ $code -le 123 ] || code=123
	exit $code
fi
say "QEMU failed (exit status $status): $(qemu_message)"
exit 125
