#!/usr/bin/env bash
# Runs libFuzzer targets built by tests/fuzz/fuzz.mk, one after another.
#
# usage: tests/fuzz/run.sh (--seconds N | --runs N) --dir BUILD_FUZZ_DIR
#                          [--results FILE] TARGET...
#
#   --seconds N  fuzz each target for N seconds, growing the corpus in
#                DIR/corpus/TARGET (kept between runs)
#   --runs N     a short, deterministic smoke run (-seed=1) of N inputs
#                after the seeds, in a scratch corpus: the test suite
#   --results F  also write the lines to F, ending in "N passed, M failed"
#                (one case per target)
#
# Every run starts with the seeds in tests/fuzz/corpus/TARGET, which also
# hold the inputs of crashes found and fixed, so each is re-checked.
# Prints per target: executions, exec/s, crashes. A crashing input is
# saved in DIR/crashes/TARGET/ and its sanitizer report shown. Exits 1
# when any target crashed or failed to run.
set -u

seconds='' runs='' dir='' results=''
while [ $# -gt 0 ]; do
	case $1 in
	--seconds | --runs | --dir | --results)
		[ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; } ;;&
	--seconds) seconds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ -z "$dir" ] || { [ -z "$seconds" ] && [ -z "$runs" ]; } || [ $# -eq 0 ]; then
	sed -n '4,6p' "$0" >&2
	exit 2
fi
# libFuzzer takes a bad number as 0, which means "forever".
for n in "$seconds" "$runs"; do
	if [ -n "$n" ] && ! [[ $n =~ ^[1-9][0-9]{0,8}$ ]]; then
		echo "run.sh: --seconds and --runs take a whole number of at least 1, not '$n' (FUZZ_SECONDS=)" >&2
		exit 2
	fi
done
seeds_root=$(dirname "$0")/corpus
[ -n "$results" ] && : >"$results"

say() {
	echo "$*"
	[ -z "$results" ] || echo "$*" >>"$results"
}

passed=0 failed=0
for t in "$@"; do
	bin=$dir/fuzz_$t
	crashes=$dir/crashes/$t
	log=$dir/fuzz_$t.log
	mkdir -p "$crashes"
	if [ -n "$runs" ]; then
		corpus=$dir/smoke-corpus/$t
		rm -rf "$corpus"
		limit=(-runs="$runs" -seed=1)
	else
		corpus=$dir/corpus/$t
		limit=(-max_total_time="$seconds")
	fi
	mkdir -p "$corpus"
	before=$(ls "$crashes" | wc -l)
	start=$(date +%s%N)
	"$bin" "${limit[@]}" -max_len=8192 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$corpus" "$seeds_root/$t" \
		>"$log" 2>&1
	rc=$?
	new=$(($(ls "$crashes" | wc -l) - before))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	# libFuzzer reports 0 exec/s for runs under a second: use the wall
	# time instead (including start-up, so a slight underestimate).
	if [ "${rate:-0}" = 0 ] && [ -n "$execs" ]; then
		ms=$(( ($(date +%s%N) - start) / 1000000 + 1 ))
		rate=$((execs * 1000 / ms))
	fi
	if [ "$rc" -ne 0 ] && [ "$new" -eq 0 ]; then
		new=1 # died without saving an input (e.g. not built right)
	fi
	say "fuzz_$t: ${execs:-?} executions, ${rate:-?} exec/s, $new crashes"
	if [ "$rc" -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|property failed|runtime error|Test unit written|^#[0-9]+ *(pulse|DONE)' \
			"$log" | tail -n 15 | sed 's/^/    /'
		echo "    full log: $log"
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
