#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/.

The seeds are small, valid (or nearly valid) inputs that get the fuzzer
past the magic numbers quickly; their layout follows the input formats
described at the top of each tests/fuzz/fuzz_<target>.c. Crashing inputs
found later are added next to them by hand (as crash-<name>) and, as a
case, to the unit tests. Run from anywhere: python3 tests/fuzz/make-seeds.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
KBASE = 0xFFFFFFFF80100000

PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


SHT_PROGBITS, SHT_STRTAB, SHT_NOBITS = 1, 3, 8
SHN_XINDEX = 0xFFFF


def elf(segments, entry, size, sections=(), shnum=None, shstrndx=0,
        sh0=(0, 0)):
    """An ELF64 x86-64 executable with the given program headers
    (type, flags, offset, vaddr, filesz, memsz), zero-filled to size.
    With sections ((type, offset, size), after the NULL section 0), a
    section header table follows at the end of the file; e_shnum and
    e_shstrndx are given, or the count and index; sh0 is section 0's
    (sh_size, sh_link) for the extended forms."""
    shoff = size if sections else 0
    if shnum is None:
        shnum = len(sections) + 1 if sections else 0
    ehdr = struct.pack(
        "<4sBBBBB7sHHIQQQIHHHHHH",
        b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7,  # e_ident
        2, 62, 1,  # ET_EXEC, EM_X86_64, EV_CURRENT
        entry, 64, shoff,  # e_entry, e_phoff, e_shoff
        0, 64, 56, len(segments), 64 if sections else 0, shnum, shstrndx,
    )
    phdrs = b"".join(
        struct.pack("<IIQQQQQQ", t, fl, off, va,
                    max(va - 0xFFFFFFFF80000000, 0), fs, ms, 0x1000)
        for (t, fl, off, va, fs, ms) in segments)
    data = bytearray(ehdr + phdrs)
    data += b"\0" * (size - len(data))
    for i in range(64 + len(phdrs), size):  # recognisable segment bytes
        data[i] = i & 0xFF
    if sections:
        data += struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, sh0[0], sh0[1],
                            0, 0, 0)
        for (t, off, sz) in sections:
            data += struct.pack("<IIQQQQIIQQ", 1, t, 0, 0, off, sz, 0, 0,
                                1, 0)
    return bytes(data)


def elf_seeds():
    # Offsets are congruent to the addresses modulo 4 KiB, so the
    # segments fit in a few hundred bytes of file.
    text = (PT_LOAD, PF_R | PF_X, 0x200, KBASE + 0x200, 0x40, 0x40)
    rodata = (PT_LOAD, PF_R, 0x240, KBASE + 0x1240, 0x20, 0x20)
    data = (PT_LOAD, PF_R | PF_W, 0x260, KBASE + 0x2260, 0x10, 0x2000)
    note = (PT_NOTE, PF_R, 0x270, 0, 0x10, 0x10)
    write("elf", "three-segments", elf([text, rodata, data, note],
                                       KBASE + 0x200, 0x280))
    write("elf", "one-segment", elf([text], KBASE + 0x210, 0x240))
    wx = (PT_LOAD, PF_R | PF_W | PF_X, 0x200, KBASE + 0x200, 0x40, 0x40)
    write("elf", "writable-text", elf([wx], KBASE + 0x200, 0x240))
    write("elf", "header-only", elf([], 0, 64)[:64])
    # Section headers at the end, as linkers write them: a cut anywhere
    # is a truncated file. Then e_shnum and e_shstrndx in section 0.
    secs = [(SHT_PROGBITS, 0x200, 0x40), (SHT_PROGBITS, 0x240, 0x20),
            (SHT_NOBITS, 0x260, 0x2000), (SHT_STRTAB, 0x270, 0x10)]
    segs = [text, rodata, data, note]
    write("elf", "sections", elf(segs, KBASE + 0x200, 0x280, secs, 5, 4))
    write("elf", "sections-extended",
          elf(segs, KBASE + 0x200, 0x280, secs, 0, SHN_XINDEX, (5, 4)))


def config_seeds():
    write("config", "typical",
          b"# loader configuration\nkernel=/boot/kernel.elf\n"
          b"cmdline=selftest log=debug\n")
    write("config", "crlf-blanks",
          b"\xef\xbb\xbf  kernel \t= \\EFI\\k.elf \r\n\r\n# x\r\ncmdline=\r\n")
    write("config", "errors", b"kernel=/a\nkernel=/b\nfoo\n=x\n")


