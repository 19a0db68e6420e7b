#!/usr/bin/env python3
"""The direct-boot matrix: the kernel booted through its PVH note (QEMU
microvm, no firmware) with "test" on the command line, across CPU models,
memory sizes and accelerators.

The grid's cells run on one CPU; CPU-count cells beside it (SMP_CELLS)
boot 2 or 4 CPUs on a few models, or give `maxcpus=` or `nosmp`, not the
whole cross product. A cell passes only when the serial log has
"kernel: ready", "W^X check: passed", "kernel: cpus: N online" with N
the count the cell asks for, "selftest: N passed, 0 failed" with N at
least MIN_SELFTESTS,
the self-tests it skipped are the ones pinned for its CPU model and
accelerator in tests/matrix/skips.txt (which explains the rules: exact
under TCG, what the host allows under KVM), no "panic:", and the kernel
ended the run through port 0xf4 with code 0.

A cell the host cannot start is "host cannot run: <reason>", counted as
skipped, never as passed: KVM cells where /dev/kvm is not usable, and
cells where QEMU itself failed before the guest wrote a byte
(tools/run-qemu.sh's status 127, e.g. a CPU model this host's KVM
refuses). A cell whose guest printed anything is judged as above.

Also checked: the self-tests give the same results (the same names with
the same outcome) under TCG and KVM for each configuration; a difference
fails the KVM cell, since paging code that passes under the emulator and
not on a CPU is exactly what this matrix exists to catch. A test skipped
on one side only is judged by the pins instead, and listed under the
table.

Prints a table (configuration, CPUs, result, self-tests, skips, kernel
init cycles, the TSC cycles from the first INIT to the last AP online,
wall time) and ends with "N passed, M failed, K skipped".
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

CPUS = ["qemu64", "qemu64,-nx", "Nehalem", "Haswell", "Skylake-Server",
        "EPYC", "max"]
MEMS = [64, 512, 4096, 6144]
SMPS = [1, 2, 4]
# The CPU-count cells: (accel, cpu, memory, -smp, extra command line or
# machine option, CPUs that must come online). TCG: 2 and 4 CPUs on two
# models, 4 more on a third, maxcpus= and nosmp, and a machine without
# ACPI (no MADT: one CPU, said so); KVM: 2 CPUs on two models (the grid's
# cells are the 1-CPU ones; this machine's KVM recommends at most 2).
# Each 4-CPU TCG boot with its self-tests takes about 4 s here.
SMP_CELLS = [
    ("tcg", "qemu64", 512, 2, "", 2),
    ("tcg", "qemu64", 512, 4, "", 4),
    ("tcg", "Haswell", 4096, 2, "", 2),
    ("tcg", "Skylake-Server", 4096, 4, "", 4),
    ("tcg", "qemu64", 512, 4, "maxcpus=2", 2),
    ("tcg", "qemu64", 512, 2, "nosmp", 1),
    ("tcg", "qemu64", 512, 2, "machine:acpi=off", 1),
    ("kvm", "qemu64", 512, 2, "", 2),
    ("kvm", "max", 512, 2, "", 2),
]
MACHINE = "machine:"  # an extra that is a QEMU -machine option
MIN_SELFTESTS = 20
TIMEOUT = 60
PINS = os.path.join(ROOT, "tests/matrix/skips.txt")
# tools/run-qemu.sh: QEMU failed to start on this host before the guest ran.
HOST_CANNOT_START = 127

SELFTEST = re.compile(r"^selftest: (\d+) passed, (\d+) failed")
RESULT = re.compile(r"^selftest: (PASS|FAIL|SKIP) ([^\s:]+)(?:: (.*))?")
NO_FEATURE = re.compile(r"^CPU has no (.+)$")
# The feature a "CPU has no X" skip names, as /proc/cpuinfo spells it.
CPUINFO_FLAG = {"NX": "nx", "SMEP": "smep", "SMAP": "smap", "UMIP": "umip",
                "PAT": "pat", "PGE": "pge", "PCID": "pcid", "LA57": "la57",
                "1 GiB pages": "pdpe1gb", "Page1GB": "pdpe1gb"}
INIT = re.compile(r"^kernel: init: (\d+) cycles")
ONLINE = re.compile(r"^kernel: cpus: (\d+) online")
AP_START = re.compile(r"first INIT to last AP online: (\d+) cycles")


def kvm_usable():
    """None when KVM can be used, else why not. RUN_QEMU_KVM_DEV replaces
    /dev/kvm, as in tools/run-qemu.sh (for tests with a fake QEMU)."""
    dev = os.environ.get("RUN_QEMU_KVM_DEV") or "/dev/kvm"
    if not os.path.exists(dev):
        return f"no {dev} on this machine"
    if not os.access(dev, os.R_OK | os.W_OK):
        return f"{dev} is not readable and writable for this user"
    return None


def load_pins(path):
    """{(accel, cpu): {test: reason}} from the pin file (see its header);
    a model pinned with "-" maps to {}. Raises ValueError naming the line
    for a malformed one."""
    pins = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 3)
            if len(parts) < 3 or parts[0] not in ("tcg", "kvm") or \
                    (parts[2] != "-" and len(parts) < 4):
                raise ValueError(f"{path}:{n}: want 'accel cpu test "
                                 f"reason' or 'accel cpu -': {line}")
            tests = pins.setdefault((parts[0], parts[1]), {})
            if parts[2] != "-":
                tests[parts[2]] = parts[3]
    return pins


def host_flags(path):
    """The CPU flags of the host's /proc/cpuinfo (first CPU), or None when
    it cannot be read."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def check_skips(cell, pins, flags):
    """Why the cell's SKIP lines are not the pinned ones, or None."""
    skips = {n: why for n, (v, why) in cell["results"].items()
             if v == "SKIP"}
    accel, cpu = cell["accel"], cell["cpu"]
    model = pins.get(("tcg", cpu))
    if accel == "tcg":
        if model is None:
            return (f"no pinned skips for tcg {cpu} in tests/matrix/"
                    f"skips.txt (it skipped: {', '.join(sorted(skips)) or 'nothing'};"
                    f" add its lines, or 'tcg {cpu} -')")
        bad = [f"{n} skipped ({why}), not pinned"
               for n, why in sorted(skips.items()) if n not in model]
        bad += [f"{n} skipped ({skips[n]}), pinned as '{why}'"
                for n, why in sorted(model.items())
                if n in skips and not skips[n].startswith(why)]
        for n in sorted(set(model) - set(skips)):
            got = cell["results"].get(n, ("did not run",))[0]
            bad.append(f"{n} pinned as skipped but "
                       + {"PASS": "passed", "FAIL": "failed"}.get(got, got))
        return "unexpected skips: " + "; ".join(bad) if bad else None
    # KVM: what the model lacks, what the host lacks, what any KVM may skip.
    may = dict(model or {})
    may.update(pins.get(("kvm", cpu), {}))
    anykvm = pins.get(("kvm", "*"), {})
    bad = []
    for n, why in sorted(skips.items()):
        if n in may and why.startswith(may[n]):
            continue
        if n in anykvm and why.startswith(anykvm[n]):
            continue
        m = NO_FEATURE.match(why or "")
        flag = CPUINFO_FLAG.get(m.group(1)) if m else None
        if flag and flags is not None and flag not in flags:
            continue
        bad.append(f"{n} skipped ({why})" +
                   (f" although the host CPU has {flag}" if flag and flags
                    else ""))
    return "unexpected skips under KVM: " + "; ".join(bad) if bad else None


