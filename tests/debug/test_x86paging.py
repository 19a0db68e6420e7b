#!/usr/bin/env python3
"""Host tests of tools/gdb/x86paging.py, the gdb side's copy of the
kernel's table walk, merge and line formats: tables built here, outputs
worked out by hand from kernel/mm/ptdump.c and common/lib/fmt.c, and the
grouped walk against a plain leaf-by-leaf merge (ptdump.c's own loop,
written out below) over random tables.

Prints "PASS name" or "FAIL name: why" per test and "N passed, M failed".
"""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "tools", "gdb"))
sys.dont_write_bytecode = True
import x86paging as xp  # noqa: E402

P, W, U, PWT, PCD, A, D, PS, G = (xp.PTE_P, xp.PTE_W, xp.PTE_U, xp.PTE_PWT,
                                  xp.PTE_PCD, xp.PTE_A, xp.PTE_D, xp.PTE_PS,
                                  xp.PTE_G)
NX = xp.PTE_NX


class Mem:
    """Table pages by physical address; new ones from 0x100000 up."""

    def __init__(self):
        self.t, self.next = {}, 0x100000

    def table(self):
        phys, self.next = self.next, self.next + 0x1000
        self.t[phys] = [0] * 512
        return phys

    def read(self, phys):
        return self.t.get(phys)

    def map(self, root, va, pa, level, bits):
        """One leaf at level for va, tables added as needed (P|W)."""
        table = root
        for lv in (4, 3, 2, 1):
            i = xp.pt_index(va, lv)
            if lv == level:
                leaf = PS if level in (2, 3) else 0
                self.t[table][i] = pa | bits | P | leaf
                return
            if not self.t[table][i] & P:
                self.t[table][i] = self.table() | P | W
            table = self.t[table][i] & xp.PTE_ADDR_MAX_MASK


def check(cond, why):
    if not cond:
        raise AssertionError(why)


