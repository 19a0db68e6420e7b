#!/usr/bin/env bash
# Boots the disk image under OVMF in QEMU, or a PVH kernel directly under
# `-M microvm`, with the serial port on this terminal, and turns QEMU's exit
# status into words.
#
# The kernel ends a run by writing a code to I/O port 0xf4, where
# isa-debug-exit makes QEMU exit with (code << 1) | 1. So QEMU's status 1
# means the kernel reported success, 3 means code 1, and so on; status 0
# means QEMU stopped for another reason (with -no-reboot, a guest reset,
# e.g. a triple fault, ends QEMU instead of rebooting).
set -uo pipefail

usage() {
	cat <<'EOF'
usage: tools/run-qemu.sh --image IMG [options] [-- QEMU-ARGS...]
       tools/run-qemu.sh --direct KERNEL [--append CMDLINE] [options] [-- QEMU-ARGS...]

  --image IMG       boot IMG (a GPT disk, see tools/mkimage.sh) under OVMF
  --direct KERNEL   boot the kernel ELF through its PVH note instead
                    (-M microvm -kernel KERNEL; no firmware, no loader)
  --append CMDLINE  kernel command line for --direct
  --mem MIB         guest memory in MiB (default 256)
  --cpu MODEL       QEMU CPU model (default qemu64, or host with --kvm)
  --kvm             use KVM (-accel kvm) instead of TCG emulation
  --media MEDIA     how the image is attached (with --image): sata (the
                    default: the machine's own disk controller), usb (a
                    USB stick on an xHCI controller) or nvme (an NVMe disk)
  --machine TYPE    q35 (the default) or pc (i440fx) for --image
  --no-serial       no serial port at all (-serial none), as on PCs
                    without COM1; only the screen shows the kernel's lines
  --timeout SECS    stop QEMU after SECS seconds and fail ("timed out")
  --log FILE        also write the serial output to FILE
  --headless        no window even when a display is available
  --help            this text
  -- ARGS...        passed to qemu-system-x86_64 as they are

Firmware: OVMF_CODE=FILE and OVMF_VARS=FILE override the search of the
usual Debian/Ubuntu/Fedora/Arch paths. The VARS file is copied for each run.

Exit status: 0 the kernel reported success; 1-123 the kernel reported
failure with that code (larger codes as 123); 124 timed out; 125 QEMU could
not run (missing firmware, KVM problem, bad option); 126 QEMU stopped with
no result from the kernel (reset, power-off, window closed); 130 Ctrl-C.
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
media=sata machine=q35 serial=1
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
[[ $mem =~ ^[0-9]+$ ]] || die "--mem takes a number of MiB, not '$mem'"
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
[ -z "$timeout_s" ] || [[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout takes whole seconds, not '$timeout_s'"
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	die "qemu-system-x86_64 not found (run tools/deps.sh)"

# KVM: say plainly when it cannot work here, before QEMU says it cryptically.
if [ $kvm -eq 1 ]; then
	if [ ! -e /dev/kvm ]; then
		die "/dev/kvm does not exist: this machine has no KVM (no virtualization support, or the kvm module is not loaded). Use 'make run' (emulation, no KVM) instead."
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		group=$(stat -c %G /dev/kvm)
		hint="ask an administrator for access (most distributions use group 'kvm')"
		[ "$group" = root ] || hint="add yourself to group '$group' and log in again"
		die "/dev/kvm exists but user $(id -un) may not use it: $hint. Or use 'make run' (emulation, no KVM)."
	fi
	accel=(-accel kvm)
	cpu=${cpu:-host}
else
	accel=(-accel tcg)
	cpu=${cpu:-qemu64}
fi

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/run-qemu.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmpdir"' EXIT
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
	if [ -n "${OVMF_CODE:-}" ]; then
		[ -f "$OVMF_CODE" ] || die "OVMF_CODE=$OVMF_CODE: no such file"
		ovmf_code=$OVMF_CODE
		# Without OVMF_VARS, guess the VARS file beside the CODE file.
		ovmf_vars=${OVMF_VARS:-${OVMF_CODE/CODE/VARS}}
		[ -f "$ovmf_vars" ] || die "OVMF_VARS=$ovmf_vars: no such file (set OVMF_VARS to the VARS file matching $OVMF_CODE)"
		return
	fi
	for p in "${pairs[@]}"; do
		if [ -f "${p%%:*}" ] && [ -f "${p#*:}" ]; then
			ovmf_code=${p%%:*}
			ovmf_vars=${p#*:}
			return
		fi
	done
	die "no OVMF firmware found (install the 'ovmf' package with tools/deps.sh, or set OVMF_CODE=... OVMF_VARS=...)"
}

qemu=(qemu-system-x86_64 "${accel[@]}" -m "$mem" -cpu "$cpu")
if [ -n "$image" ]; then
	[ -f "$image" ] || die "image '$image' not found (build it with 'make image')"
	find_ovmf
	cp "$ovmf_vars" "$tmpdir/vars.fd" || die "cannot copy $ovmf_vars"
	chmod u+w "$tmpdir/vars.fd"
	qemu+=(-machine "$machine"
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code"
		-drive "if=pflash,format=raw,unit=1,file=$tmpdir/vars.fd")
	# The disk: on the machine's own controller (AHCI on q35, IDE on
	# pc), as a USB stick behind xHCI, or as an NVMe namespace.
	case $media in
	sata) qemu+=(-drive "format=raw,file=$image") ;;
	usb) qemu+=(-drive "if=none,id=boot,format=raw,file=$image"
		-device qemu-xhci -device usb-storage,drive=boot) ;;
	nvme) qemu+=(-drive "if=none,id=boot,format=raw,file=$image"
		-device nvme,serial=boot0001,drive=boot) ;;
	esac
	what="$image under OVMF ($machine, $media)"
