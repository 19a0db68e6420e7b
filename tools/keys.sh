#!/usr/bin/env bash
# Secure Boot keys of your own, for a real PC (make keys DIR=...; README,
# "Secure Boot", walks through enrolling them).
#
# Makes, in DIR (created with mode 700 when missing):
#   PK, KEK, db   .key (RSA-2048 private key, no pass phrase, mode 600),
#                 .crt (X.509 certificate, PEM), .cer (the same, DER: what
#                 most firmware setup screens take), .esl (an EFI
#                 signature list, cert-to-efi-sig-list)
#   PK.auth       PK's list signed by PK         (sign-efi-sig-list)
#   KEK.auth      KEK's list signed by PK
#   db.auth       db's list signed by KEK (replaces db)
#   db-append.auth  the same as an append (keeps the db entries there)
#   noPK.auth     an empty PK signed by PK: enrolling it removes PK and
#                 puts the firmware back in setup mode
#   GUID.txt      the owner GUID written into the lists
# The loader is signed with db: make image SIGN=1 SB_KEY=DIR/db.key
# SB_CERT=DIR/db.crt.
#
# Refuses, before writing anything: a DIR inside this repository (build/
# included: keys never go where git or `make clean` reach them), and a
# DIR that already holds any of these files (an existing key is never
# replaced). Files appear in DIR only when all were made.
set -euo pipefail

die() {
	echo "keys: error: $*" >&2
	exit 1
}

usage() {
	sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
	echo
	echo "usage: tools/keys.sh --dir DIR [--name NAME]   (NAME goes in the certificates' CN)"
}

dir='' name="$(id -un)@$(uname -n)"
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=${2-}; shift 2 || die "--dir needs a value" ;;
	--name) name=${2-}; shift 2 || die "--name needs a value" ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done
[ -n "$dir" ] || die "--dir DIR is required (make keys DIR=~/sb-keys)"
[[ $name =~ ^[A-Za-z0-9@._\ -]{1,48}$ ]] ||
	die "--name '$name': letters, digits, space and @ . _ - only, at most 48"

for c in openssl cert-to-efi-sig-list sign-efi-sig-list; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (run tools/deps.sh: openssl, efitools)"
done

root=$(cd "$(dirname "$0")/.." && pwd -P)
real=$(realpath -m -- "$dir")
case $real/ in
"$root"/*) die "DIR=$dir is inside this repository ($root): keys must live outside it (and outside build/), e.g. DIR=~/sb-keys" ;;
esac

files=()
for n in PK KEK db; do files+=("$n.key" "$n.crt" "$n.cer" "$n.esl"); done
files+=(PK.auth KEK.auth db.auth db-append.auth noPK.auth GUID.txt)
for f in "${files[@]}"; do
	[ ! -e "$real/$f" ] || die "$real/$f exists: refusing to replace a key (pick another DIR, or move the old keys away yourself)"
done

if [ ! -d "$real" ]; then
	{ mkdir -p -- "$real" && chmod 700 -- "$real"; } || die "cannot create $real"
fi
tmp=$(mktemp -d "$real/.keys.XXXXXX") || die "cannot write in $real"
trap 'rm -rf "$tmp"' EXIT
umask 077

guid=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)
[[ $guid =~ ^[0-9a-f-]{36}$ ]] || die "could not make a GUID (no /proc/sys/kernel/random/uuid, no uuidgen)"
echo "$guid" >"$tmp/GUID.txt"

run() {
	"$@" </dev/null >"$tmp/log" 2>&1 || die "$1 failed: $(grep -v '^$' "$tmp/log" | tail -n 1)"
}

for n in PK KEK db; do
	echo "keys: $n: RSA-2048 key and certificate (CN=$name Secure Boot $n, 10 years)"
	run openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
		-subj "/CN=$name Secure Boot $n/" -keyout "$tmp/$n.key" -out "$tmp/$n.crt"
	run openssl x509 -in "$tmp/$n.crt" -outform DER -out "$tmp/$n.cer"
	run cert-to-efi-sig-list -g "$guid" "$tmp/$n.crt" "$tmp/$n.esl"
done
echo "keys: signed updates: PK.auth, KEK.auth (by PK), db.auth and db-append.auth (by KEK), noPK.auth"
run sign-efi-sig-list -g "$guid" -k "$tmp/PK.key" -c "$tmp/PK.crt" PK "$tmp/PK.esl" "$tmp/PK.auth"
run sign-efi-sig-list -g "$guid" -k "$tmp/PK.key" -c "$tmp/PK.crt" KEK "$tmp/KEK.esl" "$tmp/KEK.auth"
run sign-efi-sig-list -g "$guid" -k "$tmp/KEK.key" -c "$tmp/KEK.crt" db "$tmp/db.esl" "$tmp/db.auth"
run sign-efi-sig-list -a -g "$guid" -k "$tmp/KEK.key" -c "$tmp/KEK.crt" db "$tmp/db.esl" "$tmp/db-append.auth"
: >"$tmp/empty.esl"
run sign-efi-sig-list -g "$guid" -k "$tmp/PK.key" -c "$tmp/PK.crt" PK "$tmp/empty.esl" "$tmp/noPK.auth"

# All made: move them in (the existence check above still holds, nothing
# else writes here).
chmod 644 "$tmp"/*.crt "$tmp"/*.cer "$tmp"/*.esl "$tmp"/*.auth "$tmp/GUID.txt"
for f in "${files[@]}"; do
	mv -n -- "$tmp/$f" "$real/$f"
	[ ! -e "$tmp/$f" ] || die "$real/$f appeared meanwhile: not replaced"
done
echo "keys: done: $real (private keys *.key, mode 600: keep them off the stick)"
echo "keys: sign with: make image SIGN=1 SB_KEY=$real/db.key SB_CERT=$real/db.crt"