def test_fmt_size():
    for n, want in [(0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"),
                    (1536, "1 KiB"), (0x9F000, "636 KiB"),
                    (1 << 20, "1 MiB"), ((1 << 30) - 1, "1023 MiB"),
                    (1 << 40, "1 TiB"), ((1 << 64) - 1, "15 EiB")]:
        check(xp.fmt_size(n) == want, f"fmt_size({n}) = "
              f"{xp.fmt_size(n)!r}, want {want!r}")


def kernel_like():
    """A small kernel-like layout: a direct map of 2 MiB + 8 KiB (one
    2M leaf, then two 4K leaves that continue it physically but are
    another leaf size), a WC framebuffer page, text and data pages."""
    m = Mem()
    root = m.table()
    dmap = 0xFFFF800000000000
    m.map(root, dmap, 0, 2, W | G | NX)
    for i in range(2):
        m.map(root, dmap + 0x200000 + i * 0x1000, 0x200000 + i * 0x1000, 1,
              W | G | NX | A | D)
    m.map(root, 0xFFFFE00000000000, 0xC0000000, 1, W | G | NX | PWT)
    m.map(root, 0xFFFFFFFF80100000, 0x100000, 1, G | A)
    m.map(root, 0xFFFFFFFF80101000, 0x101000, 1, G)
    m.map(root, 0xFFFFFFFF80102000, 0x200000, 1, W | G | NX | U)
    return m, root


def test_lines():
    m, root = kernel_like()
    got = xp.ptdump_lines(m.read, root, xp.PAT_KERNEL)
    want = [
        xp.HEADER,
        "ptdump: ffff800000000000-ffff800000200000 -> 0000000000000000"
        "    2 MiB 2M rw- WB  global",
        "ptdump: ffff800000200000-ffff800000202000 -> 0000000000200000"
        "    8 KiB 4K rw- WB  global",
        "ptdump: ffffe00000000000-ffffe00000001000 -> 00000000c0000000"
        "    4 KiB 4K rw- WC  global",
        "ptdump: ffffffff80100000-ffffffff80102000 -> 0000000000100000"
        "    8 KiB 4K r-x WB  global",
        # U is effective only when every level has it; the tables here
        # have no U, so the page is not a user page.
        "ptdump: ffffffff80102000-ffffffff80103000 -> 0000000000200000"
        "    4 KiB 4K rw- WB  global",
        "ptdump: 7 leaves",
    ]
    check(got == want, "\n".join(["got:"] + got + ["want:"] + want))


def test_user_and_memtypes():
    m = Mem()
    root = m.table()
    va = 0x400000
    m.map(root, va, 0x5000, 1, W | U | PCD | PWT)
    # Give the path U so the leaf's U shows.
    t = root
    for lv in (4, 3, 2):
        i = xp.pt_index(va, lv)
        m.t[t][i] |= U
        t = m.t[t][i] & xp.PTE_ADDR_MAX_MASK
    m.map(root, va + 0x1000, 0x6000, 1, PS)  # PAT bit of a 4K leaf
    got = xp.ptdump_lines(m.read, root, xp.PAT_KERNEL)[1:3]
    want = [
        "ptdump: 0000000000400000-0000000000401000 -> 0000000000005000"
        "    4 KiB 4K rwx UC  user ",
        "ptdump: 0000000000401000-0000000000402000 -> 0000000000006000"
        "    4 KiB 4K r-x WB  ",
    ]
    check(got == want, f"got {got}, want {want}")
    # Under the power-on PAT, index 1 (PWT) is WT, index 3 UC.
    e = PWT | P
    check(xp.memtype_name(xp.memtype(xp.PAT_POWER_ON, 1, e)) == "WT" and
          xp.memtype_name(xp.memtype(xp.PAT_KERNEL, 1, e)) == "WC",
          "PWT under the two PATs")
    check(xp.pat_index(2, xp.PTE_PAT_LARGE | P) == 4 and
          xp.pat_index(1, PS | P) == 4, "the PAT bit of large and 4K leaves")


def test_top_of_memory():
    """A run that ends at 2^64 prints its end as 0, as C's %016lx of
    the wrapped sum does."""
    m = Mem()
    root = m.table()
    m.map(root, 0xFFFFFFFFFFE00000, 0x40000000, 2, W)
    got = xp.ptdump_lines(m.read, root, xp.PAT_KERNEL)[1]
    check(got.startswith("ptdump: ffffffffffe00000-0000000000000000 -> "),
          got)


def test_walk_lines():
    """The #PF dump's words (kernel/mm/ptdump.c entry_text), as a boot
    of this kernel printed them."""
    pat = xp.PAT_KERNEL
    va = 0xFFFFFFFF801001A0
    check(xp.walk_line(4, va, 0x159000, 0x15D023, pat) ==
          "  PML4[511] at 0000000000159ff8: 000000000015d023 table W A",
          xp.walk_line(4, va, 0x159000, 0x15D023, pat))
    check(xp.walk_line(1, va, 0x15F000, 0x100121, pat) ==
          "  PT  [256] at 000000000015f800: 0000000000100121 leaf RO G A WB",
          xp.walk_line(1, va, 0x15F000, 0x100121, pat))
    check(xp.entry_text(2, 0, pat) == "not present", "not present")
    check(xp.entry_text(2, 0x80000000002000E7 | NX, pat) ==
          "leaf W U NX A D WB", xp.entry_text(2, 0x80000000002000E7, pat))


def walk_of(m, root, va, nx=True, bits=40, page1g=None):
    return xp.translate(m.read, root, va,
                        lambda lv, e: xp.entry_check(lv, e, nx, bits, page1g))


def test_translate():
    m, root = kernel_like()
    w = walk_of(m, root, 0xFFFFFFFF80100123)
    check(w.stop == "leaf" and w.pa == 0x100123 and w.leaf_level == 1 and
          len(w.steps) == 4 and not w.effective & W, "text page")
    w = walk_of(m, root, 0xFFFF800000012345)
    check(w.stop == "leaf" and w.pa == 0x12345 and w.leaf_level == 2 and
          len(w.steps) == 3, "2M leaf")
    w = walk_of(m, root, 0x1000)
    check(w.stop == "not present" and len(w.steps) == 1, "lower half")
    w = walk_of(m, root, 0xFFFFFFFF80104000)
    check(w.stop == "not present" and w.steps[-1].level == 1, "PT hole")
    # NX without EFER.NXE is a reserved bit.
    w = walk_of(m, root, 0xFFFF800000000000, nx=False)
    check(w.stop == "reserved" and "EFER.NXE" in w.why, w.why)
    # Reserved bits of a 2M leaf, an address above MAXPHYADDR, PS in a
    # PML4 entry, a 1 GiB leaf without Page1GB, a table outside memory.
    m2 = Mem()
    r2 = m2.table()
    m2.map(r2, 0x200000, 0x200000 | 0x2000, 2, W)
    w = walk_of(m2, r2, 0x200000)
    check(w.stop == "reserved" and w.why ==
          "reserved bits 20:13 set in a 2 MiB leaf", w.why)
    m2.map(r2, 0x400000, 1 << 45, 2, W)
    w = walk_of(m2, r2, 0x400000)
    check(w.stop == "reserved" and "MAXPHYADDR" in w.why, w.why)
    m2.t[r2][5] = 0x1000 | P | PS
    w = walk_of(m2, r2, 5 << 39)
    check(w.stop == "reserved" and w.why ==
          "PS set in a PML4 entry (reserved bit 7)", w.why)
    m2.map(r2, 1 << 30, 1 << 30, 3, W)
    w = walk_of(m2, r2, 1 << 30, page1g=False)
    check(w.stop == "reserved" and "Page1GB" in w.why, w.why)
    w = walk_of(m2, r2, 1 << 30, page1g=None)
    check(w.stop == "leaf" and w.pa == 1 << 30, "1G leaf, Page1GB unknown")
    # A table's count of present entries in its link (PTE_COUNTED, bits
    # 52-61) is no reserved bit; bits 52-62 in a leaf are refused.
    m3 = Mem()
    r3 = m3.table()
    m3.map(r3, 0x600000, 0x800000, 1, W)
    for st in walk_of(m3, r3, 0x600000).steps[:-1]:  # every link
        m3.t[st.table][xp.pt_index(0x600000, st.level)] |= \
            xp.PTE_COUNTED | 1 << xp.PTE_COUNT_SHIFT
    w = walk_of(m3, r3, 0x600000)
    check(w.stop == "leaf" and w.pa == 0x800000, "a counted link")
    check(xp.entry_check(1, 0x1000 | P | 1 << 52, True, 40, None) ==
          "bits 52-62 set (unused by this code)", "bit 52 in a leaf")
    check("without PTE_COUNTED" in
          (xp.entry_check(2, 0x1000 | P | 1 << 52, True, 40, None) or ""),
          "a count without its flag")
    check("above 512" in (xp.entry_check(
        3, 0x1000 | P | xp.PTE_COUNTED | 513 << 52, True, 40, None) or ""),
        "a count above 512")
    m2.t[r2][6] = 0x7FF00000 | P | W
    w = walk_of(m2, r2, 6 << 39)
    check(w.stop == "unreadable" and w.why ==
          "the PDPT at 0x7ff00000 is not RAM", w.why)


def reference_lines(read, root, pat):
    """ptdump_print as ptdump.c writes it: one leaf at a time."""
    leaves = []

    def walk(table, level, base, eff):
        for i, e in enumerate(read(table) or []):
            if not e & P:
                continue
            va = xp.canonical(base + i * xp.pt_size(level))
            here = (eff & e & (W | U)) | ((eff | e) & NX)
            if xp.is_leaf(level, e):
                leaves.append((va, xp.pt_size(level), xp.entry_addr(level, e),
                               e, here, level))
            else:
                walk(e & xp.PTE_ADDR_MAX_MASK, level - 1, va, here)
    walk(root, 4, 0, W | U)
    lines, cur = [xp.HEADER], None
    for va, size, pa, e, eff, level in leaves:
        flags, mt = e & xp.SHOWN_BITS, xp.memtype(pat, level, e)
        if cur and cur[3] == size and cur[4] == flags and cur[5] == eff \
                and cur[6] == mt and (cur[0] + cur[2]) % (1 << 64) == va \
                and cur[1] + cur[2] == pa:
            cur[2] += size
            continue
        if cur:
            lines.append(line_of(cur))
        cur = [va, pa, size, size, flags, eff, mt]
    if cur:
        lines.append(line_of(cur))
    return lines + [f"ptdump: {len(leaves)} leaves"]


def line_of(c):
    va, pa, size, page, flags, eff, mt = c
    return "ptdump: %016x-%016x -> %016x %8s %s %s" % (
        va, (va + size) % (1 << 64), pa, xp.fmt_size(size),
        {1 << 30: "1G", 1 << 21: "2M"}.get(page, "4K"),
        "r%s%s %-3s %s%s" % ("w" if eff & W else "-", "-" if eff & NX else "x",
                             xp.memtype_name(mt), "user " if eff & U else "",
                             "global" if flags & G else ""))


def test_grouping_random():
    rng = random.Random(9)
    for round_ in range(300):
        m = Mem()
        root = m.table()
        va = rng.choice([0, 0xFFFF800000000000, 0x7FFFFFE00000])
        pa = rng.randrange(0, 1 << 30, 0x1000)
        bits = W | G | NX
        for _ in range(rng.randrange(1, 60)):
            level = rng.choice([1, 1, 1, 2])
            size = xp.pt_size(level)
            va = (va + size - 1) & ~(size - 1)
            pa = (pa + size - 1) & ~(size - 1)
            if rng.random() < 0.2:
                bits = rng.choice([W, 0, W | NX, NX | G, W | PWT, PCD | PWT])
            if rng.random() < 0.2:
                pa += size * rng.randrange(1, 3)  # a physical gap
            if rng.random() < 0.1:
                va += size  # a virtual gap
            if not xp.va_canonical(va):
                break
            w = walk_of(m, root, va)
            if w.stop != "not present" or \
                    any(xp.is_leaf(s.level, s.entry) for s in w.steps):
                continue
            if level == 2 and len(w.steps) > 2 and w.steps[-1].level < 2:
                continue
            try:
                m.map(root, va, pa, level, bits)
            except KeyError:
                continue
            va, pa = va + size, pa + size
        for pat in (xp.PAT_KERNEL, xp.PAT_POWER_ON):
            got = xp.ptdump_lines(m.read, root, pat)
            want = reference_lines(m.read, root, pat)
            check(got == want, f"round {round_}: got {got}, want {want}")


def main():
    tests = [(n[5:], f) for n, f in sorted(globals().items())
             if n.startswith("test_") and callable(f)]
    passed = failed = 0
    for name, fn in tests:
        try:
            fn()
            passed += 1
            print(f"PASS {name}")
        except Exception as e:  # a crash is a failure of its own test
            failed += 1
            print(f"FAIL {name}: {e}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
