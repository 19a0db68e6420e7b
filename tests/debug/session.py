"""The gdb side of the debug tests (tests/debug/run.py): runs inside a
real gdb attached to a real QEMU through tools/debug.sh, drives the
guest to the stops a person would use, and records what gdb printed
there (command outputs, error messages, frames, a few variables) in a
JSON file. It judges nothing; run.py compares the record with the
guest's serial log and the sources.

Environment: DEBUG_TEST_MODE (pvh or ovmf), DEBUG_TEST_OUT (the JSON
file, rewritten after every step so that a session cut short by its time
bound shows how far it got), DEBUG_TEST_PAGING_LINE (ovmf: the line of
loader/paging.c to stop at), DEBUG_SERIAL_LOG (set by tools/debug.sh).
"""

import json
import os
import re

import gdb

record = {"steps": [], "stops": {}, "commands": {}, "values": {}}
out_path = os.environ["DEBUG_TEST_OUT"]
DMAP_BASE = 0xFFFF800000000000


def save(step):
    record["steps"].append(step)
    with open(out_path + ".tmp", "w") as f:
        json.dump(record, f, indent=1)
    os.replace(out_path + ".tmp", out_path)


def run(key, cmd):
    """Runs a gdb command; records its output or its error message."""
    try:
        text = gdb.execute(cmd, to_string=True)
        record["commands"][key] = {"cmd": cmd, "out": text, "error": None}
    except gdb.error as e:
        record["commands"][key] = {"cmd": cmd, "out": "", "error": str(e)}


def value(key, expr):
    record["values"][key] = int(gdb.parse_and_eval(expr))


def stop_here(key):
    f = gdb.selected_frame()
    sal = f.find_sal()
    record["stops"][key] = {
        "function": f.name(),
        "file": sal.symtab.filename if sal.symtab else None,
        "line": sal.line,
        "cr3": int(f.read_register("cr3")) & ((1 << 64) - 1),
    }


def cont(key):
    # What gdb printed while the guest ran (a warning, the stop) goes to
    # the session's output, where run.py looks for warnings.
    gdb.write(gdb.execute("continue", to_string=True))
    stop_here(key)
    save(f"stopped at {key}")


def serial_value(pattern):
    """A hex number the kernel printed on the serial port."""
    with open(os.environ["DEBUG_SERIAL_LOG"], "rb") as f:
        text = f.read().decode("latin-1")
    m = re.search(pattern, text)
    return int(m.group(1), 16) if m else None


def kernel_checks():
    """At kernel_ready: everything that compares with the kernel's own
    lines."""
    run("ptdump", "ptdump")
    run("vtop-text", "vtop kmain")
    value("kmain", "(unsigned long long)&kmain")
    bi = serial_value(r"boot info at 0x([0-9a-f]+)")
    record["values"]["bootinfo-phys"] = bi
    if bi is not None:
        run("vtop-dmap", f"vtop {DMAP_BASE + bi:#x}")
    guard = serial_value(r"guard page at 0x([0-9a-f]+)")
    record["values"]["guard"] = guard
    if guard is not None:
        run("vtop-guard", f"vtop {guard:#x}")
    run("vtop-low", "vtop 0x1000")
    run("pte-text", "pte kmain")
    run("bootinfo", "bootinfo")
    save("kernel checks")


def bad_inputs():
    """Inputs each command must refuse with one line of its own."""
    for key, cmd in [
            ("bad-noncanonical", "vtop 0x0000800000000000"),
            ("bad-cr3-reserved", "ptdump 0xfff0000000000000"),
            ("bad-cr3-not-ram", "ptdump 0x7ff00000"),
            ("bad-vtop-usage", "vtop"),
            ("bad-symbol", "vtop no_such_symbol"),
            ("bad-bootinfo-addr", "bootinfo 0x1000"),
            ("bad-pte-noncanonical", "pte 0x0123456789abcdef"),
            ("bad-option", "ptdump -x"),
    ]:
        run(key, cmd)
    save("bad inputs")


