#!/usr/bin/env python3
"""PE32+ headers and sections, enough to place the loader's symbols and to
check that the shipped BOOTX64.EFI and its debug file hold the same code.

The build links the loader twice from the same objects (tools/debug.mk):
BOOTX64.EFI as it ships, and BOOTX64.EFI.debug with DWARF. gdb reads the
second for the first's code, which is only right when every section of
the shipped image is in the debug one at the same address with the same
bytes (the debug link may append to .rdata: its debug directory).

    pe.py --same-code SHIPPED DEBUG   exit 0, or 1 with one line saying
                                      which section differs
    pe.py --info FILE                 image base, entry point, sections
"""

import struct
import sys


class PeError(Exception):
    pass


class Section:
    def __init__(self, name, rva, vsize, raw_off, raw_size, flags):
        self.name, self.rva, self.vsize = name, rva, vsize
        self.raw_off, self.raw_size, self.flags = raw_off, raw_size, flags

    def data(self, image):
        """The bytes the loader copies into memory, up to vsize."""
        n = min(self.vsize, self.raw_size)
        return image[self.raw_off:self.raw_off + n]


class Pe:
    """Headers of a PE32+ image (bytes)."""

    DISCARDABLE = 0x02000000

    def __init__(self, image):
        self.image = image
        if len(image) < 0x40 or image[:2] != b"MZ":
            raise PeError("not a PE file (no MZ header)")
        pe = struct.unpack_from("<I", image, 0x3C)[0]
        if image[pe:pe + 4] != b"PE\0\0":
            raise PeError("not a PE file (no PE signature)")
        (machine, nsect, self.timestamp, symtab, nsyms, opt_size,
         _chars) = struct.unpack_from("<HHIIIHH", image, pe + 4)
        opt = pe + 24
        if struct.unpack_from("<H", image, opt)[0] != 0x20B:
            raise PeError("not PE32+")
        self.machine = machine
        self.entry = struct.unpack_from("<I", image, opt + 16)[0]
        self.image_base = struct.unpack_from("<Q", image, opt + 24)[0]
        self.size_of_image = struct.unpack_from("<I", image, opt + 56)[0]
        strtab = symtab + 18 * nsyms if symtab else 0
        self.sections = []
        at = opt + opt_size
        for i in range(nsect):
            raw_name, vsize, rva, raw_size, raw_off = struct.unpack_from(
                "<8sIIII", image, at + 40 * i)
            flags = struct.unpack_from("<I", image, at + 40 * i + 36)[0]
            name = raw_name.rstrip(b"\0").decode("latin-1")
            if name.startswith("/") and strtab:
                # Long names (.debug_info) live in the string table.
                off = strtab + int(name[1:])
                name = image[off:image.index(b"\0", off)].decode("latin-1")
            self.sections.append(Section(name, rva, vsize, raw_off,
                                         raw_size, flags))

    def section(self, name):
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def loaded(self):
        """Sections the firmware loads (not the discardable DWARF)."""
        return [s for s in self.sections
                if not s.flags & self.DISCARDABLE and
                not s.name.startswith(".debug")]


def read(path):
    with open(path, "rb") as f:
        return Pe(f.read())


def same_code(shipped, debug):
    """None when debug describes shipped's code, else why not."""
    if shipped.image_base != debug.image_base:
        return (f"image base {shipped.image_base:#x} against "
                f"{debug.image_base:#x}")
    if shipped.entry != debug.entry:
        return f"entry point {shipped.entry:#x} against {debug.entry:#x}"
    for s in shipped.loaded():
        d = debug.section(s.name)
        if d is None:
            return f"section {s.name} missing from the debug file"
        if d.rva != s.rva or d.vsize < s.vsize:
            return (f"section {s.name} at {s.rva:#x} ({s.vsize:#x} bytes) "
                    f"against {d.rva:#x} ({d.vsize:#x} bytes)")
        a, b = s.data(shipped.image), d.data(debug.image)
        if b[:len(a)] != a:
            return f"section {s.name}: different bytes"
    return None


def main(argv):
    if len(argv) == 3 and argv[0] == "--same-code":
        try:
            why = same_code(read(argv[1]), read(argv[2]))
        except (OSError, PeError, struct.error) as e:
            print(f"pe.py: {e}", file=sys.stderr)
            return 1
        if why:
            print(f"pe.py: {argv[2]} does not describe {argv[1]}: {why}",
                  file=sys.stderr)
            return 1
        return 0
    if len(argv) == 2 and argv[0] == "--info":
        pe = read(argv[1])
        print(f"image base {pe.image_base:#x}, entry {pe.entry:#x}, size "
              f"{pe.size_of_image:#x}")
        for s in pe.sections:
            print(f"  {s.name:<14} rva {s.rva:#08x} size {s.vsize:#07x}")
        return 0
    print("usage: pe.py --same-code SHIPPED DEBUG | --info FILE",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
