#!/usr/bin/env bash
# Benchmarks on the host (`make bench` builds tests/bench/bench_paging and
# tests/bench/bench_fbcon and runs this): the page-table mapper in
# common/paging.c, and the bytes the framebuffer console reads and writes
# per scrolled line (see "Framebuffer console" below).
#
# What is measured, and how:
#
#   Instructions, not time: each map mode of bench_paging runs under
#   `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=pt_map`.
#   Callgrind then counts only the instructions executed between an entry
#   into pt_map and its return, inclusive of everything pt_map calls -- the
#   walker, the entry validator and the environment's callbacks (the table
#   allocator, table lookup). The program's setup (the mmap'd table arena,
#   the random addresses) and its checks of the result afterwards are not
#   counted. This is exact, where taking the difference of two runs of
#   different sizes would also count the caller's loop and assume the cost
#   is linear. Dividing by the pages mapped gives instructions per 4 KiB
#   page.
#
#   Caveat: callgrind toggles collection on every entry and exit of the
#   named function, so a pt_map calling itself would switch collection off
#   for the nested call. pt_map recurses only when a slot for a large leaf
#   holds a table already; the 4 KiB modes map into empty tables, so it
#   never does here.
#
#   The table arena is pre-zeroed (anonymous mmap) and its allocator is a
#   bump pointer, so the counts do not include clearing 4 KiB per new
#   table: that is the allocator's cost and differs between loader and
#   kernel. table() is one addition, like a direct map.
#
#   Instruction counts are deterministic for a deterministic program, so
#   each mode runs twice and both counts are shown (--once runs it once).
#
# Checks (each one passed or failed in the last line):
#   - contiguous 4 KiB mapping: at most 30 instructions per page (the goal
#     from the issue);
#   - tables mode: for direct maps of 1, 64 and 1024 GiB with 1 GiB and
#     with 2 MiB leaves, the table pages used equal the arithmetic minimum.
# The scattered figure is reported without a goal.
#
# Framebuffer console: bench_fbcon runs under `valgrind --tool=dhat`, which
# counts the bytes read from and written to each heap block by allocation
# site. On a 1280x800 fake framebuffer with the Terminus 8x16 font, the
# screen is filled with a boot log (tests/bench/fbcon_text.txt), then the
# console moves to a second block, from its own site, where 100 more lines
# are written, each one scroll plus one line of text; that block's bytes
# divided by 100 are the figures per scrolled line. For the console as it
# was (tests/bench/fbcon_old.c: a full-screen copy) and as it is (the cell
# shadow). Checks: the old console's reads are seen (so the measurement
# can see reads at all), and the new one reads 0 bytes. Bytes written are
# reported without a goal: they depend on the text.
#
# Exit status: 0 when every check passed, 1 when one failed (or valgrind
# is missing), 2 on a usage error or a missing binary.
set -uo pipefail

GOAL_CONTIG=30 # instructions per 4 KiB page, contiguous range

FBCON_LINES=100 # scrolled lines measured

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/bench/bench_paging
fbcon_bin=$root/build/bench/bench_fbcon
fbcon_text=$root/tests/bench/fbcon_text.txt
runs=2

usage() {
	cat <<'EOF'
usage: tools/bench.sh [--bin PATH] [--fbcon-bin PATH] [--once] [--help]

Counts the instructions pt_map (common/paging.c) executes per 4 KiB page,
under callgrind, for a contiguous 1 GiB range (goal: at most 30) and for
262,144 scattered single pages; then checks the table pages used by
1/64/1024 GiB direct maps with 1 GiB and 2 MiB leaves against the minimum.
Then counts, under DHAT, the bytes the framebuffer console reads and
writes per scrolled line at 1280x800 with the Terminus 8x16 font, before
and after its cell shadow (goal: 0 bytes read).
Ends with "N passed, M failed". Needs valgrind (Debian package
"valgrind"; tools/deps.sh installs it) and python3.

  --bin PATH        the paging bench binary (default
                    build/bench/bench_paging; `make bench` builds both
                    binaries and runs this script)
  --fbcon-bin PATH  the console bench binary (default
                    build/bench/bench_fbcon)
  --once            run each valgrind measurement once instead of twice
  --help            this text
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--bin)
		[ $# -ge 2 ] || { echo "bench.sh: --bin needs a path" >&2; exit 2; }
		bin=$2
		shift 2
		;;
	--fbcon-bin)
		[ $# -ge 2 ] || { echo "bench.sh: --fbcon-bin needs a path" >&2; exit 2; }
		fbcon_bin=$2
		shift 2
		;;
	--once) runs=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done

