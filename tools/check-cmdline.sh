#!/usr/bin/env bash
# Checks a kernel command line before it is written anywhere, so that the
# kernel gets exactly the bytes that were typed or a one-line reason why
# not. Used by the Makefile (CMDLINE=), tools/mkimage.sh (--cmdline) and
# tools/run-qemu.sh (--append).
#
# usage: tools/check-cmdline.sh --conf|--direct (--file FILE | STRING)
#
#   --conf    for \boot\loader.conf (common/boot/config.h): one line, no NUL, at
#             most BI_CMDLINE_MAX - 1 bytes, and no space or tab at either
#             end (the parser trims those, so they would not arrive)
#   --direct  for QEMU's -append (PVH): one line, no NUL, at most
#             BI_CMDLINE_MAX - 1 bytes
#   --file F  check the bytes of F (which may hold a NUL) instead
#
# Every other byte is allowed and arrives unchanged: quotes, $, `, \, ;,
# #, =, non-ASCII. Prints nothing and exits 0 when the line is fine, else
# prints the reason (one line, without a program name, for the caller to
# prefix) and exits 1. Exit 2 on a usage error.
set -u
export LC_ALL=C # lengths in bytes, not characters

root=$(cd "$(dirname "$0")/.." && pwd)
usage() {
	sed -n '7p' "$0" | sed 's/^# //' >&2
	exit 2
}

kind=${1-}
case $kind in
--conf | --direct) shift ;;
*) usage ;;
esac
if [ "${1-}" = --file ]; then
	[ $# -eq 2 ] || usage
	[ -f "$2" ] || { echo "command-line file '$2' not found"; exit 1; }
	# shellcheck disable=SC2094 # both only read the file
	if ! tr -d '\000' <"$2" | cmp -s - "$2"; then
		echo "the kernel command line holds a NUL byte, which loader.conf and the boot info cannot carry"
		exit 1
	fi
	# $(...) drops trailing line ends; the x keeps them, to be refused.
	value=$(cat "$2" && echo x)
	value=${value%x}
else
	[ $# -eq 1 ] || usage
	value=$1
fi

max=$(sed -n 's/^#define[[:space:]]*BI_CMDLINE_MAX[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$root/common/boot/bootinfo.h" 2>/dev/null)
if [ -z "$max" ]; then
	echo "cannot read BI_CMDLINE_MAX from $root/common/boot/bootinfo.h"
	exit 1
fi

case $value in
*$'\n'* | *$'\r'*)
	echo "the kernel command line holds a line break; it must be one line"
	exit 1 ;;
esac
if [ ${#value} -ge "$max" ]; then
	echo "the kernel command line is ${#value} bytes; at most $((max - 1)) fit (BI_CMDLINE_MAX in common/boot/bootinfo.h)"
	exit 1
fi
if [ "$kind" = --conf ]; then
	case $value in
	[$' \t']* | *[$' \t'])
		echo "the kernel command line starts or ends with a space or tab, which loader.conf's parser trims (common/boot/config.h); leave them out"
		exit 1 ;;
	esac
fi
exit 0
