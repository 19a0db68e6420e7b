#!/usr/bin/env python3
"""Boot tests: each case (tests/boot/cases.py) builds a disk image, boots it
under OVMF (TCG) or boots the kernel directly, through tools/run-qemu.sh,
and judges what the machine showed.

- Good boots pass only when the serial log has the loader's lines,
  "kernel: ready", "kernel: W^X check: passed", "kernel: cpus: N online"
  with N the case's -smp (1 unless it says), "selftest: N passed, 0
  failed" with N >= MIN_SELFTESTS, exactly the SKIP lines the CPU model
  implies (an unexpected skip, or an expected one that passed, fails by
  name), the loader's phases as the kernel prints them (every name of
  common/boot/bootinfo.c in order, shares adding up to 100%) after the
  loader's own lines, no "loader: error:" and no "panic:", and the kernel ended the run
  through port 0xf4 with code 0 (run-qemu.sh status 0). Some also need a
  framebuffer or a kernel file over a size.
- Bad inputs pass only when the log has exactly one "loader: error:" line
  containing the expected cause, no "kernel:" line, and then the
  firmware's own line that the boot option returned ("BdsDxe: failed to
  start BootNNNN ...: <status>", for the option that started the loader),
  within RETURN_TIMEOUT. QEMU is stopped once that line is there; QEMU
  ending by itself (a reset under -no-reboot) is a failure.
- The screen case has no serial port: it takes a QMP screendump every
  SHOT_INTERVAL and passes when the kernel's line is on the screen
  pixel-exactly (tests/boot/screen.py); it fails after SCREEN_TIMEOUT
  naming what the screen last showed. The last screenshot is kept as
  RESULTS/name.png and the text read from it as RESULTS/name.log.
- Direct cases pass only when the kernel prints the lines the case names
  and ends through port 0xf4 with the case's code (not a reset, not a
  timeout, not success).
- Secure Boot cases (cases.SECURE) are good boots or bad inputs with the
  loader signed for the suite, under OVMF's Secure Boot firmware or the
  normal one, plus what Secure Boot adds: the loader's and the kernel's
  Secure Boot lines, the kernel's SHA-256 equal to sha256sum of the file
  read back from the image's ESP, a mismatch line naming the file, the
  embedded hash and the file's, and for an unsigned loader the firmware's
  "Access Denied" with no "loader:" line at all.

Every case prints "PASS name (Ns)" or "FAIL name: reason" (with the end of
its log), keeps its log as RESULTS/name.log (QEMU's and run-qemu.sh's
messages in RESULTS/name.stderr), and the run ends with the suite's wall
time and "N passed, M failed". Exit status 1 when anything failed.
"""

import argparse
import concurrent.futures
import hashlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import cases  # noqa: E402
import mkbad  # noqa: E402
import screen  # noqa: E402
import secure  # noqa: E402

BOOT_TIMEOUT = 60    # seconds for a good boot to end through port 0xf4
ERROR_TIMEOUT = 60   # seconds for a bad input's error line to appear
RETURN_TIMEOUT = 10  # seconds from the error line to the firmware's line
SCREEN_TIMEOUT = 60  # seconds for the screen case's line to appear
SHOT_INTERVAL = 1.0  # seconds between screenshots
DIRECT_TIMEOUT = 30  # seconds for a direct boot to end

SELFTEST = re.compile(r"^selftest: (\d+) passed, (\d+) failed")
RESULT = re.compile(r"^selftest: (PASS|FAIL|SKIP) ([^\s:]+):? ?(.*)")
PHASE = re.compile(r"^kernel: loader phase ([a-z-]+): +(\d+)\.(\d)% (\d+) cycles")


def phase_names():
    """The loader's phases in order, as common/boot/bootinfo.c names them (read
    from the source, so a phase added there is checked here too)."""
    path = os.path.join(ROOT, "common", "boot", "bootinfo.c")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    table = re.search(r"phase_names\[BI_PHASE_COUNT\] = \{(.*?)\};", text,
                      re.S)
    return re.findall(r'= "([a-z-]+)"', table.group(1))