for b in "$bin" "$fbcon_bin"; do
	if [ ! -x "$b" ]; then
		echo "bench.sh: $b not found or not executable (run 'make bench')" >&2
		exit 2
	fi
done

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# measure MODE: runs bin MODE under callgrind $runs times. Sets `pages`,
# `tables`, `counts` (one per run, space separated) and `per_page`; returns
# 1 (with a message) when a run failed or the counts disagree.
measure() {
	local mode=$1 i ir line prev=
	counts=
	for ((i = 1; i <= runs; i++)); do
		if ! valgrind --tool=callgrind --collect-atstart=no \
			--toggle-collect=pt_map \
			--callgrind-out-file="$tmp/cg.$mode.$i" \
			--log-file="$tmp/vg.$mode.$i" \
			"$bin" "$mode" >"$tmp/out.$mode.$i" 2>&1; then
			echo "bench.sh: $mode failed under valgrind:"
			sed 's/^/  /' "$tmp/out.$mode.$i" "$tmp/vg.$mode.$i"
			return 1
		fi
		line=$(grep -E "^$mode: pages=" "$tmp/out.$mode.$i")
		pages=$(sed -E 's/.* pages=([0-9]+).*/\1/' <<<"$line")
		tables=$(sed -E 's/.* tables=([0-9]+).*/\1/' <<<"$line")
		ir=$(awk '$1 == "totals:" { print $2 }' "$tmp/cg.$mode.$i")
		if [ -z "$pages" ] || [ -z "$ir" ] || [ "$ir" -eq 0 ]; then
			echo "bench.sh: $mode: no count (is pt_map in $bin, with symbols?)"
			sed 's/^/  /' "$tmp/out.$mode.$i"
			return 1
		fi
		counts+="${counts:+ }$ir"
		if [ -n "$prev" ] && [ "$ir" != "$prev" ]; then
			echo "bench.sh: $mode: counts differ between runs ($counts)"
			return 1
		fi
		prev=$ir
	done
	per_page=$(awk -v ir="$ir" -v p="$pages" 'BEGIN { printf "%.2f", ir / p }')
	return 0
}

start=$SECONDS
echo "bench: pt_map of common/paging.c, built -O2 without sanitizers"
echo "bench: method: callgrind --toggle-collect=pt_map counts the instructions"
echo "bench:   executed inside pt_map (walker, validator, table alloc/lookup"
echo "bench:   callbacks included; setup and checks excluded), divided by the"
echo "bench:   pages mapped. Table pages come pre-zeroed, so clearing them is"
echo "bench:   not counted. Instructions, not cycles."

if ! command -v valgrind >/dev/null 2>&1; then
	echo "bench.sh: valgrind not found: install the Debian package" \
		"'valgrind' (apt-get install valgrind, or make deps)"
	fail "contiguous 4 KiB mapping: not measured (no valgrind)"
else
	echo "bench: $(valgrind --version), $runs run(s) per mode"
	printf 'bench: %-10s %8s %7s %8s  %-25s %s\n' mode pages calls tables \
		"instructions (per run)" "per 4 KiB page"
	all_measured=1
	for mode in contig4k scatter4k; do
		if measure "$mode"; then
			calls=$(sed -E 's/.* calls=([0-9]+).*/\1/' \
				"$tmp/out.$mode.1")
			printf 'bench: %-10s %8s %7s %8s  %-25s %s\n' "$mode" \
				"$pages" "$calls" "$tables" "$counts" "$per_page"
		else
			per_page=
			all_measured=0
		fi
		case $mode in
		contig4k)
			if [ -z "$per_page" ]; then
				fail "contiguous 4 KiB mapping: not measured"
			elif awk -v x="$per_page" -v g=$GOAL_CONTIG \
				'BEGIN { exit !(x <= g) }'; then
				pass "contiguous 4 KiB mapping: $per_page" \
					"instructions/page (goal <= $GOAL_CONTIG)"
			else
				fail "contiguous 4 KiB mapping: $per_page" \
					"instructions/page (goal <= $GOAL_CONTIG)"
			fi
			;;
		scatter4k)
			# Reported, not checked; a run that failed is shown
			# above and fails no goal, but it should not pass
			# silently either.
			if [ -n "$per_page" ]; then
				echo "info: scattered 4 KiB pages: $per_page" \
					"instructions/page ($tables table pages" \
					"for $pages pages; no goal)"
			else
				fail "scattered 4 KiB pages: the run failed"
			fi
			;;
		esac
	done
	if [ "$runs" -gt 1 ] && [ "$all_measured" -eq 1 ]; then
		echo "info: each mode gave the same count in all $runs runs"
	fi
fi

