#!/usr/bin/env bash
# Prints a compile_commands.json (for clangd, clang-tidy and other tools)
# with the exact command of every C and assembly source the build compiles:
# common/, loader/, kernel/ and tests/. It asks make for its commands
# without running them (`make -n -B GOAL...`), so it needs no successful
# build and always has the flags the Makefile really uses. `make
# compile_commands.json` passes the goals that compile everything (the
# default build, the fuzz targets, the benchmark); alone it uses `all`.
#
# common/ is compiled three times (kernel, loader, host); each compilation
# gets its own entry, the kernel's first, since tools that use one entry
# per file take the first and the kernel's flags are the strictest.
#
# usage: tools/compile-commands.sh [GOAL...] > compile_commands.json
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Called from a make recipe, the inner make must not join the outer one's
# jobserver or inherit its flags (say -n or -j).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

goals=("$@")
[ ${#goals[@]} -gt 0 ] || goals=(all)
commands=$(make --no-print-directory -n -B "${goals[@]}" 2>&1) || {
	echo "compile-commands: 'make -n -B ${goals[*]}' failed:" >&2
	echo "$commands" | tail -n 20 >&2
	exit 1
}

CLANG=${CLANG:-clang} ROOT=$root python3 -c '
import json, os, shlex, sys

root = os.environ["ROOT"]
clang = os.path.basename(os.environ["CLANG"])
entries = []
for line in sys.stdin.read().splitlines():
    line = line.strip()
    if not line or "-c" not in line:
        continue
    try:
        argv = shlex.split(line)
    except ValueError:
        continue
    if os.path.basename(argv[0]) != clang or "-c" not in argv:
        continue
    src = argv[argv.index("-c") + 1]
    if not src.endswith((".c", ".S")):
        continue
    out = argv[argv.index("-o") + 1] if "-o" in argv else ""
    entries.append({
        "directory": root,
        "file": os.path.join(root, src),
        "arguments": argv,
        "output": os.path.join(root, out) if out else "",
    })

# Kernel, then loader, then host and anything else; make order within each.
# Outputs are BUILD/kernel/..., BUILD/loader/..., BUILD/host/...
def rank(e):
    parts = os.path.relpath(e["output"] or root, root).split("/")
    return {"kernel": 0, "loader": 1}.get(parts[1] if len(parts) > 2 else "", 2)
entries.sort(key=rank)
if not entries:
    sys.exit("compile-commands: no compile commands found in make -n output")
json.dump(entries, sys.stdout, indent=1)
sys.stdout.write("\n")
print(f"compile-commands: {len(entries)} entries", file=sys.stderr)
' <<<"$commands"
