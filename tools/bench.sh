#!/usr/bin/env bash
# Benchmarks on the host (`make bench` builds tests/bench/bench_paging and
# tests/bench/bench_fbcon and runs this; `make test` runs it with --quick):
# the page-table code in common/mm/paging.c, and the bytes the framebuffer
# console reads and writes per scrolled line (see "Framebuffer console"
# below).
#
# What is measured, and how:
#
#   Instructions, not time: each mode of bench_paging runs under
#   `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=FN`,
#   FN the function the mode measures (pt_map, pt_translate, pt_protect or
#   pt_unmap). Callgrind then counts only the instructions executed between
#   an entry into FN and its return, inclusive of everything FN calls --
#   the walker, the checks, and the environment's callbacks (the table
#   allocator, table(), flush, free). The program's setup (the mmap'd table
#   arena, the random addresses, mapping the set before the operation
#   measured) and its checks of the result afterwards are not counted.
#   This is exact, where taking the difference of two runs of different
#   sizes would also count the caller's loop and assume the cost is
#   linear. Dividing by the pages gives instructions per 4 KiB page.
#
#   Caveat: callgrind toggles collection on every entry and exit of FN, so
#   FN calling itself would switch collection off for the nested call.
#   None of the four does (pt_map's recursion is in map_range).
#
#   The table arena is pre-zeroed (anonymous mmap) and its allocator is a
#   bump pointer, so the counts do not include clearing 4 KiB per new
#   table: that is the allocator's cost and differs between loader and
#   kernel. Tables are at phys + table_offset, as the kernel and the
#   loader reach them; the "table() call" column is the same work with
#   tables reached through a table() callback of one addition (as the
#   bench and every caller did before table_offset existed).
#
#   The scattered set: 262,144 single pages at random distinct addresses
#   (fixed seed) in a 512 GiB window, one call per page, in the order they
#   were mapped (random), or in address order where the row says so.
#   About 64% of them need a new PT. --quick uses 32,768 pages in 64 GiB:
#   the same density, the same tables per page, figures within 0.5%.
#
#   Instruction counts are deterministic for a deterministic program: the
#   first mode runs a second time and both counts must agree.
#
# Checks (each one passed or failed in the last line): every figure that
# has a goal beside it in the table, and, in tables mode, the table pages
# of 1, 64 and 1024 GiB direct maps with 1 GiB and 2 MiB leaves against the
# arithmetic minimum. pt_translate's goal from issue 11 (40) is checked in
# address order, where it is met; in the order mapped (random) it is below
# what a walk with its checks can do (README, "Page tables: instructions
# per page", counts it instruction by instruction): there the issue's 40
# is shown as not met, and the figure is checked against 62 so that it
# cannot slip back unseen.
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
# is missing), 2 on a usage error or a missing binary. With
# --skip-without-valgrind, a missing valgrind is "0 passed, 0 failed, 1
# skipped" with its reason, and exit status 0 (the `make test` suite).
set -uo pipefail

FBCON_LINES=100 # scrolled lines measured

# The rows of the table: mode of bench_paging, function measured, goal in
# instructions per page ("-" for none), the goal the issue set when it
# differs, and the text. Every scattered row but one calls in the order
# the pages were mapped (random); the text says which.
ROWS=(
	"contig4k|pt_map|11||pt_map, 1 GiB in one call (contiguous)"
	"scatter4k|pt_map|100||pt_map, a call per page, random order"
	"translate-sorted|pt_translate|40||pt_translate, a call per page, address order"
	"translate|pt_translate|62|40|pt_translate, a call per page, random order"
	"protect|pt_protect|150||pt_protect, a call per page, random order"
	"unmap|pt_unmap|150||pt_unmap, random order, tables kept"
	"unmap-free|pt_unmap|150||pt_unmap, random order, empty tables freed"
)

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/bench/bench_paging
fbcon_bin=$root/build/bench/bench_fbcon
fbcon_text=$root/tests/bench/fbcon_text.txt
quick=0 skip_ok=0

usage() {
	cat <<'EOF2'
usage: tools/bench.sh [--bin PATH] [--fbcon-bin PATH] [--quick]
                      [--skip-without-valgrind] [--help]

Counts, under callgrind, the instructions per 4 KiB page of pt_map for a
contiguous 1 GiB range, and of pt_map, pt_translate, pt_protect and
pt_unmap for 262,144 scattered single pages, with tables at phys +
table_offset and through a table() call, and prints them in one table
with their goals; checks the table pages used by 1/64/1024 GiB direct
maps with 1 GiB and 2 MiB leaves against the minimum. Then counts, under
DHAT, the bytes the framebuffer console reads and writes per scrolled
line at 1280x800 with the Terminus 8x16 font, before and after its cell
shadow (goal: 0 bytes read).
Ends with "N passed, M failed". Needs valgrind (Debian package
"valgrind"; tools/deps.sh installs it) and python3.

  --bin PATH        the paging bench binary (default
                    build/bench/bench_paging; `make bench` builds both
                    binaries and runs this script)
  --fbcon-bin PATH  the console bench binary (default
                    build/bench/bench_fbcon)
  --quick           32,768 scattered pages, tables at phys + table_offset
                    only (what `make test` runs; about 15 s of CPU)
  --skip-without-valgrind
                    without valgrind, report the whole bench as skipped
                    with the reason instead of failed (for `make test`)
  --help            this text
EOF2
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
	--quick) quick=1; shift ;;
	--skip-without-valgrind) skip_ok=1; shift ;;
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

