"""The boot suite's cases: what each one boots and what it must show.
tests/boot/run.py runs them; README's "Tests" section says what each
proves.

Kinds:
  good    the loader and a kernel from the ESP (the stripped kernel `make
          image` installs) with "test" on the command line, on one
          machine; judged by the serial log and QEMU's exit status
  bad     an image with one broken input that the loader must refuse and
          then return to the firmware
  screen  a machine without a serial port; judged by screenshots
  direct  the kernel booted through its PVH note with a command line that
          breaks the boot info on purpose; it must panic and end the run
  check   a host-side check of the suite's own tools
"""

# Self-tests that need a CPU feature, by the feature (the NEEDS_* flags in
# kernel/selftest/*.c). The kernel skips them when CPUID lacks it.
TESTS_NEEDING = {
    "nx": ("no-exec-data", "no-exec-bss", "no-exec-stack",
           "no-exec-direct-map"),
    "smep": ("smep-blocks-user-exec",),
    "smap": ("smap-blocks-user-read", "smap-stac-clac-open-and-close"),
}

# What each CPU model used by a good boot lacks under TCG (OVMF runs only
# under TCG on these hosts; KVM boots are the direct-boot matrix's). So a
# good boot's expected SKIP lines are exactly these features' tests: a
# test skipped that is not listed, or listed and not skipped, fails the
# case by name (a kernel that stops turning SMEP on is caught on Haswell
# and max, not counted as one more skip).
CPU_LACKS = {
    "qemu64": ("smep", "smap"),
    "qemu64,-nx": ("nx", "smep", "smap"),
    "Haswell": ("smap",),
    "max": (),
}


def expected_skips(cpu):
    """The self-tests a good boot on CPU model cpu must skip (TCG)."""
    if cpu not in CPU_LACKS:
        raise KeyError(f"no expected skips for CPU model '{cpu}' "
                       f"(add it to CPU_LACKS in tests/boot/cases.py)")
    return {t for f in CPU_LACKS[cpu] for t in TESTS_NEEDING[f]}


MIN_SELFTESTS = 20  # a good boot must pass at least this many

# Good boots. Keys: mem (MiB), cpu, media (sata, usb, nvme), machine (q35,
# pc), qemu (extra QEMU arguments), variant (a mkbad.py variant of the
# ESP kernel), min_kernel_size (bytes the kernel file must exceed),
# framebuffer (the kernel must report one), and cpus (QEMU's -smp, 1 when
# not given: the kernel must print `kernel: cpus: N online` with it).
GOOD = {
    # No 1 GiB pages, no SMEP/SMAP; the default machine.
    "uefi-boot": {"mem": 256, "cpu": "qemu64"},
    "uefi-qemu64-128M": {"mem": 128, "cpu": "qemu64"},
    # No NX: the loader and kernel map without it, NX tests skip.
    "uefi-no-nx": {"mem": 256, "cpu": "qemu64,-nx"},
    "uefi-haswell-2G": {"mem": 2048, "cpu": "Haswell"},
    # Memory above 4 GiB, every protection the kernel knows.
    "uefi-max-6G": {"mem": 6144, "cpu": "max"},
    # Issue 7.6: other boot media and the other PC chipset.
    "uefi-usb": {"mem": 256, "cpu": "qemu64", "media": "usb"},
    "uefi-nvme": {"mem": 256, "cpu": "qemu64", "media": "nvme"},
    "uefi-i440fx": {"mem": 256, "cpu": "qemu64", "machine": "pc"},
    # Issue 12.9: a kernel file over 2 MiB whose segments lie past its
    # first 2 MiB, so every read chunk must land where it belongs.
    "uefi-kernel-over-2M": {"mem": 256, "cpu": "qemu64", "variant": "padded",
                            "min_kernel_size": 2 << 20},
    # Issue 12.1: two display adapters, the first one's GOP Blt-only
    # (virtio-gpu); the loader must pick the VGA's framebuffer.
    "uefi-two-gpus": {"mem": 256, "cpu": "qemu64", "framebuffer": True,
                      "qemu": ["-vga", "none",
                               "-device", "virtio-gpu-pci,addr=0x2",
                               "-device", "VGA,addr=0x3"]},
}

# Issue 10: every CPU. OVMF starts the APs itself and parks them; the
# kernel must INIT and start all three again through its own trampoline
# (`kernel: cpus: 4 online`), and the SMP self-tests run on all four.
GOOD.update({
    "uefi-smp4": {"mem": 256, "cpu": "qemu64", "cpus": 4},
})

# Bad inputs: how the image differs from a good one (a mkbad.py variant
# of build/kernel/kernel.elf, no kernel file, or a loader.conf of its
# own), and what its one "loader: error:" line must contain (any of the
# alternatives; the words come from loader/kernel.c, common/elf.c and
# common/config.c).
BAD = {
    "missing-kernel": {"no_kernel": True, "error": ("not found",)},
    "empty-file": {"variant": "empty", "error": ("empty",)},
    "not-elf": {"variant": "not-elf", "error": ("not an ELF file",)},
    "truncated": {"variant": "truncated",
                  "error": ("truncated", "outside the file",
                            "file too small")},
    # Issue 7.2: every segment intact, the section headers cut.
    "shdr-cut": {"variant": "shdr-cut", "error": ("truncated",)},
    "elf32": {"variant": "elf32", "error": ("not 64-bit",)},
    "wrong-machine": {"variant": "wrong-machine", "error": ("not x86-64",)},
    "wx-segment": {"variant": "wx-segment",
                   "error": ("writable and executable",)},
    "overlap": {"variant": "overlap", "error": ("overlap",)},
    "lower-half": {"variant": "lower-half",
                   "error": ("not in the higher half",)},
    "entry-outside": {"variant": "entry-outside",
                      "error": ("entry point not in an executable segment",)},
    "config-typo": {"config": "kernal=\\boot\\kernel.elf\ncmdline=\n",
                    "error": ("unknown key",)},
}

# Issue 7.5: a PC with no COM1 at all. Without "test" the kernel halts
# after "kernel: ready", which must then be on the screen.
SCREEN = {
    "uefi-screen-only": {"mem": 256, "cpu": "qemu64",
                         "find": "kernel: ready"},
}

# Issues 12.3 and 12.4: the kernel (with debug info, as gdb uses it)
# booted directly with a command line that breaks its boot info. Each
# must print its lines (a prefix each must start with and a text each
# must contain) and end through port 0xf4 with QEMU_EXIT_PANIC
# (kernel/cpu/arch.h), which run-qemu.sh reports as status 16.
QEMU_EXIT_PANIC = 0x10
DIRECT = {
    "direct-bootinfo-bad-pointer": {
        "append": "test break-bootinfo=bad-pointer",
        "lines": (("panic: trap: page fault", ""),
                  ("", "cr2 00007f0000000000")),
        "status": QEMU_EXIT_PANIC},
    "direct-bootinfo-drop-segment": {
        "append": "test break-bootinfo=drop-segment",
        "lines": (("panic: ", "segment"),),
        "status": QEMU_EXIT_PANIC},
}

CHECK = {
    # The screen checker against screens drawn for it (tests/boot/
    # screen.py selfcheck): it finds an exact line and rejects one pixel,
    # colour, position or extra character off.
    "screen-checker": {},
}

KINDS = (("good", GOOD), ("bad", BAD), ("screen", SCREEN),
         ("direct", DIRECT), ("check", CHECK))
