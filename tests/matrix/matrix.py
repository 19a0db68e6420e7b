#!/usr/bin/env python3
"""The direct-boot matrix: the kernel booted through its PVH note (QEMU
microvm, no firmware) with "test" on the command line, across CPU models,
memory sizes and accelerators.

A cell passes only when the serial log has "kernel: ready", "W^X check:
passed" and "selftest: N passed, 0 failed" with N at least MIN_SELFTESTS,
no "panic:", and the kernel ended the run through port 0xf4 with code 0.
KVM cells run where /dev/kvm is usable; elsewhere each is listed as
skipped with the reason and counted as neither passed nor failed.

Also checked: the self-tests give the same results (the same names with
the same outcome) under TCG and KVM for each configuration; a difference
fails the KVM cell, since paging code that passes under the emulator and
not on a CPU is exactly what this matrix exists to catch. The one
exception is a test the kernel itself skips on one side with a reason
(this machine's software KVM cannot emulate INT3, INT n, STAC and CLAC):
those are listed under the table.

Prints a table (configuration, result, self-tests, kernel init cycles,
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
MIN_SELFTESTS = 20
TIMEOUT = 60

SELFTEST = re.compile(r"^selftest: (\d+) passed, (\d+) failed")
RESULT = re.compile(r"^selftest: (PASS|FAIL|SKIP) ([^\s:]+)")
INIT = re.compile(r"^kernel: init: (\d+) cycles")


def kvm_usable():
    """None when KVM can be used, else why not."""
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm on this machine"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not readable and writable for this user"
    return None


def run_cell(kernel, accel, cpu, mem, logdir):
    name = f"{accel}-{cpu.replace(',', '')}-{mem}M"
    log = os.path.join(logdir, name + ".log")
    cmd = [os.path.join(ROOT, "tools/run-qemu.sh"), "--direct", kernel,
           "--append", "test", "--mem", str(mem), "--cpu", cpu,
           "--headless", "--timeout", str(TIMEOUT), "--log", log]
    if accel == "kvm":
        cmd.append("--kvm")
    start = time.monotonic()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    wall = time.monotonic() - start
    lines = r.stdout.decode(errors="replace").splitlines()
    cell = {"name": name, "accel": accel, "cpu": cpu, "mem": mem,
            "wall": wall, "status": r.returncode, "log": log,
            "selftests": None, "init": None, "results": {}}
    for line in lines:
        m = SELFTEST.match(line)
        if m:
            cell["selftests"] = (int(m.group(1)), int(m.group(2)))
        m = RESULT.match(line)
        if m:
            cell["results"][m.group(2)] = m.group(1)
        m = INIT.match(line)
        if m:
            cell["init"] = int(m.group(1))
    cell["why"] = judge(lines, cell, r)
    return cell


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
    if cell["selftests"] is None:
        return "no 'selftest: N passed, M failed' line"
    passed, failed = cell["selftests"]
    if failed:
        bad = [n for n, v in cell["results"].items() if v == "FAIL"]
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
    opts = ap.parse_args()
    cpus = [c.replace("+", ",") for c in opts.cpus.split(",")]
    mems = [int(m) for m in opts.mems.split(",")]
    accels = opts.accels.split(",")
    if not os.path.isfile(opts.kernel):
        print(f"matrix: {opts.kernel} not found")
        print("0 passed, 1 failed")
        return 1
    os.makedirs(opts.logs, exist_ok=True)

    no_kvm = kvm_usable() if "kvm" in accels else None
    todo = [(a, c, m) for a in accels for c in cpus for m in mems
            if not (a == "kvm" and no_kvm)]
    lock = threading.Lock()
    cells = []

    def one(job):
        cell = run_cell(opts.kernel, *job, opts.logs)
        with lock:
            cells.append(cell)
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
        by_conf.setdefault((c["cpu"], c["mem"]), {})[c["accel"]] = c
    for conf, pair in by_conf.items():
        if "tcg" in pair and "kvm" in pair and pair["kvm"]["why"] is None:
            t, k = pair["tcg"]["results"], pair["kvm"]["results"]
            # A test the kernel skips on one side only (it names why:
            # an instruction this machine's KVM cannot emulate) is listed,
            # not failed; any other difference fails the KVM cell.
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

    order = {(a, c, m): i for i, (a, c, m) in enumerate(
        (a, c, m) for a in accels for c in cpus for m in mems)}
    cells.sort(key=lambda c: order[(c["accel"], c["cpu"], c["mem"])])
    print()
    print(f"{'accel':5} {'cpu':15} {'memory':>7}  {'result':6} "
          f"{'self-tests':>10} {'skip':>4} {'init cycles':>12} {'wall':>6}")
    passed = failed = skipped = 0
    notes = set()
    for c in cells:
        st = c["selftests"]
        skips = sum(1 for v in c["results"].values() if v == "SKIP")
        ok = c["why"] is None
        passed += ok
        failed += not ok
        print(f"{c['accel']:5} {c['cpu']:15} {c['mem']:>5}M  "
              f"{'pass' if ok else 'FAIL':6} "
              f"{(f'{st[0]}/{st[0] + st[1]}' if st else '-'):>10} "
              f"{skips:>4} {(str(c['init']) if c['init'] else '-'):>12} "
              f"{c['wall']:>5.2f}s")
        if not ok:
            print(f"      {c['why']} (log: {c['log']})")
        elif c.get("skip_diff"):
            notes.update(c["skip_diff"])
    if notes:
        print("self-tests skipped on one accelerator only (a CPU feature "
              "one side lacks, or an instruction this machine's KVM cannot "
              "emulate; see their SKIP lines): " + ", ".join(sorted(notes)))
    if no_kvm:
        for c in cpus:
            for m in mems:
                skipped += 1
                print(f"{'kvm':5} {c:15} {m:>5}M  skipped: {no_kvm}")
    print(f"matrix: {len(cells)} boots in {time.monotonic() - start:.1f}s "
          f"({opts.jobs} at a time), logs in {opts.logs}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
