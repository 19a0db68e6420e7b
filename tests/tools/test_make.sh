# shellcheck shell=bash disable=SC2034 # $status is read by the helpers in lib.sh
# The Makefile: bad values refused with one line before any build step,
# make help, make usb without DEV=, compile_commands.json, and CMDLINE
# arriving byte for byte in loader.conf and in QEMU's -append with no
# command run on the way. Refusals use BUILD=$S/b, which must stay absent.

# refuse VAR GOAL [VAR=VALUE...]
refuse() {
	local var=$1
	shift
	mk BUILD="$S/b" "$@"
	expect_refusal "$var"
}

t_mk_mem_refusals() {
	local min
	min=$(sed -n 's/^mem_min_ovmf=//p' tools/run-qemu.sh)
	refuse MEM run MEM=16
	grep -q "at least $min MiB" "$S/out" || fail "no minimum in: $(cat "$S/out")"
	refuse MEM run MEM=$((min - 1))
	refuse MEM run MEM=0
	refuse MEM run MEM=
	refuse MEM run MEM=abc
	refuse MEM run MEM='1 2'
	refuse MEM run-kvm MEM=32
	refuse MEM run-direct MEM=0
	refuse MEM run-direct MEM=$(($(sed -n 's/^mem_min_pvh=//p' tools/run-qemu.sh) - 1))
	# The minima themselves pass the checks (-n: nothing runs).
	mk BUILD="$S/b" -n run MEM="$min"
	expect_status 0
	mk BUILD="$S/b" -n run-direct MEM="$(sed -n 's/^mem_min_pvh=//p' tools/run-qemu.sh)"
	expect_status 0
}

t_mk_cpu_refusals() {
	refuse CPU run CPU=
	refuse CPU run-direct "CPU=qemu64 -nx"
	refuse CPU run-direct "CPU=qemu64'"
	mk BUILD="$S/b" -n run-direct CPU=qemu64,-nx,+pdpe1gb
	expect_status 0
}

t_mk_font_refusals() {
	refuse FONT image FONT=/nonexistent/font.psf
	refuse FONT image FONT=
	refuse FONT all FONT=/tmp
	refuse FONT test FONT=/nonexistent
}

t_mk_ovmf_refusals() {
	refuse OVMF_CODE run OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
	refuse OVMF_VARS run OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
	refuse OVMF_CODE run OVMF_CODE=/nonexistent/code.fd OVMF_VARS=/nonexistent/vars.fd
}

t_mk_media_machine_refusals() {
	refuse MEDIA run MEDIA=floppy
	refuse MEDIA run MEDIA=
	refuse MACHINE run MACHINE=isapc
	refuse MACHINE run MACHINE=
}

t_mk_fuzz_seconds_refusals() {
	refuse FUZZ_SECONDS fuzz FUZZ_SECONDS=abc
	refuse FUZZ_SECONDS fuzz FUZZ_SECONDS=0
	refuse FUZZ_SECONDS fuzz FUZZ_SECONDS=
	# The script refuses too, for whoever calls it directly.
	tests/fuzz/run.sh --seconds abc --dir "$S/f" elf >"$S/out" 2>&1
	status=$?
	[ $status -eq 2 ] || fail "tests/fuzz/run.sh --seconds abc: status $status"
	expect_lines "$S/out" "not 'abc'" 1
}

t_mk_usb_without_dev_builds_nothing() {
	refuse DEV usb
	refuse DEV usb DEV=
}

# CMDLINE bytes loader.conf cannot carry, refused before building.
t_mk_cmdline_refusals() {
	local max
	max=$(sed -n 's/^#define[[:space:]]*BI_CMDLINE_MAX[[:space:]]*\([0-9]*\).*/\1/p' common/boot/bootinfo.h)
	refuse CMDLINE image CMDLINE=$'test\nptdump'
	refuse CMDLINE image CMDLINE=$'test\r'
	refuse CMDLINE image CMDLINE=$'test\t'
	refuse CMDLINE run CMDLINE='test '
	# make drops leading blanks of VAR=value itself; from the
	# environment they arrive, and are refused.
	CMDLINE=' test' refuse CMDLINE image
	refuse CMDLINE run-direct CMDLINE=$'a\nb'
	refuse CMDLINE run-direct CMDLINE="$(head -c "$max" /dev/zero | tr '\0' x)"
	grep -q "at most $((max - 1))" "$S/out" || fail "no limit in: $(cat "$S/out")"
}

# A line full of shell and make syntax: quotes, $, backquotes, $(...),
# backslashes, ;, #, %, and make's own $(shell ...).
weird_cmdline() {
	printf '%s' "it's \"x\" \$HOME;touch $S/injected1 \`touch $S/injected2\` \$(touch $S/injected3) \\back\\\\slash \$\$ #hash %pct \$(shell touch $S/injected4) ' end"
}

