#!/usr/bin/env python3
"""Writes broken copies of a kernel ELF for the loader's error-path tests.

Each variant changes one thing in a copy of the real kernel (a header
field, a program header, the file's length), so the loader must find
exactly that fault in an otherwise good file:

  empty          a zero-byte file
  not-elf        a text file
  truncated      cut in the middle of the last program header
  shdr-cut       cut in the middle of the section header table (every
                 segment intact: only a check of the section headers
                 sees it)
  elf32          EI_CLASS = 1 (32-bit)
  wrong-machine  e_machine = 3 (i386)
  wx-segment     PF_W added to the executable (text) segment
  overlap        the read-only segment's p_vaddr moved into the text segment
  lower-half     the data segment's p_vaddr moved to 0x400000
  entry-outside  e_entry set to the data segment's start

and one good variant, which the loader must boot:

  padded         2 MiB of padding inserted in the file before the first
                 segment (every file offset after it moved), so the file
                 is over 2 MiB and everything the loader needs lies past
                 its first 2 MiB; the padding is in no segment, so it is
                 never loaded

Addresses keep p_offset congruent to p_vaddr modulo 4 KiB, so no variant
trips the congruence check before the fault it is about.

usage: mkbad.py KERNEL_ELF OUT_DIR [VARIANT...]   (writes OUT_DIR/VARIANT.elf)
"""

import os
import struct
import sys

PAGE = 4096
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4

# ELF64 header offsets (System V ABI).
EI_CLASS = 4
E_MACHINE = 18
E_ENTRY = 24
E_PHOFF = 32
E_SHOFF = 40
E_PHENTSIZE = 54
E_PHNUM = 56
E_SHENTSIZE = 58
E_SHNUM = 60
# Section header field offsets within one entry.
SH_OFFSET = 24
# Program header field offsets within one entry.
P_TYPE, P_FLAGS, P_OFFSET, P_VADDR = 0, 4, 8, 16


class Elf:
    """A mutable ELF64 image with its PT_LOAD headers located."""

    def __init__(self, data):
        if data[:4] != b"\x7fELF" or data[EI_CLASS] != 2:
            raise SystemExit("mkbad: input is not an ELF64 file")
        self.data = bytearray(data)
        self.phoff = self.u64(E_PHOFF)
        self.phentsize = self.u16(E_PHENTSIZE)
        self.phnum = self.u16(E_PHNUM)
        self.loads = []  # offsets of PT_LOAD program headers
        for i in range(self.phnum):
            ph = self.phoff + i * self.phentsize
            if self.u32(ph + P_TYPE) == PT_LOAD:
                self.loads.append(ph)

    def u16(self, off):
        return struct.unpack_from("<H", self.data, off)[0]

    def u32(self, off):
        return struct.unpack_from("<I", self.data, off)[0]

    def u64(self, off):
        return struct.unpack_from("<Q", self.data, off)[0]

    def put(self, fmt, off, value):
        struct.pack_into(fmt, self.data, off, value)

    def flags(self, ph):
        return self.u32(ph + P_FLAGS)

    def segment(self, want, avoid=0):
        """The first PT_LOAD whose flags include want and none of avoid."""
        for ph in self.loads:
            f = self.flags(ph)
            if f & want == want and not f & avoid:
                return ph
        raise SystemExit(f"mkbad: the kernel has no PT_LOAD with flags "
                         f"{want:#x} and without {avoid:#x}")

    def text(self):
        return self.segment(PF_R | PF_X)

    def rodata(self):
        return self.segment(PF_R, PF_W | PF_X)

    def datas(self):
        return self.segment(PF_R | PF_W, PF_X)


def congruent(vaddr_base, ph, elf):
    """vaddr_base's page plus the segment's p_offset within its page."""
    return (vaddr_base & ~(PAGE - 1)) | (elf.u64(ph + P_OFFSET) & (PAGE - 1))


