"""Shows the guest's new serial output each time gdb stops, when
tools/debug.sh says where QEMU writes it (DEBUG_SERIAL_LOG): the
terminal belongs to gdb, so the kernel's lines would otherwise only be in
that file. The firmware's terminal escape sequences are dropped."""

import os
import re

import gdb

ESCAPES = re.compile(rb"\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][0-9A-Za-z]|"
                     rb"\x1b[=>78cDEM]")


class Echo:
    def __init__(self, path):
        self.path, self.pos = path, 0

    def __call__(self, event):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return
        # Only whole lines; the rest waits for the next stop.
        end = data.rfind(b"\n") + 1
        if end == 0:
            return
        self.pos += end
        text = ESCAPES.sub(b"", data[:end]).replace(b"\r", b"")
        for line in text.decode("latin-1").split("\n")[:-1]:
            if line.strip():
                gdb.write(f"serial| {line}\n")


def setup():
    path = os.environ.get("DEBUG_SERIAL_LOG")
    if path:
        gdb.events.stop.connect(Echo(path))
