"""x86-64 4-level page tables as the kernel reads them, in pure Python.

This is the gdb side's copy of three pieces of C, kept line for line in
their words so that gdb's output can be compared with the kernel's:

- pt_for_each_leaf (common/mm/paging.c): every present leaf in address
  order, with the effective W/U/NX of its whole path;
- the merge and the line format of ptdump_print (kernel/mm/ptdump.c),
  including fmt_size's rounding down (common/lib/fmt.c);
- ptdump_walk's per-level lines (the walk an exception dump prints) and
  pt_entry_check's reserved-bit rules (common/mm/paging.c).

Nothing here imports gdb: tables come from a read_table(phys) callback,
so the host can test it (tests/debug/test_x86paging.py). When one of the
C files changes its output, change the function named after it here.
"""

PTE_P = 1 << 0
PTE_W = 1 << 1
PTE_U = 1 << 2
PTE_PWT = 1 << 3
PTE_PCD = 1 << 4
PTE_A = 1 << 5
PTE_D = 1 << 6
PTE_PS = 1 << 7
PTE_G = 1 << 8
PTE_PAT_LARGE = 1 << 12
PTE_NX = 1 << 63
PTE_ADDR_MAX_MASK = 0x000FFFFFFFFFF000
PTE_HIGH_IGNORED = 0x7FF0000000000000
# A table's count of present entries, in the link to it (common/mm/paging.h)
PTE_COUNTED = 1 << 9
PTE_COUNT_SHIFT = 52
PTE_COUNT_MASK = 0x3FF << PTE_COUNT_SHIFT
PTE_RSVD_1G = 0x000000003FFFE000
PTE_RSVD_2M = 0x00000000001FE000

PT_L1, PT_L2, PT_L3, PT_L4 = 1, 2, 3, 4
PT_ENTRIES = 512
U64 = (1 << 64) - 1

PAT_POWER_ON = 0x0007040600070406
PAT_KERNEL = 0x0007040600070106
MEMTYPE_NAMES = {0: "UC", 1: "WC", 4: "WT", 5: "WP", 6: "WB", 7: "UC-"}
LEVEL_NAMES = {PT_L1: "PT", PT_L2: "PD", PT_L3: "PDPT", PT_L4: "PML4"}

# Flags that make two leaves different for a reader (ptdump.c SHOWN_BITS).
SHOWN_BITS = PTE_W | PTE_U | PTE_G | PTE_NX

HEADER = ("ptdump: virtual range                      -> physical"
          "              size page flags type")


def pt_shift(level):
    return 12 + 9 * (level - 1)


def pt_size(level):
    return 1 << pt_shift(level)


def pt_index(va, level):
    return (va >> pt_shift(level)) & (PT_ENTRIES - 1)


def level_name(level):
    return LEVEL_NAMES.get(level, "?")


def va_canonical(va):
    top = va >> 47
    return top == 0 or top == 0x1FFFF


def canonical(va):
    """Sign-extends bit 47 (slots 256..511 are the higher half)."""
    return va | 0xFFFF000000000000 if va & (1 << 47) else va


def is_leaf(level, e):
    return level == PT_L1 or (level <= PT_L3 and bool(e & PTE_PS))


def entry_addr(level, e):
    a = e & PTE_ADDR_MAX_MASK
    return a & ~(pt_size(level) - 1) if is_leaf(level, e) else a


def pat_index(level, e):
    pat_bit = PTE_PS if level == PT_L1 else PTE_PAT_LARGE
    return ((4 if e & pat_bit else 0) | (2 if e & PTE_PCD else 0) |
            (1 if e & PTE_PWT else 0))


def memtype(pat, level, e):
    return (pat >> (8 * pat_index(level, e))) & 0xFF


def memtype_name(t):
    return MEMTYPE_NAMES.get(t, "?")


