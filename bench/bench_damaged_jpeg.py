"""Damaged JPEGs: bytes of the entropy-coded data flipped, as a bad card,
a broken transfer or a fuzzer leaves them. How many does predict read as a
confident wrong digit (`ok`, the worst answer)? A decoder warning ("Corrupt
JPEG data") now caps the status at `low confidence` and goes in `error`.

    python bench/bench_damaged_jpeg.py [--files 1000]

Beside it, the same images undamaged: what share of the damage warnings
would have been false alarms (none, if the decoder is right).
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import synthetic

from digitcli import Reader


def damaged(jpeg: bytes, rng: np.random.Generator) -> bytes:
    data = bytearray(jpeg)
    scan = data.find(b"\xff\xda")
    for _ in range(int(rng.integers(1, 5))):
        data[int(rng.integers(scan + 20, len(data) - 2))] = int(rng.integers(0, 256))
    return bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    reader = Reader()
    rng = np.random.default_rng(0)
    outcomes: dict[str, collections.Counter] = {"undamaged": collections.Counter(), "damaged": collections.Counter()}
    for index in range(args.files):
        digit = index % 10
        jpeg = synthetic.encode(synthetic.digit_on_paper(digit, int(rng.integers(96, 400)), seed=index), ".jpg")
        for name, data in (("undamaged", jpeg), ("damaged", damaged(jpeg, rng))):
            result = reader.read(data)
            status = result.status.value
            if status == "ok":
                status = "ok, right" if result.number == str(digit) else "ok, WRONG"
            outcomes[name][status + (" + warning" if result.error and status != "error" else "")] += 1
    for name, counts in outcomes.items():
        print(f"{args.files} {name} JPEGs:")
        for outcome, count in sorted(counts.items()):
            print(f"  {outcome:32} {count:6}  {count / args.files:6.1%}")


if __name__ == "__main__":
    main()
