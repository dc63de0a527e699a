"""Compose handwritten numbers from the real single digits of a labelled set
(realworld-dev by default), for measuring number reading.

    python scripts/compose_numbers.py [--digits ../shared/data/realworld-dev] [--out runs/composed-numbers]
    python scripts/compose_numbers.py --tilt 10 --out runs/composed-numbers-tilt10
    python scripts/compose_numbers.py --shadow --out runs/composed-numbers-shadow

Each number takes 2-5 digits from one source (one writer, where a source has
one: each repository's own photos or drawings; USPS digits come from many),
cuts each digit's ink out of its image with digitcli's own ink mask, scales
them to one height with a little size and baseline jitter, and places them
left to right, either spaced (gaps of 15-60% of the height between their
boxes) or touching (slid together until their strokes meet, then on by
1.5-6% of the height, so that strokes cross, but never so far that less than
75% of either digit's ink stays clear of the other's: a 1 laid along a 9's
stem is hidden, not touching), as dark ink on light paper with grain. With
--tilt, the same numbers each slope by that many degrees, uphill or downhill
at random (written on a slope, photographed askew). With --shadow, the same
numbers each lie partly in a shadow, as of a phone held over the page: 35-60%
darker beyond an edge at any angle, crossing the number's middle half, soft
over 3-20% of the height. Writes PNGs and a
MANIFEST.tsv (relpath, label, kind, source, spacing) that `digitcli evaluate
--labelled` reads. The output is derived from shared data: keep it out of the
repository (runs/ is ignored).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from synthetic import cast_shadow, tilted

from digitcli.evaluation.labelled import find_labelled_images
from digitcli.reading.decode import decode_image
from digitcli.reading.pipeline import ink_mask, select_digit
from digitcli.train.outliers import compose_number

ROOT = Path(__file__).resolve().parent.parent


def digit_ink(path: Path) -> np.ndarray | None:
    """The digit's ink (uint8, white on black, cropped), or None."""
    decoded = decode_image(path.read_bytes())
    ink = ink_mask(decoded.image, decoded.size)
    kept = select_digit(ink)
    if kept is None:
        return None
    x, y, w, h = cv2.boundingRect(kept)
    return kept[y:y + h, x:x + w]


MIN_VISIBLE = 0.75   # share of each touching digit's ink clear of its neighbour's


def compose(inks: list[np.ndarray], touching: bool, rng: np.random.Generator, height: int = 64) -> np.ndarray:
    """Digits side by side (digitcli's own composer), dark ink on light paper."""
    gaps = (-0.06, -0.015) if touching else (0.15, 0.6)
    canvas, _ = compose_number(inks, rng, height, gaps, ink_contact=touching,
                               min_visible=MIN_VISIBLE if touching else None)
    paper, ink = rng.uniform(200, 245), rng.uniform(20, 90)
    alpha = cv2.GaussianBlur(canvas, (3, 3), 0).astype(np.float32) / 255.0
    page = paper * (1 - alpha) + ink * alpha + rng.normal(0, 3, canvas.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits", type=Path, default=ROOT.parent / "shared" / "data" / "realworld-dev")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "composed-numbers")
    parser.add_argument("--per-kind", type=int, default=100, help="numbers per kind and spacing")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tilt", type=float, default=0.0, help="degrees each number slopes (either way)")
    parser.add_argument("--shadow", action="store_true", help="a shadow's edge across each number")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    signs = np.random.default_rng(args.seed + 1)   # apart, so that tilted numbers are the same numbers
    shadows = np.random.default_rng(args.seed + 2)   # ...and shadowed ones
    by_source: dict[tuple[str, str], list] = defaultdict(list)
    for item in find_labelled_images(args.digits):
        if item.label is not None:
            source = item.path.relative_to(args.digits).parts[0]
            by_source[(item.group, source)].append(item)
    kinds = sorted({kind for kind, _ in by_source})
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for kind in kinds:
        sources = [key for key in by_source if key[0] == kind and len(by_source[key]) >= 5]
        for spacing in ("spaced", "touching"):
            made = 0
            while made < args.per_kind:
                key = sources[int(rng.integers(len(sources)))]
                chosen = [by_source[key][int(i)] for i in rng.choice(len(by_source[key]), int(rng.integers(2, 6)))]
                inks = [digit_ink(item.path) for item in chosen]
                if any(ink is None for ink in inks):
                    continue
                name = f"{kind}-{spacing}-{made:03d}.png"
                page = compose(inks, spacing == "touching", rng)
                if args.tilt:
                    page = tilted(page, args.tilt * signs.choice((-1, 1)))
                if args.shadow:
                    page = cast_shadow(page, shadows.uniform(0.35, 0.6), shadows.uniform(0, 2 * np.pi),
                                       shadows.uniform(-0.25, 0.25), shadows.uniform(0.03, 0.2))
                cv2.imwrite(str(args.out / name), page)
                rows.append({"relpath": name, "label": "".join(str(item.label) for item in chosen),
                             "kind": f"{kind} {spacing}", "source": key[1], "spacing": spacing})
                made += 1
    with (args.out / "MANIFEST.tsv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} numbers to {args.out}")


if __name__ == "__main__":
    main()