echo "bench: table pages (env->tables_allocated, PML4 included)"
"$bin" tables >"$tmp/tables.out" 2>&1
rc=$?
cat "$tmp/tables.out"
p=$(grep -cE '^tables: .* PASS$' "$tmp/tables.out")
f=$(grep -cE '^tables: .* FAIL$' "$tmp/tables.out")
passed=$((passed + p))
failed=$((failed + f))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
	fail "tables mode exited with status $rc without a failed case"
elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
	fail "tables mode reported no case"
fi

# fbcon_measure CONSOLE: runs bench_fbcon CONSOLE under DHAT $runs times.
# Sets `read_per_line`, `written_per_line` and `fb_info` (the program's
# last line); returns 1 (with a message) when a run failed or runs differ.
fbcon_measure() {
	local con=$1 i counts prev=
	for ((i = 1; i <= runs; i++)); do
		if ! valgrind --tool=dhat --dhat-out-file="$tmp/dhat.$con.$i" \
			--log-file="$tmp/vg.$con.$i" "$fbcon_bin" "$con" \
			"$fbcon_text" $FBCON_LINES >"$tmp/fb.$con.$i" 2>&1; then
			echo "bench.sh: bench_fbcon $con failed under valgrind:"
			sed 's/^/  /' "$tmp/fb.$con.$i" "$tmp/vg.$con.$i"
			return 1
		fi
		# The measured block's bytes read and written, found by the
		# function that allocated it.
		if ! counts=$(python3 - "$tmp/dhat.$con.$i" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
hits = [pp for pp in d["pps"]
        if any("measured_framebuffer" in d["ftbl"][f] for f in pp["fs"])]
if len(hits) != 1:
    sys.exit("no single allocation site named measured_framebuffer")
print(hits[0]["rb"], hits[0]["wb"])
PY
		); then
			echo "bench.sh: bench_fbcon $con: no DHAT figures (is it built with symbols?)"
			return 1
		fi
		if [ -n "$prev" ] && [ "$counts" != "$prev" ]; then
			echo "bench.sh: bench_fbcon $con: counts differ between runs ($prev, $counts)"
			return 1
		fi
		prev=$counts
	done
	fb_info=$(grep -E '^fbcon: ' "$tmp/fb.$con.1")
	read_per_line=$(awk -v b="${counts% *}" -v n=$FBCON_LINES \
		'BEGIN { printf "%.0f", b / n }')
	written_per_line=$(awk -v b="${counts#* }" -v n=$FBCON_LINES \
		'BEGIN { printf "%.0f", b / n }')
	return 0
}

echo "bench: framebuffer console, bytes per scrolled line (one scroll plus"
echo "bench:   drawing one line of text) at 1280x800, Terminus 8x16, $FBCON_LINES lines"
echo "bench:   of ${fbcon_text#$root/} once the screen is full"
echo "bench: method: valgrind --tool=dhat counts the bytes read from and written"
echo "bench:   to the framebuffer's heap block; the screen is filled on another"
echo "bench:   block, so only the measured lines count"
if ! command -v valgrind >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	fail "framebuffer console: not measured (needs valgrind and python3)"
else
	printf 'bench: %-40s %10s %13s\n' console "read/line" "written/line"
	old_read= old_written=
	for con in old new; do
		if ! fbcon_measure "$con"; then
			fail "framebuffer console ($con): not measured"
			continue
		fi
		case $con in
		old) label="before: full-screen copy (fbcon_old.c)"
			old_read=$read_per_line old_written=$written_per_line ;;
		new) label="after: cell shadow (kernel/dev/fbcon.c)" ;;
		esac
		printf 'bench: %-40s %10s %13s\n' "$label" "$read_per_line" \
			"$written_per_line"
		case $con in
		old)
			if [ "$read_per_line" -gt 0 ]; then
				pass "framebuffer console: the measurement sees" \
					"the old console's reads ($read_per_line" \
					"bytes/line)"
			else
				fail "framebuffer console: the old console's" \
					"reads were not seen: the measurement is broken"
			fi
			;;
		new)
			if [ "$read_per_line" -eq 0 ]; then
				pass "framebuffer console: 0 bytes read per" \
					"scrolled line (goal 0)"
			else
				fail "framebuffer console: $read_per_line bytes" \
					"read per scrolled line (goal 0)"
			fi
			if [ -n "$old_written" ] && [ "$old_written" -gt 0 ]; then
				echo "info: framebuffer console: $written_per_line" \
					"bytes written per scrolled line, $(awk \
					-v a="$written_per_line" -v b="$old_written" \
					'BEGIN { printf "%.1f%%", 100 * a / b }') of" \
					"the old $old_written (no goal: it depends" \
					"on the text)"
			fi
			echo "info: ${fb_info#fbcon: }"
			;;
		esac
	done
fi

echo "bench: total run time $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
