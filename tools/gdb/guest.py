"""The stopped guest as gdb sees it through QEMU's gdbstub: control
registers, physical memory, which physical ranges are RAM, the PAT, and
values of the kernel's (or the loader's) variables.

Physical memory: QEMU's stub reads guest-physical addresses after
`maint packet Qqemu.PhyMemMode:1`; PhysMem switches that on for one
command and always puts the previous mode back (and drops gdb's memory
cache), so the user's own `x` and `print` keep reading virtual memory.

Every failure a user can cause or meet (not connected, not QEMU, paging
off, a bad address) is a DebugError with one sentence; the commands turn
it into one line, never a Python traceback.
"""

import re
import struct

import gdb

import x86paging as xp

U64 = xp.U64


class DebugError(Exception):
    """A message for the user, printed as one line by the command."""


def connected():
    try:
        return gdb.selected_inferior().pid != 0 and \
            gdb.selected_thread() is not None
    except gdb.error:
        return False


def require_stopped():
    if not connected():
        raise DebugError("not connected to QEMU (start it with `make debug` "
                         "or attach with `target remote localhost:PORT`)")
    if gdb.selected_thread().is_running():
        raise DebugError("the guest is running; stop it first (Ctrl-C)")


def register(name):
    """A register as an unsigned 64-bit integer (cr0, cr3, cr4, efer, rip,
    ...); QEMU's x86-64 target description has the control registers."""
    try:
        return int(gdb.selected_frame().read_register(name)) & U64
    except (gdb.error, ValueError) as e:
        raise DebugError(f"cannot read ${name} ({e}); is this QEMU's "
                         "x86-64 gdbstub?") from None


CR0_PG = 1 << 31
CR4_LA57 = 1 << 12
EFER_NXE = 1 << 11
EFER_LMA = 1 << 10


def live_cr3():
    """CR3 when the CPU is in 4-level long-mode paging; a DebugError that
    says which mode it is in otherwise."""
    cr0, cr4, efer = register("cr0"), register("cr4"), register("efer")
    if not cr0 & CR0_PG:
        raise DebugError(f"paging is off (CR0 {cr0:#x} has no PG): the CPU "
                         "uses no page tables now; give a CR3 to read "
                         "tables anyway")
    if not efer & EFER_LMA:
        raise DebugError(f"the CPU is not in long mode (EFER {efer:#x}): "
                         "only 4-level long-mode tables are read")
    if cr4 & CR4_LA57:
        raise DebugError("CR4.LA57 is on (5-level paging): only 4-level "
                         "tables are read")
    return register("cr3")


def check_cr3(cr3, ram, phys_bits):
    """The PML4 address of a CR3 value, after checking its reserved bits
    (63:MAXPHYADDR) and that the PML4 is in RAM."""
    if cr3 >> phys_bits:
        raise DebugError(f"CR3 {cr3:#x} has reserved bits set (bits "
                         f"63:{phys_bits}, at or above MAXPHYADDR "
                         f"{phys_bits})")
    pml4 = cr3 & xp.PTE_ADDR_MAX_MASK
    if not ram.contains(pml4, 4096):
        raise DebugError(f"CR3 {cr3:#x}: the PML4 at {pml4:#x} is not RAM "
                         f"({ram.describe()})")
    return pml4


def nx_enabled():
    return bool(register("efer") & EFER_NXE)


def _packet(text):
    out = gdb.execute(f"maint packet {text}", to_string=True)
    m = re.search(r'received: "(.*)"', out)
    return m.group(1) if m else ""


def _flush_cache():
    try:
        gdb.execute("maint flush dcache", to_string=True)
    except gdb.error:
        pass


class PhysMem:
    """with PhysMem() as mem: mem.read(phys, n) reads guest-physical
    memory; the stub's previous mode is restored on the way out.
    in_stop: called from a breakpoint's stop(), where gdb still counts
    the thread as running."""

    def __init__(self, in_stop=False):
        self.in_stop = in_stop

    def __enter__(self):
        if not self.in_stop:
            require_stopped()
        mode = _packet("qqemu.PhyMemMode")
        if mode not in ("0", "1"):
            raise DebugError("this gdbstub has no physical-memory mode "
                             "(QEMU's qqemu.PhyMemMode); these commands "
                             "need QEMU")
        self.old = mode
        if mode != "1" and _packet("Qqemu.PhyMemMode:1") != "OK":
            raise DebugError("QEMU refused physical-memory mode")
        _flush_cache()
        self.inferior = gdb.selected_inferior()
        return self

    def __exit__(self, *exc):
        if self.old != "1":
            _packet("Qqemu.PhyMemMode:0")
        _flush_cache()
        return False

    def read(self, phys, size):
        try:
            return self.inferior.read_memory(phys, size).tobytes()
        except gdb.MemoryError:
            raise DebugError(f"QEMU could not read physical {phys:#x} "
                             f"({size} bytes)") from None

    def u64(self, phys):
        return int.from_bytes(self.read(phys, 8), "little")


