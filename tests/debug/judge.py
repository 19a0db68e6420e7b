"""What the debug suite requires of a gdb session (tests/debug/run.py
runs the sessions, tests/debug/session.py records them): each judge_*
function raises Fail naming the first thing that differs from the
kernel's own lines, the sources or the loader's state."""

import json
import os
import re

import x86paging as xp

DMAP_BASE = 0xFFFF800000000000
IBI_SYST = 0x5453595320494249  # EFI_SYSTEM_TABLE_SIGNATURE


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def serial_lines(path):
    with open(path, "rb") as f:
        text = f.read().decode("latin-1")
    text = re.sub(r"\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][0-9A-Za-z]", "", text)
    return [ln.rstrip("\r") for ln in text.replace("\r\n", "\n").split("\n")]


def prefixed(lines, prefix):
    return [ln for ln in lines if ln.startswith(prefix)]


class Session:
    """One gdb session's record (session.py's JSON) and serial log."""

    def __init__(self, path, serial):
        with open(path) as f:
            self.rec = json.load(f)
        self.serial = serial_lines(serial) if os.path.exists(serial) else []

    def out(self, key):
        c = self.rec["commands"].get(key)
        check(c is not None, f"`{key}` was not run")
        check(c["error"] is None, f"`{c['cmd']}` failed: {c['error']}")
        return c["out"].rstrip("\n").split("\n")

    def error(self, key):
        c = self.rec["commands"].get(key)
        check(c is not None, f"`{key}` was not run")
        check(c["error"] is not None,
              f"`{c['cmd']}` printed no error: {c['out'].strip()!r}")
        return c["error"]

    def stop(self, key):
        s = self.rec["stops"].get(key)
        check(s is not None, f"never stopped at {key}")
        return s


def kernel_segments(serial):
    """(virt, phys, size, perms) of each `kernel: segment N:` line."""
    segs = []
    for ln in prefixed(serial, "kernel: segment "):
        m = re.match(r"kernel: segment \d+: 0x([0-9a-f]+) at phys "
                     r"0x([0-9a-f]+), (\d+) KiB, (\S+)$", ln)
        check(m, f"unexpected kernel line {ln!r}")
        segs.append((int(m.group(1), 16), int(m.group(2), 16),
                      int(m.group(3)) << 10, m.group(4)))
    check(segs, "the kernel printed no segment lines")
    return segs


def vtop_result(lines):
    return lines[-1] if lines else ""


def judge_kernel(s):
    """The comparisons at kernel_ready, common to both boots."""
    check(s.stop("kernel_ready")["function"] == "kernel_ready",
          "the kernel_ready stop is in another function")
    mine = s.out("ptdump")
    theirs = prefixed(s.serial, "ptdump: ")
    check(len(theirs) > 2, "the kernel printed no ptdump")
    if mine != theirs:
        diff = [f"gdb {a!r} kernel {b!r}" for a, b in zip(mine, theirs)
                if a != b][:2]
        raise Fail(f"gdb's ptdump ({len(mine)} lines) differs from the "
                   f"kernel's ({len(theirs)} lines): {diff or 'lengths'}")
    segs = kernel_segments(s.serial)
    virt, phys = segs[0][0], segs[0][1]
    kmain = s.rec["values"]["kmain"]
    want = phys + (kmain - virt)
    got = vtop_result(s.out("vtop-text"))
    check(got == f"vtop: {kmain:#x} -> {want:#x} (4K leaf, r-x WB global)",
          f"vtop kmain: {got!r}, expected {want:#x} (segment 0 at phys "
          f"{phys:#x} + offset {kmain - virt:#x})")
    bi = s.rec["values"]["bootinfo-phys"]
    check(bi is not None, "the kernel printed no `boot info at` line")
    got = vtop_result(s.out("vtop-dmap"))
    # Read-only when the boot info shares the image's frames (PVH).
    check(re.fullmatch(rf"vtop: {DMAP_BASE + bi:#x} -> {bi:#x} \((4K|2M|1G) "
                       r"leaf, r[w-]- WB global\)", got),
          f"vtop of the direct map's {DMAP_BASE + bi:#x}: {got!r}, "
          f"expected {bi:#x}")
    guard = s.rec["values"]["guard"]
    check(guard is not None, "the kernel printed no guard page line")
    got = vtop_result(s.out("vtop-guard"))
    idx = xp.pt_index(guard, 1)
    check(got == f"vtop: {guard:#x}: not mapped: the walk stops at "
          f"PT[{idx}] (not present)", f"vtop of the guard page: {got!r}")
    got = vtop_result(s.out("vtop-low"))
    check(got == "vtop: 0x1000: not mapped: the walk stops at PML4[0] (not "
          "present)", f"vtop 0x1000: {got!r}")
    walk = s.out("vtop-text")[1:-1]
    check(len(walk) == 4 and [w.split("[")[0].strip() for w in walk] ==
          ["PML4", "PDPT", "PD", "PT"], f"vtop kmain's walk: {walk}")
    pte = s.out("pte-text")
    check(len(pte) == 2 and f"frame {phys + ((kmain - virt) & ~0xFFF):#x}"
          in pte[1], f"pte kmain: {pte}")
    judge_bootinfo(s, segs)