def entry_check(level, e, nx_enabled, phys_bits, page1g):
    """pt_entry_check: why the CPU would refuse a present entry (a #PF
    with the RSVD bit), or None. phys_bits is MAXPHYADDR; page1g is
    CPUID's Page1GB, or None when it is not known (then 1 GiB leaves are
    not judged on it)."""
    if not e & PTE_P:
        return None
    if e & PTE_NX and not nx_enabled:
        return "NX set but EFER.NXE is off (reserved bit 63)"
    if e & PTE_HIGH_IGNORED:
        # A table's count: in a link, with its flag, at most 512.
        if (level not in (PT_L2, PT_L3, PT_L4) or is_leaf(level, e) or
                e & PTE_HIGH_IGNORED & ~PTE_COUNT_MASK):
            return "bits 52-62 set (unused by this code)"
        if not e & PTE_COUNTED:
            return "a count in bits 52-61 without PTE_COUNTED (bit 9)"
        if (e & PTE_COUNT_MASK) >> PTE_COUNT_SHIFT > PT_ENTRIES:
            return "a count in bits 52-61 above 512 entries"
    phys_mask = PTE_ADDR_MAX_MASK & ((1 << phys_bits) - 1)
    if (e & PTE_ADDR_MAX_MASK) & ~phys_mask:
        return "address above MAXPHYADDR (reserved bits)"
    if level == PT_L4 and e & PTE_PS:
        return "PS set in a PML4 entry (reserved bit 7)"
    if level == PT_L3 and e & PTE_PS:
        if page1g is False:
            return "1 GiB page but CPUID lacks Page1GB"
        if e & PTE_RSVD_1G:
            return "reserved bits 29:13 set in a 1 GiB leaf"
    if level == PT_L2 and e & PTE_PS and e & PTE_RSVD_2M:
        return "reserved bits 20:13 set in a 2 MiB leaf"
    return None


class Leaf:
    """count present leaves (struct pt_leaf) of one table that continue
    each other: same bits, each frame after the one before. va, pa and
    size cover all of them; page is one leaf's size."""
    __slots__ = ("va", "size", "pa", "entry", "effective", "level", "page",
                 "count")

    def __init__(self, va, page, pa, entry, effective, level, count=1):
        self.va, self.page, self.pa = va, page, pa
        self.entry, self.effective, self.level = entry, effective, level
        self.count, self.size = count, page * count


def leaves(read_table, root):
    """pt_for_each_leaf: yields every present leaf under the PML4 at root
    in address order, neighbours in one table grouped (Leaf.count).
    read_table(phys) returns the table's 512 entries, or None for a table
    that cannot be read (it is then taken as empty: the callback reports
    it). Grouping only saves time: a firmware's identity map of 1 TiB is
    half a million 2 MiB leaves."""
    def walk(table, level, base, eff):
        entries = read_table(table)
        if entries is None:
            return
        size = pt_size(level)
        i = 0
        while i < PT_ENTRIES:
            e = entries[i]
            if not e & PTE_P:
                i += 1
                continue
            va = canonical(base + i * size)
            # W and U hold only if every level allows them; NX holds if
            # any level sets it.
            here = (eff & e & (PTE_W | PTE_U)) | ((eff | e) & PTE_NX)
            if not is_leaf(level, e):
                yield from walk(e & PTE_ADDR_MAX_MASK, level - 1, va, here)
                i += 1
                continue
            # Entries that differ only by the frame, one page further each
            # time, are the same leaf repeated.
            j = i + 1
            while j < PT_ENTRIES and entries[j] == e + (j - i) * size and \
                    entries[j] >> 52 == e >> 52:
                j += 1
            yield Leaf(va, size, entry_addr(level, e), e, here, level, j - i)
            i = j
    yield from walk(root, PT_L4, 0, PTE_W | PTE_U)


class Run:
    """Neighbouring leaves that continue each other (ptdump.c struct
    run)."""
    __slots__ = ("va", "pa", "size", "page", "flags", "effective", "memtype")

    def __init__(self, leaf, flags, mtype):
        self.va, self.pa, self.size, self.page = (leaf.va, leaf.pa,
                                                  leaf.size, leaf.page)
        self.flags, self.effective, self.memtype = (flags, leaf.effective,
                                                    mtype)


def runs(leaf_iter, pat):
    """ptdump.c's merge_leaf/for_each_run. Returns (runs, leaf count)."""
    out, cur, count = [], None, 0
    for lf in leaf_iter:
        count += lf.count
        flags = lf.entry & SHOWN_BITS
        mtype = memtype(pat, lf.level, lf.entry)
        if (cur is not None and cur.page == lf.page and cur.flags == flags
                and cur.effective == lf.effective and cur.memtype == mtype
                and (cur.va + cur.size) & U64 == lf.va
                and cur.pa + cur.size == lf.pa):
            cur.size += lf.size
            continue
        if cur is not None:
            out.append(cur)
        cur = Run(lf, flags, mtype)
    if cur is not None:
        out.append(cur)
    return out, count


