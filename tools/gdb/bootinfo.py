"""gdb command `bootinfo`: the boot-info struct (common/boot/bootinfo.h)
decoded.

The layout comes from the DWARF of the symbols gdb has (struct
boot_info, struct bi_mem_range, enum mem_type, enum boot_source) through
gdb's type API, never from offsets written here, so the command follows
the struct when its version changes. Lines use the kernel's boot-report
words where the kernel reports the same thing (`segment N: ...`,
`memory map: ...`, `framebuffer: ...`), so the two can be compared.
"""

import gdb

import guest
import symbols
from guest import DebugError
from ptcmds import out, parse_flags, run_command

MAGIC = 0x4F464E49544F4F42  # "BOOTINFO"; the magic is not in the DWARF


def lookup(name):
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        raise DebugError(f"no `{name}` in the symbols gdb has (is "
                         "build/kernel/kernel.elf loaded?)") from None


def enum_names(type_name, prefix):
    """{value: name} of an enum, named as the C code prints them:
    MEM_ACPI_RECLAIM -> acpi-reclaim."""
    names = {}
    for f in lookup(type_name).fields():
        n = f.name[len(prefix):] if f.name.startswith(prefix) else f.name
        names[f.enumval] = n.lower().replace("_", "-")
    return names


def from_phys(mem, phys, type_):
    """A gdb.Value of type_ built from guest-physical memory."""
    return gdb.Value(mem.read(phys, type_.sizeof), type_)


class Source:
    """Where the struct came from, and how to reach its map and command
    line (the kernel's copy keeps its own arrays)."""

    def __init__(self, info, where, mmap, cmdline):
        self.info, self.where, self.mmap, self.cmdline = (info, where, mmap,
                                                          cmdline)


def kernel_copy():
    """The kernel's copy (struct handoff h in kernel/boot/handoff.c), or
    None before kmain copied one."""
    sym = guest.static_var("h", "handoff")
    h = guest.read_var(sym) if sym else None
    if h is None or int(h["info"]["magic"]) != MAGIC:
        return None
    count = int(h["mmap_count"])
    mmap = [h["mmap"][i] for i in range(count)]
    cmdline = c_string(h["cmdline"])
    return Source(h["info"], f"the kernel's copy of the boot info the "
                  f"loader left at {int(h['phys']):#x}", mmap, cmdline)


def c_string(char_array):
    """A NUL-terminated char array's text, bytes kept as they are."""
    raw = bytes(gdb.selected_inferior().read_memory(
        char_array.address, char_array.type.sizeof))
    return raw.split(b"\0", 1)[0].decode("latin-1")


def physical(phys, what):
    """The struct at physical phys, with the map and command line it
    points to."""
    bi_t = lookup("struct boot_info")
    range_t = lookup("struct bi_mem_range")
    with guest.PhysMem() as mem:
        ram = guest.Ram()
        if not ram.contains(phys, bi_t.sizeof):
            raise DebugError(f"{phys:#x} is not RAM ({ram.describe()})")
        info = from_phys(mem, phys, bi_t)
        magic = int(info["magic"])
        if magic != MAGIC:
            raise DebugError(f"no boot info at {phys:#x}: magic "
                             f"{magic:#018x}, expected {MAGIC:#018x} "
                             "(\"BOOTINFO\")")
        count = int(info["mmap_count"])
        at = int(info["mmap_addr"])
        step = int(info["mmap_entry_size"])
        mmap = []
        if step == range_t.sizeof and count <= 4096 and \
                ram.contains(at, count * step):
            mmap = [from_phys(mem, at + i * step, range_t)
                    for i in range(count)]
        cmdline = ""
        clen = int(info["cmdline_len"])
        if clen and ram.contains(int(info["cmdline_addr"]), clen):
            cmdline = mem.read(int(info["cmdline_addr"]),
                               clen).decode("latin-1")
    return Source(info, what, mmap, cmdline)


