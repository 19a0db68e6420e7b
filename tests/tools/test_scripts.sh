# shellcheck shell=bash disable=SC2034 # $status is read by the helpers in lib.sh
# The small scripts: tools/test-summary.sh, tools/serial-filter.py,
# tools/check-cmdline.sh, tools/mkimage.sh's command line, tools/usb.sh.

# Skipped counts are summed apart; a suite without a result line and a
# suite that did not run both count as failed.
t_ts_sums_passed_failed_skipped() {
	mkdir -p "$S/r"
	printf 'PASS a\n3 passed, 0 failed\n' >"$S/r/a.txt"
	printf '5 passed, 1 failed, 7 skipped\n' >"$S/r/b.txt"
	printf '2 passed, 0 failed, 4 skipped\n' >"$S/r/c.txt"
	EXPECTED_SUITES="a b c" tools/test-summary.sh "$S/r" >"$S/out"
	status=$?
	expect_status 1
	[ "$(tail -n 1 "$S/out")" = "10 passed, 1 failed, 11 skipped" ] ||
		fail "closing line '$(tail -n 1 "$S/out")'"
	printf 'crashed\n' >"$S/r/d.txt"
	EXPECTED_SUITES="a c d e" tools/test-summary.sh "$S/r" >"$S/out"
	[ "$(tail -n 1 "$S/out")" = "10 passed, 3 failed, 11 skipped" ] ||
		fail "closing line '$(tail -n 1 "$S/out")' with a crashed and a missing suite"
	rm "$S/r/b.txt" "$S/r/d.txt"
	EXPECTED_SUITES="a c" tools/test-summary.sh "$S/r" >"$S/out"
	status=$?
	expect_status 0
	[ "$(tail -n 1 "$S/out")" = "5 passed, 0 failed, 4 skipped" ] ||
		fail "closing line '$(tail -n 1 "$S/out")'"
}

# A clear-screen sequence cut between two reads is still dropped.
t_sf_sequence_split_across_reads() {
	{
		printf 'one\033['
		sleep 0.3
		printf '2Jtwo\033'
		sleep 0.3
		printf '[01;01Hthree\033[1m\n'
	} | python3 tools/serial-filter.py >"$S/out"
	[ "$(cat "$S/out")" = $'onetwothree\033[1m' ] ||
		fail "got: $(od -c "$S/out" | head -3 | tr '\n' ' ')"
}

t_cc_nul_and_limits() {
	printf 'test\0ptdump' >"$S/nul"
	tools/check-cmdline.sh --conf --file "$S/nul" >"$S/out"
	status=$?
	expect_status 1
	expect_lines "$S/out" 'NUL' 1
	printf 'test ptdump\n' >"$S/nl"
	tools/check-cmdline.sh --conf --file "$S/nl" >"$S/out"
	status=$?
	expect_status 1
	printf '%s' "it's \"x\" \$HOME \\" >"$S/ok"
	tools/check-cmdline.sh --conf --file "$S/ok" >"$S/out"
	status=$?
	expect_status 0
	tools/check-cmdline.sh --direct ' spaces are fine here ' >"$S/out"
	status=$?
	expect_status 0
	tools/check-cmdline.sh --conf ' spaces are not ' >"$S/out"
	status=$?
	expect_status 1
}

# mkimage.sh refuses a command line loader.conf cannot carry, with one
# line, before writing an image.
t_mi_refuses_bad_cmdline() {
	echo efi >"$S/loader.efi"
	echo elf >"$S/kernel.elf"
	printf 'a\0b' >"$S/nul"
	tools/mkimage.sh --out "$S/disk.img" --loader "$S/loader.efi" \
		--kernel "$S/kernel.elf" --cmdline-file "$S/nul" >"$S/out" 2>&1
	status=$?
	expect_status 1
	expect_lines "$S/out" '^mkimage: error: --cmdline-file .*NUL' 1
	tools/mkimage.sh --out "$S/disk.img" --loader "$S/loader.efi" \
		--kernel "$S/kernel.elf" --cmdline $'a\nb' >"$S/out" 2>&1
	status=$?
	expect_status 1
	expect_lines "$S/out" '^mkimage: error: --cmdline: .*line break' 1
	[ ! -e "$S/disk.img" ] || fail "an image was written"
}

t_usb_refuses_without_device() {
	echo image >"$S/disk.img"
	tools/usb.sh --image "$S/disk.img" >"$S/out" 2>&1
	status=$?
	expect_status 1
	expect_lines "$S/out" '^usb: refusing: no device given' 1
}
