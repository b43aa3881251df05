"""Just enough of PNG to tell a real screenshot from an empty one: size, and whether it holds more than one colour.

Pure Python (zlib and the five row filters of the PNG spec), so the tests need no image library.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel (8-bit, no palette)


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    colours: int  # distinct pixel values, counted up to 256

    @property
    def blank(self) -> bool:
        return self.colours <= 1


def read_png(data: bytes) -> Png:
    """ValueError for anything that is not an 8-bit, non-interlaced, non-palette PNG."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG: wrong signature")
    chunks, offset, header = [], len(SIGNATURE), None
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
        offset += 12 + length
    if header is None:
        raise ValueError("not a PNG: no IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    pixel = _CHANNELS[colour]
    raw = zlib.decompress(b"".join(chunks))
    stride = width * pixel
    colours: set[bytes] = set()
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, pixel)
        if len(colours) < 256:
            colours.update(bytes(line[i : i + pixel]) for i in range(0, stride, pixel * 7))  # every 7th pixel is plenty
        previous = line
    return Png(width, height, len(colours))


def _unfilter(kind: int, line: bytearray, above: bytearray, pixel: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - pixel] if i >= pixel else 0
        up, corner = above[i], (above[i - pixel] if i >= pixel else 0)
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        elif kind != 0:
            raise ValueError(f"not a PNG: row filter {kind}")
    return line


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