def cell_name(accel, cpu, mem, smp=1, extra=""):
    extra = extra[len(MACHINE):] if extra.startswith(MACHINE) else extra
    return (f"{accel}-{cpu.replace(',', '')}-{mem}M"
            + (f"-smp{smp}" if smp != 1 else "")
            + (f"-{extra.replace('=', '')}" if extra else ""))


def cpus_text(smp, extra):
    """The table's CPUs column: the count and what the cell adds."""
    if extra.startswith(MACHINE):
        extra = "-M " + extra[len(MACHINE):]
    return f"{smp}" + (f" {extra}" if extra else "")


def run_cell(kernel, accel, cpu, mem, smp, extra, online, logdir, pins,
             flags):
    name = cell_name(accel, cpu, mem, smp, extra)
    log = os.path.join(logdir, name + ".log")
    machine = extra.startswith(MACHINE)
    cmd = [os.path.join(ROOT, "tools/run-qemu.sh"), "--direct", kernel,
           "--append", "test" + (" " + extra if extra and not machine
                                 else ""),
           "--mem", str(mem), "--cpu", cpu,
           "--headless", "--timeout", str(TIMEOUT), "--log", log]
    if accel == "kvm":
        cmd.append("--kvm")
    qemu = (["-smp", str(smp)] if smp != 1 else []) + \
        (["-machine", extra[len(MACHINE):]] if machine else [])
    if qemu:
        cmd += ["--"] + qemu
    start = time.monotonic()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    wall = time.monotonic() - start
    lines = r.stdout.decode(errors="replace").splitlines()
    cell = {"name": name, "accel": accel, "cpu": cpu, "mem": mem,
            "smp": smp, "extra": extra, "want_online": online,
            "online": None, "ap_start": None,
            "wall": wall, "status": r.returncode, "log": log,
            "selftests": None, "init": None, "results": {}, "host": None}
    err = r.stderr.decode(errors="replace").splitlines()
    cell["notes"] = [e[len("run-qemu: note: "):] for e in err
                     if e.startswith("run-qemu: note: ")]
    for line in lines:
        m = SELFTEST.match(line)
        if m:
            cell["selftests"] = (int(m.group(1)), int(m.group(2)))
        m = RESULT.match(line)
        if m:
            cell["results"][m.group(2)] = (m.group(1), m.group(3))
        m = INIT.match(line)
        if m:
            cell["init"] = int(m.group(1))
        m = ONLINE.match(line)
        if m:
            cell["online"] = int(m.group(1))
            m = AP_START.search(line)
            cell["ap_start"] = int(m.group(1)) if m else None
    # A host limit only when the guest wrote nothing at all; anything the
    # guest printed is judged, so a host limit cannot hide a guest failure.
    if r.returncode == HOST_CANNOT_START and not guest_wrote(log, r):
        errs = [e for e in err if e.startswith("run-qemu: error: ")]
        cell["host"] = (errs[-1][len("run-qemu: error: "):] if errs
                        else (err[-1] if err else "QEMU did not start"))
        cell["why"] = None
        return cell
    cell["why"] = judge(lines, cell, r) or check_skips(cell, pins, flags)
    return cell


