#!/usr/bin/env python3
"""The debug suite: gdb on the loader and the kernel (tools/debug.sh,
tools/gdb/), each session a real gdb on a real QEMU under TCG with a time
bound (a bound reached is a failure that names the last step done).

Sessions (tests/debug/session.py drives gdb; this file judges):
- pvh: the kernel booted directly with `ptdump`, attached the way an
  editor attaches (`GDB=none`, then gdb with `target remote` and `source
  tools/gdb/init.py`). At kmain: gdb's ptdump shows the PVH entry's
  tables. At kernel_ready: gdb's ptdump equals the kernel's line for
  line; vtop of kmain gives segment 0's phys plus the offset the kernel
  printed, vtop of the direct map's alias of the boot info gives its
  physical address, the stack's guard page stops at PT and 0x1000 at
  PML4 (not present); bootinfo shows the magic, version, memory map line,
  command line and the segments the kernel printed; bad inputs get one
  line each; a PML4 entry pointing outside RAM and one with a reserved
  bit are named.
- ovmf: one OVMF boot for every OVMF check, through `tools/debug.sh` with
  GDB='gdb -batch'. `break efi_main` stops at efi_main's first statement
  in loader/main.c (the firmware's system table signature proves the
  frame is real); a breakpoint on the line after the CR3 write in
  loader/paging.c stops on that line, where ptdump shows the firmware's
  identity map in the lower half (the same lines as `ptdump FW_CR3`) and
  exactly the kernel's segments in the higher half with their
  permissions; at kernel_ready the same comparisons as for pvh.
Without QEMU: the commands with no target, KVM targets on a machine
without KVM, a taken or bad GDB_PORT, pe.py's check on the loader's
debug file (and on a broken one), and tools/gdb/x86paging.py on tables
worked out by hand (test_x86paging.py).

Prints "PASS name (Ns)" or "FAIL name: reason" per case, then the wall
time and "N passed, M failed". Outputs go to RESULTS/NAME.*.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "gdb"))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import pe  # noqa: E402
from judge import Fail, Session, check, source_line  # noqa: E402
from judge import judge_ovmf, judge_pvh  # noqa: E402

PVH_TIMEOUT = 60    # seconds for the whole PVH session
OVMF_TIMEOUT = 120  # seconds for the whole OVMF session
SHORT_TIMEOUT = 30  # seconds for a case without a guest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runner:
    def __init__(self, opts):
        self.o = opts
        self.build = opts.build
        self.kernel = os.path.join(opts.build, "kernel", "kernel.elf")

    def path(self, name, ext):
        return os.path.join(self.o.results, f"{name}.{ext}")

    def work(self, name):
        """A fresh work directory; the case's old results are removed
        (a stale record must not speak for a session cut short)."""
        d = os.path.join(self.o.work, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for ext in ("json", "log", "out", "qemu"):
            try:
                os.remove(self.path(name, ext))
            except FileNotFoundError:
                pass
        return d

    def env(self, **extra):
        e = dict(os.environ)
        e.pop("DEBUG_SERIAL_LOG", None)
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def bounded(self, name, argv, timeout, env=None, what="the session"):
        """Runs argv with a time bound; output into RESULTS/name.out. At
        the bound its process group gets SIGTERM (debug.sh then stops its
        QEMU), then SIGKILL."""
        with open(self.path(name, "out"), "wb") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, cwd=ROOT,
                                 start_new_session=True)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                raise Fail(f"{what} did not end within {timeout}s (the "
                           "time bound)") from None
        with open(self.path(name, "out"), "rb") as f:
            text = f.read().decode("latin-1")
        check("Traceback" not in text, f"a Python traceback in {name}.out")
        return p.returncode, text

    def session_failed(self, rec_path, why):
        steps = []
        if os.path.exists(rec_path):
            with open(rec_path) as f:
                rec = json.load(f)
            steps = rec["steps"]
            if rec.get("error"):
                why += f"; the session raised {rec['error']}"
        raise Fail(f"{why} (last step done: "
                   f"{steps[-1] if steps else 'none'})")

    # --- sessions on QEMU -----------------------------------------------

    def pvh_session(self, name, mode, append):
        """A PVH boot stopped at its entry with QEMU alone, as `make
        debug-direct GDB=none` starts it, and gdb attached as the README
        tells an editor to (source init.py, target remote)."""
        d = self.work(name)
        port = free_port()
        rec = self.path(name, "json")
        qemu = subprocess.Popen(
            [os.path.join(ROOT, "tools/debug.sh"), "--direct", self.kernel,
             "--append", append, "--port", str(port), "--build",
             self.build, "--state", d, "--gdb", "none", "--timeout",
             str(PVH_TIMEOUT)],
            stdout=open(self.path(name, "qemu"), "wb"),
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
            start_new_session=True)
        try:
            deadline = time.time() + 20
            while time.time() < deadline and qemu.poll() is None:
                with open(self.path(name, "qemu"), "rb") as f:
                    if b"attach a debugger" in f.read():
                        break
                time.sleep(0.1)
            else:
                raise Fail("debug.sh with GDB=none did not get QEMU ready")
            self.bounded(name, [
                "gdb", "-batch", "-nx", "-ex",
                f"source {ROOT}/tools/gdb/init.py", "-ex",
                f"target remote localhost:{port}", "-x",
                os.path.join(HERE, "session.py")], PVH_TIMEOUT,
                self.env(DEBUG_TEST_MODE=mode, DEBUG_TEST_OUT=rec,
                         DEBUG_BUILD=self.build,
                         DEBUG_SERIAL_LOG=os.path.join(d, "serial.log")))
        except Fail as e:
            self.session_failed(rec, str(e))
        finally:
            try:
                os.killpg(qemu.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            qemu.wait()
        shutil.copy(os.path.join(d, "serial.log"), self.path(name, "log"))
        s = Session(rec, os.path.join(d, "serial.log"))
        if s.rec["steps"][-1:] != ["done"]:
            self.session_failed(rec, "the session did not finish")
        return s

    def case_pvh(self, name):
        judge_pvh(self.pvh_session(name, "pvh", "ptdump"))

    def case_pvh_fault(self, name):
        """vtop's walk against the walk in the kernel's #PF dump (PVH
        entry told to hand kmain a bad boot-info pointer)."""
        s = self.pvh_session(name, "pvh-fault", "break-bootinfo=bad-pointer")
        theirs = [ln for ln in s.serial
                  if re.match(r"  (PML4|PDPT|PD  |PT  )\[", ln)]
        check(theirs, "the kernel printed no walk in its #PF dump")
        mine = s.out("vtop-cr2")
        check(s.stop("panic")["function"] == "panic",
              f"stopped in {s.stop('panic')['function']}, not panic")
        cr3 = s.stop("panic")["cr3"] & ~0xFFF
        check(mine[0] == f"vtop: 0x7f0000000000 through CR3 {cr3:#x}",
              f"vtop $cr2: {mine[0]!r}")
        check(mine[1:-1] == theirs, f"vtop's walk {mine[1:-1]} against the "
              f"#PF dump's {theirs}")

    def case_ovmf(self, name):
        d = self.work(name)
        image = os.path.join(d, "disk.img")
        subprocess.run(
            [os.path.join(ROOT, "tools/mkimage.sh"), "--out", image,
             "--loader", os.path.join(self.build, "loader", "BOOTX64.EFI"),
             "--kernel", os.path.join(self.build, "kernel", "kernel.esp.elf"),
             "--cmdline", "ptdump"], check=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=ROOT)
        paging_line = source_line(ROOT, "loader/paging.c",
                                  r"t->active = true;",
                                  after=r"^void paging_activate\(")
        # gdb stops at efi_main's first statement (after the prologue).
        efi_line = source_line(ROOT, "loader/main.c", r"^\t[a-z_.]+ = ",
                               after=r"EFIAPI efi_main\(")
        rec = self.path(name, "json")
        port = free_port()
        try:
            status, text = self.bounded(name, [
                os.path.join(ROOT, "tools/debug.sh"), "--image", image,
                "--port", str(port), "--build", self.build, "--state", d,
                "--timeout", str(OVMF_TIMEOUT), "--gdb", "gdb -batch -nx",
                "--", "-x", os.path.join(HERE, "session.py")], OVMF_TIMEOUT,
                self.env(DEBUG_TEST_MODE="ovmf", DEBUG_TEST_OUT=rec,
                         DEBUG_TEST_PAGING_LINE=paging_line))
        except Fail as e:
            self.session_failed(rec, str(e))
        warned = [ln for ln in text.split("\n")
                  if ln.startswith("debug: warning")]
        check(not warned, f"gdb warned: {warned}")
        shutil.copy(os.path.join(d, "serial.log"), self.path(name, "log"))
        s = Session(rec, os.path.join(d, "serial.log"))
        if s.rec["steps"][-1:] != ["done"]:
            self.session_failed(rec, "the session did not finish")
        judge_ovmf(s, paging_line, efi_line)

    def case_ovmf_low_memory(self, name):
        """48 MiB, where OVMF loads the loader elsewhere: gdb must say
        that its loader breakpoints could not stop, once, when the
        kernel starts, and refuse to place the symbols where the loader's
        code is not."""
        d = self.work(name)
        image = os.path.join(d, "disk.img")
        subprocess.run(
            [os.path.join(ROOT, "tools/mkimage.sh"), "--out", image,
             "--loader", os.path.join(self.build, "loader", "BOOTX64.EFI"),
             "--kernel", os.path.join(self.build, "kernel", "kernel.esp.elf")],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=ROOT)
        rec = self.path(name, "json")
        try:
            status, text = self.bounded(name, [
                os.path.join(ROOT, "tools/debug.sh"), "--image", image,
                "--mem", "48", "--port", str(free_port()), "--build",
                self.build, "--state", d, "--timeout", str(OVMF_TIMEOUT),
                "--gdb", "gdb -batch -nx", "--", "-x",
                os.path.join(HERE, "session.py")], OVMF_TIMEOUT,
                self.env(DEBUG_TEST_MODE="ovmf-low", DEBUG_TEST_OUT=rec))
        except Fail as e:
            self.session_failed(rec, str(e))
        s = Session(rec, os.path.join(d, "serial.log"))
        if s.rec["steps"][-1:] != ["done"]:
            self.session_failed(rec, "the session did not finish")
        check(s.stop("_start")["function"] == "_start",
              f"stopped in {s.stop('_start')['function']}, not at the "
              "kernel's entry (did break efi_main stop?)")
        warned = [ln for ln in text.split("\n")
                  if ln.startswith("debug: warning: BOOTX64.EFI did not run "
                                   "at 0x400000")]
        check(len(warned) == 1, f"{len(warned)} warnings that the loader "
              "was not at its linked base, expected 1")
        e = s.error("loader-symbols-linked")
        check(e.startswith("loader-symbols: the loader's code is not at "
                           "0x400000"), f"loader-symbols 0x400000: {e!r}")

    # --- without QEMU ---------------------------------------------------

    def case_not_connected(self, name):
        status, text = self.bounded(name, [
            "gdb", "-batch", "-nx", "-ex", f"source {ROOT}/tools/gdb/init.py",
            "-ex", "ptdump", "-ex", "vtop 0", "-ex", "pte 0", "-ex",
            "bootinfo"], SHORT_TIMEOUT, self.env(DEBUG_BUILD=self.build),
            "gdb")
        for cmd in ("ptdump", "vtop", "pte", "bootinfo"):
            lines = [ln for ln in text.split("\n") if ln.startswith(cmd + ":")]
            check(len(lines) == 1 and "not connected to QEMU" in lines[0],
                  f"{cmd} without a target printed {lines}")

    def case_kvm_message(self, name):
        """`make debug-kvm` and `make debug-direct-kvm` on a machine
        without KVM (RUN_QEMU_KVM_DEV names a missing device, so this
        holds on machines with KVM too): one line naming the missing
        device and the TCG target, status 125, no QEMU."""
        d = self.work(name)
        for goal, alt in (("debug-kvm", "make debug"),
                          ("debug-direct-kvm", "make debug-direct")):
            status, text = self.bounded(
                f"{name}-{goal}",
                ["make", "--no-print-directory", "-s", goal,
                 f"BUILD={self.build}", f"DISK_IMG={d}/disk.img",
                 "GDB=gdb -batch"], SHORT_TIMEOUT * 4,
                self.env(RUN_QEMU_KVM_DEV=f"{d}/no-kvm"), f"make {goal}")
            errs = [ln for ln in text.split("\n") if ln.startswith("debug:")]
            check(status != 0 and len(errs) == 1 and
                  f"{d}/no-kvm does not exist: this machine has no KVM" in
                  errs[0] and f"Use '{alt}'" in errs[0] and
                  "QEMU is stopped" not in text,
                  f"make {goal}: status {status}, lines {errs}")

    def case_port_taken(self, name):
        d = self.work(name)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            status, text = self.bounded(name, [
                os.path.join(ROOT, "tools/debug.sh"), "--direct",
                self.kernel, "--port", str(port), "--build", self.build,
                "--state", d, "--gdb", "gdb -batch"], SHORT_TIMEOUT,
                self.env(), "debug.sh")
        lines = [ln for ln in text.split("\n") if ln]
        check(status == 125 and len(lines) == 1 and
              f"GDB_PORT={port} is in use" in lines[0],
              f"a taken port: status {status}, output {lines}")

    def case_bad_port(self, name):
        status, text = self.bounded(name, [
            "make", "--no-print-directory", "debug-direct", "GDB_PORT=12a",
            f"BUILD={self.build}"], SHORT_TIMEOUT, self.env(), "make")
        lines = [ln for ln in text.split("\n") if ln]
        check(status == 2 and len(lines) == 1 and
              "GDB_PORT='12a': GDB_PORT= takes the gdbstub's TCP port" in
              lines[0], f"GDB_PORT=12a: status {status}, output {lines}")
        status, text = self.bounded(name, [
            os.path.join(ROOT, "tools/debug.sh"), "--direct", self.kernel,
            "--port", "70000"], SHORT_TIMEOUT, self.env(), "debug.sh")
        lines = [ln for ln in text.split("\n") if ln]
        check(status == 2 and len(lines) == 1 and
              "GDB_PORT='70000'" in lines[0],
              f"--port 70000: status {status}, output {lines}")

    def case_loader_debug_file(self, name):
        shipped = os.path.join(self.build, "loader", "BOOTX64.EFI")
        debug = shipped + ".debug"
        with open(shipped, "rb") as f:
            a = pe.Pe(f.read())
        with open(debug, "rb") as f:
            raw = f.read()
        b = pe.Pe(raw)
        check(pe.same_code(a, b) is None,
              f"BOOTX64.EFI.debug: {pe.same_code(a, b)}")
        check(a.image_base == 0x400000, f"BOOTX64.EFI is linked at "
              f"{a.image_base:#x}, not 0x400000 (tools/gdb/symbols.py)")
        check(any(s.name == ".debug_info" for s in b.sections) and
              not any(s.name.startswith(".debug") for s in a.sections),
              "the DWARF is not in the debug file only")
        # The check must catch a debug file whose code differs.
        text = b.section(".text")
        bad = bytearray(raw)
        bad[text.raw_off + 16] ^= 0xFF
        why = pe.same_code(a, pe.Pe(bytes(bad)))
        check(why == "section .text: different bytes",
              f"a changed .text byte gave {why!r}")

    def case_x86paging(self, name):
        status, text = self.bounded(name, [
            sys.executable, os.path.join(HERE, "test_x86paging.py")],
            SHORT_TIMEOUT, self.env(), "test_x86paging.py")
        check(status == 0, "test_x86paging.py: " +
              " / ".join(ln for ln in text.split("\n") if "FAIL" in ln))


CASES = ["x86paging", "loader-debug-file", "not-connected", "bad-port",
         "port-taken", "kvm-message", "pvh", "pvh-fault", "ovmf",
         "ovmf-low-memory"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("cases", nargs="*")
    o = ap.parse_args()
    o.build, o.results, o.work = (os.path.abspath(o.build),
                                  os.path.abspath(o.results),
                                  os.path.abspath(o.work))
    os.makedirs(o.results, exist_ok=True)
    r = Runner(o)
    chosen = o.cases or CASES
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        print(f"debug tests: unknown case {unknown[0]} (cases: "
              f"{' '.join(CASES)})")
        print("0 passed, 1 failed")
        return 1
    start, passed, failed = time.time(), 0, 0
    for c in chosen:
        t = time.time()
        try:
            getattr(r, "case_" + c.replace("-", "_"))(c)
            passed += 1
            print(f"PASS {c} ({time.time() - t:.1f}s)", flush=True)
        except Fail as e:
            failed += 1
            print(f"FAIL {c}: {e}", flush=True)
    print(f"debug tests: {time.time() - start:.0f}s wall time")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
