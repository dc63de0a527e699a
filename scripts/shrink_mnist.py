"""Write MNIST's test digits shrunk to a scanned form's cell size, as a
labelled folder, to check a change for tiny scans off the dev set.

    python scripts/shrink_mnist.py [--data ../shared/data/mnist.npz] [--out runs/shrunk-mnist] [--side 16 12]
    digitcli evaluate --labelled runs/shrunk-mnist
    python scripts/shrink_mnist.py --filled --side 16 32 --out runs/filled-mnist
    digitcli evaluate --labelled runs/filled-mnist
    python scripts/shrink_mnist.py --filled --white-on-black --side 16 32 --out runs/filled-inv
    digitcli evaluate --labelled runs/filled-inv
    python scripts/shrink_mnist.py --as-is --out runs/mnist-png
    digitcli evaluate --labelled runs/mnist-png
    python scripts/shrink_mnist.py --boxed --side 32 64 150 --out runs/boxed-mnist
    digitcli evaluate --labelled runs/boxed-mnist
    python scripts/shrink_mnist.py --fields --side 32 56 96 --count 2000 --out runs/fields-mnist
    digitcli evaluate --labelled runs/fields-mnist
    python scripts/shrink_mnist.py --blocks --side 280 --out runs/enlarged-mnist
    python scripts/shrink_mnist.py --smooth --side 112 --out runs/enlarged-mnist
    digitcli evaluate --labelled runs/enlarged-mnist

realworld-dev's USPS digits are 16x16 grey scans. A change to how tiny
images are read (a threshold, a hole filled or opened) can be tuned to
those 1,000 until it fits them and nothing else. The same change measured
on 10,000 digits that nobody tuned on tells the two apart. Each test digit
is resampled by area to SIDE x SIDE (grey levels kept, as USPS was made
from larger scans) and written dark on white as `shrunk-SIDE/<label>/<n>.png`,
so `evaluate --labelled` reports each size as a source.

With `--filled`, each digit is instead stretched to fill the square and
binarised (`filled-SIDE/`), as several digit datasets and form readers
store digits: a 1 becomes a wide bar. That is a style the model can only
tolerate, not have undone, so it checks training rather than the pipeline.
With `--white-on-black` too, they are written as such datasets' bits are
(1, ink, as white), which the pipeline must tell from dark ink.

With `--boxed`, each digit is written in a form's printed box, as a form
reader crops a cell from a grey scan (`boxed-SIDE/`, half of them JPEGs):
in turn the box with a margin of paper, cut at the box, a comb's cell open
at the top, and a box printed light grey (a drop-out form); the digit
large or small, anywhere in it, touching it at times, the crop up to 2
degrees askew.

With `--fields`, the digits are written 2-6 at a time in a form's field of
printed boxes, one digit a cell (`fields-SIDE/`, half of them JPEGs, and a
MANIFEST.tsv of the numbers): in turn a row of joined boxes, separate
boxes, a comb's cells open at the top, and a comb's short ticks on a
baseline; the digits anywhere in their cells, touching the walls at times.
Each wall left in reads as a 1.

With `--as-is`, each digit is written untouched, 28x28 white on black
(`as-is-28/`), as MNIST's PNG copies and many draw-a-digit apps store
digits: predict should read them as well as the model reads MNIST.

With `--blocks` or `--smooth`, each digit is enlarged to SIDE x SIDE, white
on black, by whole pixels (`blocks-SIDE/`: flat blocks, as a viewer or a
pixel-grid canvas shows it) or smoothly (`smooth-SIDE/`, bilinear).

The output is derived from shared data: keep it out of the repository
(runs/ is ignored).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from digitcli.mnist import load_mnist

ROOT = Path(__file__).resolve().parent.parent


def shrunk(digit: np.ndarray, side: int) -> np.ndarray:
    """An MNIST digit (white on black, 28x28) -> dark on white, side x side."""
    small = digit if side == digit.shape[0] else cv2.resize(digit, (side, side), interpolation=cv2.INTER_AREA)
    return 255 - small


def filled(digit: np.ndarray, side: int, black_level: int = 128) -> np.ndarray:
    """An MNIST digit's ink box stretched to side x side, binarised, dark on white."""
    x, y, w, h = cv2.boundingRect((digit >= black_level).astype(np.uint8))
    crop = digit[y:y + h, x:x + w]
    interpolation = cv2.INTER_AREA if max(w, h) > side else cv2.INTER_LINEAR
    stretched = cv2.resize(crop, (side, side), interpolation=interpolation)
    return np.where(stretched >= black_level, 0, 255).astype(np.uint8)


