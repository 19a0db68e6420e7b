#!/usr/bin/env python3
"""Boot tests: each case builds a disk image, boots it under OVMF (TCG)
through tools/run-qemu.sh and judges the serial log.

- Good boots (GOOD_BOOTS: uefi-boot and one per machine): the real loader
  and kernel with the command line "test". Each passes only when the log
  has the loader's lines, "kernel: ready", "kernel: W^X check: passed",
  "selftest: N passed, 0 failed" with N >= MIN_SELFTESTS, no "loader:
  error:" and no "panic:", and the kernel ended the run through port 0xf4
  with code 0 (QEMU status 1, which run-qemu.sh reports as 0).
- Bad inputs: a broken kernel file or config (see mkbad.py). Each passes
  only when the log has exactly one "loader: error:" line containing the
  expected cause, no "kernel:" line, and QEMU did not stop by itself (it
  runs with -no-reboot, so a reset ends QEMU, and that is a failure). The
  firmware goes on to its boot menu after the loader returns its error,
  so the test stops QEMU once the error line has been seen and a grace
  period has passed without a kernel line or a reset.

Every case prints "PASS name (Ns)" or "FAIL name: reason" (with the end of
its log), keeps its serial log as RESULTS/name.log (QEMU's and
run-qemu.sh's messages in RESULTS/name.stderr), and the run ends with
"N passed, M failed". Exit status 1 when anything failed.
"""

import argparse
import concurrent.futures
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import mkbad  # noqa: E402

# What the loader's one error line must contain for each bad input (any of
# the alternatives). The words come from loader/kernel.c (file errors),
# common/elf.c (validation) and common/config.c (config errors); adjust
# them here when that wording changes.
EXPECTED_ERRORS = {
    "missing-kernel": ("not found",),
    "empty-file": ("empty",),
    "not-elf": ("not an ELF file",),
    "truncated": ("truncated", "outside the file", "file too small"),
    "elf32": ("not 64-bit",),
    "wrong-machine": ("not x86-64",),
    "wx-segment": ("writable and executable",),
    "overlap": ("overlap",),
    "lower-half": ("not in the higher half",),
    "entry-outside": ("entry point not in an executable segment",),
    "config-typo": ("unknown key",),
}

# How each bad-input image differs from a good one: a mkbad.py variant of
# the kernel, no kernel file at all, or a loader.conf of its own.
BAD_INPUTS = {
    "missing-kernel": {"no_kernel": True},
    "empty-file": {"variant": "empty"},
    "not-elf": {"variant": "not-elf"},
    "truncated": {"variant": "truncated"},
    "elf32": {"variant": "elf32"},
    "wrong-machine": {"variant": "wrong-machine"},
    "wx-segment": {"variant": "wx-segment"},
    "overlap": {"variant": "overlap"},
    "lower-half": {"variant": "lower-half"},
    "entry-outside": {"variant": "entry-outside"},
    "config-typo": {"config": "kernal=\\boot\\kernel.elf\ncmdline=\n"},
}

# Good boots with "test" on the command line, one per machine: the kernel
# must pass its self-tests and its W^X check on each (no 1 GiB pages, no
# NX, a recent CPU, memory above 4 GiB).
GOOD_BOOTS = {
    "uefi-boot": {"mem": 256, "cpu": "qemu64"},
    "uefi-qemu64-128M": {"mem": 128, "cpu": "qemu64"},
    "uefi-no-nx": {"mem": 256, "cpu": "qemu64,-nx"},
    "uefi-haswell-2G": {"mem": 2048, "cpu": "Haswell"},
    "uefi-max-6G": {"mem": 6144, "cpu": "max"},
}
MIN_SELFTESTS = 20
SELFTEST = re.compile(r"^selftest: (\d+) passed, (\d+) failed")

BOOT_TIMEOUT = 60   # seconds for the good boot to end through port 0xf4
ERROR_TIMEOUT = 60  # seconds for a bad input's error line to appear
GRACE = 2.0         # seconds after the error line in which nothing may follow

# OVMF drives the serial port as a terminal. Cursor moves and screen
# clears become line breaks (text after them starts a new screen line);
# every other escape sequence is dropped.
CSI = re.compile(r"\x1b\[[0-9;?=]*([A-Za-z])")
OTHER_ESC = re.compile(r"\x1b[()][0-9A-Za-z]|\x1b[=>78cDEM]")