def judge_bootinfo(s, segs):
    lines = s.out("bootinfo")
    body = [ln[len("bootinfo: "):] for ln in lines]
    check(any(b.startswith('magic 0x4f464e49544f4f42 ("BOOTINFO"), version ')
              for b in body), f"bootinfo: no magic/version line in {body}")
    mine = [b for b in body if b.startswith("segment ")]
    theirs = [ln[len("kernel: "):] for ln in
              prefixed(s.serial, "kernel: segment ")]
    check(mine == theirs, f"bootinfo's segments {mine} against the "
          f"kernel's {theirs}")
    kmap = [ln[len("kernel: "):] for ln in
            prefixed(s.serial, "kernel: memory map: ")]
    check(kmap and kmap[0] in body, f"bootinfo's memory map line against "
          f"the kernel's {kmap}")
    kcmd = [ln[len("kernel: "):] for ln in
            prefixed(s.serial, "kernel: command line: ")]
    check(kcmd and kcmd[0] in body, f"bootinfo's command line against "
          f"the kernel's {kcmd}")


def judge_errors(s):
    """Each refusal is the command's own one line, no traceback."""
    want = {
        "bad-noncanonical": "vtop: 0x800000000000 is not canonical",
        "bad-cr3-reserved": "ptdump: CR3 0xfff0000000000000 has reserved "
                            "bits set",
        "bad-cr3-not-ram": "ptdump: CR3 0x7ff00000: the PML4 at 0x7ff00000 "
                           "is not RAM",
        "bad-vtop-usage": "vtop: usage: vtop ADDR [CR3]",
        "bad-symbol": "vtop: address `no_such_symbol`: No symbol",
        "bad-bootinfo-addr": "bootinfo: no boot info at 0x1000: magic",
        "bad-pte-noncanonical": "pte: 0x123456789abcdef is not canonical",
        "bad-option": "ptdump: unknown option -x",
    }
    for key, start in want.items():
        e = s.error(key)
        check(e.startswith(start) and "\n" not in e.strip() and
              "Traceback" not in e, f"`{key}`: {e!r}, expected {start!r}")


def judge_broken(s):
    lines = s.out("broken-ptdump")
    check("ptdump: warning: a table pointer leads to 0x7ff00000, which is "
          "not RAM: read as empty" in lines,
          f"ptdump with a PML4 entry outside RAM: {lines[-2:]}")
    got = vtop_result(s.out("broken-not-ram"))
    check(got == "vtop: 0xffff960000000000: the walk stops after PML4[300]:"
          " the PDPT at 0x7ff00000 is not RAM", f"vtop: {got!r}")
    got = vtop_result(s.out("broken-reserved"))
    check(got == "vtop: 0xffff970000000000: the walk stops at PML4[302]: PS "
          "set in a PML4 entry (reserved bit 7) (the CPU raises #PF with "
          "the RSVD bit for it)", f"vtop: {got!r}")