STARTING = re.compile(r'^BdsDxe: starting (Boot[0-9A-Fa-f]{4}) ')
# OVMF's line when a boot option's image returned: its description and
# device path, then the status the image returned (after the last ": ").
RETURNED = re.compile(
    r'^BdsDxe: failed to start (Boot[0-9A-Fa-f]{4}) ".*" from .*: (\S.*)$')
# OVMF's line when Secure Boot refused a boot option's image.
DENIED = re.compile(
    r'^BdsDxe: failed to load (Boot[0-9A-Fa-f]{4}) "(.*)" from .*: '
    r'Access Denied$')

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


def describe_status(status, timeout=BOOT_TIMEOUT):
    """run-qemu.sh's exit status in words."""
    return {
        0: "the kernel reported success",
        124: f"timed out after {timeout}s",
        125: "QEMU could not run (see .stderr)",
        126: "the guest reset or powered off "
             "(which ends QEMU under -no-reboot)",
        127: "QEMU failed to start before the guest ran (see .stderr)",
    }.get(status, f"the kernel reported failure (exit code {status})")


PCR_LINE = re.compile(r"^kernel: tpm: PCR (\d+) sha256 ([0-9a-f]{64})$")
BEFORE_ZERO = "PCR 8, 9 were zero before"
BEFORE = re.compile(r"before: PCR 8 ([0-9a-f]{64}), PCR 9 ([0-9a-f]{64})$")


def pcr_extend(pcr, data):
    """A TPM's extend of a SHA-256 PCR with the digest of data."""
    return hashlib.sha256(pcr + hashlib.sha256(data).digest()).digest()


def check_pcrs(lines, kernel, cmdline):
    """The kernel's PCR 8 and 9 against the replay of the loader's two
    events (loader/measure.c) from the values the loader read before
    them: PCR 9 extended with the kernel file's bytes, PCR 8 with the
    command line's bytes (no NUL). Returns None or what differs."""
    measured = starting(lines, "loader: tpm: measured ")
    if not measured:
        said = starting(lines, "loader: tpm:")
        return ("the loader did not measure: "
                + (said[0] if said else "no 'loader: tpm:' line"))
    line = measured[0]
    if f"({len(kernel)} bytes) into PCR 9" not in line:
        return f"the loader measured another kernel size: {line}"
    if f"command line ({len(cmdline)} bytes) into PCR 8" not in line:
        return f"the loader measured another command line length: {line}"
    if line.endswith(BEFORE_ZERO):
        before = {8: bytes(32), 9: bytes(32)}
    else:
        m = BEFORE.search(line)
        if not m:
            return f"the loader did not say what PCR 8 and 9 held: {line}"
        before = {8: bytes.fromhex(m.group(1)), 9: bytes.fromhex(m.group(2))}
    want = {8: pcr_extend(before[8], cmdline).hex(),
            9: pcr_extend(before[9], kernel).hex()}
    got = {int(m.group(1)): m.group(2)
           for m in map(PCR_LINE.match, lines) if m}
    problems = []
    for pcr in (8, 9):
        if pcr not in got:
            tpm = starting(lines, "kernel: tpm:")
            problems.append(f"no 'kernel: tpm: PCR {pcr} sha256' line "
                            f"({' / '.join(tpm) or 'no kernel: tpm: line'})")
        elif got[pcr] != want[pcr]:
            problems.append(f"PCR {pcr}: the kernel read {got[pcr]}, the "
                            f"files give {want[pcr]}")
    return "; ".join(problems) or None