def fmt_size(n):
    """fmt_size (common/lib/fmt.c): whole units, rounded down."""
    units = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    if n < 1024:
        return f"{n} B"
    n >>= 10
    u = 0
    while n >= 1024 and u + 1 < len(units):
        n >>= 10
        u += 1
    return f"{n} {units[u]}"


def page_name(size):
    return {pt_size(PT_L3): "1G", pt_size(PT_L2): "2M"}.get(size, "4K")


def flag_text(eff, flags, mtype):
    """ptdump.c flag_text: "r%c%c %-3s %s%s"."""
    return "r{}{} {:<3} {}{}".format(
        "w" if eff & PTE_W else "-", "-" if eff & PTE_NX else "x",
        memtype_name(mtype), "user " if eff & PTE_U else "",
        "global" if flags & PTE_G else "")


def run_line(r):
    """ptdump.c print_run."""
    return "ptdump: {:016x}-{:016x} -> {:016x} {:>8} {} {}".format(
        r.va, (r.va + r.size) & U64, r.pa, fmt_size(r.size),
        page_name(r.page), flag_text(r.effective, r.flags, r.memtype))


def ptdump_lines(read_table, root, pat):
    """Everything ptdump_print prints for the tables at root."""
    rs, count = runs(leaves(read_table, root), pat)
    return [HEADER] + [run_line(r) for r in rs] + [f"ptdump: {count} leaves"]


def entry_text(level, e, pat):
    """ptdump.c entry_text: one entry in the words of the #PF dump."""
    if not e & PTE_P:
        return "not present"
    leaf = level == PT_L1 or bool(e & PTE_PS)
    return "{}{}{}{}{}{}{}{}{}".format(
        "leaf" if leaf else "table", " W" if e & PTE_W else " RO",
        " U" if e & PTE_U else "", " NX" if e & PTE_NX else "",
        " G" if e & PTE_G else "", " A" if e & PTE_A else "",
        " D" if e & PTE_D else "", " " if leaf else "",
        memtype_name(memtype(pat, level, e)) if leaf else "")


def walk_line(level, va, table, e, pat):
    """One line of ptdump_walk: "  %-4s[%3u] at %016lx: %016lx %s"."""
    idx = pt_index(va, level)
    return "  {:<4}[{:>3}] at {:016x}: {:016x} {}".format(
        level_name(level), idx, table + 8 * idx, e, entry_text(level, e, pat))


class Step:
    """One level of a walk: the table, the entry read and its level."""
    __slots__ = ("level", "table", "entry")

    def __init__(self, level, table, entry):
        self.level, self.table, self.entry = level, table, entry


class Walk:
    """The result of translate(). steps: every entry visited, PML4 first.
    stop: "leaf", "not present", "reserved" (why says which bits) or
    "unreadable" (the next table could not be read; why says where)."""

    def __init__(self):
        self.steps, self.stop, self.why = [], None, None
        self.pa = self.leaf_level = None
        self.effective = PTE_W | PTE_U


def translate(read_table, root, va, check):
    """pt_translate's descent, plus the reserved-bit check the CPU makes
    at each level (check(level, entry) -> reason or None). read_table as
    for leaves()."""
    w = Walk()
    table = root
    for level in (PT_L4, PT_L3, PT_L2, PT_L1):
        entries = read_table(table)
        if entries is None:
            w.stop = "unreadable"
            w.why = f"the {level_name(level)} at {table:#x} is not RAM"
            return w
        e = entries[pt_index(va, level)]
        w.steps.append(Step(level, table, e))
        if not e & PTE_P:
            w.stop = "not present"
            return w
        why = check(level, e)
        if why:
            w.stop, w.why = "reserved", why
            return w
        w.effective = ((w.effective & e & (PTE_W | PTE_U)) |
                       ((w.effective | e) & PTE_NX))
        if is_leaf(level, e):
            w.stop, w.leaf_level = "leaf", level
            w.pa = entry_addr(level, e) | (va & (pt_size(level) - 1))
            return w
        table = e & PTE_ADDR_MAX_MASK
    raise AssertionError("a walk always ends at PT level")