def guest_wrote(log, r):
    try:
        return os.path.getsize(log) > 0 or bool(r.stdout)
    except OSError:
        return bool(r.stdout)


def judge(lines, cell, r):
    def has(prefix):
        return any(line.startswith(prefix) for line in lines)
    panics = [line for line in lines if line.startswith("panic:")]
    if panics:
        return panics[0]
    if r.returncode == 124:
        return f"timed out after {TIMEOUT}s"
    if r.returncode == 125:
        err = r.stderr.decode(errors="replace").strip().splitlines()
        return "QEMU could not run: " + (err[-1] if err else "?")
    if not has("kernel: ready"):
        return "no 'kernel: ready' line"
    if not any("W^X check: passed" in line for line in lines):
        return "no 'W^X check: passed' line"
    if cell["online"] is None:
        return "no 'kernel: cpus: N online' line"
    if cell["online"] != cell["want_online"]:
        return (f"kernel: cpus: {cell['online']} online, "
                f"{cell['want_online']} asked for")
    if cell["selftests"] is None:
        return "no 'selftest: N passed, M failed' line"
    passed, failed = cell["selftests"]
    if failed:
        bad = [n for n, v in cell["results"].items() if v[0] == "FAIL"]
        return f"{failed} self-tests failed: {' '.join(bad)}"
    if passed < MIN_SELFTESTS:
        return f"only {passed} self-tests passed (at least {MIN_SELFTESTS})"
    if r.returncode != 0:
        return f"exit code {r.returncode} from the kernel"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--logs", required=True, help="directory for the logs")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cpus", default=",".join(c.replace(",", "+")
                                               for c in CPUS),
                    help="CPU models, comma separated ('+' for ',')")
    ap.add_argument("--mems", default=",".join(map(str, MEMS)))
    ap.add_argument("--accels", default="tcg,kvm")
    ap.add_argument("--smp", default=",".join(map(str, SMPS)),
                    help="CPU counts: 1 runs the grid, 2 and 4 the "
                    "CPU-count cells of that count (of the --cpus models)")
    ap.add_argument("--pins", default=PINS,
                    help="the expected skips (default tests/matrix/skips.txt)")
    ap.add_argument("--host-cpuinfo", default="/proc/cpuinfo",
                    help="where the host's CPU flags are read (for tests)")
    opts = ap.parse_args()
    cpus = [c.replace("+", ",") for c in opts.cpus.split(",")]
    accels = opts.accels.split(",")
    try:
        mems = [int(m) for m in opts.mems.split(",")]
        if any(m <= 0 for m in mems):
            raise ValueError
    except ValueError:
        print(f"matrix: --mems takes MiB as whole numbers over 0, comma "
              f"separated, not '{opts.mems}'")
        print("0 passed, 1 failed")
        return 1
    try:
        smps = [int(n) for n in opts.smp.split(",")]
        if any(n not in SMPS for n in smps):
            raise ValueError
    except ValueError:
        print(f"matrix: --smp takes CPU counts out of "
              f"{','.join(map(str, SMPS))}, comma separated, not "
              f"'{opts.smp}'")
        print("0 passed, 1 failed")
        return 1
    if any(a not in ("tcg", "kvm") for a in accels):
        print(f"matrix: --accels takes tcg and/or kvm, not '{opts.accels}'")
        print("0 passed, 1 failed")
        return 1
    if not os.path.isfile(opts.kernel):
        print(f"matrix: {opts.kernel} not found")
        print("0 passed, 1 failed")
        return 1
    try:
        pins = load_pins(opts.pins)
    except (OSError, ValueError) as e:
        print(f"matrix: {e}")
        print("0 passed, 1 failed")
        return 1
    flags = host_flags(opts.host_cpuinfo)
    os.makedirs(opts.logs, exist_ok=True)

    no_kvm = kvm_usable() if "kvm" in accels else None
    wanted = [(a, c, m, 1, "", 1) for a in accels for c in cpus
              for m in mems if 1 in smps]
    wanted += [sc for sc in SMP_CELLS
               if sc[0] in accels and sc[1] in cpus and sc[3] in smps]
    todo = [w for w in wanted if not (w[0] == "kvm" and no_kvm)]
    lock = threading.Lock()
    cells = []

    def one(job):
        cell = run_cell(opts.kernel, *job, opts.logs, pins, flags)
        with lock:
            cells.append(cell)
            if cell["host"]:
                print(f"SKIP {cell['name']} ({cell['wall']:.2f}s): host "
                      f"cannot run: {cell['host']}", flush=True)
                return cell
            mark = "PASS" if cell["why"] is None else "FAIL"
            print(f"{mark} {cell['name']} ({cell['wall']:.2f}s)"
                  + (f": {cell['why']}" if cell["why"] else ""), flush=True)
        return cell

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max(1, opts.jobs)) as pool:
        list(pool.map(one, todo))

    # The same self-tests with the same outcome under TCG and KVM.
    by_conf = {}
    for c in cells:
        if not c["host"]:
            by_conf.setdefault((c["cpu"], c["mem"], c["smp"], c["extra"]),
                               {})[c["accel"]] = c
    for conf, pair in by_conf.items():
        if "tcg" in pair and "kvm" in pair and pair["kvm"]["why"] is None:
            t = {n: v[0] for n, v in pair["tcg"]["results"].items()}
            k = {n: v[0] for n, v in pair["kvm"]["results"].items()}
            # A test skipped on one side only was judged by the pins (a
            # feature one side lacks, an instruction a KVM cannot
            # emulate) and is listed; any other difference fails.
            diff = sorted(n for n in set(t) | set(k) if t.get(n) != k.get(n)
                          and "SKIP" not in (t.get(n), k.get(n)))
            pair["kvm"]["skip_diff"] = sorted(
                n for n in set(t) | set(k) if t.get(n) != k.get(n)
                and n not in diff)
            if diff:
                pair["kvm"]["why"] = ("self-tests differ from TCG: " +
                                      ", ".join(f"{n} tcg={t.get(n)} "
                                                f"kvm={k.get(n)}"
                                                for n in diff))

    order = {(w[0], w[1], w[2], w[3], w[4]): i for i, w in enumerate(wanted)}
    cells.sort(key=lambda c: order[(c["accel"], c["cpu"], c["mem"],
                                    c["smp"], c["extra"])])
    print()
    print(f"{'accel':5} {'cpu':15} {'memory':>7} {'cpus':15} {'result':6} "
          f"{'self-tests':>10} {'skip':>4} {'init cycles':>12} "
          f"{'AP start':>10} {'wall':>6}")
    passed = failed = skipped = 0
    notes = set()
    for c in cells:
        cpus_col = cpus_text(c["smp"], c["extra"])
        if c["host"]:
            skipped += 1
            print(f"{c['accel']:5} {c['cpu']:15} {c['mem']:>5}M  "
                  f"host cannot run: {c['host']}"
                  + (f" ({cpus_col} CPUs)" if c["smp"] != 1 else ""))
            continue
        st = c["selftests"]
        skips = sum(1 for v in c["results"].values() if v[0] == "SKIP")
        ok = c["why"] is None
        passed += ok
        failed += not ok
        print(f"{c['accel']:5} {c['cpu']:15} {c['mem']:>5}M  "
              f"{cpus_col:15} {'pass' if ok else 'FAIL':6} "
              f"{(f'{st[0]}/{st[0] + st[1]}' if st else '-'):>10} "
              f"{skips:>4} {(str(c['init']) if c['init'] else '-'):>12} "
              f"{(str(c['ap_start']) if c['ap_start'] else '-'):>10} "
              f"{c['wall']:>5.2f}s")
        for note in c["notes"]:
            print(f"      note: {note}")
        if not ok:
            print(f"      {c['why']} (log: {c['log']})")
        elif c.get("skip_diff"):
            notes.update(c["skip_diff"])
    if notes:
        print("self-tests skipped on one accelerator only (allowed by "
              "tests/matrix/skips.txt; see their SKIP lines): "
              + ", ".join(sorted(notes)))
    if no_kvm:
        for w in wanted:
            if w[0] == "kvm":
                skipped += 1
                cpus_col = cpus_text(w[3], w[4])
                print(f"{'kvm':5} {w[1]:15} {w[2]:>5}M  "
                      f"host cannot run: {no_kvm}"
                      + (f" ({cpus_col} CPUs)" if w[3] != 1 else ""))
    print(f"matrix: {len(cells)} boots in {time.monotonic() - start:.1f}s "
          f"({opts.jobs} at a time), logs in {opts.logs}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
