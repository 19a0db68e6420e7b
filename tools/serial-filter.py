#!/usr/bin/env python3
"""Copies a guest's serial output (stdin) to the terminal (stdout) without
the escape sequences that clear the screen or put the cursor at a fixed
place: OVMF's terminal driver sends ESC[2J ESC[01;01H ESC[=3h several
times while it starts, which wipes the terminal, build log included. Every
other byte passes unchanged (colours, line ends, the kernel's lines).

tools/run-qemu.sh runs it only when its stdout is a terminal; the --log
file and a piped stdout get QEMU's bytes raw. It ignores SIGINT (run-qemu
starts it that way) so that Ctrl-C stops QEMU while the end of its output
still reaches the terminal, and it exits when QEMU closes the pipe.
"""

import os
import re
import sys

# Erase in display (ESC[J, ESC[2J, ...), cursor position (ESC[H,
# ESC[01;01H, ESC[..f), set screen mode (ESC[=3h), full reset (ESC c).
DROP = re.compile(rb"\x1b\[[0-9;?]*[HfJ]|\x1b\[=[0-9;]*[hl]|\x1bc")
# An escape sequence cut by the end of one read is held for the next one,
# or a sequence split across reads would get through.
CUT = re.compile(rb"\x1b(\[[0-9;?=]{0,32})?\Z")


def write_all(data):
    while data:
        try:
            n = os.write(1, data)
        except InterruptedError:
            continue
        data = data[n:]


def main():
    held = b""
    while True:
        try:
            data = os.read(0, 65536)
        except InterruptedError:
            continue
        if not data:
            break
        data = held + data
        cut = CUT.search(data)
        held, data = (data[cut.start():], data[:cut.start()]) if cut \
            else (b"", data)
        write_all(DROP.sub(b"", data))
    write_all(held)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
