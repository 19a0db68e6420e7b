#!/usr/bin/env bash
# Runs unit-test binaries and sums their results.
#
# usage: tests/unit/run.sh RESULT_FILE BINARY...
#
# Each binary prints FAIL lines and ends with "N passed, M failed" (see
# check.h). Its lines are shown prefixed with its name. A binary that
# crashes, is killed, or exits non-zero without reporting a failure counts
# as one more failed case, so a crash can never read as a pass. Everything
# shown also goes to RESULT_FILE, whose last line is the sum. Exits 1 when
# anything failed.
set -u
out=${1:?usage: run.sh RESULT_FILE BINARY...}
shift
total_p=0 total_f=0
: >"$out"
for bin in "$@"; do
	name=$(basename "$bin")
	log=$("$bin" 2>&1)
	rc=$?
	summary=$(printf '%s\n' "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	p=0 f=0
	if [ -n "$summary" ]; then
		p=${summary%% passed*}
		f=${summary#*passed, }
		f=${f%% failed*}
	fi
	if [ -z "$summary" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		log+=$'\n'"CRASH: exited with status $rc without reporting a failure (counted as one)"
		f=$((f + 1))
	fi
	printf '%s\n' "$log" | grep -vE '^[0-9]+ passed, [0-9]+ failed$' |
		sed "s/^/$name: /" | tee -a "$out"
	echo "$name: $p passed, $f failed" | tee -a "$out"
	total_p=$((total_p + p))
	total_f=$((total_f + f))
done
echo "$total_p passed, $total_f failed" | tee -a "$out"
[ "$total_f" -eq 0 ]