if ! command -v valgrind >/dev/null 2>&1; then
	why="valgrind not found: install the Debian package 'valgrind' (apt-get install valgrind, or make deps)"
	if [ "$skip_ok" -eq 1 ]; then
		echo "SKIP: bench: $why"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
	echo "bench.sh: $why"
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

pages_args=()
accesses=(add call)
if [ "$quick" -eq 1 ]; then
	pages_args=(--pages 32768)
	accesses=(add)
fi

# measure MODE FN ACCESS: runs bin MODE under callgrind collecting inside
# FN, with tables reached as ACCESS says (add: phys + table_offset; call:
# a table() callback). Sets `pages`, `tables`, `ir` and `per_page`;
# returns 1 (with a message) when the run failed or counted nothing.
measure() {
	local mode=$1 fn=$2 access=$3 line args=("${pages_args[@]}")
	local tag=$mode.$access.$((++runs_done))
	[ "$access" = call ] && args+=(--call)
	if ! valgrind --tool=callgrind --collect-atstart=no \
		--toggle-collect="$fn" \
		--callgrind-out-file="$tmp/cg.$tag" \
		--log-file="$tmp/vg.$tag" \
		"$bin" "$mode" "${args[@]}" >"$tmp/out.$tag" 2>&1; then
		echo "bench.sh: $mode ($access) failed under valgrind:"
		sed 's/^/  /' "$tmp/out.$tag" "$tmp/vg.$tag"
		return 1
	fi
	line=$(grep -E "^$mode: pages=" "$tmp/out.$tag")
	pages=$(sed -E 's/.* pages=([0-9]+).*/\1/' <<<"$line")
	tables=$(sed -E 's/.* tables=([0-9]+).*/\1/' <<<"$line")
	ir=$(awk '$1 == "totals:" { print $2 }' "$tmp/cg.$tag")
	if [ -z "$pages" ] || [ -z "$ir" ] || [ "$ir" -eq 0 ]; then
		echo "bench.sh: $mode ($access): no count (is $fn in $bin, with symbols?)"
		sed 's/^/  /' "$tmp/out.$tag"
		return 1
	fi
	per_page=$(awk -v ir="$ir" -v p="$pages" 'BEGIN { printf "%.2f", ir / p }')
	return 0
}

start=$SECONDS
runs_done=0
echo "bench: page tables (common/mm/paging.c), built -O2 without sanitizers"
echo "bench: instructions per 4 KiB page: callgrind --toggle-collect=FN counts"
echo "bench:   every instruction executed inside FN (walker, checks, and the"
echo "bench:   env's alloc/table/flush/free callbacks; setup and checks"
echo "bench:   excluded), divided by the pages. Table pages come pre-zeroed."
echo "bench: $(valgrind --version); scattered set: $(
	[ "$quick" -eq 1 ] && echo "32768 pages in 64 GiB (--quick)" ||
		echo "262144 pages in 512 GiB")"

declare -A figure
table_rows=()
for row in "${ROWS[@]}"; do
	IFS='|' read -r mode fn goal issue text <<<"$row"
	for access in "${accesses[@]}"; do
		if measure "$mode" "$fn" "$access"; then
			figure[$mode.$access]=$per_page
			[ "$mode" = scatter4k ] && [ "$access" = add ] &&
				figure[scatter.tables]=$tables
		else
			figure[$mode.$access]=
		fi
	done
done

# The same count again for the first measured mode: the figures are
# exact only if the program is deterministic.
first=${ROWS[0]%%|*}
if [ -n "${figure[$first.add]}" ] && measure "$first" pt_map add &&
	[ "$per_page" = "${figure[$first.add]}" ]; then
	deterministic=1
else
	deterministic=0
fi

# The table first, then a line per goal checked.
printf 'bench: %-52s %11s %11s  %-18s %s\n' "instructions per 4 KiB page" \
	"tables at" "table()" goal result
printf 'bench: %-52s %11s %11s\n' "" "phys+offset" call
checks=()
for row in "${ROWS[@]}"; do
	IFS='|' read -r mode fn goal issue text <<<"$row"
	add=${figure[$mode.add]}
	call=${figure[$mode.call]:-?}
	[ "$quick" -eq 1 ] && call="-"
	goal_text="<= $goal"
	[ "$goal" = - ] && goal_text="none"
	[ -n "$issue" ] && goal_text+=" (issue $issue)"
	if [ -z "$add" ]; then
		result=FAIL
		checks+=("fail|$text: not measured")
	elif [ "$goal" = - ]; then
		result=-
	elif awk -v x="$add" -v g="$goal" 'BEGIN { exit !(x <= g) }'; then
		result=PASS
		checks+=("pass|$text: $add instructions/page (goal <= $goal)")
	else
		result=FAIL
		checks+=("fail|$text: $add instructions/page (goal <= $goal)")
	fi
	if [ -n "$issue" ] && [ -n "$add" ] &&
		! awk -v x="$add" -v g="$issue" 'BEGIN { exit !(x <= g) }'; then
		result+=", issue's $issue not met"
	fi
	printf 'bench: %-52s %11s %11s  %-18s %s\n' "$text" "${add:-?}" \
		"$call" "$goal_text" "$result"
done
for c in "${checks[@]}"; do
	if [ "${c%%|*}" = pass ]; then pass "${c#*|}"; else fail "${c#*|}"; fi
done
echo "info: the scattered set used ${figure[scatter.tables]:-?} table pages"
if [ "$deterministic" -eq 1 ]; then
	pass "instruction counts are deterministic ($first measured twice)"
else
	fail "$first gave different counts in two runs"
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

runs=$((quick ? 1 : 2)) # DHAT runs per console: both counts must agree
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
if ! command -v python3 >/dev/null 2>&1; then
	fail "framebuffer console: not measured (needs python3)"
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