def efi_desc(desc_size, type_, start, pages):
    d = struct.pack("<IIQQQQ", type_, 0, start, 0, pages, 0xF)
    return d + b"\0" * (desc_size - len(d))


# An OVMF-like map (types: 7 conventional, 4 BS data, 3 BS code, 2 loader
# data, 9 ACPI reclaim, 10 NVS, 5/6 runtime, 0 reserved, 11 MMIO), plus
# the loader's own types.
EFI_MAP = [
    (3, 0x0, 1), (7, 0x1000, 0x9F), (0, 0xA0000, 0x60),
    (7, 0x100000, 0x700), (4, 0x800000, 0x8), (10, 0x808000, 0x8),
    (7, 0x810000, 0xF0), (10, 0x900000, 0x100), (7, 0xA00000, 0x3000),
    (0x80000001, 0x3A00000, 0x10), (0x80000002, 0x3A10000, 0x6),
    (0x80000003, 0x3A16000, 0x1), (2, 0x3A17000, 0x20),
    (9, 0x7F00000, 0x10), (5, 0x7F10000, 0x20), (6, 0x7F30000, 0x20),
    (4, 0x7F50000, 0xB0), (11, 0xFFC00000, 0x400),
    (7, 0x100000000, 0x40000), (14, 0x140000000, 0x100),
]