def v_truncated(elf):
    end = elf.phoff + elf.phnum * elf.phentsize
    return bytes(elf.data[:end - elf.phentsize // 2])


def v_shdr_cut(elf):
    shoff, shnum = elf.u64(E_SHOFF), elf.u16(E_SHNUM)
    if shnum < 2:
        raise SystemExit("mkbad: the kernel has no section header table")
    return bytes(elf.data[:shoff + shnum * elf.u16(E_SHENTSIZE) // 2])


PAD_SIZE = 2 << 20  # a multiple of the page size keeps offsets congruent


def v_padded(elf):
    """Inserts PAD_SIZE bytes at the first segment's file offset and moves
    every program header, section and the section header table after it."""
    at = min(elf.u64(ph + P_OFFSET) for ph in elf.loads)
    for i in range(elf.phnum):
        ph = elf.phoff + i * elf.phentsize
        if elf.u64(ph + P_OFFSET) >= at:
            elf.put("<Q", ph + P_OFFSET, elf.u64(ph + P_OFFSET) + PAD_SIZE)
    shoff, shent = elf.u64(E_SHOFF), elf.u16(E_SHENTSIZE)
    for i in range(elf.u16(E_SHNUM)):
        sh = shoff + i * shent
        if elf.u64(sh + SH_OFFSET) >= at:
            elf.put("<Q", sh + SH_OFFSET, elf.u64(sh + SH_OFFSET) + PAD_SIZE)
    if shoff >= at:
        elf.put("<Q", E_SHOFF, shoff + PAD_SIZE)
    # Not zeros: a read that put a chunk in the wrong place would copy
    # this text into a segment, and the kernel would not run.
    line = b"padding: not part of any segment, never loaded\n"
    pad = (line * (PAD_SIZE // len(line) + 1))[:PAD_SIZE]
    return bytes(elf.data[:at]) + pad + bytes(elf.data[at:])


def v_elf32(elf):
    elf.data[EI_CLASS] = 1
    return bytes(elf.data)


def v_wrong_machine(elf):
    elf.put("<H", E_MACHINE, 3)
    return bytes(elf.data)


def v_wx_segment(elf):
    ph = elf.text()
    elf.put("<I", ph + P_FLAGS, elf.flags(ph) | PF_W)
    return bytes(elf.data)


def v_overlap(elf):
    text, ro = elf.text(), elf.rodata()
    elf.put("<Q", ro + P_VADDR, congruent(elf.u64(text + P_VADDR), ro, elf))
    return bytes(elf.data)


def v_lower_half(elf):
    ph = elf.datas()
    elf.put("<Q", ph + P_VADDR, congruent(0x400000, ph, elf))
    return bytes(elf.data)


def v_entry_outside(elf):
    elf.put("<Q", E_ENTRY, elf.u64(elf.datas() + P_VADDR))
    return bytes(elf.data)


VARIANTS = {
    "empty": lambda elf: b"",
    # Longer than an ELF header, so it is the magic that gives it away.
    "not-elf": lambda elf: (b"This is a text file, not a kernel.\n" * 4),
    "truncated": v_truncated,
    "shdr-cut": v_shdr_cut,
    "elf32": v_elf32,
    "wrong-machine": v_wrong_machine,
    "wx-segment": v_wx_segment,
    "overlap": v_overlap,
    "lower-half": v_lower_half,
    "entry-outside": v_entry_outside,
    "padded": v_padded,
}


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    kernel, out_dir, names = argv[1], argv[2], argv[3:] or list(VARIANTS)
    with open(kernel, "rb") as f:
        original = f.read()
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        if name not in VARIANTS:
            raise SystemExit(f"mkbad: unknown variant '{name}' "
                             f"(known: {' '.join(VARIANTS)})")
        data = VARIANTS[name](Elf(original))
        with open(os.path.join(out_dir, name + ".elf"), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
