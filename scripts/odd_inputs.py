"""A folder holding every kind of odd input the hardening issue lists,
beside good images, for a batch that must give each input exactly one row:

    python scripts/odd_inputs.py DIR
    digitcli predict DIR/* DIR/fifo /dev/zero "$(printf 'x%.0s' {1..5000}).png" -f jsonl | wc -l

Writes DIR/expected.tsv: each input's name and the status it should get
(`read` for a digit read right; the path arguments above are listed too).
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bombs
import synthetic


def build(folder: Path) -> dict[str, str]:
    """Write the inputs; returns name -> expected status."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def put(name: str | bytes, data: bytes, status: str) -> None:
        path = os.path.join(os.fsencode(folder), os.fsencode(name))
        with open(path, "wb") as handle:
            handle.write(data)
        expected[os.fsdecode(name)] = status

    good = {d: synthetic.digit_on_paper(d, 240, seed=40 + d) for d in range(10)}
    ink = cv2.cvtColor(good[4], cv2.COLOR_BGR2GRAY) < 128
    # Names: not UTF-8, a carriage return, an escape sequence.
    put(b"latin\xe9.jpg", synthetic.encode(good[1], ".jpg"), "read")
    put("carriage\rreturn.png", synthetic.encode(good[2], ".png"), "read")
    put("escape\x1b[31mred.png", synthetic.encode(good[3], ".png"), "read")
    # Valid images of odd layouts.
    put("white_ink_on_transparent.png",
        synthetic.encode(np.dstack([np.full(ink.shape + (3,), 255, np.uint8), ink.astype(np.uint8) * 255]), ".png"),
        "read")
    samples = np.where(ink, 2, 15).astype(np.uint8)
    put("maxval_15.pgm", b"P5\n240 240\n15\n" + samples.tobytes(), "read")
    put("float32.tiff", cv2.imencode(".tiff", np.where(ink, 0.0, 1.0).astype(np.float32))[1].tobytes(), "read")
    pencil = np.full((3000, 3000), 215, np.uint8)
    cv2.putText(pencil, "4", (800, 2400), cv2.FONT_HERSHEY_SIMPLEX, 60, 120, 1)
    put("pencil_3000.png", synthetic.encode(pencil, ".png"), "read")
    png = synthetic.encode(good[5], ".png")
    put("png_trailing_bytes.png", png + b"trailer" * 100, "read")
    put("jpeg_zero_padded.jpg", synthetic.encode(good[6], ".jpg") + bytes(20000), "read")
    upside_down = synthetic.encode(cv2.rotate(good[6], cv2.ROTATE_180), ".png")
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 3, 0) + bytes(4)
    exif = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    put("png_exif_rotated_180.png", upside_down[:33] + exif + upside_down[33:], "read")
    put("phone_rotated.jpg", synthetic.phone_photo_rotated(good[7]), "read")
    # Damaged (the scan cut short, its end marker kept): read, never ok.
    jpeg = synthetic.encode(good[8], ".jpg")
    put("damaged.jpg", jpeg[: len(jpeg) * 3 // 4] + b"\xff\xd9", "not ok")
    # Blank pages: no digit.
    for kind in synthetic.BLANK_PAGES:
        put(f"blank_{kind.replace(' ', '_')}.jpg", synthetic.encode(synthetic.blank_page(kind, 7), ".jpg"), "no digit")
    # Not images, cut off, bombs: errors.
    put("empty.jpg", b"", "error")
    put("html.jpg", b"<!doctype html><html><body>404</body></html>", "error")
    put("truncated.jpg", synthetic.encode(good[9], ".jpg")[:3000], "error")
    for name, data in bombs.bench_bombs().items():
        put(name, data, "error")
    (folder / "empty_folder.png").mkdir(exist_ok=True)
    expected["empty_folder.png"] = "error"
    fifo = folder / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    expected["fifo"] = "error"
    expected["/dev/zero"] = "error"
    expected["x" * 5000 + ".png"] = "error"
    return expected


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = Path(sys.argv[1])
    expected = build(folder)
    with open(folder / "expected.tsv", "w", encoding="utf-8", errors="backslashreplace") as out:
        out.writelines(f"{name!r}\t{status}\n" for name, status in expected.items())
    print(f"{len(expected)} inputs in {folder}")


if __name__ == "__main__":
    main()
