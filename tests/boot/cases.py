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
  secure  Secure Boot: a signed (or unsigned) loader under OVMF's Secure
          Boot firmware or the normal one (see SECURE)
  tpm     measured boot with a TPM 2.0 from swtpm (run-qemu.sh --tpm), or
          the kernel's TPM driver without one
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
# alternatives; the words come from loader/kernel.c, common/boot/elf.c and
# common/boot/config.c).
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

# ---- Secure Boot (issue 8) ----
# Images with the loader tools/sign.mk signs for this suite
# (build/loader-signed-test/BOOTX64.EFI: it embeds the SHA-256 of the ESP
# kernel and of a loader.conf with cmdline=test, and is signed with the
# snakeoil key), booted under OVMF's Secure Boot firmware ("secure":
# True, run-qemu.sh --secure: the snakeoil key enrolled in db) or the
# normal OVMF (Secure Boot off, setup mode). qemu64, 256 MiB, sata, q35.
# Keys:
#   loader  "signed" (the default); "unsigned" (build/loader/BOOTX64.EFI);
#           "nohashes" (that loader signed as it is: no hashes embedded)
#   kernel  how the ESP's \boot\kernel.elf differs from the file the
#           loader was signed for: "flip-text" (one byte in the middle of
#           the text segment flipped), "other" (build/kernel/kernel.elf, a
#           valid kernel: the same code with its debug info), "truncated"
#           (its first half)
#   config  "edited": the signed loader.conf with "ptdump" added to the
#           command line
#   chain   the firmware starts tests/boot/chain.c (signed), which starts
#           the signed loader with the load options "LOADER.EFI " +
#           CHAIN_OPTIONS, as the UEFI shell would; "cmdline" is then the
#           command line the kernel must report, and "options_ignored"
#           says the loader must say it ignored them
#   expect  "boot": a good boot (as GOOD, with "test") whose loader and
#           kernel report Secure Boot as `sb` and hashes embedded and
#           checked, and whose kernel prints the SHA-256 of the ESP's
#           \boot\kernel.elf as sha256sum gives it (the file read back
#           from the image);
#           "mismatch": as BAD, with one "loader: error:" line naming the
#           file, the embedded hash and sha256sum of the file on the ESP;
#           "error": as BAD, the error line containing one of `error`;
#           "refused": the firmware refuses the loader ("BdsDxe: failed
#           to load BootNNNN" for the disk, "Access Denied") and no
#           "loader:" line appears at all;
#           "keys": no boot: make keys' script (tools/keys.sh) into a
#           fresh directory makes every file, refuses that directory the
#           second time and a directory inside the repository, and its db
#           key signs the default loader so that sbverify accepts it with
#           db.crt and refuses it with the snakeoil certificate; with a
#           pass phrase on the key, tools/sign.sh (no terminal) refuses in
#           one line naming SB_PASS, and signs once SB_PASS holds it
SECURE = {
    "sb-signed": {"secure": True, "expect": "boot", "sb": "on"},
    # Secure Boot off: boots, and (below) the hashes are still checked.
    "sb-off-signed": {"secure": False, "expect": "boot",
                      "sb": "off (setup mode)"},
    "sb-unsigned-refused": {"secure": True, "loader": "unsigned",
                            "expect": "refused"},
    "sb-no-hashes-refused": {"secure": True, "loader": "nohashes",
                             "expect": "error",
                             "error": ("embeds no kernel or config hashes",)},
    "sb-kernel-byte-flipped": {"secure": True, "kernel": "flip-text",
                               "expect": "mismatch"},
    "sb-other-kernel": {"secure": True, "kernel": "other",
                        "expect": "mismatch"},
    "sb-config-edited": {"secure": True, "config": "edited",
                         "expect": "mismatch"},
    "sb-kernel-truncated": {"secure": True, "kernel": "truncated",
                            "expect": "mismatch"},
    "sb-off-kernel-byte-flipped": {"secure": False, "kernel": "flip-text",
                                   "expect": "mismatch"},
    # Load options: ignored with Secure Boot on; the same chain with it
    # off shows they do arrive (the rule, not the chain, keeps them out).
    "sb-load-options-ignored": {"secure": True, "chain": True,
                                "expect": "boot", "sb": "on",
                                "cmdline": "test", "options_ignored": True},
    "sb-off-load-options-used": {"secure": False, "chain": True,
                                 "expect": "boot", "sb": "off (setup mode)",
                                 "cmdline": "test chained"},
    "sb-keys": {"expect": "keys"},
    # Bad values, refused before anything is built (REFUSALS below).
    "sb-refusals": {"expect": "refusals"},
}