def loader_struct():
    """The loader's boot info (loader.ho.bi, 0 until handoff_alloc) while
    the loader runs, or None when the CPU is not in the loader's image
    (elsewhere that memory is not the loader's any more, or not yet)."""
    if not symbols.in_loader():
        return None
    sym = guest.static_var("loader", "loader")
    v = guest.read_var(sym) if sym else None
    return int(v["ho"]["bi"]) if v is not None else None


def find(argv):
    if argv:
        phys = guest.eval_address(argv[0])
        return physical(phys, f"the struct at physical {phys:#x}")
    src = kernel_copy()
    if src:
        return src
    bi = loader_struct()
    if bi == 0:
        raise DebugError("the loader has not allocated the boot info yet "
                         "(loader.ho.bi is 0 until handoff_alloc, after "
                         "the page tables)")
    if bi:
        try:
            return physical(bi, f"the loader's boot info at {bi:#x}")
        except DebugError as e:
            raise DebugError(f"the loader's boot info at {bi:#x} is not "
                             f"filled in yet ({e})") from None
    raise DebugError("no boot info here yet: the kernel has not copied one "
                     "and the CPU is not in the loader; give its physical "
                     "address (rdi at the kernel's entry): bootinfo ADDR")


def cycles(n, hz):
    if not hz:
        return f"{n} cycles"
    us = n * 1000000 // hz
    return f"{n} cycles ({us // 1000}.{us % 1000:03d} ms)"


def show(src, all_ranges):
    bi = src.info
    types = enum_names("enum mem_type", "MEM_")
    sources = {k: v.upper() for k, v in
               enum_names("enum boot_source", "BOOT_SOURCE_").items()}
    size = int(bi["size"])
    want = bi.type.sizeof
    out(f"bootinfo: {src.where}")
    out(f"bootinfo: magic {int(bi['magic']):#018x} (\"BOOTINFO\"), version "
        f"{int(bi['version'])}, size {size}" +
        ("" if size == want else f" (these symbols' struct is {want} "
         "bytes: fields may be misread)"))
    source = int(bi["source"])
    out(f"bootinfo: source {sources.get(source, f'unknown {source}')}")
    mmap = src.mmap
    usable = sum(int(r["size"]) for r in mmap
                 if types.get(int(r["type"])) == "usable")
    highest = max((int(r["base"]) + int(r["size"]) for r in mmap), default=0)
    out(f"bootinfo: memory map: {len(mmap)} entries, {usable >> 20} MiB "
        f"usable, highest address {max(highest - 1, 0):#x}")
    totals = {}
    for r in mmap:
        t = types.get(int(r["type"]), f"type-{int(r['type'])}")
        n, b = totals.get(t, (0, 0))
        totals[t] = (n + 1, b + int(r["size"]))
    for t, (n, b) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        out(f"bootinfo:   {t}: {n} range{'s' if n != 1 else ''}, "
            f"{b >> 10} KiB")
    if all_ranges:
        for i, r in enumerate(mmap):
            base, sz = int(r["base"]), int(r["size"])
            out(f"bootinfo:   [{i}] {base:#014x}-{base + sz:#014x} "
                f"{types.get(int(r['type']), '?')}"
                f"{' WB' if int(r['attr']) & 1 else ''}")
    fb = bi["fb"]
    if int(fb["base"]) == 0:
        out("bootinfo: no framebuffer")
    else:
        out(f"bootinfo: framebuffer: {int(fb['width'])}x{int(fb['height'])}"
            f", pitch {int(fb['pitch'])}, base {int(fb['base']):#x}, "
            f"{int(fb['size']) >> 10} KiB, {int(fb['bpp'])} bpp, masks r "
            f"{int(fb['red_mask']):#x} g {int(fb['green_mask']):#x} b "
            f"{int(fb['blue_mask']):#x}")
    out(f"bootinfo: ACPI RSDP {int(bi['rsdp']):#x}, EFI system table "
        f"{int(bi['efi_system_table']):#x}")
    out(f"bootinfo: command line: \"{src.cmdline}\"")
    for i in range(int(bi["segment_count"])):
        if i >= bi["segments"].type.range()[1] + 1:
            out(f"bootinfo: segment_count {int(bi['segment_count'])} is "
                "beyond the array")
            break
        s = bi["segments"][i]
        f = int(s["flags"])
        out("bootinfo: segment {}: {:#x} at phys {:#x}, {} KiB, {}{}{}".format(
            i, int(s["virt"]), int(s["phys"]), int(s["size"]) >> 10,
            "r" if f & 4 else "-", "w" if f & 2 else "-",
            "x" if f & 1 else "-"))
    out(f"bootinfo: boot page tables (PML4) at {int(bi['boot_pml4']):#x}")
    hz = int(bi["tsc_hz"])
    entry, before, jump = (int(bi["tsc_loader_entry"]),
                           int(bi["tsc_before_exit"]), int(bi["tsc_jump"]))
    if entry == 0:
        out("bootinfo: TSC stamps: none (PVH entry, no loader)")
    else:
        out(f"bootinfo: TSC at loader entry {entry}; entry -> before exit "
            f"{cycles(before - entry, hz)}; before exit -> jump "
            f"{cycles(jump - before, hz)}; rate "
            f"{hz // 1000000 if hz else '?'} MHz (loader's estimate)")
    show_phases(bi, entry, hz)
    show_log(bi)


