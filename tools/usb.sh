#!/usr/bin/env bash
# Writes the disk image to a USB stick, after refusing everything that
# could be the wrong disk: a path that is not a whole block device, a disk
# with anything mounted or used as swap, a disk that is not removable or on
# USB, the disk the running system lives on, a disk smaller than the image.
# Then it shows what the disk is and asks for its name to be typed.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin

usage() {
	cat <<'EOF'
usage: tools/usb.sh --image IMG --device /dev/sdX [--yes]

Writes IMG (from 'make image') to the whole disk /dev/sdX with dd, after
checking that the disk is removable (or on USB), not mounted, not used as
swap and not the disk the running system is on. Everything on the disk is
lost. Asks you to type the device name unless --yes is given.

  --image IMG      the disk image
  --device DEV     the whole disk, e.g. /dev/sdb (not a partition)
  --yes            do not ask for confirmation
  --help           this text
EOF
}

refuse() {
	echo "usb: refusing: $*" >&2
	exit 1
}

image='' device='' yes=0
while [ $# -gt 0 ]; do
	case $1 in
	--image) image=${2-}; shift 2 || refuse "--image needs a value" ;;
	--device) device=${2-}; shift 2 || refuse "--device needs a value" ;;
	--yes) yes=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) refuse "unknown argument '$1' (try --help)" ;;
	esac
done

[ -n "$device" ] || refuse "no device given; use 'make usb DEV=/dev/sdX' (find it with 'lsblk -o NAME,SIZE,RM,TRAN,MODEL')"
[ -n "$image" ] || refuse "no image given (--image IMG)"
[ -f "$image" ] || refuse "image '$image' not found (build it with 'make image')"
[ -e "$device" ] || refuse "$device does not exist (see 'lsblk -o NAME,SIZE,RM,TRAN,MODEL')"
# /dev/disk/by-id/... names are symlinks; judge the device they point at.
dev=$(readlink -f "$device")
[ -b "$dev" ] || refuse "$device is not a block device"

name=$(basename "$dev")
sys=/sys/class/block/$name
[ -e "$sys" ] || refuse "$dev has no entry in /sys/class/block"
if [ -e "$sys/partition" ]; then
	parent=$(basename "$(dirname "$(readlink -f "$sys")")")
	refuse "$dev is a partition; give the whole disk, /dev/$parent"
fi
command -v lsblk >/dev/null 2>&1 || refuse "lsblk not found (util-linux); cannot check the device"

# Every disk (TYPE disk) that a block device sits on, through partitions,
# LVM, dm-crypt or RAID: lsblk -s walks from the device down to its disks.
disks_under() {
	lsblk -nrso NAME,TYPE "$1" 2>/dev/null | awk '$2 == "disk" { print $1 }'
}

# The disks of the running system: those under /, /boot, /boot/efi, /usr.
for mnt in / /boot /boot/efi /usr; do
	src=$(findmnt -nvo SOURCE --target "$mnt" 2>/dev/null || true)
	case $src in /dev/*) ;; *) continue ;; esac
	for d in $(disks_under "$src"); do
		[ "$d" != "$name" ] || refuse "$dev holds the running system ($mnt is on $src)"
	done
done

# Anything mounted or swapped on from this disk, from /proc/mounts and
# /proc/swaps, plus lsblk's own view (it also sees mounts by other names).
while read -r src mnt _; do
	case $src in /dev/*) ;; *) continue ;; esac
	[ -b "$src" ] || continue
	for d in $(disks_under "$src"); do
		[ "$d" != "$name" ] || refuse "$src is mounted on $mnt; unmount it first (umount $src)"
	done
done </proc/mounts
while read -r src _; do
	case $src in /dev/*) ;; *) continue ;; esac
	for d in $(disks_under "$src"); do
		[ "$d" != "$name" ] || refuse "$src is in use as swap (swapoff $src first)"
	done
done < <(tail -n +2 /proc/swaps)
mounted=$(lsblk -nro MOUNTPOINT "$dev" 2>/dev/null | grep -v '^$' | tr '\n' ' ' || true)
[ -z "$mounted" ] || refuse "$dev has mounted filesystems (${mounted% }); unmount them first"

# Removable media or USB only: internal disks are never the target.
removable=$(cat "/sys/block/$name/removable" 2>/dev/null || echo 0)
hotplug=$(lsblk -dnro HOTPLUG "$dev" 2>/dev/null || echo 0)
tran=$(lsblk -dnro TRAN "$dev" 2>/dev/null || true)
if [ "$removable" != 1 ] && [ "$hotplug" != 1 ] && [ "$tran" != usb ]; then
	refuse "$dev is not a removable or USB disk (removable=$removable, hotplug=$hotplug, transport=${tran:-none}); this script only writes to USB sticks and other removable media"
fi

disk_bytes=$(lsblk -dnbro SIZE "$dev")
image_bytes=$(stat -c %s "$image")
[ "$disk_bytes" -ge "$image_bytes" ] ||
	refuse "$dev holds $disk_bytes bytes, the image needs $image_bytes"

model=$(lsblk -dno VENDOR,MODEL "$dev" 2>/dev/null | tr -s ' ' | sed 's/^ //; s/ $//' || true)
size=$(lsblk -dnro SIZE "$dev")
echo "usb: $dev: ${model:-unknown model}, $size, transport ${tran:-unknown}"
lsblk -o NAME,SIZE,FSTYPE,LABEL "$dev" | sed 's/^/usb:   /'
echo "usb: writing $image ($image_bytes bytes) DESTROYS everything on $dev"

if [ $yes -eq 0 ]; then
	[ -t 0 ] || refuse "no terminal to confirm on; run it in a terminal or pass --yes"
	read -r -p "usb: type '$name' to go on: " answer
	[ "$answer" = "$name" ] || [ "$answer" = "$dev" ] || refuse "confirmation did not match; nothing written"
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || refuse "writing $dev needs root and there is no sudo"
	sudo=(sudo)
fi
"${sudo[@]}" dd if="$image" of="$dev" bs=4M conv=fsync status=progress
"${sudo[@]}" sync
echo "usb: done; $dev can be removed. Boot it with the firmware's boot menu (often F12, F11, F8 or Esc)."
