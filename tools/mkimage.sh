#!/usr/bin/env bash
# Builds a GPT disk image with one EFI System Partition, without root and
# without loop devices: sfdisk writes the partition table into a plain
# (sparse) file and mtools formats and fills the partition at its byte
# offset. The result boots under OVMF and, written to a USB stick, on real
# UEFI machines (the firmware's removable-media path \EFI\BOOT\BOOTX64.EFI).
#
# Layout: 1 MiB for the protective MBR and the primary GPT, the ESP (FAT32)
# up to 1 MiB before the end, the backup GPT in that last MiB.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin
export MTOOLS_SKIP_CHECK=1

usage() {
	cat <<'EOF'
usage: tools/mkimage.sh --out IMG --loader EFI --kernel ELF [options]

  --out IMG       the disk image to write (replaced if it exists)
  --loader EFI    the loader, installed as \EFI\BOOT\BOOTX64.EFI
  --kernel ELF    the kernel, installed as \boot\kernel.elf
  --no-kernel     install no kernel file (to test the loader's error path)
  --cmdline STR   the kernel command line written to \boot\loader.conf,
                  byte for byte (one line, no space or tab at either end,
                  at most BI_CMDLINE_MAX - 1 bytes: tools/check-cmdline.sh)
  --cmdline-file F  the same, read from file F (its exact bytes; the
                  Makefile passes CMDLINE= this way)
  --config FILE   install FILE as \boot\loader.conf instead of generating it
  --write-config FILE  only write the loader.conf this command line gives
                  to FILE (no image; --out and --loader not needed): a
                  signed build hashes that file and installs it with
                  --config (tools/sign.mk)
  --size MIB      image size in MiB (default 64, at least 40)
  --esp DIR       extra files to copy onto the ESP (default: esp/ of this
                  repository; README.md and dot files are skipped)
  --help          this text
EOF
}

die() {
	echo "mkimage: error: $*" >&2
	exit 1
}

step() {
	echo "mkimage: $*"
}

root=$(cd "$(dirname "$0")/.." && pwd)
out='' loader='' kernel='' no_kernel=0 cmdline='' cmdline_file='' config='' size_mib=64
write_config=''
esp_dir=$root/esp

while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2-}; shift 2 || die "--out needs a value" ;;
	--loader) loader=${2-}; shift 2 || die "--loader needs a value" ;;
	--kernel) kernel=${2-}; shift 2 || die "--kernel needs a value" ;;
	--no-kernel) no_kernel=1; shift ;;
	--cmdline) cmdline=${2-}; shift 2 || die "--cmdline needs a value" ;;
	--cmdline-file) cmdline_file=${2-}; shift 2 || die "--cmdline-file needs a value" ;;
	--config) config=${2-}; shift 2 || die "--config needs a value" ;;
	--write-config) write_config=${2-}; shift 2 || die "--write-config needs a value" ;;
	--size) size_mib=${2-}; shift 2 || die "--size needs a value" ;;
	--esp) esp_dir=${2-}; shift 2 || die "--esp needs a value" ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done

if [ -z "$write_config" ]; then
	[ -n "$out" ] || die "--out IMG is required"
	[ -n "$loader" ] || die "--loader EFI is required"
	[ -f "$loader" ] || die "loader '$loader' not found (build it with 'make loader')"
fi
if [ $no_kernel -eq 0 ] && [ -z "$write_config" ]; then
	[ -n "$kernel" ] || die "--kernel ELF is required (or --no-kernel)"
	[ -f "$kernel" ] || die "kernel '$kernel' not found (build it with 'make kernel')"
fi
[ -z "$config" ] || [ -f "$config" ] || die "config file '$config' not found"
if ! [[ $size_mib =~ ^[0-9]+$ ]] || [ "$size_mib" -lt 40 ]; then
	die "--size must be a whole number of MiB, at least 40 (FAT32 needs 65525 clusters)"
fi
if [ -n "$cmdline_file" ]; then
	[ -z "$cmdline" ] || die "--cmdline and --cmdline-file exclude each other"
	why=$("$root/tools/check-cmdline.sh" --conf --file "$cmdline_file") ||
		die "--cmdline-file $cmdline_file: $why"
	cmdline=$(cat "$cmdline_file" && echo x)
	cmdline=${cmdline%x}
