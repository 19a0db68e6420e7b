#!/usr/bin/env bash
# Installs the packages the build, the runners and the tests need, with
# apt-get, and only those that are missing. Quick and silent when all is
# present: every check is `command -v` or a file test, so the Makefile can
# call it on every fresh build directory.
#
# Exit status: 0 when everything is (now) installed, 1 when something is
# missing and could not be installed (non-apt system, no root and no sudo,
# apt-get failed), 2 on a usage error.
set -euo pipefail
# sfdisk lives in /usr/sbin, which a normal user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

usage() {
	cat <<'EOF'
usage: tools/deps.sh [--check] [--help]

Installs what is missing for building and testing, with apt-get (through
sudo when not run as root): clang, lld, gnu-efi, ovmf, qemu-system-x86,
mtools, fdisk (sfdisk), binutils (objcopy), console-setup-linux (console fonts), python3, make,
the clang runtime libraries (ASan/UBSan/libFuzzer) and valgrind; for Secure
Boot (make image SIGN=1, make keys, make run-secure, the boot suite's
secure cases) sbsigntool, efitools and openssl, and OVMF's snakeoil
firmware pair (in Debian's ovmf); libssl-dev for the SHA-256 fuzz target;
swtpm (the TPM 2.0 simulator behind run-qemu.sh --tpm and TPM=1); gdb
(make debug).
Prints nothing when everything is already installed.

  --check   only report what is missing; exit 1 if anything is
  --help    this text

On systems without apt-get it names the packages and exits 1.
EOF
}

check_only=0
for arg in "$@"; do
	case $arg in
	--check) check_only=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "deps.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
	esac
done

have_cmds() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || return 1; done
}

have_any_file() {
	local f
	for f in "$@"; do [ -e "$f" ] && return 0; done
	return 1
}

# The firmware paths tools/run-qemu.sh looks at (Debian/Ubuntu, Fedora,
# Arch, QEMU's own bundle).
have_ovmf() {
	have_any_file /usr/share/OVMF/OVMF_CODE_4M.fd \
		/usr/share/OVMF/OVMF_CODE.fd \
		/usr/share/edk2/ovmf/OVMF_CODE.fd \
		/usr/share/edk2/x64/OVMF_CODE.4m.fd \
		/usr/share/edk2/x64/OVMF_CODE.fd \
		/usr/share/qemu/edk2-x86_64-code.fd
}

# The Makefile's default FONT comes from console-setup-linux.
have_font() {
	have_any_file /usr/share/consolefonts/Lat15-Terminus16.psf.gz
}

# The fuzzer and the sanitizers need clang's runtime libraries; they live in
# a package named after clang's major version (libclang-rt-14-dev on
# Debian 12, libclang-rt-18-dev on Ubuntu 24.04).
have_clang_rt() {
	local dir
	dir=$(clang -print-resource-dir 2>/dev/null) || return 1
	have_any_file "$dir/lib/linux/libclang_rt.fuzzer-x86_64.a" \
		"$dir/lib/x86_64-pc-linux-gnu/libclang_rt.fuzzer.a" \
		"$dir/lib/x86_64-unknown-linux-gnu/libclang_rt.fuzzer.a"
}

missing=()
have_cmds clang || missing+=(clang)
have_cmds ld.lld lld-link || missing+=(lld)
have_any_file /usr/include/efi/efi.h || missing+=(gnu-efi)
have_ovmf || missing+=(ovmf)
have_cmds qemu-system-x86_64 || missing+=(qemu-system-x86)
have_cmds mformat mmd mcopy || missing+=(mtools)
have_cmds sfdisk || missing+=(fdisk)
have_font || missing+=(console-setup-linux)
have_cmds python3 || missing+=(python3)
have_cmds make || missing+=(make)
have_cmds objcopy || missing+=(binutils)
have_cmds valgrind || missing+=(valgrind)
have_cmds swtpm || missing+=(swtpm)
have_cmds gdb || missing+=(gdb)
have_clang_rt || missing+=(clang-rt)
have_cmds sbsign sbverify || missing+=(sbsigntool)
have_cmds cert-to-efi-sig-list sign-efi-sig-list || missing+=(efitools)
have_cmds openssl || missing+=(openssl)
# fuzz_sha256 checks common/lib/sha256.c against OpenSSL's libcrypto.
have_any_file /usr/include/openssl/sha.h || missing+=(libssl-dev)

[ ${#missing[@]} -eq 0 ] && exit 0

# Fedora's names for the same things, for the message on other systems.
fedora_name() {
	case $1 in
	gnu-efi) echo gnu-efi-devel ;;
	ovmf) echo edk2-ovmf ;;
	fdisk) echo util-linux ;;
	console-setup-linux) echo kbd-misc ;;
	clang-rt) echo compiler-rt ;;
	sbsigntool) echo sbsigntools ;;
	libssl-dev) echo openssl-devel ;;
	*) echo "$1" ;;
	esac
}

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
	{
		echo "deps.sh: missing: ${missing[*]}"
		echo "deps.sh: this system has no apt-get, so install them yourself."
		echo "  Debian/Ubuntu names: ${missing[*]/clang-rt/libclang-rt-dev}"
		printf '  Fedora names:'
		for p in "${missing[@]}"; do printf ' %s' "$(fedora_name "$p")"; done
		echo
		echo "  (OVMF may also be given as OVMF_CODE=... OVMF_VARS=... to make run)"
	} >&2
	exit 1
fi

if [ $check_only -eq 1 ]; then
	echo "deps.sh: missing: ${missing[*]}" >&2
	exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "deps.sh: missing: ${missing[*]}; run this as root (no sudo here)" >&2
	exit 1
fi

apt_get() {
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

echo "deps.sh: installing: ${missing[*]}"
apt_get update -q </dev/null

# Resolve the clang runtime package now that clang itself may have arrived:
# the versioned name matching clang's major, else the unversioned one.
pkgs=()
for p in "${missing[@]}"; do
	[ "$p" = clang-rt ] || pkgs+=("$p")
done
if [[ " ${missing[*]} " == *" clang-rt "* ]]; then
	if [[ " ${missing[*]} " == *" clang "* ]]; then
		apt_get install -y -q clang </dev/null
	fi
	major=$(clang --version | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
	rt=libclang-rt-dev
	if [ -n "$major" ] && apt-cache show "libclang-rt-$major-dev" >/dev/null 2>&1; then
		rt=libclang-rt-$major-dev
	fi
	pkgs+=("$rt")
fi

apt_get install -y -q "${pkgs[@]}" </dev/null

# Check again: a package that installed but did not provide what is
# looked for (an unusual distribution layout) should be said plainly.
still=()
have_cmds clang ld.lld lld-link qemu-system-x86_64 mformat sfdisk python3 make valgrind \
	sbsign sbverify cert-to-efi-sig-list sign-efi-sig-list openssl swtpm gdb || still+=(commands)
have_ovmf || still+=(ovmf)
have_clang_rt || still+=(clang-rt)
have_any_file /usr/include/efi/efi.h || still+=(gnu-efi)
if [ ${#still[@]} -ne 0 ]; then
	echo "deps.sh: still missing after apt-get: ${still[*]}" >&2
	exit 1
fi
echo "deps.sh: done"
