"""Draw numbers in the scenes they are photographed in (a form's box, a
ruled or squared page, a teacher's circle or tick, separators, a dark
meter, a photo taken askew, a mark out of a total, a currency sign), as
pen strokes of our own, for checking that what surrounds a number is not
read as digits:

    python scripts/draw_scenes.py runs/scenes
    digitcli evaluate --labelled runs/scenes
    python scripts/draw_scenes.py runs/scenes-x3 --scale 3   # the same, at a phone's resolution

Writes PNGs and a MANIFEST.tsv (relpath, label, kind: the scene) that
`digitcli evaluate --labelled` reads. The label is the digits a reader
should give: marks, separators and frames are not digits ("1.480,-" is
1480, "17" and a tick is 17, "17/20" is 1720, "$250" is 250).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import add_shadow, draw_number, draw_strokes, ellipse_points, paper, rule_lines

Rng = np.random.Generator
ADVANCE = 0.62


def _digits(rng: Rng, low: int = 2, high: int = 5) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(low, high + 1))))


def _page(text: str, rng: Rng, height: int) -> tuple[np.ndarray, tuple[int, int], int]:
    """Paper wide enough for `text`, and where its first digit's centre goes."""
    width = int(height * (ADVANCE * len(text) + 3))
    return paper(height * 3, width, seed=int(rng.integers(1 << 16))), (int(1.5 * height), int(1.5 * height)), width


def _write(page: np.ndarray, text: str, start: tuple[int, int], height: int, rng: Rng) -> np.ndarray:
    """`text` in a dark ink of its own, its first digit's centre at `start`."""
    ink = tuple(int(v) for v in rng.integers(15, 70, 3))
    return draw_number(page, text, start, height, ink, seed=int(rng.integers(1 << 16)))


def _number_span(text: str, start: tuple[int, int], height: int) -> tuple[int, int, int, int]:
    """The box a number's digits take (x0, y0, x1, y1), as draw_number places them."""
    half = int(0.4 * height)
    return (start[0] - half, start[1] - int(0.55 * height),
            start[0] + int(ADVANCE * height * (len(text) - 1)) + half, start[1] + int(0.55 * height))


