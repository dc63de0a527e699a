"""Lines of digits for the line reader, drawn from MNIST digits.

A line holds 1 to `max_digits` digits, as people write numbers: touching
(strokes that meet and cross), overlapping boxes, or spaced; slanted; in a
thicker or thinner pen; binarised at a random level, as predict's pipeline
binarises ink; now and then a mark that is not a digit (a dot, a comma, a
dash, a slash, an underline) or a speck. Each comes out as the line reader's
input (reading/lines.py) with its digits. Pure numpy and OpenCV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import cv2
import numpy as np

from ..config import SETTINGS, LineConvention, LineTrainConfig
from ..reading.lines import line_image
from .outliers import compose_number

Rng = np.random.Generator
LINE_HEIGHT = 56   # the digits' height when drawn (compose_number's default)

# How the digits of a line sit: (share of lines, gap range in shares of the
# height, gaps measured between their ink rather than their boxes).
SPACINGS = ((0.45, (-0.08, 0.0), True),      # touching: strokes meet and cross
            (0.35, (0.02, 0.5), False),      # spaced
            (0.20, (-0.15, 0.05), False))    # boxes overlapping, strokes may or may not meet


def slanted(canvas: np.ndarray, shear: float) -> np.ndarray:
    """The line sheared by `shear` (x moves by shear * y), widened to fit."""
    height = canvas.shape[0]
    pad = int(abs(shear) * height) + 2
    wide = cv2.copyMakeBorder(canvas, 0, 0, pad, pad, cv2.BORDER_CONSTANT, value=0)
    matrix = np.float32([[1, shear, -shear * height / 2], [0, 1, 0]])
    return cv2.warpAffine(wide, matrix, (wide.shape[1], height))


def draw_line(images: np.ndarray, labels: np.ndarray, rng: Rng,
              config: LineTrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """One line of random digits: its binary ink (bool) and its digits."""
    lengths = np.arange(1, config.max_digits + 1)
    weights = np.minimum(lengths, 3) ** 0.5            # fewer very short lines: one digit is the classifier's
    count = int(rng.choice(lengths, p=weights / weights.sum()))
    chosen = rng.integers(len(images), size=count)
    shares = [share for share, _, _ in SPACINGS]
    _, gaps, ink_contact = SPACINGS[int(rng.choice(len(SPACINGS), p=shares))]
    canvas, rights = compose_number([images[i] for i in chosen], rng, height=LINE_HEIGHT, gap_range=gaps,
                                    ink_contact=ink_contact, sizes=smaller_at_the_end(count, config, rng))
    if config.ligature_share > 0 and rng.random() < config.ligature_share:
        canvas = with_ligatures(canvas, rights, LINE_HEIGHT, rng)
    if rng.random() < config.mark_share:
        canvas = with_mark(canvas, rights, LINE_HEIGHT, rng)
    if rng.random() < 0.6:
        canvas = slanted(canvas, rng.uniform(-0.25, 0.25))
    pen = rng.random()
    if pen < 0.2:
        canvas = cv2.dilate(canvas, np.ones((3, 3), np.uint8))
    elif pen < 0.3:
        canvas = cv2.erode(canvas, np.ones((2, 2), np.uint8))
    ink = canvas > rng.uniform(60, 170)
    if rng.random() < 0.1:
        for _ in range(int(rng.integers(1, 4))):
            y, x = rng.integers(ink.shape[0]), rng.integers(ink.shape[1])
            ink[y:y + 2, x:x + 2] = True
    return ink, labels[chosen]


def smaller_at_the_end(count: int, config: LineTrainConfig, rng: Rng) -> list[float] | None:
    """Each digit's height (shares of the line's), now and then the last few
    written smaller, as people write cents and a cheque's trailing zeros;
    None: compose_number's own jitter."""
    if config.small_share <= 0 or count < 2 or rng.random() >= config.small_share:
        return None
    first_small = int(rng.integers(1, count))
    small = rng.uniform(0.45, 0.8)
    return [float(rng.uniform(0.85, 1.05)) if index < first_small else float(small * rng.uniform(0.93, 1.07))
            for index in range(count)]