# (arguments, exit status, text of the one line): make's with the
# target first, or tools/run-qemu.sh's after "run-qemu". make stops with
# status 2 while it reads the Makefile; run-qemu.sh's usage errors are
# status 125.
REFUSALS = (
    (("image", "SIGN=2"), 2, "SIGN='2': SIGN= takes 1"),
    (("image", "SIGN=1", "SB_KEY=/tmp/k.key"), 2,
     "SB_KEY= and SB_CERT= go together"),
    (("image", "SIGN=1", "SB_KEY=/nonexistent/k.key",
      "SB_CERT=/nonexistent/k.crt"), 2, "SB_KEY=/nonexistent/k.key: no such"),
    (("run-secure", "SIGN=0"), 2, "takes SIGN=1 or no SIGN="),
    (("run-secure", "MACHINE=pc"), 2, "make run-secure needs q35"),
    (("run-secure", "MEM=64"), 2, "needs at least 65 MiB"),
    (("keys",), 2, "make keys needs DIR="),
    (("run-qemu", "--secure", "--image", "/nonexistent.img", "--mem", "64"),
     125, "OVMF with Secure Boot needs at least 65 MiB"),
    (("run-qemu", "--secure", "--direct", "/nonexistent.elf"), 125,
     "--secure needs --image"),
    (("run-qemu", "--secure", "--image", "/nonexistent.img", "--machine",
      "pc"), 125, "--secure needs --machine q35"),
)
# What tests/boot/chain.c passes after the image name.
CHAIN_OPTIONS = "test chained"
# ---- end of Secure Boot ----

# Issue 8.4: measured boot. "uefi-tpm" is a good boot (judged as the
# GOOD cases are, with "test") under OVMF with a TPM 2.0 from swtpm; the
# PCR 8 and 9 values the kernel reads back from the TPM must equal
# SHA-256(before || SHA-256(data)) computed here from the ESP's kernel
# file (PCR 9) and the command line's bytes (PCR 8), "before" being what
# the loader read from the TPM before its own events (zeros under OVMF,
# which measures into PCRs 0-7 only; the loader's line says so). The
# direct cases boot the kernel through PVH with "test": with a TPM that no
# firmware started (no TPM2_Startup: the kernel must name
# TPM_RC_INITIALIZE and boot on) and with none at all (one line, no
# wait). Each must end with the self-tests passed (status 0).
TPM = {
    "uefi-tpm": {"mem": 256, "cpu": "qemu64", "tpm": True},
    # "line": a line that must start so; "count": how many "kernel: tpm:"
    # lines there must be (the device's line, then the error).
    "direct-tpm-no-startup": {
        "append": "test", "tpm": True, "count": 2,
        "line": "kernel: tpm: TPM2_PCR_Read: TPM_RC_INITIALIZE"},
    "direct-no-tpm": {
        "append": "test", "count": 1,
        "line": "kernel: tpm: 0xfed40000: no TPM"},
    # The PCR check itself (run.py check_pcrs) on logs written for it:
    # right values pass, from zeros and from other "before" values; a
    # value one bit off, a missing line, a loader that did not measure or
    # measured another length fail.
    "pcr-checker": {"check": True},
}

KINDS = (("good", GOOD), ("bad", BAD), ("screen", SCREEN),
         ("direct", DIRECT), ("check", CHECK), ("secure", SECURE),
         ("tpm", TPM))