class Case:
    def __init__(self, name, kind, args, opts):
        if kind == "secure":
            args = {"mem": 256, "cpu": "qemu64", **args}
        self.name, self.kind, self.args, self.opts = name, kind, args, opts
        self.image = os.path.join(opts.work, name + ".img")
        self.log = os.path.join(opts.results, name + ".log")
        self.stderr = os.path.join(opts.results, name + ".stderr")
        self.raw = b""
        self.err = b""

    # --- building -------------------------------------------------------

    def kernel_file(self):
        """The kernel this case installs: good boots get the ESP's kernel
        (stripped, as `make image` installs it), bad inputs a broken copy
        of the kernel with debug info. Returns (path, None) or (None,
        why)."""
        base = self.opts.esp_kernel if self.kind in ("good", "tpm") \
            else self.opts.kernel
        if "variant" not in self.args:
            return base, None
        path = os.path.join(self.opts.work, self.name + ".elf")
        with open(base, "rb") as f:
            data = mkbad.VARIANTS[self.args["variant"]](mkbad.Elf(f.read()))
        with open(path, "wb") as f:
            f.write(data)
        least = self.args.get("min_kernel_size")
        if least is not None and len(data) <= least:
            return None, (f"the {self.args['variant']} kernel is "
                          f"{len(data)} bytes, not over {least}")
        return path, None

    def build_image(self, cmdline):
        if self.kind == "secure":
            return self.build_secure_image()
        cmd = [os.path.join(ROOT, "tools/mkimage.sh"), "--out", self.image,
               "--loader", self.opts.loader]
        if self.args.get("no_kernel"):
            cmd.append("--no-kernel")
        else:
            kernel, why = self.kernel_file()
            if why:
                return why
            cmd += ["--kernel", kernel]
        if "config" in self.args:
            conf = os.path.join(self.opts.work, self.name + ".conf")
            with open(conf, "w") as f:
                f.write(self.args["config"])
            cmd += ["--config", conf]
        cmd += ["--cmdline", cmdline]
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            return "mkimage failed: " + r.stdout.decode(errors="replace")
        return None

    # --- running --------------------------------------------------------

    def qemu_cmd(self, timeout, serial=True, extra=()):
        cmd = [os.path.join(ROOT, "tools/run-qemu.sh"), "--headless",
               "--mem", str(self.args.get("mem", 256)),
               "--cpu", self.args.get("cpu", "qemu64"),
               "--timeout", str(timeout + 30)]
        if self.args.get("tpm"):
            cmd.append("--tpm")
        if self.kind == "direct" or "append" in self.args:
            cmd += ["--direct", self.opts.kernel,
                    "--append", self.args["append"]]
        else:
            cmd += ["--image", self.image,
                    "--media", self.args.get("media", "sata"),
                    "--machine", self.args.get("machine", "q35")]
        if self.args.get("secure"):
            cmd.append("--secure")
        cmd += ["--log", self.log] if serial else ["--no-serial"]
        extra = list(self.args.get("qemu", [])) + list(extra)
        if self.args.get("cpus", 1) != 1:
            extra += ["-smp", str(self.args["cpus"])]
        return cmd + (["--"] + extra if extra else [])

    def boot(self, cmd, stop_when):
        """Runs cmd until it exits, or until stop_when(lines) returns a
        deadline that has passed. Returns run-qemu.sh's exit status, or
        None when this function stopped QEMU."""
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                start_new_session=True)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        open_pipes = 2
        stopped = False
        try:
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
        finally:
            if stopped or open_pipes:
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

    # --- judging --------------------------------------------------------

    def run_good(self):
        why = self.build_image("test")
        if why:
            return why
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
                return failed_at + 2.0
            return start + BOOT_TIMEOUT

        status = self.boot(self.qemu_cmd(BOOT_TIMEOUT), stop_when)
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
        cpus = self.args.get("cpus", 1)
        online = starting(lines, "kernel: cpus: ")
        if not online or not online[0].startswith(f"kernel: cpus: {cpus} "
                                                  "online"):
            return (f"{online[0] if online else 'no kernel: cpus: line'}"
                    f" ({cpus} asked for with -smp)")
        counts = [m for m in map(SELFTEST.match, lines) if m]
        if not counts:
            return "no 'selftest: N passed, M failed' line"
        passed, failed = int(counts[-1].group(1)), int(counts[-1].group(2))
        if failed:
            bad = starting(lines, "selftest: FAIL")
            return f"{failed} self-tests failed: {'; '.join(bad)}"
        why = self.check_skips(lines)
        if why:
            return why
        if passed < cases.MIN_SELFTESTS:
            return f"only {passed} self-tests (at least {cases.MIN_SELFTESTS})"
        if status != 0:
            return describe_status(status)
        why = self.check_phases(lines)
        if why:
            return why
        if self.args.get("framebuffer"):
            return self.check_framebuffer(lines)
        return None

    def check_skips(self, lines):
        """The SKIP lines against the set the CPU model implies."""
        results = {}
        for m in filter(None, map(RESULT.match, lines)):
            results[m.group(2)] = (m.group(1), m.group(3))
        want = cases.expected_skips(self.args["cpu"])
        problems = []
        for test, (verdict, why) in sorted(results.items()):
            if verdict == "SKIP" and test not in want:
                problems.append(f"unexpected SKIP {test} ({why})")
        for test in sorted(want):
            verdict = results.get(test, ("no line",))[0]
            if verdict != "SKIP":
                problems.append(f"{test}: {verdict}, expected SKIP on "
                                f"-cpu {self.args['cpu']}")
        return "; ".join(problems) or None

    @staticmethod
    def check_phases(lines):
        """The kernel printed every loader phase, in order, with cycles and
        shares adding up to the whole, after the loader's queued lines."""
        got = [m for m in map(PHASE.match, lines) if m]
        want = phase_names()
        names = [m.group(1) for m in got]
        if names != want:
            return (f"loader phases printed {names or 'none'}, expected "
                    f"{want}")
        share = sum(int(m.group(2)) * 10 + int(m.group(3)) for m in got)
        # Each share is truncated to 0.1%: up to 0.1% short per phase.
        if not 1000 - len(got) <= share <= 1000:
            return f"loader phase shares add up to {share / 10}%, not 100%"
        first_kernel = next(i for i, line in enumerate(lines)
                            if line.startswith("kernel:"))
        if not any(line.startswith("loader: ")
                   for line in lines[:first_kernel]):
            return "no loader line before the kernel's first line"
        return None

    @staticmethod
    def check_framebuffer(lines):
        if any(re.match(r"kernel: framebuffer: \d+x\d+", line)
               for line in lines):
            return None
        said = [line for line in lines if "framebuffer" in line
                and line.startswith(("loader:", "kernel:"))]
        return ("the kernel got no framebuffer"
                + (f": {' / '.join(said)}" if said else ""))

    def run_bad(self, want=None):
        why = self.build_image("")
        if why:
            return why
        start = time.monotonic()
        error_seen = None

        def stop_when(lines):
            nonlocal error_seen
            errors = [i for i, line in enumerate(lines)
                      if line.startswith("loader: error:")]
            if not errors:
                return start + ERROR_TIMEOUT
            if error_seen is None:
                error_seen = time.monotonic()
            if any(RETURNED.match(line) for line in lines[errors[0]:]):
                return 0  # the firmware has the boot option back
            return error_seen + RETURN_TIMEOUT

        status = self.boot(self.qemu_cmd(ERROR_TIMEOUT), stop_when)
        lines = log_lines(self.raw)
        errors = [i for i, line in enumerate(lines)
                  if line.startswith("loader: error:")]
        kernel = starting(lines, "kernel:")
        if kernel:
            return f"the kernel ran: {kernel[0]}"
        if not errors:
            return (f"no 'loader: error:' line within {ERROR_TIMEOUT}s"
                    + (f" ({describe_status(status)})"
                       if status is not None else ""))
        first = lines[errors[0]]
        if len(errors) != 1:
            return f"{len(errors)} 'loader: error:' lines, expected one"
        want = want or self.args["error"]
        if not any(w in first for w in want):
            return (f"error line does not name the cause "
                    f"(wanted {' or '.join(repr(w) for w in want)}): "
                    f"{first}")
        returned = [m for m in map(RETURNED.match, lines[errors[0]:]) if m]
        if not returned:
            how = (f"QEMU exited by itself: {describe_status(status)}"
                   if status is not None else
                   f"nothing within {RETURN_TIMEOUT}s")
            return (f"the loader did not return to the firmware after its "
                    f"error: no 'BdsDxe: failed to start' line ({how})")
        started = [m.group(1) for m in map(STARTING.match, lines[:errors[0]])
                   if m]
        if not started or started[-1] != returned[0].group(1):
            return (f"the firmware's line is about another boot option: "
                    f"{returned[0].group(0)} (the loader was "
                    f"{started[-1] if started else 'not seen starting'})")
        return None

    def run_screen(self):
        why = self.build_image("")
        if why:
            return why
        with open(self.opts.font, "rb") as f:
            font = screen.Font(f.read())
        sockdir = tempfile.mkdtemp(prefix="boot-qmp.")
        sock = os.path.join(sockdir, "qmp")
        ppm = os.path.join(self.opts.work, self.name + ".ppm")
        want = self.args["find"]
        start = time.monotonic()
        state = {"qmp": None, "shot": None, "next": start, "row": None,
                 "qmp_error": None}

        def stop_when(_lines):
            now = time.monotonic()
            if now < state["next"]:
                return start + SCREEN_TIMEOUT
            state["next"] = now + SHOT_INTERVAL
            try:
                if state["qmp"] is None:
                    state["qmp"] = screen.Qmp(sock, timeout=5.0)
                state["shot"] = state["qmp"].screenshot(ppm)
            except (OSError, ValueError) as e:
                state["qmp_error"] = str(e)  # QEMU not up yet, or gone
                return start + SCREEN_TIMEOUT
            state["row"] = screen.find_line(state["shot"], font, want)
            return now if state["row"] is not None else start + SCREEN_TIMEOUT

        cmd = self.qemu_cmd(SCREEN_TIMEOUT, serial=False, extra=[
            "-qmp", f"unix:{sock},server=on,wait=off"])
        try:
            status = self.boot(cmd, stop_when)
        finally:
            if state["qmp"]:
                state["qmp"].close()
            shutil.rmtree(sockdir, ignore_errors=True)
        shot = state["shot"]
        if shot is not None:
            with open(os.path.join(self.opts.results, self.name + ".png"),
                      "wb") as f:
                f.write(shot.png())
            text = "\n".join(screen.read_text(shot, font)).rstrip("\n")
            self.raw = text.encode("latin-1", errors="replace") + b"\n"
        with open(self.log, "wb") as f:
            f.write(self.raw)
        if state["row"] is not None:
            return None
        seen = screen.last_seen(shot, font)
        if shot is None and state["qmp_error"]:
            seen += f" (QMP: {state['qmp_error']})"
        if status is not None:
            return (f"{want!r} never on the screen, QEMU ended: "
                    f"{describe_status(status, SCREEN_TIMEOUT)}; {seen}")
        return f"{want!r} not on the screen within {SCREEN_TIMEOUT}s; {seen}"

    def boot_direct(self):
        """Boots the kernel directly for at most DIRECT_TIMEOUT; returns
        run-qemu.sh's status (124 when stopped here) and the log's
        lines."""
        start = time.monotonic()
        status = self.boot(self.qemu_cmd(DIRECT_TIMEOUT),
                           lambda lines: start + DIRECT_TIMEOUT)
        return (124 if status is None else status), log_lines(self.raw)

    def run_direct(self):
        status, lines = self.boot_direct()
        problems = []
        for prefix, inside in self.args["lines"]:
            if not any(line.startswith(prefix) and inside in line
                       for line in lines):
                problems.append("no line" + (f" starting {prefix!r}"
                                             if prefix else "")
                                + (" and" if prefix and inside else "")
                                + (f" containing {inside!r}"
                                   if inside else ""))
        if status == 0:
            problems.append(f"the kernel ran its self-tests and reported "
                            f"success: it ignored {self.args['append']!r}")
        elif status != self.args["status"]:
            problems.append(f"expected exit code {self.args['status']} "
                            f"(a panic through port 0xf4), got: "
                            f"{describe_status(status, DIRECT_TIMEOUT)}")
        return "; ".join(problems) or None

    # --- measured boot (cases.TPM) ---------------------------------------

    def run_tpm(self):
        if "append" in self.args:
            return self.run_tpm_direct()
        if self.args.get("check"):
            return self.run_pcr_checker()
        why = self.run_good()
        if why:
            return why
        with open(self.opts.esp_kernel, "rb") as f:
            kernel = f.read()
        return check_pcrs(log_lines(self.raw), kernel, b"test")

    def run_pcr_checker(self):
        kernel, cmdline = b"\x7fELF kernel bytes", b"test ptdump"
        zero = bytes(32)
        other = {8: hashlib.sha256(b"a").digest(),
                 9: hashlib.sha256(b"b").digest()}

        def log(before, pcr8, pcr9, size=len(kernel), cmd=len(cmdline)):
            said = (BEFORE_ZERO if before is None else
                    f"before: PCR 8 {before[8].hex()}, PCR 9 {before[9].hex()}")
            lines = [f"loader: tpm: measured \\boot\\kernel.elf ({size} "
                     f"bytes) into PCR 9, the command line ({cmd} bytes) "
                     f"into PCR 8; banks sha1 sha256; {said}"]
            lines += [f"kernel: tpm: PCR {n} sha256 {v.hex()}"
                      for n, v in ((8, pcr8), (9, pcr9)) if v is not None]
            return lines

        good8, good9 = pcr_extend(zero, cmdline), pcr_extend(zero, kernel)
        flip = bytes([good9[0] ^ 1]) + good9[1:]
        rows = [
            ("from zeros", log(None, good8, good9), True),
            ("from other values", log(other, pcr_extend(other[8], cmdline),
                                      pcr_extend(other[9], kernel)), True),
            ("zeros assumed when not", log(other, good8, good9), False),
            ("one bit off", log(None, good8, flip), False),
            ("PCRs swapped", log(None, good9, good8), False),
            ("no PCR 9 line", log(None, good8, None), False),
            ("cmdline with its NUL",
             log(None, pcr_extend(zero, cmdline + b"\0"), good9), False),
            ("other kernel size", log(None, good8, good9, size=5), False),
            ("other cmdline length", log(None, good8, good9, cmd=3), False),
            ("loader did not measure",
             ["loader: tpm: none (no EFI_TCG2_PROTOCOL), boot not measured",
              f"kernel: tpm: PCR 8 sha256 {good8.hex()}"], False),
        ]
        bad = []
        with open(self.log, "w") as f:
            for name, lines, ok in rows:
                why = check_pcrs(lines, kernel, cmdline)
                right = (why is None) == ok
                f.write(f"{'PASS' if right else 'FAIL'} {name}: "
                        f"{why or 'accepted'}\n")
                if not right:
                    bad.append(f"{name}: {'refused: ' + why if why else 'accepted'}")
        return "; ".join(bad) or None

    def run_tpm_direct(self):
        status, lines = self.boot_direct()
        want = self.args["line"]
        tpm = starting(lines, "kernel: tpm:")
        if not starting(lines, want):
            said = " / ".join(tpm) or "nothing about a TPM"
            return (f"no line starting {want!r}; the kernel said: {said} "
                    f"({describe_status(status, DIRECT_TIMEOUT)})")
        if len(tpm) != self.args["count"]:
            return (f"{len(tpm)} 'kernel: tpm:' lines, expected "
                    f"{self.args['count']}: {' / '.join(tpm)}")
        if status != 0:
            return describe_status(status, DIRECT_TIMEOUT)
        return None

    def run_check(self):
        with open(self.opts.font, "rb") as f:
            font = screen.Font(f.read())
        results = screen.selfcheck(font)
        with open(self.log, "w") as f:
            for name, ok, detail in results:
                f.write(f"{'PASS' if ok else 'FAIL'} {name} {detail}\n")
        bad = [f"{name} {detail}" for name, ok, detail in results if not ok]
        return "; ".join(bad) or None

    # --- Secure Boot ----------------------------------------------------

    def build_secure_image(self):
        """The image of a SECURE case: its loader, the ESP kernel or a
        changed copy, the signed loader.conf or an edited copy."""
        o = self.opts
        loader = {"signed": o.signed_loader, "unsigned": o.loader,
                  "nohashes": o.nohashes_loader}[
            self.args.get("loader", "signed")]
        with open(o.esp_kernel, "rb") as f:
            data = f.read()
        how = self.args.get("kernel")
        if how == "flip-text":
            elf = mkbad.Elf(data)
            ph = elf.text()
            at = elf.u64(ph + mkbad.P_OFFSET) + elf.u64(ph + 32) // 2
            elf.data[at] ^= 0x01
            data = bytes(elf.data)
        elif how == "other":
            with open(o.kernel, "rb") as f:
                data = f.read()
        elif how == "truncated":
            data = data[:len(data) // 2]
        kernel = os.path.join(o.work, self.name + ".elf")
        with open(kernel, "wb") as f:
            f.write(data)
        with open(o.signed_config, "rb") as f:
            conf = f.read()
        if self.args.get("config") == "edited":
            if b"\ncmdline=test\n" not in conf:
                return f"{o.signed_config} has no line 'cmdline=test'"
            conf = conf.replace(b"\ncmdline=test\n",
                                b"\ncmdline=test ptdump\n")
        config = os.path.join(o.work, self.name + ".conf")
        with open(config, "wb") as f:
            f.write(conf)
        cmd = [os.path.join(ROOT, "tools/mkimage.sh"), "--out", self.image,
               "--kernel", kernel, "--config", config]
        if self.args.get("chain"):
            # The firmware starts the chain loader, which starts the
            # signed loader from \EFI\BOOT\LOADER.EFI with load options.
            esp = os.path.join(o.work, self.name + ".esp")
            shutil.rmtree(esp, ignore_errors=True)
            os.makedirs(os.path.join(esp, "EFI", "BOOT"))
            shutil.copy(loader, os.path.join(esp, "EFI", "BOOT",
                                             "LOADER.EFI"))
            cmd += ["--loader", o.chain_loader, "--esp", esp]
        else:
            cmd += ["--loader", loader]
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            return "mkimage failed: " + r.stdout.decode(errors="replace")
        return None

    def esp_sha256(self, path):
        return secure.esp_sha256(self.image, path, os.path.join(
            self.opts.work, self.name + ".readback"))

    def run_secure(self):
        expect = self.args["expect"]
        if expect == "boot":
            return self.run_good() or self.check_secure_boot()
        if expect == "refused":
            return self.run_refused()
        if expect == "error":
            return self.run_bad()
        if expect == "keys":
            return secure.check_keys(self.opts.loader, self.log)
        if expect == "refusals":
            return secure.check_refusals(self.log)
        # A mismatch: the hashes are known before the boot.
        why = self.build_secure_image()
        if why:
            return why
        hashes = secure.embedded(self.opts.signed_hashes,
                                  self.opts.esp_kernel)
        if self.args.get("config"):
            what, path = "config", "boot/loader.conf"
            prefix = "\\boot\\loader.conf"
        else:
            what, path = "kernel", "boot/kernel.elf"
            prefix = "kernel \\boot\\kernel.elf"
        actual = self.esp_sha256(path)
        if actual == hashes[what]:
            return f"the case's {path} is the signed one ({actual})"
        want = (f"{prefix}: SHA-256 mismatch: expected {hashes[what]}, "
                f"actual {actual}",)
        return self.run_bad(want)

    def check_secure_boot(self):
        lines = log_lines(self.raw)
        sb = self.args["sb"]
        problems = []
        for line in (f"loader: secure boot: {sb}, kernel and config hashes "
                     f"embedded",
                     f"kernel: secure boot: {sb}, kernel and config hashes "
                     f"checked by the loader"):
            if line not in lines:
                problems.append(f"no line {line!r}")
        if "cmdline" in self.args:
            line = f'kernel: command line: "{self.args["cmdline"]}"'
            if line not in lines:
                problems.append(f"no line {line!r}")
        ignored = starting(lines, "loader: secure boot: load options "
                                  "ignored")
        if self.args.get("options_ignored"):
            line = (f'loader: secure boot: load options ignored '
                    f'("{cases.CHAIN_OPTIONS}"); the command line is '
                    f"loader.conf's")
            if line not in lines:
                problems.append(f"no line {line!r}")
        elif ignored:
            problems.append(f"the loader ignored load options: {ignored[0]}")
        want = self.esp_sha256("boot/kernel.elf")
        said = [line for line in lines
                if line.startswith("kernel: kernel file sha256:")]
        if said != [f"kernel: kernel file sha256: {want}"]:
            problems.append(f"the kernel's SHA-256 is not sha256sum of the "
                            f"ESP's kernel file ({want}): "
                            f"{said or 'no such line'}")
        return "; ".join(problems) or None

    def run_refused(self):
        why = self.build_secure_image()
        if why:
            return why
        start = time.monotonic()

        # The firmware goes on to its other options and ends in its boot
        # menu. A loader it refused cannot run later: stop at the refusal.
        def stop_when(lines):
            if any(DENIED.match(line) and "HARDDISK" in line
                   for line in lines):
                return 0
            return start + ERROR_TIMEOUT

        status = self.boot(self.qemu_cmd(ERROR_TIMEOUT), stop_when)
        lines = log_lines(self.raw)
        ours = starting(lines, "loader:")
        if ours:
            return f"the firmware started the unsigned loader: {ours[0]}"
        kernel = starting(lines, "kernel:")
        if kernel:
            return f"the kernel ran: {kernel[0]}"
        denied = [m for m in map(DENIED.match, lines) if m]
        if not any("HARDDISK" in m.group(2) for m in denied):
            return ("no 'BdsDxe: failed to load ... HARDDISK ...: Access "
                    "Denied' line"
                    + (f" ({describe_status(status, ERROR_TIMEOUT)})"
                       if status is not None else "")
                    + (f"; refused: {denied[0].group(0)}" if denied else ""))
        return None

    def run(self):
        start = time.monotonic()
        why = getattr(self, "run_" + self.kind)()
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
    ap.add_argument("--kernel", required=True,
                    help="the kernel with debug info (bad inputs, direct)")
    ap.add_argument("--esp-kernel", required=True,
                    help="the kernel the ESP gets (good boots)")
    ap.add_argument("--font", required=True,
                    help="the PSF font the kernel embeds (screen cases)")
    ap.add_argument("--results", required=True,
                    help="directory for the per-case logs")
    ap.add_argument("--work", required=True,
                    help="directory for the images and broken kernels")
    ap.add_argument("--signed-loader",
                    help="the loader signed for the SECURE cases")
    ap.add_argument("--nohashes-loader",
                    help="the default loader (no hashes), signed")
    ap.add_argument("--signed-config",
                    help="the loader.conf the signed loader embeds")
    ap.add_argument("--signed-hashes",
                    help="tools/sign.sh's hashes.txt of the signed loader")
    ap.add_argument("--chain-loader",
                    help="tests/boot/chain.c, signed: starts the signed "
                         "loader with load options")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("cases", nargs="*", help="run only these cases")
    opts = ap.parse_args()

    kinds = {name: (kind, args) for kind, table in cases.KINDS
             for name, args in table.items()}
    for name in opts.cases:
        if name not in kinds:
            ap.error(f"unknown case '{name}' (known: {' '.join(kinds)})")
    names = opts.cases or list(kinds)
    paths = [opts.loader, opts.kernel, opts.esp_kernel, opts.font]
    if any(kinds[n][0] == "secure" for n in names):
        paths += [opts.signed_loader, opts.nohashes_loader,
                  opts.signed_config, opts.signed_hashes, opts.chain_loader]
    for path in paths:
        if path is None or not os.path.isfile(path):
            print(f"boot: {path} not found")
            print(f"0 passed, {len(names)} failed")
            return 1
    os.makedirs(opts.results, exist_ok=True)
    os.makedirs(opts.work, exist_ok=True)

    todo = [Case(n, kinds[n][0], kinds[n][1], opts) for n in names]
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
        list(pool.map(one, todo))
    print(f"boot: {len(todo)} cases in {time.monotonic() - start:.1f}s "
          f"({opts.jobs} at a time), logs in {opts.results}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
