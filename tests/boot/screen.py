#!/usr/bin/env python3
"""The screen checker: finds a line of the kernel's framebuffer console in
a QEMU screenshot, pixel-exactly.

The kernel draws text with the PSF font it embeds (build/kernel/font.psf),
foreground 0xc0c0c0 on black, in cells of the font's size on a grid that
starts at the top-left pixel (kernel/dev/fbcon.c). So a line it printed
is found by rendering the same text the same way and comparing pixels:
the line's cells must match its glyphs exactly, and the rest of that text
row must be background, so "kernel: ready" is not found in "kernel:
readyX" nor with one pixel changed.

Screenshots come from QMP `screendump` (binary PPM, P6). The last one can
be kept as a PNG for a person to look at.

usage: screen.py --font FONT.psf find SHOT.ppm TEXT   (exit 0 when found)
       screen.py --font FONT.psf text SHOT.ppm        (the text it reads)
       screen.py --font FONT.psf selfcheck            (the checker's own
                                                       test; N passed, M
                                                       failed)
       screen.py png SHOT.ppm OUT.png
"""

import json
import socket
import struct
import sys
import time
import zlib

FG = bytes((0xc0, 0xc0, 0xc0))  # kernel/dev/fbcon.c: make_colour(0xc0...)
BG = bytes((0, 0, 0))

PSF1_MAGIC = b"\x36\x04"
PSF1_MODE512, PSF1_MODEHASTAB, PSF1_MODEHASSEQ = 0x01, 0x02, 0x04
PSF2_MAGIC = 0x864AB572
PSF2_HAS_UNICODE_TABLE = 0x01


class FontError(Exception):
    pass