def judge_pvh(s):
    lines = s.out("ptdump-pvh-entry")
    # pvh.S: [0, 1 GiB) identity and the kernel's 1 GiB at -2 GiB, 2 MiB
    # leaves, before the kernel's own tables exist.
    check(any(re.match(r"ptdump: 0000000000000000-0000000040000000 -> "
                       r"0000000000000000 +1 GiB 2M ", ln) for ln in lines),
          f"PVH entry tables: no 1 GiB identity map in {lines}")
    judge_kernel(s)
    judge_errors(s)
    judge_broken(s)


def parse_ptdump(lines):
    runs = []
    for ln in lines[1:-1]:
        m = re.match(r"ptdump: ([0-9a-f]{16})-([0-9a-f]{16}) -> ([0-9a-f]{16})"
                     r" +(\d+ \S+) (4K|2M|1G) (\S+) ", ln)
        check(m, f"not a ptdump line: {ln!r}")
        runs.append((int(m.group(1), 16), int(m.group(2), 16),
                     int(m.group(3), 16), m.group(5), m.group(6)))
    return runs


def judge_ovmf(s, paging_line, efi_line):
    st = s.stop("efi_main")
    check((st["function"], st["file"], st["line"]) ==
          ("efi_main", "loader/main.c", efi_line),
          f"break efi_main stopped at {st}, expected loader/main.c:{efi_line}")
    check(s.rec["values"]["st-signature"] == IBI_SYST,
          "at efi_main, st->Hdr.Signature is "
          f"{s.rec['values']['st-signature']:#x}, not \"IBI SYST\"")
    fw = parse_ptdump(s.out("ptdump-firmware"))
    check(fw and all(va == pa and va < DMAP_BASE for va, _, pa, _, _ in fw),
          "the firmware's tables are not an identity map of the lower half")
    check(fw[0][0] == 0 and all(a[1] == b[0] for a, b in zip(fw, fw[1:]))
          and fw[-1][1] >= 256 << 20,
          "the firmware's identity map has holes or ends below the RAM")

    st = s.stop("paging")
    check((st["function"], st["file"], st["line"]) ==
          ("paging_activate", "loader/paging.c", paging_line),
          f"the paging.c breakpoint stopped at {st}, expected "
          f"loader/paging.c:{paging_line}")
    check(st["cr3"] & ~0xFFF == s.rec["values"]["pml4"],
          f"CR3 {st['cr3']:#x} is not the loader's copy "
          f"{s.rec['values']['pml4']:#x}")
    e = s.error("bootinfo-loader")
    check(e.startswith("bootinfo: the loader has not allocated the boot "
                       "info yet"), f"bootinfo in paging_activate: {e!r}")
    loader = s.out("ptdump-loader")
    firmware = s.out("ptdump-fw-cr3")
    low = [ln for ln in loader[1:-1] if ln[8] == "0"]
    check(low == firmware[1:-1], "the lower half of the loader's tables is "
          "not the firmware's identity map (`ptdump FW_CR3`)")
    high = [r for r in parse_ptdump(loader) if r[0] >= DMAP_BASE]
    want = []
    for seg in s.rec["values"]["segments"]:
        f = seg["flags"]
        x = "x" if f & 1 or not s.rec["values"]["nx"] else "-"
        want.append((seg["virt"], seg["virt"] + seg["size"], seg["phys"],
                     "4K", "r" + ("w" if f & 2 else "-") + x))
    check(high == want, f"the loader's higher half {high} is not the "
          f"kernel's segments {want}")
    judge_kernel(s)


def source_line(root, path, pattern, after=None):
    """The number of the first line of root/path matching pattern (after
    the first line matching `after`)."""
    with open(os.path.join(root, path)) as f:
        lines = f.read().split("\n")
    start = 0
    if after:
        start = next(i for i, ln in enumerate(lines) if re.search(after, ln))
    for i in range(start, len(lines)):
        if re.search(pattern, lines[i]):
            return i + 1
    raise Fail(f"{path}: no line matches {pattern!r}")
