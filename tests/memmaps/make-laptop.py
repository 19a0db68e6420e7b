#!/usr/bin/env python3
"""Writes tests/memmaps/laptop-efi.log: the EFI map of a made-up 16 GiB
laptop, as Linux 6.x prints it with efi=debug (dmesg timestamps, short
type names, attribute columns, inclusive ends).

Laid out the way real firmware reports it: the RAM descriptors first, in
ascending order (boot-services code and data, loader code and data and
conventional memory interleaved, runtime code and data, ACPI), then the
reserved and MMIO descriptors, which lie lower (so the map is unsorted):
a 256 MiB write-combining MMIO window like a GPU's framebuffer aperture,
PCIe ECAM, the IOAPIC, HPET, LAPIC and the flash. One runtime-data range
lacks the WB attribute, so the kernel refuses to map it. The fragment
sizes come from a fixed list, so the file is the same on every run.

Run from anywhere: python3 tests/memmaps/make-laptop.py
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "laptop-efi.log")
NAMES = {0: "Reserved", 1: "Loader Code", 2: "Loader Data", 3: "Boot Code",
         4: "Boot Data", 5: "Runtime Code", 6: "Runtime Data",
         7: "Conventional", 9: "ACPI Reclaim", 10: "ACPI Mem NVS",
         11: "MMIO"}
WB_ALL = ["WB", "WT", "WC", "UC"]
PAGE = 0x1000


def line(i, t, base, end, flags):
    cols = ["RUN" if "RUN" in flags else ""] + [""] * 9 + [""] + \
        [f if f in flags else "" for f in WB_ALL]
    widths = [3] + [2] * 9 + [3] + [2] * 4
    attrs = "|".join(c.rjust(w) for c, w in zip(cols, widths))
    size_mb = (end - base) >> 20
    return ("[    0.000000] efi: mem%02u: [%-12s|%s] range=[0x%016x-0x%016x]"
            " (%uMB)" % (i, NAMES[t], attrs, base, end - 1, size_mb))


def main():
    ram = []  # (type, base, end, flags)
    ram.append((3, 0x0, 0x1000, WB_ALL))
    ram.append((7, 0x1000, 0x58000, WB_ALL))
    ram.append((0, 0x58000, 0x59000, WB_ALL))
    ram.append((7, 0x59000, 0x9f000, WB_ALL))
    ram.append((0, 0x9f000, 0xa0000, WB_ALL))
    ram.append((7, 0x100000, 0x200000, WB_ALL))
    # 90 fragments in [2 MiB, 0x7a000000), the last one filling up.
    kinds = [7, 4, 7, 3, 2, 7, 4, 1]
    sizes = [0x35, 0x7, 0x200, 0x13, 0x1, 0x4a0, 0x2, 0x80, 0x11, 0x3]
    at = 0x200000
    for k in range(89):
        end = at + sizes[k % len(sizes)] * PAGE
        ram.append((kinds[k % len(kinds)], at, end, WB_ALL))
        at = end
    ram.append((7, at, 0x7a000000, WB_ALL))
    ram.append((6, 0x7a000000, 0x7a800000, ["RUN"] + WB_ALL))
    ram.append((5, 0x7a800000, 0x7b000000, ["RUN"] + WB_ALL))
    ram.append((6, 0x7b000000, 0x7b200000, ["RUN", "UC"]))  # no WB
    ram.append((0, 0x7b200000, 0x7b800000, WB_ALL))
    ram.append((9, 0x7b800000, 0x7b900000, WB_ALL))
    ram.append((10, 0x7b900000, 0x7c000000, WB_ALL))
    ram.append((0, 0x7c000000, 0x7f800000, WB_ALL))
    ram.append((7, 0x100000000, 0x480000000, WB_ALL))  # 14 GiB
    mmio = [
        (0, 0x7f800000, 0x80000000, ["UC"]),
        (11, 0x80000000, 0x90000000, ["WC", "UC"]),  # GPU aperture
        (11, 0xc0000000, 0xd0000000, ["RUN", "UC"]),  # PCIe ECAM
        (11, 0xfe000000, 0xfe011000, ["RUN", "UC"]),
        (11, 0xfec00000, 0xfec01000, ["RUN", "UC"]),  # IOAPIC
        (11, 0xfed00000, 0xfed01000, ["RUN", "UC"]),  # HPET
        (11, 0xfee00000, 0xfee01000, ["RUN", "UC"]),  # LAPIC
        (11, 0xff000000, 0x100000000, ["RUN", "UC"]),  # flash
    ]
    out = ["[    0.000000] efi: EFI v2.70 by Example Laptop Firmware",
           "[    0.000000] efi: ACPI=0x7b8fe000 ACPI 2.0=0x7b8fe014 "
           "SMBIOS=0x7a7f0000"]
    for i, (t, b, e, f) in enumerate(ram + mmio):
        out.append(line(i, t, b, e, f))
    out.append("[    0.000000] secureboot: Secure boot disabled")
    with open(OUT, "w") as fh:
        fh.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