else
	why=$("$root/tools/check-cmdline.sh" --conf "$cmdline") || die "--cmdline: $why"
fi
# The generated loader.conf; its bytes are what a signed loader hashes.
generate_config() {
	echo "# Boot loader configuration, written by tools/mkimage.sh."
	echo "# One key=value per line: kernel = path of the kernel ELF on"
	echo "# this partition, cmdline = the kernel's command line."
	printf '%s\n' 'kernel=\boot\kernel.elf' "cmdline=$cmdline"
}
if [ -n "$write_config" ]; then
	[ -z "$config" ] || die "--write-config and --config exclude each other"
	{ generate_config >"$write_config.tmp" && mv -f "$write_config.tmp" "$write_config"; } ||
		die "cannot write $write_config"
	exit 0
fi

for tool in sfdisk mformat mmd mcopy; do
	command -v $tool >/dev/null 2>&1 || die "$tool not found (run tools/deps.sh)"
done

# Sizes in 512-byte sectors. The partition starts at 1 MiB (the usual
# alignment) and leaves the last MiB for the backup GPT.
sector=512
mib_sectors=$((1048576 / sector))
part_start=$mib_sectors
part_sectors=$(((size_mib - 2) * mib_sectors))
part_offset=$((part_start * sector))

mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
fat="$tmp@@$part_offset"

step "creating ${size_mib} MiB image $out"
truncate -s "${size_mib}M" "$tmp"
chmod 644 "$tmp"

step "writing GPT: EFI System Partition at 1 MiB, $((size_mib - 2)) MiB"
# C12A7328-... is the EFI System Partition type GUID (UEFI spec 5.3.3).
printf 'label: gpt\nstart=%d, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System Partition"\n' \
	"$part_start" "$part_sectors" | sfdisk --quiet --no-reread --no-tell-kernel "$tmp" ||
	die "sfdisk failed on $tmp"

step "formatting the ESP as FAT32"
# -H: hidden sectors = the partition's start, as a partitioned disk has.
mformat -i "$fat" -F -T "$part_sectors" -h 64 -s 32 -H "$part_start" -v ESP :: ||
	die "mformat failed"
mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/boot || die "mmd failed"

step "installing $loader as \\EFI\\BOOT\\BOOTX64.EFI"
mcopy -i "$fat" "$loader" ::/EFI/BOOT/BOOTX64.EFI || die "mcopy of the loader failed"

if [ $no_kernel -eq 0 ]; then
	step "installing $kernel as \\boot\\kernel.elf"
	mcopy -i "$fat" "$kernel" ::/boot/kernel.elf || die "mcopy of the kernel failed"
else
	step "no kernel file (--no-kernel)"
fi

conf=$(mktemp)
trap 'rm -f "$tmp" "$conf"' EXIT
if [ -n "$config" ]; then
	step "installing $config as \\boot\\loader.conf"
	cp "$config" "$conf"
else
	step "writing \\boot\\loader.conf (cmdline='$cmdline')"
	generate_config >"$conf"
fi
mcopy -i "$fat" "$conf" ::/boot/loader.conf || die "mcopy of loader.conf failed"

# mkdir -p on the FAT: mmd creates one level and fails on existing ones.
mmd_p() {
	local path=$1 sub=
	[ "$path" = . ] && return 0
	local IFS=/
	for part in $path; do
		sub=$sub/$part
		mmd -i "$fat" "::$sub" 2>/dev/null || true
	done
}

# Anything else committed under esp/ goes on as is. The files this script
# installs itself are skipped there, so a stale copy cannot shadow them.
if [ -d "$esp_dir" ]; then
	extra=0
	while IFS= read -r -d '' f; do
		rel=${f#"$esp_dir"/}
		case $rel in
		README.md | EFI/BOOT/BOOTX64.EFI | boot/kernel.elf | boot/loader.conf) continue ;;
		esac
		mmd_p "$(dirname "$rel")"
		mcopy -o -i "$fat" "$f" "::/$rel" || die "mcopy of $f failed"
		extra=$((extra + 1))
	done < <(find "$esp_dir" -type f ! -name '.*' -print0 | sort -z)
	[ $extra -eq 0 ] || step "copied $extra more file(s) from $esp_dir"
fi

mv -f "$tmp" "$out"
trap - EXIT
rm -f "$conf"
step "done: $out"