def log_lines(raw):
    text = raw.decode("latin-1")
    text = CSI.sub(lambda m: "\n" if m.group(1) in "HfJ" else "", text)
    text = OTHER_ESC.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line.strip() for line in text.split("\n")]


def starting(lines, prefix):
    return [line for line in lines if line.startswith(prefix)]


# run-qemu.sh's exit statuses, for reasons.
def describe_status(status):
    return {
        0: "the kernel reported success",
        124: f"timed out after {BOOT_TIMEOUT}s",
        125: "QEMU could not run (see .stderr)",
        126: "the guest reset or powered off, which ends QEMU under -no-reboot",
    }.get(status, f"the kernel reported failure (exit code {status})")


class Case:
    def __init__(self, name, args, work, results, loader, kernel):
        self.name = name
        self.args = args
        self.image = os.path.join(work, name + ".img")
        self.log = os.path.join(results, name + ".log")
        self.stderr = os.path.join(results, name + ".stderr")
        self.work = work
        self.loader = loader
        self.kernel = kernel
        self.raw = b""
        self.err = b""

    def build_image(self):
        cmd = [os.path.join(ROOT, "tools/mkimage.sh"), "--out", self.image,
               "--loader", self.loader]
        if self.args.get("no_kernel"):
            cmd.append("--no-kernel")
        elif "variant" in self.args:
            bad = os.path.join(self.work, self.name + ".elf")
            data = mkbad.VARIANTS[self.args["variant"]](
                mkbad.Elf(open(self.kernel, "rb").read()))
            with open(bad, "wb") as f:
                f.write(data)
            cmd += ["--kernel", bad]
        else:
            cmd += ["--kernel", self.kernel]
        if "config" in self.args:
            conf = os.path.join(self.work, self.name + ".conf")
            with open(conf, "w") as f:
                f.write(self.args["config"])
            cmd += ["--config", conf]
        cmd += ["--cmdline", self.args.get("cmdline", "")]
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            return "mkimage failed: " + r.stdout.decode(errors="replace")
        return None

    def boot(self, stop_when):
        """Runs QEMU until it exits, or until stop_when(lines) returns a
        deadline that has passed. Returns run-qemu.sh's exit status, or
        None when this function stopped QEMU."""
        cmd = [os.path.join(ROOT, "tools/run-qemu.sh"), "--image", self.image,
               "--mem", str(self.args.get("mem", 256)),
               "--cpu", self.args.get("cpu", "qemu64"), "--headless",
               "--timeout", str(max(BOOT_TIMEOUT, ERROR_TIMEOUT) + 30),
               "--log", self.log]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                start_new_session=True)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        open_pipes = 2
        stopped = False
        while open_pipes:
            deadline = stop_when(log_lines(self.raw))
            if deadline is not None and time.monotonic() >= deadline:
                stopped = True
                break
            for key, _ in sel.select(timeout=0.1):
                data = os.read(key.fileobj.fileno(), 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    open_pipes -= 1
                elif key.data == "out":
                    self.raw += data
                else:
                    self.err += data
        if stopped:
            self.kill(proc)
        status = proc.wait()
        with open(self.stderr, "wb") as f:
            f.write(self.err)
        return None if stopped else status

    @staticmethod
    def kill(proc):
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def run_good(self):
        start = time.monotonic()
        failed_at = None

        # A loader error or a panic already decides the case: stop soon
        # after it instead of waiting for the timeout.
        def stop_when(lines):
            nonlocal failed_at
            if failed_at is None and (starting(lines, "loader: error:")
                                      or starting(lines, "panic:")):
                failed_at = time.monotonic()
            if failed_at is not None:
                return failed_at + GRACE
            return start + BOOT_TIMEOUT

        status = self.boot(stop_when)
        lines = log_lines(self.raw)
        if not starting(lines, "loader: "):
            return f"no 'loader: ' line ({describe_status(status)})"
        errors = starting(lines, "loader: error:")
        if errors:
            return f"the loader failed: {errors[0]}"
        panics = starting(lines, "panic:")
        if panics:
            return f"the kernel panicked: {panics[0]}"
        if status is None:
            status = 124  # stopped here, at BOOT_TIMEOUT
        if not starting(lines, "kernel: ready"):
            return f"no 'kernel: ready' line ({describe_status(status)})"
        if not starting(lines, "kernel: W^X check: passed"):
            return "no 'kernel: W^X check: passed' line"
        counts = [SELFTEST.match(line) for line in lines]
        counts = [m for m in counts if m]
        if not counts:
            return "no 'selftest: N passed, M failed' line"
        passed, failed = int(counts[-1].group(1)), int(counts[-1].group(2))
        if failed:
            bad = [line for line in starting(lines, "selftest: FAIL")]
            return f"{failed} self-tests failed: {'; '.join(bad)}"
        if passed < MIN_SELFTESTS:
            return f"only {passed} self-tests (at least {MIN_SELFTESTS})"
        if status != 0:
            return describe_status(status)
        return None

    def run_bad(self):
        start = time.monotonic()

        def stop_when(lines):
            if starting(lines, "loader: error:"):
                if self.error_seen is None:
                    self.error_seen = time.monotonic()
                return self.error_seen + GRACE
            return start + ERROR_TIMEOUT

        self.error_seen = None
        status = self.boot(stop_when)
        lines = log_lines(self.raw)
        errors = starting(lines, "loader: error:")
        kernel = starting(lines, "kernel:")
        if kernel:
            return f"the kernel ran: {kernel[0]}"
        if status is not None:
            return (f"QEMU exited by itself: {describe_status(status)}"
                    + (f" after {errors[0]}" if errors else ""))
        if not errors:
            return f"no 'loader: error:' line within {ERROR_TIMEOUT}s"
        if len(errors) != 1:
            return f"{len(errors)} 'loader: error:' lines, expected one"
        want = EXPECTED_ERRORS[self.name]
        if not any(w in errors[0] for w in want):
            return (f"error line does not name the cause "
                    f"(wanted {' or '.join(repr(w) for w in want)}): "
                    f"{errors[0]}")
        return None

    def run(self):
        start = time.monotonic()
        why = self.build_image()
        if why is None:
            why = self.run_bad() if self.name in EXPECTED_ERRORS \
                else self.run_good()
        return why, time.monotonic() - start

    def tail(self, n=15):
        """The log from the loader's first line on, else its last lines."""
        lines = [line for line in log_lines(self.raw) if line]
        first = next((i for i, line in enumerate(lines)
                      if line.startswith("loader: ")), None)
        if first is not None:
            lines = lines[first:first + n]
        err = self.err.decode(errors="replace").splitlines()
        out = ["    | " + line for line in lines[-n:]]
        out += ["    ! " + line for line in err[-5:]]
        return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loader", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--results", required=True,
                    help="directory for the per-case logs")
    ap.add_argument("--work", required=True,
                    help="directory for the images and broken kernels")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("cases", nargs="*", help="run only these cases")
    opts = ap.parse_args()

    names = list(GOOD_BOOTS) + list(BAD_INPUTS)
    for name in opts.cases:
        if name not in names:
            ap.error(f"unknown case '{name}' (known: {' '.join(names)})")
    names = opts.cases or names
    for path in (opts.loader, opts.kernel):
        if not os.path.isfile(path):
            print(f"boot: {path} not found")
            print(f"0 passed, {len(names)} failed")
            return 1
    os.makedirs(opts.results, exist_ok=True)
    os.makedirs(opts.work, exist_ok=True)

    cases = [Case(n, BAD_INPUTS.get(n) or dict(GOOD_BOOTS[n], cmdline="test"),
                  opts.work,
                  opts.results, opts.loader, opts.kernel) for n in names]
    lock = threading.Lock()
    passed = failed = 0

    def one(case):
        nonlocal passed, failed
        try:
            why, secs = case.run()
        except Exception as e:  # a harness bug must still count as a failure
            why, secs = f"harness error: {e!r}", 0.0
        with lock:
            if why is None:
                passed += 1
                print(f"PASS {case.name} ({secs:.1f}s)", flush=True)
            else:
                failed += 1
                print(f"FAIL {case.name}: {why}", flush=True)
                print(f"    last lines of {case.log}:", flush=True)
                print(case.tail(), flush=True)

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max(1, opts.jobs)) as pool:
        list(pool.map(one, cases))
    print(f"boot: {len(cases)} cases in {time.monotonic() - start:.1f}s "
          f"({opts.jobs} at a time), logs in {opts.results}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
