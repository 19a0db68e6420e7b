#!/usr/bin/env bash
# Sums the suites' results. Each suite writes build/test-results/NAME.txt
# whose last result line is "N passed, M failed" or "N passed, M failed,
# K skipped". Prints one line per suite and the total as the last line,
# "N passed, M failed, K skipped"; exits 1 when anything failed or a suite
# left no result (a suite that did not run is a failure, not a pass).
# Skipped cases (a host limit, with its reason in the suite's output) are
# counted apart and never as passed.
set -u
dir=${1:?usage: test-summary.sh RESULTS_DIR}
expected=${EXPECTED_SUITES:-}
total_p=0 total_f=0 total_s=0
shopt -s nullglob
files=("$dir"/*.txt)
if [ ${#files[@]} -eq 0 ]; then
	echo "test-summary: no suite wrote a result in $dir"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
echo "---- summary ----"
for f in "${files[@]}"; do
	name=$(basename "$f" .txt)
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$f" | tail -n 1)
	if [ -z "$line" ]; then
		printf '%-12s no result line (suite crashed?)\n' "$name"
		total_f=$((total_f + 1))
		continue
	fi
	p=${line%% passed*}
	rest=${line#*passed, }
	fl=${rest%% failed*}
	sk=0
	if [[ $line =~ ^[0-9]+\ passed,\ [0-9]+\ failed,\ ([0-9]+)\ skipped ]]; then
		sk=${BASH_REMATCH[1]}
	fi
	printf '%-12s %s\n' "$name" "$line"
	total_p=$((total_p + p))
	total_f=$((total_f + fl))
	total_s=$((total_s + sk))
done
for s in $expected; do
	if [ ! -f "$dir/$s.txt" ]; then
		printf '%-12s did not run\n' "$s"
		total_f=$((total_f + 1))
	fi
done
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
