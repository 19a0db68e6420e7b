#!/usr/bin/env python3
"""Writes broken copies of a kernel ELF for the loader's error-path tests.

Each variant changes one thing in a copy of the real kernel (a header
field, a program header, the file's length), so the loader must find
exactly that fault in an otherwise good file:

  empty          a zero-byte file
  not-elf        a text file
  truncated      cut in the middle of the last program header
  elf32          EI_CLASS = 1 (32-bit)
  wrong-machine  e_machine = 3 (i386)
  wx-segment     PF_W added to the executable (text) segment
  overlap        the read-only segment's p_vaddr moved into the text segment
  lower-half     the data segment's p_vaddr moved to 0x400000
  entry-outside  e_entry set to the data segment's start

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
E_PHENTSIZE = 54
E_PHNUM = 56
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
    "elf32": v_elf32,
    "wrong-machine": v_wrong_machine,
    "wx-segment": v_wx_segment,
    "overlap": v_overlap,
    "lower-half": v_lower_half,
    "entry-outside": v_entry_outside,
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