def show_phases(bi, entry, hz):
    """The loader's phases (version 4): each stamp's distance from the one
    before, named from enum bi_phase as the kernel names them."""
    names = enum_names("enum bi_phase", "BI_PHASE_")
    count = int(bi["phase_count"])
    stamps = bi["tsc_phase_end"]
    room = stamps.type.range()[1] + 1
    if count == 0:
        return
    if count > room:
        out(f"bootinfo: phase_count {count} is beyond the array ({room})")
        return
    prev = entry
    for i in range(count):
        end = int(stamps[i])
        name = names.get(i, f"phase {i}")
        if end < prev:
            out(f"bootinfo: loader phase {name}: ends at {end}, before "
                f"the phase before it ({prev})")
            return
        out(f"bootinfo: loader phase {name}: {cycles(end - prev, hz)}")
        prev = end


def show_log(bi):
    """The loader's lines the kernel prints (version 4), as stored."""
    n = int(bi["log_len"])
    room = bi["log"].type.sizeof
    text = bi["log"].string("latin-1", "replace", min(n, room)) if n else ""
    for line in text.splitlines():
        out(f"bootinfo: loader's line: {line}")
    if n > room:
        out(f"bootinfo: log_len {n} is beyond the array ({room})")


class Bootinfo(gdb.Command):
    """Decode the boot-info struct the loader hands the kernel.
Usage: bootinfo [-m] [ADDR]

Without ADDR: the kernel's copy once kmain has taken it, else the
loader's struct while the loader runs. ADDR is a physical address (rdi at
the kernel's entry). Shows the magic, version and size, the boot source,
a memory-map summary (-m: every range), the framebuffer, the ACPI RSDP and
EFI system table, the command line, the kernel's segments (as the kernel
prints them), the boot PML4, the TSC stamps, the loader's phases and the
lines it left for the kernel to print. The layout is read from the DWARF
of the loaded symbols."""

    def __init__(self):
        super().__init__("bootinfo", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        run_command("bootinfo", self.bootinfo, arg)

    def bootinfo(self, argv):
        flags, args = parse_flags(argv, {"-m"})
        if len(args) > 1:
            raise DebugError("usage: bootinfo [-m] [ADDR]")
        guest.require_stopped()
        show(find(args), "-m" in flags)


def register():
    Bootinfo()