def filled_on_black(digit: np.ndarray, side: int) -> np.ndarray:
    """As `filled`, white ink on black (a binarised dataset's bits: 1 is ink)."""
    return 255 - filled(digit, side)


BOX_KINDS = ("margin", "tight", "comb", "light")


def ink_sized(digit: np.ndarray, inner: int, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit's ink, 50-85% of `inner` pixels tall (no wider than
    it), as a float shade 0-1: how a hand fills a cell `inner` wide."""
    ys, xs = np.nonzero(digit > 30)
    ink = digit[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    height = int(inner * rng.uniform(0.5, 0.85))
    width = min(inner, max(1, round(height * ink.shape[1] / ink.shape[0])))
    return cv2.resize(ink, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def boxed(digit: np.ndarray, side: int, seed: int) -> np.ndarray:
    """An MNIST digit written dark in a printed box `side` pixels wide, the
    box's kind BOX_KINDS[seed % 4], cropped from a grey scan."""
    rng = np.random.default_rng(seed)
    kind = BOX_KINDS[seed % len(BOX_KINDS)]
    line = max(1, round(side * rng.uniform(0.02, 0.05)))
    margin = 0 if kind == "tight" else int(rng.integers(0, side // 10 + 1))
    total = side + 2 * margin
    cell = np.full((total, total), rng.uniform(215, 250), np.float32)
    frame = rng.uniform(150, 195) if kind == "light" else rng.uniform(0, 110)
    near, far = margin, total - margin
    cell[far - line:far, near:far] = frame                        # bottom
    cell[near:far, near:near + line] = frame                      # left
    cell[near:far, far - line:far] = frame                        # right
    if kind != "comb":
        cell[near:near + line, near:far] = frame                  # top
    inner = side - 2 * line
    shade = ink_sized(digit, inner, rng)
    height, width = shade.shape
    y = min(total - height, near + line + int(rng.integers(-line, max(1 - line, inner - height + line))))
    x = min(total - width, near + line + int(rng.integers(-line, max(1 - line, inner - width + line))))
    y, x = max(0, y), max(0, x)
    region = cell[y:y + height, x:x + width]
    cell[y:y + height, x:x + width] = region * (1 - shade) + rng.uniform(10, 80) * shade
    turn = cv2.getRotationMatrix2D((total / 2, total / 2), rng.uniform(-2, 2), 1.0)
    cell = cv2.warpAffine(cell, turn, (total, total), borderMode=cv2.BORDER_REPLICATE)
    return np.clip(cell + rng.normal(0, 3, cell.shape), 0, 255).astype(np.uint8)


FIELD_KINDS = ("joined", "separate", "comb", "ticks")


def field(digits: list[np.ndarray], side: int, seed: int) -> np.ndarray:
    """MNIST digits written dark in a form's field of printed boxes `side`
    pixels wide, one digit each, the field's kind FIELD_KINDS[seed % 4]: a
    row of joined boxes, separate boxes, a comb's cells open at the top, or a
    comb's short ticks on a baseline; cropped from a grey scan with a margin
    of paper, the digits anywhere in their cells, up to 1.5 degrees askew."""
    rng = np.random.default_rng(seed)
    kind = FIELD_KINDS[seed % len(FIELD_KINDS)]
    count = len(digits)
    line = max(1, round(side * rng.uniform(0.02, 0.05)))
    gap = int(side * rng.uniform(0.15, 0.4)) if kind == "separate" else 0
    margin = int(rng.integers(2, side // 3 + 3))
    width, height = 2 * margin + count * side + (count - 1) * gap, 2 * margin + side
    page = np.full((height, width), rng.uniform(215, 250), np.float32)
    frame = rng.uniform(0, 120)
    tick = side if kind in ("joined", "separate", "comb") else int(side * rng.uniform(0.25, 0.45))
    top, bottom = margin, margin + side
    for index, digit in enumerate(digits):
        left = margin + index * (side + gap)
        right = left + side
        page[bottom - line:bottom, left:right] = frame
        if kind in ("joined", "separate"):
            page[top:top + line, left:right] = frame
        page[bottom - tick:bottom, left:left + line] = frame
        page[bottom - tick:bottom, right - line:right] = frame
        inner = side - 2 * line
        shade = ink_sized(digit, inner, rng)
        tall, wide = shade.shape
        y = top + line + int(rng.integers(0, inner - tall + 1))
        x = left + line + int(rng.integers(0, inner - wide + 1))
        region = page[y:y + tall, x:x + wide]
        page[y:y + tall, x:x + wide] = region * (1 - shade) + rng.uniform(10, 80) * shade
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-1.5, 1.5), 1.0)
    page = cv2.warpAffine(page, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    return np.clip(page + rng.normal(0, 3, page.shape), 0, 255).astype(np.uint8)


def write_fields(images: np.ndarray, labels: np.ndarray, sides: list[int], out: Path) -> int:
    """The digits in order, 2-6 a field, each field as `fields-SIDE/N.png`
    (every other one a JPEG), and a MANIFEST.tsv of their numbers."""
    rows = ["relpath\tlabel\tkind"]
    written = 0
    for side in sides:
        (out / f"fields-{side}").mkdir(parents=True, exist_ok=True)
        start, number = 0, 0
        while start + 2 <= len(images):
            count = 2 + number % 5
            digits, text = images[start:start + count], "".join(str(d) for d in labels[start:start + count])
            relpath = f"fields-{side}/{number}{'.jpg' if number % 2 else '.png'}"
            cv2.imwrite(str(out / relpath), field(list(digits), side, number))
            rows.append(f"{relpath}\t{text}\t{FIELD_KINDS[number % len(FIELD_KINDS)]} {side}")
            start, number, written = start + count, number + 1, written + 1
    (out / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    return written


def enlarged(digit: np.ndarray, side: int, interpolation: int) -> np.ndarray:
    """An MNIST digit enlarged to side x side, white on black as it is."""
    return cv2.resize(digit, (side, side), interpolation=interpolation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="mnist.npz or the IDX folder (default as evaluate)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "shrunk-mnist")
    parser.add_argument("--side", type=int, nargs="+", default=[16, 12], help="pixels a side, one folder each")
    parser.add_argument("--filled", action="store_true",
                        help="stretch each digit to fill the square and binarise it (filled-SIDE/)")
    parser.add_argument("--white-on-black", action="store_true",
                        help="with --filled: white ink on black, as a binarised dataset's bits")
    parser.add_argument("--boxed", action="store_true",
                        help="write each digit in a form's printed box, a grey scan's crop (boxed-SIDE/)")
    parser.add_argument("--as-is", action="store_true",
                        help="each digit untouched, 28x28 white on black (as-is-28/; --side is ignored)")
    parser.add_argument("--blocks", action="store_true",
                        help="enlarge each digit by whole pixels, white on black (blocks-SIDE/)")
    parser.add_argument("--smooth", action="store_true",
                        help="enlarge each digit bilinearly, white on black (smooth-SIDE/)")
    parser.add_argument("--fields", action="store_true",
                        help="write the digits 2-6 a field in a form's row of printed boxes, with a MANIFEST.tsv")
    parser.add_argument("--count", type=int, default=10_000, help="the first COUNT test digits")
    args = parser.parse_args()
    mnist = load_mnist(args.data)
    images, labels = mnist.x_test[: args.count], mnist.y_test[: args.count]
    if args.white_on_black and not args.filled:
        parser.error("--white-on-black goes with --filled")
    if args.boxed and (args.filled or args.as_is or args.blocks or args.smooth):
        parser.error("--boxed goes on its own")
    if args.fields:
        if args.filled or args.as_is or args.blocks or args.smooth or args.boxed:
            parser.error("--fields goes on its own")
        fields = write_fields(images, labels, args.side, args.out)
        print(f"wrote {fields} fields of {len(images)} digits, cells {', '.join(map(str, args.side))} px, to {args.out}")
        return
    kind, make = ("filled", filled) if args.filled else ("shrunk", shrunk)
    if args.white_on_black:
        make = filled_on_black
    sides = args.side
    if args.boxed:
        kind = "boxed"
    if args.as_is:
        kind, make, sides = "as-is", (lambda digit, side: digit), [28]
    elif args.blocks or args.smooth:
        if min(sides) <= 28:
            parser.error("--blocks and --smooth enlarge: give --side larger than 28 (280, 112...)")
        interpolation = cv2.INTER_NEAREST if args.blocks else cv2.INTER_LINEAR
        kind, make = ("blocks" if args.blocks else "smooth"), (lambda digit, side: enlarged(digit, side, interpolation))
    for side in sides:
        for label in range(10):
            (args.out / f"{kind}-{side}" / str(label)).mkdir(parents=True, exist_ok=True)
        for index, (digit, label) in enumerate(zip(images, labels)):
            image = boxed(digit, side, index) if args.boxed else make(digit, side)
            suffix = ".jpg" if args.boxed and index % 2 else ".png"
            cv2.imwrite(str(args.out / f"{kind}-{side}" / str(label) / f"{index}{suffix}"), image)
    print(f"wrote {len(images)} {kind} digits at {', '.join(f'{s}x{s}' for s in sides)} to {args.out}")


if __name__ == "__main__":
    main()