def plain(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    text = _digits(rng)
    page, start, _ = _page(text, rng, height)
    return _write(page, text, start, height, rng), text


def boxed(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """A form field: a box drawn round the number, loose or tight."""
    text = _digits(rng)
    page, start, _ = _page(text, rng, height)
    x0, y0, x1, y1 = _number_span(text, start, height)
    margin = int(rng.uniform(0.1, 0.4) * height)
    cv2.rectangle(page, (x0 - margin, y0 - margin), (x1 + margin, y1 + margin), (40, 40, 40), int(rng.integers(2, 4)))
    return _write(page, text, start, height, rng), text


def underlined(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    text = _digits(rng)
    page, start, _ = _page(text, rng, height)
    x0, _, x1, y1 = _number_span(text, start, height)
    y = y1 + int(rng.uniform(0.05, 0.25) * height)
    cv2.line(page, (x0 - 10, y), (x1 + 10, y + int(rng.integers(-6, 7))), (40, 40, 40), int(rng.integers(2, 5)))
    return _write(page, text, start, height, rng), text


def separators(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """An amount or a date: full stops, commas and dashes between digits."""
    pattern = ["#.###,-", "##.##", "##.##.####", "###-####", "#,###.##"][int(rng.integers(5))]
    text = "".join(str(int(rng.integers(10))) if c == "#" else c for c in pattern)
    page, start, _ = _page(text, rng, height)
    return _write(page, text, start, height, rng), "".join(c for c in text if c.isdigit())


def ruled(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """A notebook's lines through and under the digits."""
    text = _digits(rng)
    page, start, _ = _page(text, rng, height)
    page = rule_lines(page, int(rng.uniform(0.45, 0.8) * height))
    return _write(page, text, start, height, rng), text


def squared(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """Squared paper."""
    text = _digits(rng)
    page, start, width = _page(text, rng, height)
    step = int(rng.uniform(0.3, 0.45) * height)
    for x in range(0, width, step):
        cv2.line(page, (x, 0), (x, page.shape[0]), (200, 190, 170), 1)
    for y in range(0, page.shape[0], step):
        cv2.line(page, (0, y), (width, y), (200, 190, 170), 1)
    return _write(page, text, start, height, rng), text


def comb(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """A form's row of boxes, a digit in each."""
    text = _digits(rng, 3, 6)
    cell = int(1.0 * height)
    page = paper(height * 3, cell * (len(text) + 2), seed=int(rng.integers(1 << 16)))
    top = int(0.9 * height)
    for index, digit in enumerate(text):
        left = cell + index * cell
        cv2.rectangle(page, (left, top), (left + cell, top + int(1.3 * height)), (60, 60, 60), 2)
        page = _write(page, digit, (left + cell // 2, top + int(0.65 * height)), int(0.8 * height), rng)
    return page, text


def circled(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """An exam mark with the teacher's circle round it, tight or loose."""
    text = _digits(rng, 1, 3)
    page, start, _ = _page(text, rng, height)
    x0, y0, x1, y1 = _number_span(text, start, height)
    centre = ((x0 + x1) // 2, (y0 + y1) // 2)
    reach = rng.uniform(0.85, 1.25)
    rx, ry = reach * (x1 - x0) / 2 + 0.3 * height, reach * (y1 - y0) / 2 + 0.15 * height
    page = _write(page, text, start, height, rng)
    # A pen's loop (draw_strokes' unit box is 0.7 as wide as tall): it may
    # overshoot where it started, or stop a little short.
    tall = int(2 * ry)
    loop = ellipse_points(0.5, 0.5, rx / (0.7 * tall), 0.5, rng.uniform(0, 2 * np.pi), rng.uniform(0.95, 1.1), 40)
    page = draw_strokes(page, [loop], centre, tall, (40, 40, 190), int(rng.integers(2, 5)),
                        seed=int(rng.integers(1 << 16)), slant=float(rng.uniform(-0.1, 0.1)))
    return page, text


def ticked(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """An exam mark and the teacher's tick after it."""
    text = _digits(rng, 1, 3)
    page, start, _ = _page(text + "  ", rng, height)
    page = _write(page, text, start, height, rng)
    _, _, x1, _ = _number_span(text, start, height)
    tick = [[(0.1, 0.55), (0.4, 0.9), (0.95, rng.uniform(0.0, 0.2))]]
    centre = (x1 + int(rng.uniform(0.8, 1.3) * height), start[1])
    page = draw_strokes(page, tick, centre, int(rng.uniform(0.6, 0.9) * height), (40, 40, 190),
                        seed=int(rng.integers(1 << 16)), slant=0)
    return page, text


def meter(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """Light digits in a meter's dark windows."""
    text = _digits(rng, 4, 6)
    cell = int(1.1 * height)
    page = np.full((height * 3, cell * (len(text) + 2), 3), int(rng.integers(30, 60)), np.uint8)
    for index, digit in enumerate(text):
        left = cell + index * cell + 4
        cv2.rectangle(page, (left, int(0.7 * height)), (left + cell - 8, int(2.3 * height)), (8, 8, 8), -1)
        page = draw_number(page, digit, (left + cell // 2 - 4, int(1.5 * height)), height, (235, 235, 235),
                           seed=int(rng.integers(1 << 16)))
    return page, text


def askew(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """A phone's photo of a sheet on a table, taken at an angle: the sheet
    in perspective, at a phone's resolution (three times the others)."""
    text = _digits(rng)
    height *= 3
    page, start, width = _page(text, rng, height)
    page = _write(page, text, start, height, rng)
    h = page.shape[0]
    jitter = rng.uniform(0, 0.12, 8) * np.array([width, h] * 4)
    corners = np.float32([[0, 0], [width, 0], [width, h], [0, h]])
    moved = np.float32(corners + jitter.reshape(4, 2) * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]))
    return cv2.warpPerspective(page, cv2.getPerspectiveTransform(corners, moved), (width, h),
                               borderValue=(110, 110, 110)), text


def shadowed(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    page, text = plain(rng, height)
    return add_shadow(page, float(rng.uniform(0.3, 0.5)), float(rng.uniform(0, 3))), text


def fraction(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """An exam mark out of a total ("17/20"): the slash is a mark, not a 1."""
    mark, total = _digits(rng, 1, 2), str(int(rng.choice([10, 20, 25, 40, 50, 100])))
    page, start, _ = _page(mark + "/" + total, rng, height)
    page = _write(page, mark, start, height, rng)
    x = start[0] + int(ADVANCE * height * len(mark))
    lean = rng.uniform(0.25, 0.45)
    page = draw_strokes(page, [[(0.5 + lean, -0.05), (0.5 - lean, 1.05)]], (x, start[1]), height, (30, 30, 30),
                        seed=int(rng.integers(1 << 16)), slant=0)
    return _write(page, total, (x + int(ADVANCE * height), start[1]), height, rng), mark + total


def currency(rng: Rng, height: int) -> tuple[np.ndarray, str]:
    """An amount after a dollar or a euro sign: the sign is not a digit."""
    text = _digits(rng)
    page, start, _ = _page("$" + text, rng, height)
    dollar = [[(0.75, 0.2), (0.5, 0.08), (0.25, 0.22), (0.3, 0.45), (0.7, 0.55), (0.75, 0.8), (0.5, 0.92),
               (0.22, 0.8)], [(0.5, -0.05), (0.5, 1.05)]]
    euro = [ellipse_points(0.6, 0.5, 0.4, 0.45, 0.9, 0.72, 20), [(0.1, 0.42), (0.6, 0.42)], [(0.1, 0.58), (0.6, 0.58)]]
    page = draw_strokes(page, dollar if rng.random() < 0.5 else euro, start, height, (30, 30, 30),
                        seed=int(rng.integers(1 << 16)), slant=0)
    return _write(page, text, (start[0] + int(0.9 * height), start[1]), height, rng), text


SCENES: dict[str, Callable[[Rng, int], tuple[np.ndarray, str]]] = {
    scene.__name__: scene for scene in (plain, boxed, underlined, separators, ruled, squared, comb, circled,
                                        ticked, meter, askew, shadowed, fraction, currency)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-scene", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--scale", type=float, default=1.0, help="each image enlarged this many times")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for offset, (name, scene) in enumerate(SCENES.items()):
        rng = np.random.default_rng([args.seed, offset])
        for index in range(args.per_scene):
            page, label = scene(rng, int(rng.integers(40, 100)))
            if args.scale != 1:
                page = cv2.resize(page, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_CUBIC)
            relpath = f"{name}-{index:02d}.png"
            cv2.imwrite(str(args.out / relpath), page)
            rows.append({"relpath": relpath, "label": label, "kind": name})
    with (args.out / "MANIFEST.tsv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["relpath", "label", "kind"], delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} numbers to {args.out}")


if __name__ == "__main__":
    main()