class Ram:
    """The guest's RAM as QEMU's memory tree lists it (`monitor info mtree
    -f`, the flat view of address space "memory"): what a page-table
    pointer may point into."""

    LINE = re.compile(r"^\s*([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, "
                      r"(ram|rom|romd)\): (.*)$")

    def __init__(self):
        try:
            text = gdb.execute("monitor info mtree -f", to_string=True)
        except gdb.error as e:
            raise DebugError(f"QEMU's monitor did not answer `info mtree` "
                             f"({e})") from None
        self.ranges = []
        in_memory = False
        for line in text.replace("\r", "").split("\n"):
            if line.startswith("FlatView"):
                in_memory = False
            elif line.strip() == 'AS "memory", root: system':
                in_memory = True
            elif in_memory:
                m = self.LINE.match(line)
                if m:
                    self.ranges.append((int(m.group(1), 16),
                                        int(m.group(2), 16) + 1))
        self.ranges.sort()
        merged = []
        for lo, hi in self.ranges:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        self.ranges = merged
        if not self.ranges:
            raise DebugError("QEMU's memory tree lists no RAM")

    def contains(self, phys, size):
        return any(lo <= phys and phys + size <= hi for lo, hi in self.ranges)

    def describe(self):
        return "RAM is " + ", ".join(f"{lo:#x}-{hi:#x}"
                                     for lo, hi in self.ranges)


class Tables:
    """read_table for x86paging: each table read once per command; a
    table outside RAM reads as None and is remembered for a warning."""

    def __init__(self, mem, ram):
        self.mem, self.ram, self.cache, self.bad = mem, ram, {}, []

    def __call__(self, phys):
        if phys in self.cache:
            return self.cache[phys]
        if not self.ram.contains(phys, 4096):
            self.bad.append(phys)
            t = None
        else:
            t = struct.unpack("<512Q", self.mem.read(phys, 4096))
        self.cache[phys] = t
        return t


def static_var(name, type_tag=None):
    """A static or global variable of the kernel or the loader by name
    (type_tag: only one whose type is `struct type_tag`), or None."""
    cands = []
    try:
        cands += gdb.lookup_static_symbols(name)
    except (AttributeError, gdb.error):
        pass
    try:
        g = gdb.lookup_global_symbol(name)
        if g:
            cands.append(g)
    except gdb.error:
        pass
    for sym in cands:
        if not sym.is_variable:
            continue
        t = sym.type.strip_typedefs()
        if type_tag and (t.code != gdb.TYPE_CODE_STRUCT or
                         t.tag != type_tag):
            continue
        return sym
    return None


def read_var(sym):
    """sym's value read through the current tables, or None when its
    address is not mapped now (the kernel not loaded yet, say)."""
    try:
        v = sym.value()
        v.fetch_lazy()
        return v
    except (gdb.MemoryError, gdb.error):
        return None


def current_pat():
    """(PAT value, where it came from). QEMU 7.2's gdbstub and monitor
    expose no IA32_PAT, so this is what the kernel's own ptdump uses: the
    value cpu_init_pat wrote and read back (pat_in_effect), read through
    the live tables; while the kernel is not mapped (firmware, loader
    before its switch) the power-on value, which OVMF leaves in place."""
    sym = static_var("pat_in_effect")
    v = read_var(sym) if sym else None
    if v is not None:
        return int(v) & U64, "the kernel's pat_in_effect"
    return xp.PAT_POWER_ON, "power-on value (the kernel is not mapped)"


def cpu_limits(in_loader):
    """(MAXPHYADDR, Page1GB or None) from the kernel's CPUID probe, or the
    loader's while the CPU is in the loader (in_loader: elsewhere that
    memory holds something else); else the architectural 52 bits."""
    sym = static_var("cpu", "cpu_features")
    v = read_var(sym) if sym else None
    if v is None and in_loader:
        sym = static_var("loader", "loader")
        v = read_var(sym) if sym else None
        v = v["cpu"] if v is not None else None
    if v is not None and int(v["maxphyaddr"]):
        return int(v["maxphyaddr"]), bool(v["page1g"])
    return 52, None


def eval_address(text, what="address"):
    """A gdb expression (a number, a symbol, $rsp, &var) as an unsigned
    64-bit address."""
    try:
        v = gdb.parse_and_eval(text)
    except gdb.error as e:
        raise DebugError(f"{what} `{text}`: {e}") from None
    t = v.type.strip_typedefs()
    try:
        if t.code in (gdb.TYPE_CODE_FUNC, gdb.TYPE_CODE_ARRAY):
            v = v.address
        return int(v.cast(gdb.lookup_type("unsigned long long"))) & U64
    except (gdb.error, TypeError, ValueError) as e:
        raise DebugError(f"{what} `{text}` is not a number ({e})") from None