else
	[ -f "$direct" ] || die "kernel '$direct' not found (build it with 'make kernel')"
	# shellcheck disable=SC2054 # the commas belong to QEMU's options
	qemu+=(-M microvm,isa-serial=on -kernel "$direct" -append "$append")
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
[ $window -eq 1 ] || qemu+=(-display none)

if [ $serial -eq 0 ]; then
	qemu+=(-serial none)
elif [ -n "$log" ]; then
	mkdir -p "$(dirname "$log")"
	qemu+=(-chardev "stdio,id=serial0,signal=on,logfile=$log,logappend=off"
		-serial chardev:serial0)
else
	qemu+=(-serial stdio)
fi
# shellcheck disable=SC2054
qemu+=(-no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 -net none
	-pidfile "$tmpdir/qemu.pid" "${extra[@]}")

# QEMU's stderr goes through this filter. It recognises KVM's internal
# error (after which QEMU pauses the guest and waits forever) and stops
# QEMU, and it notes QEMU's own error messages, because QEMU exits with
# status 1 on a start-up error, the same status as a kernel's success.
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
watch_stderr() {
	local line stopped=0
	while IFS= read -r line; do
		printf '%s\n' "$line" >&2
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
	done
}

mode=TCG
[ $kvm -eq 1 ] && mode=KVM
say "booting $what ($mode, $mem MiB, -cpu $cpu)${timeout_s:+, timeout ${timeout_s}s}"
[ $window -eq 1 ] || say "serial output follows; Ctrl-C stops QEMU"

mkfifo "$tmpdir/stderr" || die "mkfifo failed"
watch_stderr <"$tmpdir/stderr" &
watcher=$!
if [ -n "$timeout_s" ]; then
	# --foreground keeps QEMU on the terminal (it reads the serial input).
	timeout --foreground -k 5 "$timeout_s" "${qemu[@]}" 2>"$tmpdir/stderr"
else
	"${qemu[@]}" 2>"$tmpdir/stderr"
fi
status=$?
wait $watcher # the filter's notes are complete once QEMU's stderr closed

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
if [ -n "$timeout_s" ] && [ $status -eq 124 ]; then
	say "timed out after ${timeout_s}s with no result from the kernel (QEMU stopped)"
	exit 124
fi
if [ $status -eq 1 ] && grep -qx qemu-error "$marker" 2>/dev/null; then
	say "QEMU failed to start (see its message above)"
	exit 125
fi
if [ $status -eq 0 ]; then
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
say "QEMU failed (exit status $status)"
exit 125
