"""Image files built to exhaust memory: headers that claim huge images in
every format predict reads, and real, valid images that are huge decoded
from a small file (zeros compress a thousandfold). For the tests (small
ones) and bench/bench_bombs.py.

    python scripts/bombs.py DIR    # writes the bench's folder of bombs
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, depth: int = 8, color_type: int = 6, idat: bytes | None = None) -> bytes:
    """A PNG of zeros, valid when `idat` is None (compressed row by row, so
    a 1.6 GB image is built in a few MB); else the header with that IDAT."""
    if idat is None:
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
        row = bytes(1 + width * channels * depth // 8)
        packer = zlib.compressobj(9)
        idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def jpeg_with_fill_bytes(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header claims width x height, with fill
    bytes (0xFF runs, which the standard allows) before its markers."""
    data = bytearray(cv2.imencode(".jpg", np.full((16, 16), 200, np.uint8))[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data[:sof] + b"\xff\xff\xff" + data[sof:])


def gif(width: int, height: int) -> bytes:
    """A GIF whose logical screen is width x height, holding one 1x1 frame."""
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b")


def bmp(width: int, height: int, bits: int = 8, compression: int = 1) -> bytes:
    """A BMP header (RLE8 by default) claiming width x height, with a few bytes of data."""
    palette = bytes(4 * 256) if bits <= 8 else b""
    pixels = b"\x00\x01"
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def webp(width: int, height: int) -> bytes:
    """An extended (VP8X) WebP header claiming width x height."""
    vp8x = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tiff(width: int, height: int) -> bytes:
    """A little-endian TIFF whose first IFD claims width x height, 8-bit RGB."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 8), (277, 3, 1, 3), (278, 4, 1, height), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
        for tag, kind, count, value in entries) + b"\x00\x00\x00\x00"
    return b"II*\x00" + struct.pack("<I", 24) + bytes(16) + ifd


def bench_bombs() -> dict[str, bytes]:
    """The bench's folder: one of each kind, at sizes that would take GBs."""
    return {
        "png-16bit-rgba-14142.png": png(14142, 14142, depth=16, color_type=6),   # under 200 MP, 1.6 GB decoded
        "png-idat-claims-4g.png": png(65535, 65535, idat=zlib.compress(bytes(1000))),
        "png-rgb-12000.png": png(12000, 12000, color_type=2),   # a real 144 MP image: read, one at a time
        "jpeg-fill-before-sof.jpg": jpeg_with_fill_bytes(60000, 60000),
        "gif-huge-screen.gif": gif(65535, 65535),
        "bmp-rle8-30000.bmp": bmp(30000, 30000),
        "webp-vp8x-16383.webp": webp(16383, 16383),
        "tiff-30000.tiff": tiff(30000, 30000),
    }


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/bombs")
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in bench_bombs().items():
        (folder / name).write_bytes(data)
        print(f"{folder / name}: {len(data):,} bytes")
