"""The kernel's and the loader's symbols in one gdb.

The kernel ELF is linked at its run address, so its symbols are right as
they are. The loader is a relocatable PE that the firmware may load
anywhere; it is linked at 0x400000 (loader/loader.mk) because EDK2
firmware (OVMF) loads an image at its linked address when those pages
are free, which they are in a guest of 56 MiB or more. So gdb reads the
loader's DWARF (BOOTX64.EFI.debug, beside BOOTX64.EFI) at that address
before the firmware runs, and `break efi_main` stops there.

Whether that held is checked where it can be (under TCG: see
add_entry_check): when the kernel's UEFI entry (_start) is reached, the loader's image must still be at its linked
base (the kernel has not reused that memory yet); if it is not, this says
so once, and `loader-symbols ADDR` loads the symbols at another base
(LoadedImage->ImageBase, or where a crash dump points).
"""

import os

import gdb

import guest
import pe
from guest import DebugError

state = {"kernel": None, "loader": None, "loader_base": None,
         "loader_pe": None, "warned": False}


def _quiet(cmd):
    """Runs a gdb command with confirmation off, its output dropped."""
    old = gdb.parameter("confirm")
    gdb.execute("set confirm off")
    try:
        gdb.execute(cmd, to_string=True)
    finally:
        gdb.execute(f"set confirm {'on' if old else 'off'}")


def load_kernel(path):
    if not os.path.exists(path):
        gdb.write(f"debug: no kernel symbols: {path} is missing (make "
                  "kernel)\n")
        return
    path = os.path.abspath(path)
    _quiet(f"file {path}")
    state["kernel"] = path


def _remove_loader():
    if state["loader"]:
        try:
            _quiet(f"remove-symbol-file {state['loader']}")
        except gdb.error:
            pass


def load_loader(path, base=None):
    """Loads the loader's DWARF for an image at base (default: its linked
    base). Returns the base used."""
    if not os.path.exists(path):
        raise DebugError(f"{path} is missing (make loader)")
    path = os.path.abspath(path)
    image = pe.read(path)
    if base is None:
        base = image.image_base
    _remove_loader()
    offset = base - image.image_base
    _quiet(f"add-symbol-file {path} -o {offset:#x}")
    state.update(loader=path, loader_base=base, loader_pe=image)
    return base


def in_loader():
    """Is the CPU in the loader's image, where gdb has its symbols?"""
    base, image = state["loader_base"], state["loader_pe"]
    if image is None:
        return False
    rip = guest.register("rip")
    return base <= rip < base + image.size_of_image


def loader_in_memory(base, in_stop=False):
    """Is the loader this gdb has symbols for at physical base (its .text
    bytes, as the firmware copied them)?"""
    image = state["loader_pe"]
    text = image.section(".text")
    want = text.data(image.image)[:256]
    with guest.PhysMem(in_stop) as mem:
        got = mem.read(base + text.rva, len(want))
    return got == want


class EntryCheck(gdb.Breakpoint):
    """At the kernel's UEFI entry: was the loader where its symbols say?
    Never stops the guest (stop returns False)."""

    def __init__(self):
        # A software breakpoint: under TCG, QEMU's own, which needs no
        # write to guest memory that the loader has not filled yet.
        super().__init__("_start", internal=True)
        self.silent = True

    def stop(self):
        if state["loader"] is None or state["warned"]:
            return False
        try:
            ok = loader_in_memory(state["loader_base"], in_stop=True)
        except DebugError as e:
            gdb.write(f"debug: cannot check the loader's base: {e}\n")
            return False
        if not ok:
            state["warned"] = True
            gdb.write(
                f"debug: warning: BOOTX64.EFI did not run at "
                f"{state['loader_base']:#x}, where gdb has its symbols: the "
                "firmware loaded it elsewhere (OVMF does with less than 56 "
                "MiB of guest memory), so loader breakpoints could not stop. "
                "`loader-symbols ADDR` loads them at the image base the "
                "loader ran at.\n")
        return False


class LoaderSymbols(gdb.Command):
    """Load the loader's symbols (BOOTX64.EFI.debug) at an image base.
Usage: loader-symbols [ADDR]

Without ADDR, at the base the loader is linked at (which gdb uses from
the start). ADDR is where the firmware put the image (its
EFI_LOADED_IMAGE ImageBase), when that was elsewhere; the command checks
that the loader's code is there before loading."""

    def __init__(self):
        super().__init__("loader-symbols", gdb.COMMAND_FILES)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        try:
            if len(argv) > 1:
                raise DebugError("usage: loader-symbols [ADDR]")
            path = state["loader"] or default_paths()[1]
            base = guest.eval_address(argv[0]) if argv else None
            if base is not None:
                if base & 0xFFF:
                    raise DebugError(f"{base:#x} is not page aligned; an "
                                     "image base is")
                if state["loader_pe"] is None:
                    load_loader(path)
                if not loader_in_memory(base):
                    raise DebugError(f"the loader's code is not at {base:#x}"
                                     " (its .text differs from "
                                     f"{os.path.basename(path)})")
            base = load_loader(path, base)
            gdb.write(f"loader-symbols: {path} at {base:#x}\n")
        except DebugError as e:
            raise gdb.GdbError(f"loader-symbols: {e}") from None
        except gdb.error as e:
            raise gdb.GdbError(f"loader-symbols: {e}") from None


def default_paths():
    """(kernel ELF, loader debug PE) in the build directory: DEBUG_BUILD
    (set by tools/debug.sh), else build/ of this checkout."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    build = os.environ.get("DEBUG_BUILD") or os.path.join(root, "build")
    return (os.path.join(build, "kernel", "kernel.elf"),
            os.path.join(build, "loader", "BOOTX64.EFI.debug"))


def add_entry_check(event=None):
    """Once connected (gdb's first thread): the check at the kernel's
    entry, under TCG only. Under KVM a software breakpoint is an int3
    written into guest memory, which fails before the loader has mapped
    the kernel, so there is none."""
    if event is not None:
        gdb.events.new_thread.disconnect(add_entry_check)
    if not (state["kernel"] and state["loader"]):
        return
    try:
        kvm = "enabled" in gdb.execute("monitor info kvm", to_string=True)
    except gdb.error:
        kvm = os.environ.get("DEBUG_ACCEL") == "kvm"
    if kvm:
        gdb.write("debug: KVM: breakpoints in code not loaded yet need "
                  "hbreak (four at a time)\n")
        return
    EntryCheck()


def setup():
    kernel, loader = default_paths()
    load_kernel(kernel)
    # A PVH boot has no loader (tools/debug.sh --direct says so).
    if os.environ.get("DEBUG_LOADER") == "none":
        pass
    elif os.path.exists(loader):
        load_loader(loader)
    else:
        gdb.write(f"debug: no loader symbols: {loader} is missing (make "
                  "loader)\n")
    LoaderSymbols()
    if guest.connected():
        add_entry_check()
    else:
        gdb.events.new_thread.connect(add_entry_check)