expect_nothing_ran() {
	local f
	for f in "$S"/injected*; do
		[ ! -e "$f" ] || fail "a command hidden in CMDLINE ran: $f exists"
	done
}

# make image: \boot\loader.conf holds exactly the typed bytes.
t_mk_image_cmdline_byte_for_byte() {
	local line
	line=$(weird_cmdline)
	mk BUILD="$BUILD" DISK_IMG="$S/disk.img" image CMDLINE="$line"
	expect_status 0
	expect_nothing_ran
	mcopy -n -i "$S/disk.img@@1048576" ::/boot/loader.conf "$S/loader.conf" ||
		fail "cannot read loader.conf from the image"
	grep -F -x -q -- "cmdline=$line" "$S/loader.conf" ||
		fail "loader.conf has '$(grep '^cmdline=' "$S/loader.conf")'"
	# And from the environment, as the README's other form.
	CMDLINE=$line mk BUILD="$BUILD" DISK_IMG="$S/disk2.img" image
	expect_status 0
	expect_nothing_ran
	mcopy -n -i "$S/disk2.img@@1048576" ::/boot/loader.conf "$S/loader2.conf" ||
		fail "cannot read loader.conf from the second image"
	cmp -s "$S/loader.conf" "$S/loader2.conf" || fail "CMDLINE from the environment gave another loader.conf"
}

# make run-direct: QEMU's -append gets exactly the typed bytes.
t_mk_run_direct_cmdline_byte_for_byte() {
	local line
	line=$(weird_cmdline)
	PATH="$FAKE:$PATH" FAKE_QEMU_ARGS="$S/args" mk BUILD="$BUILD" run-direct CMDLINE="$line"
	expect_status 0
	expect_nothing_ran
	expect_runs 1
	[ "$(arg_after 1 -append)" = "$line" ] || fail "QEMU got -append '$(arg_after 1 -append)'"
}

# make help lists every target the Makefile and its fragments declare
# (test-SUITE once, as such), and the variables.
t_mk_help_lists_every_target() {
	local t missing=''
	mk help
	expect_status 0
	for t in $(awk '/^\.PHONY:/ { on = 1; sub(/^\.PHONY:/, "") }
		on { c = sub(/\\$/, ""); print; on = c }' Makefile ./*/*.mk ./*/*/*.mk |
		tr ' \t' '\n\n' | sort -u); do
		case $t in '' | FORCE | test-*) continue ;; esac
		grep -qE "^make $t( |$)" "$S/out" || missing+=" $t"
	done
	[ -z "$missing" ] || fail "make help lacks:$missing"
	for t in 'make test-SUITE' MEM= CPU= CMDLINE= MEDIA= MACHINE= OVMF_CODE= FONT= 'K skipped'; do
		grep -qF -- "$t" "$S/out" || fail "make help does not mention $t"
	done
}

# compile_commands.json: the command make runs covers the fuzz targets
# and the benchmark as well as the loader and kernel.
t_mk_compile_commands_has_fuzz_and_bench() {
	local cmd f
	mk -n compile_commands.json
	expect_status 0
	cmd=$(grep '^tools/compile-commands.sh' "$S/out") || fail "no compile-commands.sh line in: $(cat "$S/out")"
	cmd=${cmd% > compile_commands.json}
	# shellcheck disable=SC2086 # make's goals, one word each
	$cmd >"$S/db.json" 2>"$S/db.err" || fail "compile-commands.sh failed: $(cat "$S/db.err")"
	for f in tests/fuzz/fuzz_elf.c tests/fuzz/fuzz_config.c tests/fuzz/fuzz_memmap.c \
		tests/fuzz/fuzz_pvh.c tests/bench/bench_paging.c kernel/boot/main.c \
		loader/main.c common/mm/paging.c tests/unit/test_paging.c; do
		grep -q "\"file\": \"$ROOT/$f\"" "$S/db.json" || fail "no entry for $f"
	done
}

# The stated PVH minimum really boots: the one real boot of this suite
# (TCG, the self-tests, about a second).
t_mk_pvh_minimum_boots() {
	local min
	min=$(sed -n 's/^mem_min_pvh=//p' tools/run-qemu.sh)
	[ -f "$BUILD/kernel/kernel.elf" ] || fail "no $BUILD/kernel/kernel.elf (build it first)"
	timeout 120 make -C "$ROOT" --no-print-directory BUILD="$BUILD" run-direct \
		MEM="$min" CMDLINE=test >"$S/out" 2>&1 </dev/null
	status=$?
	expect_status 0
	grep -q '^kernel: ready' "$S/out" || fail "no 'kernel: ready' at $min MiB"
	grep -q '^selftest: [0-9]* passed, 0 failed' "$S/out" || fail "the self-tests did not pass at $min MiB"
}
