"""gdb commands on the live page tables: ptdump, vtop, pte.

Each reads the tables from physical memory (guest.PhysMem), so it works
whatever CR3 maps now: the firmware's tables (large identity maps), the
loader's copy of them with the kernel's segments added, the PVH entry's
tables, and the kernel's own. Output uses the kernel's formats
(x86paging), so a gdb `ptdump` can be compared with the kernel's
`ptdump` line for line and a `vtop` with a #PF dump's walk.
"""

import gdb

import guest
import symbols
import x86paging as xp
from guest import DebugError


def run_command(name, fn, arg):
    """Runs fn(argv); any failure becomes one `name: ...` line (a
    gdb.GdbError, which gdb prints without a traceback)."""
    try:
        fn(gdb.string_to_argv(arg))
    except DebugError as e:
        raise gdb.GdbError(f"{name}: {e}") from None
    except gdb.GdbError:
        raise
    except gdb.error as e:
        raise gdb.GdbError(f"{name}: {e}") from None
    except Exception as e:  # a bug here must still be one line
        raise gdb.GdbError(f"{name}: internal error: {type(e).__name__}: "
                           f"{e}") from None


def out(line):
    gdb.write(line + "\n")


class Context:
    """What one command needs: CR3 (given or live), RAM, PAT, limits."""

    def __init__(self, cr3_text):
        guest.require_stopped()
        self.phys_bits, self.page1g = guest.cpu_limits(symbols.in_loader())
        self.pat, self.pat_source = guest.current_pat()
        if cr3_text is None:
            self.cr3, self.cr3_source = guest.live_cr3(), "live"
        else:
            self.cr3 = guest.eval_address(cr3_text, "CR3")
            self.cr3_source = "given"
        self.nx = guest.nx_enabled()
        self.ram = guest.Ram()
        self.pml4 = guest.check_cr3(self.cr3, self.ram, self.phys_bits)

    def check(self, level, e):
        return xp.entry_check(level, e, self.nx, self.phys_bits, self.page1g)


def parse_flags(argv, allowed):
    flags = {a for a in argv if a.startswith("-") and len(a) > 1 and
             not a[1].isdigit()}
    bad = flags - set(allowed)
    if bad:
        raise DebugError(f"unknown option {sorted(bad)[0]} (try help)")
    return flags, [a for a in argv if a not in flags]


