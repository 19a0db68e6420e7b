"""The project's gdb init file: `source tools/gdb/init.py` in any gdb
(tools/debug.sh does it; an editor's gdb can too, see README
"Debugging").

It loads the kernel's symbols (build/kernel/kernel.elf, or DEBUG_BUILD's)
and the loader's (BOOTX64.EFI.debug at the loader's linked base), and
adds the commands ptdump, vtop, pte, bootinfo and loader-symbols (`help
ptdump` ...). Connecting is left to the caller: `target remote
localhost:1234`.
"""

import os
import sys

import gdb

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import bootinfo  # noqa: E402
import guest  # noqa: E402
import pe  # noqa: E402
import ptcmds  # noqa: E402
import serial_echo  # noqa: E402
import symbols  # noqa: E402

def short(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


# Long ptdumps and walks must not stop at a --More-- prompt.
gdb.execute("set pagination off")
ptcmds.register()
bootinfo.register()
serial_echo.setup()
try:
    symbols.setup()
except (gdb.error, guest.DebugError, pe.PeError, OSError) as e:
    gdb.write(f"debug: error: loading symbols: {e}\n")
gdb.write("debug: commands ptdump, vtop, pte, bootinfo, loader-symbols "
          "(help NAME); symbols: "
          + ", ".join(short(p) for p in
                      (symbols.state["kernel"], symbols.state["loader"]) if p)
          + "\n")
