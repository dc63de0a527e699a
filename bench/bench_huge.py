"""Peak memory of `digitcli predict` on 100-megapixel images.

    python bench/bench_huge.py [--megapixels 100]

Writes a 10000x10000 PNG and JPEG of a drawn digit to a temporary folder,
then runs predict on one PNG, one JPEG, and a batch of four, printing wall
time and peak RSS (the target: under 1.5 GB).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

import synthetic
from bench_predict import digitcli_command, timed_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=100.0)
    args = parser.parse_args()
    side = int(math.sqrt(args.megapixels * 1e6))
    with tempfile.TemporaryDirectory() as folder:
        image = cv2.resize(synthetic.digit_on_paper(6, 500, seed=3), (side, side), interpolation=cv2.INTER_LINEAR)
        png, jpg = Path(folder) / "6_huge.png", Path(folder) / "6_huge.jpg"
        cv2.imwrite(str(png), image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        cv2.imwrite(str(jpg), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        del image
        for name, paths in (("one PNG", [png]), ("one JPEG", [jpg]), ("four, mixed", [png, jpg, png, png])):
            wall, rss = timed_run(digitcli_command([str(p) for p in paths]))
            out = subprocess.run(digitcli_command([str(paths[0])]), capture_output=True, text=True, check=False)
            print(f"{side}x{side} ({side * side / 1e6:.0f} MP), {name}: {wall:.2f} s, peak {rss:.0f} MB; "
                  f"first row {out.stdout.strip()[:90]}")


if __name__ == "__main__":
    main()