class Ptdump(gdb.Command):
    """Print the page tables as merged ranges, in the kernel's format.
Usage: ptdump [-v] [CR3]

CR3 is a gdb expression (default: the CPU's CR3 now). Lines are exactly
those the kernel prints with `ptdump` on its command line: virtual range,
physical start, size, leaf size, permissions as the CPU sees them, memory
type, global. Memory types are decoded through the PAT the kernel
programmed (QEMU exposes no IA32_PAT; before the kernel runs, the
power-on PAT). -v first says which CR3 and which PAT were used.
Tables are read from physical memory, so any CR3 can be dumped."""

    def __init__(self):
        super().__init__("ptdump", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        run_command("ptdump", self.dump, arg)

    def dump(self, argv):
        flags, args = parse_flags(argv, {"-v"})
        if len(args) > 1:
            raise DebugError("usage: ptdump [-v] [CR3]")
        ctx = Context(args[0] if args else None)
        with guest.PhysMem() as mem:
            tables = guest.Tables(mem, ctx.ram)
            lines = xp.ptdump_lines(tables, ctx.pml4, ctx.pat)
        if "-v" in flags:
            out(f"ptdump: CR3 {ctx.cr3:#x} ({ctx.cr3_source}), PAT "
                f"{ctx.pat:#018x} ({ctx.pat_source})")
        for line in lines:
            out(line)
        for phys in tables.bad:
            out(f"ptdump: warning: a table pointer leads to {phys:#x}, "
                "which is not RAM: read as empty")


def walk(argv, usage):
    """Parses ADDR [CR3] and walks it. Returns (va, ctx, walk)."""
    if len(argv) not in (1, 2):
        raise DebugError(usage)
    va = guest.eval_address(argv[0])
    if not xp.va_canonical(va):
        raise DebugError(f"{va:#x} is not canonical (bits 63:47 must all "
                         "equal bit 47): no table maps it, and the CPU "
                         "raises #GP (or #SS) for it, not #PF")
    ctx = Context(argv[1] if len(argv) > 1 else None)
    with guest.PhysMem() as mem:
        w = xp.translate(guest.Tables(mem, ctx.ram), ctx.pml4, va, ctx.check)
    return va, ctx, w


def stop_text(va, w):
    last = w.steps[-1] if w.steps else None
    where = (f"{xp.level_name(last.level)}[{xp.pt_index(va, last.level)}]"
             if last else "PML4")
    if w.stop == "not present":
        return f"not mapped: the walk stops at {where} (not present)"
    if w.stop == "reserved":
        return (f"the walk stops at {where}: {w.why} (the CPU raises #PF "
                "with the RSVD bit for it)")
    return f"the walk stops after {where}: {w.why}"


def leaf_text(w, ctx):
    e = w.steps[-1].entry
    mtype = xp.memtype(ctx.pat, w.leaf_level, e)
    return " ".join(xp.flag_text(w.effective, e & xp.SHOWN_BITS,
                                 mtype).split())


class Vtop(gdb.Command):
    """Translate a virtual address through the page tables, level by level.
Usage: vtop ADDR [CR3]

ADDR and CR3 are gdb expressions (CR3 default: the CPU's CR3 now). Each
level's entry is printed as the kernel's #PF dump prints its walk
(table, index, the entry's physical address, its value, its bits), then
where the walk ends: the physical address and the leaf's size and
permissions, or the level where it stops (not present, reserved bits
set, a table outside RAM)."""

    def __init__(self):
        super().__init__("vtop", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        run_command("vtop", self.vtop, arg)

    def vtop(self, argv):
        va, ctx, w = walk(argv, "usage: vtop ADDR [CR3]")
        out(f"vtop: {va:#x} through CR3 {ctx.cr3:#x}")
        for s in w.steps:
            out(xp.walk_line(s.level, va, s.table, s.entry, ctx.pat))
        if w.stop == "leaf":
            out(f"vtop: {va:#x} -> {w.pa:#x} "
                f"({xp.page_name(xp.pt_size(w.leaf_level))} leaf, "
                f"{leaf_text(w, ctx)})")
        else:
            out(f"vtop: {va:#x}: {stop_text(va, w)}")


class Pte(gdb.Command):
    """Print the leaf entry that maps an address, decoded.
Usage: pte ADDR [CR3]

The entry's level, index and physical address, its value, its bits in
the kernel's words, the frame and page size, the PAT index its PAT/PCD/PWT
bits select and the memory type that gives, and the permissions the CPU
applies (the whole path's W, U and NX)."""

    def __init__(self):
        super().__init__("pte", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        run_command("pte", self.pte, arg)

    def pte(self, argv):
        va, ctx, w = walk(argv, "usage: pte ADDR [CR3]")
        if w.stop != "leaf":
            out(f"pte: {va:#x}: no leaf maps it: {stop_text(va, w)}")
            return
        s = w.steps[-1]
        lvl, e = s.level, s.entry
        idx = xp.pt_index(va, lvl)
        pat_bit = xp.PTE_PS if lvl == xp.PT_L1 else xp.PTE_PAT_LARGE
        out(f"pte: {va:#x}: {xp.level_name(lvl)}[{idx}] at "
            f"{s.table + 8 * idx:#x}: {e:#018x}")
        out("pte: {}; frame {:#x}, {}; PAT index {} (PAT {} PCD {} PWT {}) "
            "-> {}; effective {}".format(
                xp.entry_text(lvl, e, ctx.pat),
                xp.entry_addr(lvl, e), xp.fmt_size(xp.pt_size(lvl)),
                xp.pat_index(lvl, e), int(bool(e & pat_bit)),
                int(bool(e & xp.PTE_PCD)), int(bool(e & xp.PTE_PWT)),
                xp.memtype_name(xp.memtype(ctx.pat, lvl, e)),
                leaf_text(w, ctx)))


def register():
    Ptdump()
    Vtop()
    Pte()