def memmap_seeds():
    for desc_size in (40, 48):
        sel = ((desc_size - 40) // 8) << 1
        body = b"".join(efi_desc(desc_size, *d) for d in EFI_MAP)
        write("memmap", "efi-%d" % desc_size, bytes([sel, 0]) + body)
    body = b"".join(efi_desc(48, *d) for d in EFI_MAP[:8])
    write("memmap", "efi-48-cap4", bytes([2, 4]) + body)
    e820 = [(0x0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2),
            (0x100000, 0x7EE0000, 1), (0x7FE0000, 0x20000, 3),
            (0xFEFFC000, 0x4000, 2), (0xFFFC0000, 0x40000, 2),
            (0xFFFFFFFFFFFFF000, 0x2000, 4)]
    body = b"".join(struct.pack("<QQII", a, s, t, 0) for (a, s, t) in e820)
    write("memmap", "e820", bytes([1, 0]) + body)


def pvh_memory(version=1, cmdline=b"console=ttyS0 selftest\0"):
    """Fake physical memory: start info at 0x100, map at 0x200, command
    line at 0x300."""
    mem = bytearray(0x340)
    entries = [(0x0, 0x9FC00, 1), (0xF0000, 0x10000, 2),
               (0x100000, 0x7F00000, 1), (0xFEFFC000, 0x4000, 2)]
    mem[0x100:0x138] = struct.pack("<IIIIQQQQII", 0x336EC578, version, 0, 0,
                                   0, 0x300, 0xF5A40, 0x200, len(entries), 0)
    for i, (a, s, t) in enumerate(entries):
        mem[0x200 + 24 * i:0x218 + 24 * i] = struct.pack("<QQII", a, s, t, 0)
    mem[0x300:0x300 + len(cmdline)] = cmdline
    return bytes(mem)


def pvh_seeds():
    write("pvh", "qemu-like", bytes([0x00, 0x01, 64]) + pvh_memory())
    write("pvh", "short-cmdline-buffer", bytes([0x00, 0x01, 8]) + pvh_memory())
    write("pvh", "version0", bytes([0x00, 0x01, 64]) + pvh_memory(version=0))


def sha256_seeds():
    # Byte 0 seeds the piece sizes; the messages sit around the padding's
    # split (55/56 bytes) and a block boundary.
    write("sha256", "abc", b"\x01abc")
    write("sha256", "len55", b"\x07" + bytes(range(55)))
    write("sha256", "len56", b"\x08" + bytes(range(56)))
    write("sha256", "len129", b"\xff" + bytes(i * 7 & 0xFF
                                             for i in range(129)))


def acpi_table(sig, body):
    """A table: 36-byte header (length, revision 1, OEM) and body, its
    checksum set."""
    t = bytearray(sig + struct.pack("<IBB6s8sI4sI", 36 + len(body), 1, 0,
                                    b"SEEDOE", b"SEEDTBL ", 1, b"SEED", 1)
                  + body)
    t[9] = (-sum(t)) & 0xFF
    return bytes(t)


def acpi_memory(revision):
    """Physical memory for fuzz_acpi.c: the RSDP at 0 naming a root table
    (XSDT from revision 2, else RSDT) at 0x40 with a FACP and a MADT like
    QEMU's (two CPUs, an IOAPIC, two overrides, an NMI entry)."""
    madt_body = struct.pack("<II", 0xFEE00000, 1)
    madt_body += bytes([0, 8, 0, 0]) + struct.pack("<I", 1)
    madt_body += bytes([0, 8, 1, 1]) + struct.pack("<I", 1)
    madt_body += bytes([9, 16, 0, 0]) + struct.pack("<III", 2, 1, 2)
    madt_body += bytes([1, 12, 0, 0]) + struct.pack("<II", 0xFEC00000, 0)
    madt_body += bytes([2, 10, 0, 0]) + struct.pack("<IH", 2, 0)
    madt_body += bytes([2, 10, 0, 9]) + struct.pack("<IH", 9, 0xD)
    madt_body += bytes([4, 6, 0xFF, 0, 0, 1])
    facp, madt = 0x100, 0x200
    if revision >= 2:
        root = acpi_table(b"XSDT", struct.pack("<QQ", facp, madt))
    else:
        root = acpi_table(b"RSDT", struct.pack("<II", facp, madt))
    rsdp = bytearray(b"RSD PTR " + bytes([0]) + b"SEEDOE" + bytes([revision])
                     + struct.pack("<I", 0 if revision >= 2 else 0x40))
    rsdp[8] = (-sum(rsdp)) & 0xFF
    if revision >= 2:
        rsdp += struct.pack("<IQ", 36, 0x40) + bytes(4)
        rsdp[32] = (-sum(rsdp)) & 0xFF
    mem = bytearray(0x200 + 36 + len(madt_body))
    mem[0:len(rsdp)] = rsdp
    mem[0x40:0x40 + len(root)] = root
    mem[facp:facp + 44] = acpi_table(b"FACP", bytes(8))
    mem[madt:] = acpi_table(b"APIC", madt_body)
    return bytes(mem)


def acpi_seeds():
    write("acpi", "rsdt-v1", bytes([0]) + acpi_memory(0))
    write("acpi", "xsdt-v2", bytes([0]) + acpi_memory(2))
    write("acpi", "xsdt-v2-fixed-sums", bytes([1]) + acpi_memory(2))


def paging_op(what, how, first, attr=1, frame=0x9, bad=False, extra=0):
    """One operation of fuzz_paging.c: what 0..3 (map, unmap, protect,
    translate), how 0..3 (1, 1, 2..17, 512 pages), first page 0..8191."""
    return bytes([what | how << 2 | (0x10 if bad else 0) | attr << 5,
                  first & 0xFF, first >> 8, frame | extra << 4])


def paging_seeds():
    # Single pages scattered over both windows, protected, unmapped.
    ops = b"".join(paging_op(0, 0, p * 523 % 16384) for p in range(40))
    ops += b"".join(paging_op(2, 0, p * 523 % 16384, attr=3)
                    for p in range(0, 40, 3))
    ops += b"".join(paging_op(1, 0, p * 523 % 16384) for p in range(0, 40, 2))
    for setup in (0, 3, 7):
        write("paging", "single-pages-%d" % setup, bytes([setup]) + ops)
    # A 2 MiB leaf, split by a page protected and a page unmapped in it.
    big = (paging_op(0, 3, 1024, frame=0x8) + paging_op(2, 0, 1030, attr=2)
           + paging_op(1, 0, 1100) + paging_op(0, 2, 1100, extra=3)
           + paging_op(3, 0, 1031) + paging_op(1, 3, 1024))
    write("paging", "split-2m", bytes([3]) + big)
    # Bad arguments are refused and change nothing.
    write("paging", "bad-args", bytes([1]) + paging_op(0, 0, 7, bad=True)
          + paging_op(0, 0, 7, bad=True, frame=0x1) + paging_op(0, 0, 7)
          + paging_op(2, 0, 7, bad=True) + paging_op(1, 0, 7, bad=True,
                                                     frame=0x1))


if __name__ == "__main__":
    elf_seeds()
    config_seeds()
    memmap_seeds()
    pvh_seeds()
    sha256_seeds()
    acpi_seeds()
    paging_seeds()