def broken_tables():
    """Entries a buggy kernel could write, put into the live PML4 after
    every comparison is done: one pointing outside RAM (slot 300), one
    with PS set, a reserved bit at this level (slot 302)."""
    cr3 = int(gdb.selected_frame().read_register("cr3")) & ~0xFFF
    pml4 = DMAP_BASE + cr3
    ram_page = cr3  # any RAM address will do for the reserved-bit entry
    gdb.execute(f"set {{unsigned long long}}{pml4 + 8 * 300:#x} = "
                f"{0x7FF00000 | 3:#x}")
    gdb.execute(f"set {{unsigned long long}}{pml4 + 8 * 302:#x} = "
                f"{ram_page | 0x83:#x}")
    run("broken-ptdump", "ptdump")
    run("broken-not-ram", "vtop 0xffff960000000000")
    run("broken-reserved", "vtop 0xffff970000000000")
    save("broken tables")


def pvh():
    # Temporary breakpoints: once (a full `make test` on a loaded
    # machine), `continue` from the loader's paging.c breakpoint reported
    # that same breakpoint again, same place, same state; the cause was
    # not found (QEMU 7.2 TCG, gdb 13). A breakpoint that is gone after
    # its stop keeps such a repeat out of what the test judges.
    gdb.execute("thbreak kmain", to_string=True)
    gdb.execute("hbreak kernel_ready", to_string=True)
    cont("kmain")
    run("ptdump-pvh-entry", "ptdump")
    save("pvh entry tables")
    cont("kernel_ready")
    kernel_checks()
    bad_inputs()
    broken_tables()


def ovmf():
    line = int(os.environ["DEBUG_TEST_PAGING_LINE"])
    gdb.execute("tbreak efi_main", to_string=True)  # see pvh()
    gdb.execute(f"tbreak loader/paging.c:{line}", to_string=True)
    gdb.execute("hbreak kernel_ready", to_string=True)
    cont("efi_main")
    value("st-signature", "st->Hdr.Signature")
    run("ptdump-firmware", "ptdump")
    save("firmware tables")
    cont("paging")
    for key, expr in [("pml4", "loader.tables.pml4"),
                      ("fw-cr3", "loader.tables.fw_cr3"),
                      ("nx", "loader.tables.nx"),
                      ("seg-count", "loader.kernel.seg_count")]:
        value(key, expr)
    segs = []
    for i in range(record["values"]["seg-count"]):
        s = gdb.parse_and_eval(f"loader.kernel.seg[{i}]")
        segs.append({k: int(s[k]) for k in ("virt", "phys", "size",
                                             "flags")})
    record["values"]["segments"] = segs
    run("bootinfo-loader", "bootinfo")
    run("ptdump-loader", "ptdump")
    run("ptdump-fw-cr3", f"ptdump {record['values']['fw-cr3']:#x}")
    save("loader tables")
    cont("kernel_ready")
    kernel_checks()


def pvh_fault():
    """Stopped in panic, after the #PF dump the trap handler printed."""
    gdb.execute("hbreak panic", to_string=True)
    cont("panic")
    run("vtop-cr2", "vtop $cr2")
    save("fault walk")


def ovmf_low():
    """48 MiB: OVMF has no room at the loader's linked base."""
    gdb.execute("break efi_main", to_string=True)
    gdb.execute("hbreak _start", to_string=True)
    cont("_start")
    run("loader-symbols-linked", "loader-symbols 0x400000")
    save("loader symbols")


try:
    {"pvh": pvh, "pvh-fault": pvh_fault, "ovmf": ovmf,
     "ovmf-low": ovmf_low}[os.environ["DEBUG_TEST_MODE"]]()
    save("done")
except Exception as e:  # recorded for run.py, which names the step
    record["error"] = f"{type(e).__name__}: {e}"
    save("error")
finally:
    try:
        gdb.execute("kill", to_string=True)
    except gdb.error:
        pass