def with_ligatures(canvas: np.ndarray, rights: list[int], height: int, rng: Rng) -> np.ndarray:
    """Digits joined as in cursive writing: a stroke from a digit's last
    column of ink to the next digit's first, where a gap separates them
    (touching digits are joined already)."""
    ink = canvas > 127
    columns = ink.any(axis=0)
    pen = int(rng.integers(max(2, height // 18), max(3, height // 9)))
    for right in rights[:-1]:
        if rng.random() < 0.3:
            continue
        start = right - 1
        ahead = np.flatnonzero(columns[right:])
        if not columns[start] or not len(ahead) or ahead[0] < 3:
            continue
        end = right + int(ahead[0])
        rows_from, rows_to = np.flatnonzero(ink[:, start]), np.flatnonzero(ink[:, end])
        y1 = int(rows_from[int(rng.integers(len(rows_from)))])
        y2 = int(rows_to[np.argmin(np.abs(rows_to - y1))])
        sag = int(rng.uniform(0, 0.12) * height)
        middle = ((start + end) // 2, max(y1, y2) + sag)
        cv2.polylines(canvas, [np.array([(start, y1), middle, (end, y2)], np.int32)], False, 255, pen, cv2.LINE_AA)
    return canvas


MARKS = ("dot", "comma", "dash", "slash", "underline")


def _band(canvas: np.ndarray, x: int, width: int) -> np.ndarray:
    """The canvas with `width` blank columns inserted at column x."""
    return np.concatenate([canvas[:, :x], np.zeros((canvas.shape[0], width), canvas.dtype), canvas[:, x:]], axis=1)


def with_mark(canvas: np.ndarray, rights: list[int], height: int, rng: Rng) -> np.ndarray:
    """A mark that is not a digit, where people put them: a dot, comma,
    dash or slash before, between or after the digits, or an underline;
    in the pen's width. The line's digits are unchanged (CTC reads it as
    blank)."""
    kind = MARKS[int(rng.integers(len(MARKS)))]
    pen = int(rng.integers(max(2, height // 16), max(3, height // 8)))
    top = (canvas.shape[0] - height) // 2
    bottom = top + height
    if kind == "underline":
        y = min(canvas.shape[0] - pen, bottom + int(rng.integers(-pen, pen * 2)))
        cv2.line(canvas, (int(rng.integers(0, max(1, canvas.shape[1] // 4))), y),
                 (int(canvas.shape[1] - rng.integers(0, max(1, canvas.shape[1] // 4))), y), 255, pen)
        return canvas
    size = {"dot": pen * 2, "comma": pen * 2, "dash": int(height * rng.uniform(0.25, 0.6)),
            "slash": int(height * rng.uniform(0.4, 0.7))}[kind]
    room = size + 2 * int(rng.integers(0, max(1, height // 6)))
    where = int(rng.integers(3))                  # before, between, after
    x = (0 if where == 0 or len(rights) < 2 and where == 1 else
         rights[int(rng.integers(len(rights) - 1))] if where == 1 else rights[-1])
    canvas = _band(canvas, x, room)
    left = x + (room - size) // 2
    if kind in ("dot", "comma"):
        centre = (left + size // 2, bottom - pen)
        cv2.circle(canvas, centre, pen, 255, -1)
        if kind == "comma":
            cv2.line(canvas, centre, (centre[0] - pen, centre[1] + 3 * pen), 255, max(1, pen // 2 + 1))
    elif kind == "dash":
        y = top + int(height * rng.uniform(0.35, 0.65))
        cv2.line(canvas, (left, y), (left + size, y), 255, pen)
    else:
        cv2.line(canvas, (left, bottom), (left + size, top + int(height * rng.uniform(0, 0.2))), 255, pen)
    return canvas


def fit_width(line: np.ndarray, width: int) -> np.ndarray:
    """A line image squeezed (if wider) and padded to exactly `width` columns."""
    if line.shape[1] > width:
        line = cv2.resize(line, (width, line.shape[0]), interpolation=cv2.INTER_AREA)
    out = np.zeros((line.shape[0], width), np.float32)
    out[:, :line.shape[1]] = line
    return out


def line_samples(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
                 config: LineTrainConfig = SETTINGS.train_lines,
                 convention: LineConvention = SETTINGS.lines,
                 map_fn: Callable[..., Iterable] = map) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` lines: images float16 (count, height, max_width), each line's
    width (a multiple of the stride), and digits int32 (count, max_digits)
    padded with -1."""
    def one(index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([seed, 13, index])
        while True:
            ink, digits = draw_line(images, labels, rng, config)
            line = line_image(ink, convention)
            if line is not None:
                return fit_width(line, config.max_width), min(line.shape[1], config.max_width), digits

    drawn = list(map_fn(one, range(count)))
    x = np.stack([line for line, _, _ in drawn]).astype(np.float16)
    widths = np.array([width for _, width, _ in drawn], np.int32)
    y = np.full((count, config.max_digits), -1, np.int32)
    for row, (_, _, digits) in zip(y, drawn):
        row[:len(digits)] = digits
    return x, widths, y