class Font:
    """A PSF1 or PSF2 font, with the glyph the kernel uses for each Latin-1
    character: the first glyph the Unicode table lists for it (sequences
    skipped), the identity without a table, and the glyph of '?' for
    characters the font lacks (kernel/dev/psf.c)."""

    def __init__(self, data):
        if data[:2] == PSF1_MAGIC and len(data) >= 4:
            self._psf1(data)
        elif len(data) >= 32 and \
                struct.unpack_from("<I", data)[0] == PSF2_MAGIC:
            self._psf2(data)
        else:
            raise FontError("not a PSF1 or PSF2 font (bad magic)")
        missing = [c for c in range(256) if c not in self.glyph_of]
        fallback = self.glyph_of.get(ord("?"),
                                     ord("?") if ord("?") < self.count else 0)
        for c in missing:
            self.glyph_of[c] = fallback

    def _psf1(self, d):
        mode, self.height = d[2], d[3]
        self.width, self.row_bytes = 8, 1
        self.count = 512 if mode & PSF1_MODE512 else 256
        if self.height == 0:
            raise FontError("PSF1 glyph height 0")
        self.glyph_bytes = self.height
        start = 4
        end = start + self.count * self.glyph_bytes
        if end > len(d):
            raise FontError("PSF1 glyphs run past the end of the file")
        self.glyphs = d[start:end]
        self.glyph_of = {}
        if not mode & (PSF1_MODEHASTAB | PSF1_MODEHASSEQ):
            self._identity()
            return
        glyph, in_seq = 0, False
        for i in range(end, len(d) - 1, 2):
            if glyph >= self.count:
                break
            v = d[i] | d[i + 1] << 8
            if v == 0xFFFF:
                glyph, in_seq = glyph + 1, False
            elif v == 0xFFFE:
                in_seq = True
            elif not in_seq:
                self._map(v, glyph)

    def _psf2(self, d):
        (_, _, header, flags, self.count, self.glyph_bytes, self.height,
         self.width) = struct.unpack_from("<8I", d)
        self.row_bytes = (self.width + 7) // 8
        if not (32 <= header <= len(d)) or not self.width or not self.height:
            raise FontError("PSF2 header out of range")
        if self.glyph_bytes != self.row_bytes * self.height:
            raise FontError("PSF2 bytes per glyph do not match its size")
        end = header + self.count * self.glyph_bytes
        if end > len(d):
            raise FontError("PSF2 glyphs run past the end of the file")
        self.glyphs = d[header:end]
        self.glyph_of = {}
        if not flags & PSF2_HAS_UNICODE_TABLE:
            self._identity()
            return
        glyph, in_seq, table = 0, False, d[end:]
        i = 0
        while i < len(table) and glyph < self.count:
            b = table[i]
            if b == 0xFF:
                glyph, in_seq, i = glyph + 1, False, i + 1
            elif b == 0xFE:
                in_seq, i = True, i + 1
            else:
                cp, n = utf8_char(table, i)
                i += n
                if not in_seq:
                    self._map(cp, glyph)

    def _identity(self):
        for c in range(min(256, self.count)):
            self.glyph_of[c] = c

    def _map(self, cp, glyph):
        if cp < 256 and cp not in self.glyph_of:
            self.glyph_of[cp] = glyph

    def rows(self, ch):
        """The glyph for character ch as pixel rows of RGB bytes."""
        g = self.glyph_of[ord(ch) if ord(ch) < 256 else ord("?")]
        bits = self.glyphs[g * self.glyph_bytes:(g + 1) * self.glyph_bytes]
        out = []
        for y in range(self.height):
            row = bits[y * self.row_bytes:(y + 1) * self.row_bytes]
            out.append(b"".join(
                FG if row[x // 8] & (0x80 >> (x % 8)) else BG
                for x in range(self.width)))
        return tuple(out)


def utf8_char(b, i):
    """(code point, length) of the UTF-8 character at b[i]; a malformed
    byte is one character of its own that maps to nothing (0x110000)."""
    lead = b[i]
    if lead < 0x80:
        return lead, 1
    n = 2 if lead & 0xE0 == 0xC0 else 3 if lead & 0xF0 == 0xE0 else \
        4 if lead & 0xF8 == 0xF0 else 0
    if n == 0 or i + n > len(b) or \
            any(c & 0xC0 != 0x80 for c in b[i + 1:i + n]):
        return 0x110000, 1
    cp = lead & (0x7F >> n)
    for c in b[i + 1:i + n]:
        cp = cp << 6 | c & 0x3F
    return cp, n


class Shot:
    """A screenshot: width, height and RGB bytes, row by row."""

    def __init__(self, width, height, rgb):
        if len(rgb) != width * height * 3:
            raise ValueError("pixel data does not match the size")
        self.width, self.height, self.rgb = width, height, rgb

    @classmethod
    def from_ppm(cls, data):
        """Binary PPM (P6) with maxval 255, as QEMU's screendump writes."""
        fields, pos = [], 0
        while len(fields) < 4:
            while pos < len(data) and data[pos:pos + 1].isspace():
                pos += 1
            if data[pos:pos + 1] == b"#":
                pos = data.index(b"\n", pos)
                continue
            start = pos
            while pos < len(data) and not data[pos:pos + 1].isspace():
                pos += 1
            if start == pos:
                raise ValueError("PPM header truncated")
            fields.append(data[start:pos])
        if fields[0] != b"P6" or fields[3] != b"255":
            raise ValueError(f"not a P6 PPM with maxval 255 ({fields[0]!r})")
        w, h = int(fields[1]), int(fields[2])
        pixels = data[pos + 1:pos + 1 + w * h * 3]
        return cls(w, h, pixels)

    def cell(self, font, col, row):
        """The pixel rows of text cell (col, row) as RGB bytes."""
        stride = self.width * 3
        x = col * font.width * 3
        top = row * font.height
        return tuple(self.rgb[(top + y) * stride + x:
                              (top + y) * stride + x + font.width * 3]
                     for y in range(font.height))

    def non_black(self):
        return sum(1 for i in range(0, len(self.rgb), 3)
                   if self.rgb[i:i + 3] != BG)

    def png(self):
        """The screenshot as a PNG file (8-bit RGB, no filtering)."""
        def chunk(kind, body):
            return (struct.pack(">I", len(body)) + kind + body
                    + struct.pack(">I", zlib.crc32(kind + body)))
        stride = self.width * 3
        raw = b"".join(b"\0" + self.rgb[y * stride:(y + 1) * stride]
                       for y in range(self.height))
        ihdr = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def grid(shot, font):
    return shot.width // font.width, shot.height // font.height


def find_line(shot, font, text):
    """The text row (0 = top) that holds exactly text from its first
    column on, the rest of the row blank; None when no row does."""
    cols, rows = grid(shot, font)
    if len(text) > cols:
        return None
    want = [font.rows(ch) for ch in text]
    blank = font.rows(" ")
    for row in range(rows):
        if all(shot.cell(font, c, row) == want[c] for c in range(len(text))) \
                and all(shot.cell(font, c, row) == blank
                        for c in range(len(text), cols)):
            return row
    return None


def read_text(shot, font):
    """The screen read back cell by cell: each cell that is exactly a
    printable ASCII glyph becomes that character, a background cell a
    space, anything else '?'. Trailing blanks are dropped."""
    glyphs = {}
    for c in range(0x7E, 0x1F, -1):  # so ' ' wins over blank look-alikes
        glyphs[font.rows(chr(c))] = chr(c)
    cols, rows = grid(shot, font)
    return ["".join(glyphs.get(shot.cell(font, c, r), "?")
                    for c in range(cols)).rstrip() for r in range(rows)]


def last_seen(shot, font):
    """One line saying what the screen shows, for a failure message."""
    if shot is None:
        return "no screenshot was taken"
    lines = [line for line in read_text(shot, font)
             if any(ch not in " ?" for ch in line)]
    if lines:
        return f"last line on screen: {lines[-1]!r}"
    lit = shot.non_black()
    return (f"no text in the kernel's font and colours on the screen "
            f"({shot.width}x{shot.height}, {lit} non-black pixels)")


class Qmp:
    """A minimal QMP client on a unix socket: capabilities negotiation,
    then one command at a time (events in between are skipped)."""

    def __init__(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
        self.file = self.sock.makefile("rwb")
        greeting = self._read()
        if "QMP" not in greeting:
            raise OSError(f"not a QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise OSError("QMP connection closed")
        return json.loads(line)

    def execute(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise OSError(f"QMP {command}: {reply['error'].get('desc')}")

    def screenshot(self, path):
        """A screendump into path, read back as a Shot."""
        self.execute("screendump", filename=path)
        with open(path, "rb") as f:
            return Shot.from_ppm(f.read())

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


def selfcheck(font):
    """The checker against screens built for it: it must find a line drawn
    exactly as the kernel draws it, and must not find it when one pixel,
    the colour, the position or the rest of the row differs. Returns
    (check, passed, detail) for each check."""
    cols, rows = 40, 6
    width, height = cols * font.width + 5, rows * font.height + 3

    def draw(lines, fg=FG, dx=0, flip=None):
        rgb = bytearray(BG * (width * height))
        for row, text in lines:
            for c, ch in enumerate(text):
                for y, px in enumerate(font.rows(ch)):
                    if fg != FG:
                        px = px.replace(FG, fg)
                    off = ((row * font.height + y) * width
                           + c * font.width + dx) * 3
                    rgb[off:off + len(px)] = px
        if flip is not None:
            x, y = flip
            rgb[(y * width + x) * 3] ^= 0x01
        return Shot(width, height, bytes(rgb))

    text = "kernel: ready"
    other = [(0, "kernel: version 1a2b3c4"), (1, "kernel: W^X check: passed")]
    # A pixel inside the 'k' of "kernel" on row 3: the glyph's first lit
    # pixel, so the flip changes a drawn pixel, not the margin.
    k = font.rows("k")
    ky = next(y for y, r in enumerate(k) if FG in r)
    kx = next(x for x in range(font.width) if k[ky][x * 3:x * 3 + 3] == FG)
    checks = [
        ("found on its row", draw(other + [(3, text)]), 3),
        ("found after scrolling to the last row",
         draw([(rows - 1, text)]), rows - 1),
        ("not found with one pixel changed",
         draw(other + [(3, text)], flip=(kx, 3 * font.height + ky)), None),
        ("not found in another colour",
         draw([(3, text)], fg=bytes((0xc0, 0xc0, 0xc1))), None),
        ("not found one pixel to the right", draw([(3, text)], dx=1), None),
        ("not found with more text on its row",
         draw([(3, text + "X")]), None),
        ("not found on a blank screen", draw([]), None),
    ]
    results = []
    for name, shot, want in checks:
        got = find_line(shot, font, text)
        results.append((name, got == want,
                        "" if got == want else f"(row {got}, wanted {want})"))
    got = read_text(draw(other + [(3, text)]), font)[:4]
    ok = got == [other[0][1], other[1][1], "", text]
    results.append(("reads the text back", ok, "" if ok else f"(read {got})"))
    return results


def main(argv):
    args = argv[1:]
    font = None
    if args[:1] == ["--font"] and len(args) >= 2:
        with open(args[1], "rb") as f:
            font = Font(f.read())
        args = args[2:]
    if not args or args[0] not in ("find", "text", "selfcheck", "png"):
        print(__doc__.strip())
        return 2
    if args[0] == "png" and len(args) == 3:
        with open(args[1], "rb") as f, open(args[2], "wb") as out:
            out.write(Shot.from_ppm(f.read()).png())
        return 0
    if font is None:
        print("screen: --font FONT.psf is needed for " + args[0])
        return 2
    if args[0] == "selfcheck":
        results = selfcheck(font)
        for name, ok, detail in results:
            print(f"{'PASS' if ok else 'FAIL'} {name} {detail}".rstrip())
        failed = sum(not ok for _, ok, _ in results)
        print(f"{len(results) - failed} passed, {failed} failed")
        return 1 if failed else 0
    with open(args[1], "rb") as f:
        shot = Shot.from_ppm(f.read())
    if args[0] == "text":
        print("\n".join(read_text(shot, font)).rstrip("\n"))
        return 0
    text = " ".join(args[2:])
    row = find_line(shot, font, text)
    if row is None:
        print(f"screen: {text!r} not found ({last_seen(shot, font)})")
        return 1
    print(f"screen: {text!r} found on text row {row}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError, FontError) as e:
        print(f"screen: error: {e}")
        sys.exit(1)
