"""Things that are not digits, drawn for training and measuring rejection.

A classifier trained on digits alone is sure of itself on anything: a
letter "A" reads as a 4 at 0.97. Training shows the model these drawings
with a uniform target (outlier exposure), so that on a non-digit it spreads
its probability and the confidence drops below predict's threshold.

Pure numpy and OpenCV (no TensorFlow). Each drawing goes through the photo
pipeline, so the model sees non-digits as predict would feed them to it.
Families are split: `TRAIN_FAMILIES` teach the model; `HELD_OUT_FAMILIES`
(other fonts, other shapes) measure whether rejection generalises.
Letters and symbols that a hand can make look like a digit (O, I, l, Z, S,
B, G, a, b, g, q, &, ...) are left out, and so are closed boxes (a narrow
one becomes a 0 in 28x28), so that real digits are not taught as rejects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np

from ..config import SETTINGS
from ..reading.pipeline import prepare_array

# Glyphs no one would read as a digit, in any of the fonts below.
GLYPHS = "AEFHKMNPRVWXefhkmnpwx#*@%+=<>~"

TRAIN_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
               cv2.FONT_HERSHEY_SCRIPT_COMPLEX, cv2.FONT_HERSHEY_PLAIN)
HELD_OUT_FONTS = (cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL)

Rng = np.random.Generator
Stroke = np.ndarray  # (n, 2) points in the unit box, x right, y down


def smooth_polyline(points: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Chaikin corner cutting: a hand-drawn curve through polyline corners."""
    for _ in range(rounds):
        a, b = points[:-1], points[1:]
        inner = np.empty((2 * len(a), 2))
        inner[0::2], inner[1::2] = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        points = np.vstack([points[:1], inner, points[-1:]])
    return points


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, turn: float, n: int = 24) -> Stroke:
    angles = np.linspace(start, start + 2 * np.pi * turn, n)
    return np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])


# ------------------------------------------------------------------ shapes
# Each returns pen strokes in the unit box; `smooth` says whether the pen
# rounds the corners (a star keeps its points).

def star(rng: Rng) -> list[Stroke]:
    """A pentagram: five points, every second one joined."""
    return [_arc(0.5, 0.5, 0.45, 0.45, rng.uniform(0, 2 * np.pi), 2.0, 6)]


def smiley(rng: Rng) -> list[Stroke]:
    eye = rng.uniform(0.02, 0.05)
    return [_arc(0.5, 0.5, 0.45, 0.45, 0, 1.0, 32),
            _arc(0.35, 0.38, eye, eye, 0, 1.0, 8), _arc(0.65, 0.38, eye, eye, 0, 1.0, 8),
            _arc(0.5, 0.55, 0.22, rng.uniform(0.08, 0.18), 0.2, 0.4, 12)]


def hash_sign(rng: Rng) -> list[Stroke]:
    a, b = rng.uniform(0.25, 0.4), rng.uniform(0.6, 0.75)
    return [np.array([[a, 0.05], [a - 0.05, 0.95]]), np.array([[b, 0.05], [b - 0.05, 0.95]]),
            np.array([[0.05, a], [0.95, a]]), np.array([[0.05, b], [0.95, b]])]


def grid(rng: Rng) -> list[Stroke]:
    n = int(rng.integers(3, 6))
    ticks = np.linspace(0.05, 0.95, n)
    return ([np.array([[t, 0.05], [t, 0.95]]) for t in ticks]
            + [np.array([[0.05, t], [0.95, t]]) for t in ticks])


def triangle(rng: Rng) -> list[Stroke]:
    top = rng.uniform(0.3, 0.7)
    return [np.array([[top, 0.05], [0.95, 0.9], [0.05, 0.9], [top, 0.05]])]


def zigzag(rng: Rng) -> list[Stroke]:
    n = int(rng.integers(4, 9))
    x = np.linspace(0.05, 0.95, n)
    y = np.where(np.arange(n) % 2 == 0, 0.2, 0.8) + rng.normal(0, 0.05, n)
    return [np.column_stack([x, y])]


def wave(rng: Rng) -> list[Stroke]:
    x = np.linspace(0.05, 0.95, 40)
    y = 0.5 + 0.3 * np.sin(x * rng.uniform(10, 20) + rng.uniform(0, 6))
    return [np.column_stack([x, y])]


def scribble(rng: Rng) -> list[Stroke]:
    return [rng.uniform(0.05, 0.95, (int(rng.integers(8, 16)), 2))]


def spiral(rng: Rng) -> list[Stroke]:
    turns = rng.uniform(2.0, 3.5)
    t = np.linspace(0, 1, 80)
    angle = rng.uniform(0, 2 * np.pi) + 2 * np.pi * turns * t
    radius = 0.05 + 0.4 * t
    return [np.column_stack([0.5 + radius * np.cos(angle), 0.5 + radius * np.sin(angle)])]


def lines(rng: Rng) -> list[Stroke]:
    n = int(rng.integers(3, 6))
    slope = rng.uniform(-0.3, 0.3)
    return [np.array([[0.05, y], [0.95, y + slope]]) for y in np.linspace(0.1, 0.9 - max(slope, 0), n)]


def dash(rng: Rng) -> list[Stroke]:
    y = rng.uniform(0.4, 0.6)
    return [np.array([[0.05, y], [0.95, y + rng.uniform(-0.1, 0.1)]])]


def blot(rng: Rng) -> list[Stroke]:
    """An ink blot: drawn filled (see `draw_strokes`)."""
    n = int(rng.integers(5, 10))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = rng.uniform(0.25, 0.45, n)
    return [np.column_stack([0.5 + radius * np.cos(angles), 0.5 + radius * np.sin(angles)])]


def heart(rng: Rng) -> list[Stroke]:
    t = np.linspace(0, 2 * np.pi, 60)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return [np.column_stack([0.5 + x / 36, 0.45 + y / 36])]


def arrow(rng: Rng) -> list[Stroke]:
    return [np.array([[0.05, 0.5], [0.95, 0.5]]),
            np.array([[0.65, 0.2], [0.95, 0.5], [0.65, 0.8]])]


def check_mark(rng: Rng) -> list[Stroke]:
    return [np.array([[0.05, 0.55], [0.35, 0.9], [0.95, 0.1]])]


SHARP_SHAPES = {star, hash_sign, grid, triangle, zigzag, lines, dash, arrow, check_mark}


# ------------------------------------------------------ handwritten letters
# Capital letters, Greek letters and symbols as a hand draws them: pen
# strokes in the unit box, jittered per writer (see `draw_handwritten`).
# Real people's letters are not font outlines: a pen-drawn B read as an 8 at
# 97%, a D as a 0 at 99.5%. Each letter keeps what tells it from a digit (a
# B's and a D's straight back, a Q's tail, a T's centred stem); letters a
# hand makes exactly like a digit (O, I, l, S, Z, b, g, q, theta, sigma) are
# left out.

def _pts(*xy: float) -> Stroke:
    return np.array(xy, float).reshape(-1, 2)


HANDWRITTEN: dict[str, list[Stroke]] = {
    "A": [_pts(0.05, 1, 0.5, 0, 0.95, 1), _pts(0.25, 0.6, 0.75, 0.6)],
    "B": [_pts(0.15, 0, 0.15, 1), _pts(0.15, 0, 0.6, 0, 0.8, 0.12, 0.8, 0.35, 0.6, 0.48, 0.15, 0.48),
          _pts(0.15, 0.48, 0.65, 0.48, 0.88, 0.62, 0.88, 0.86, 0.65, 1, 0.15, 1)],
    "C": [_arc(0.55, 0.5, 0.42, 0.5, np.pi / 4, 0.75)],
    "D": [_pts(0.15, 0, 0.15, 1), _pts(0.15, 0, 0.5, 0, 0.85, 0.25, 0.85, 0.75, 0.5, 1, 0.15, 1)],
    "E": [_pts(0.85, 0, 0.15, 0, 0.15, 1, 0.85, 1), _pts(0.15, 0.5, 0.7, 0.5)],
    "F": [_pts(0.85, 0, 0.15, 0, 0.15, 1), _pts(0.15, 0.5, 0.7, 0.5)],
    "G": [_arc(0.55, 0.5, 0.42, 0.5, np.pi / 4, 0.75), _pts(0.55, 0.55, 0.95, 0.55, 0.95, 0.9)],
    "H": [_pts(0.15, 0, 0.15, 1), _pts(0.85, 0, 0.85, 1), _pts(0.15, 0.5, 0.85, 0.5)],
    "J": [_pts(0.3, 0, 0.9, 0), _pts(0.7, 0, 0.7, 0.75, 0.55, 1, 0.3, 1, 0.15, 0.8)],
    "K": [_pts(0.15, 0, 0.15, 1), _pts(0.85, 0, 0.15, 0.55), _pts(0.35, 0.4, 0.85, 1)],
    "L": [_pts(0.15, 0, 0.15, 1, 0.85, 1)],
    "M": [_pts(0.05, 1, 0.15, 0, 0.5, 0.6, 0.85, 0, 0.95, 1)],
    "N": [_pts(0.15, 1, 0.15, 0, 0.85, 1, 0.85, 0)],
    "P": [_pts(0.15, 1, 0.15, 0, 0.65, 0, 0.85, 0.15, 0.85, 0.35, 0.65, 0.5, 0.15, 0.5)],
    "Q": [_arc(0.5, 0.48, 0.42, 0.46, 0, 1.0, 32), _pts(0.55, 0.7, 0.95, 1.0)],
    "R": [_pts(0.15, 1, 0.15, 0, 0.65, 0, 0.85, 0.15, 0.85, 0.35, 0.65, 0.5, 0.15, 0.5), _pts(0.45, 0.5, 0.85, 1)],
    "T": [_pts(0.05, 0, 0.95, 0), _pts(0.5, 0, 0.5, 1)],
    "U": [_pts(0.15, 0, 0.15, 0.7, 0.35, 1, 0.65, 1, 0.85, 0.7, 0.85, 0)],
    "V": [_pts(0.05, 0, 0.5, 1, 0.95, 0)],
    "W": [_pts(0.0, 0, 0.25, 1, 0.5, 0.3, 0.75, 1, 1.0, 0)],
    "X": [_pts(0.1, 0, 0.9, 1), _pts(0.9, 0, 0.1, 1)],
    "Y": [_pts(0.1, 0, 0.5, 0.5, 0.9, 0), _pts(0.5, 0.5, 0.5, 1)],
    "alpha": [_pts(0.95, 0.05, 0.7, 0.6, 0.45, 0.95, 0.15, 0.85, 0.05, 0.5, 0.2, 0.15, 0.45, 0.1, 0.7, 0.45,
                   0.95, 0.95)],
    "beta": [_pts(0.2, 1, 0.2, 0.15, 0.4, 0, 0.65, 0.05, 0.7, 0.25, 0.45, 0.45, 0.75, 0.6, 0.8, 0.85, 0.55, 1,
                  0.2, 0.9)],
    "gamma": [_pts(0.05, 0.05, 0.3, 0.1, 0.55, 0.6, 0.45, 0.95, 0.55, 1.0, 0.62, 0.8, 0.55, 0.6, 0.95, 0.0)],
    "lambda": [_pts(0.15, 0.05, 0.3, 0.05, 0.9, 1.0), _pts(0.55, 0.45, 0.1, 1.0)],
    "mu": [_pts(0.15, 1.0, 0.2, 0.0), _pts(0.2, 0.55, 0.35, 0.7, 0.6, 0.65, 0.75, 0.0),
           _pts(0.75, 0.0, 0.78, 0.6, 0.95, 0.7)],
    "pi": [_pts(0.05, 0.1, 0.95, 0.05), _pts(0.3, 0.1, 0.25, 1.0), _pts(0.7, 0.1, 0.75, 0.95)],
    "omega": [_pts(0.2, 0.0, 0.05, 0.6, 0.2, 1.0, 0.4, 0.9, 0.5, 0.5, 0.6, 0.9, 0.8, 1.0, 0.95, 0.6, 0.8, 0.0)],
    "psi": [_pts(0.05, 0.1, 0.1, 0.5, 0.5, 0.65, 0.9, 0.5, 0.95, 0.1), _pts(0.5, 0.0, 0.5, 1.0)],
    "phi": [_arc(0.5, 0.5, 0.38, 0.25, 0, 1.0, 24), _pts(0.5, 0.0, 0.5, 1.0)],
    "epsilon": [_arc(0.55, 0.27, 0.35, 0.25, -0.3, 0.65), _arc(0.55, 0.73, 0.38, 0.26, np.pi, 0.65)],
    "eta": [_pts(0.1, 0.0, 0.15, 0.6), _pts(0.12, 0.2, 0.4, 0.0, 0.7, 0.05, 0.8, 0.3, 0.8, 1.0)],
    "tau": [_pts(0.05, 0.1, 0.95, 0.05), _pts(0.5, 0.08, 0.45, 0.85, 0.6, 1.0)],
    "(": [_arc(0.9, 0.5, 0.6, 0.55, 0.7 * np.pi, 0.3)],
    ")": [_arc(0.1, 0.5, 0.6, 0.55, -0.3 * np.pi, 0.3)],
    "+": [_pts(0.5, 0.05, 0.5, 0.95), _pts(0.05, 0.5, 0.95, 0.5)],
    "=": [_pts(0.05, 0.3, 0.95, 0.3), _pts(0.05, 0.7, 0.95, 0.7)],
    "?": [_pts(0.15, 0.25, 0.3, 0.05, 0.6, 0.0, 0.85, 0.15, 0.8, 0.4, 0.5, 0.55, 0.5, 0.75), _pts(0.5, 0.92, 0.5, 1.0)],
}
HELD_OUT_HANDWRITTEN = ("Y", "L", "eta", "tau", "?")
TRAIN_HANDWRITTEN = tuple(name for name in HANDWRITTEN if name not in HELD_OUT_HANDWRITTEN)


def draw_handwritten(names: tuple[str, ...], rng: Rng, side: int) -> np.ndarray:
    """One letter (or a short word of two or three) in one writer's hand:
    control points jittered, pen width and slant drawn once per writer."""
    count = int(rng.choice([1, 1, 1, 2, 3]))
    chosen = [names[int(rng.integers(len(names)))] for _ in range(count)]
    wobble = rng.uniform(0.01, 0.045)
    slant = rng.uniform(-0.25, 0.35)
    strokes = []
    for position, name in enumerate(chosen):
        for stroke in HANDWRITTEN[name]:
            points = stroke + rng.normal(0, wobble, stroke.shape)
            points[:, 0] += slant * (0.5 - points[:, 1])
            points[:, 0] = (points[:, 0] * 0.8 + position * 1.05) / count
            points[:, 1] = 0.5 + (points[:, 1] - 0.5) / max(1.0, 0.75 * count)
            strokes.append(points)
    return draw_strokes(strokes, rng, side, smooth=True)
TRAIN_SHAPES = (star, smiley, hash_sign, grid, triangle, zigzag, wave, scribble, spiral, lines, dash, blot)
HELD_OUT_SHAPES = (heart, arrow, check_mark)


# ---------------------------------------------------------------- drawing

def _random_affine(rng: Rng, side: int) -> np.ndarray:
    """Rotation, shear and aspect, around the canvas centre."""
    angle = rng.uniform(-0.35, 0.35)
    shear = rng.uniform(-0.3, 0.3)
    aspect = rng.uniform(0.7, 1.3)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    linear = rotation @ np.array([[1, shear], [0, 1]]) @ np.diag([aspect, 1 / aspect])
    centre = np.array([side / 2, side / 2])
    return np.hstack([linear, (centre - linear @ centre)[:, None]])


def draw_strokes(strokes: list[Stroke], rng: Rng, side: int, smooth: bool, filled: bool = False) -> np.ndarray:
    """White pen strokes on a black (side x side) canvas, jittered like a hand."""
    canvas = np.zeros((side, side), np.uint8)
    thickness = int(rng.integers(max(2, side // 40), max(3, side // 10)))
    margin = 0.15 * side
    for stroke in strokes:
        points = stroke + rng.normal(0, 0.012, stroke.shape)
        xy = margin + points * (side - 2 * margin)
        if smooth:
            xy = smooth_polyline(xy)
        curve = np.round(xy * 16).astype(np.int32)  # 4 bits of sub-pixel precision
        if filled:
            cv2.fillPoly(canvas, [curve], 255, cv2.LINE_AA, shift=4)
        else:
            cv2.polylines(canvas, [curve], False, 255, thickness, cv2.LINE_AA, shift=4)
    return canvas


def draw_glyph(text: str, font: int, rng: Rng, side: int) -> np.ndarray:
    """A font glyph (or short string) filling most of the canvas, white on black."""
    thickness = int(rng.integers(1, 4))
    (width, height), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = 0.65 * side / max(width, height, 1)
    thickness = max(1, round(thickness * scale))
    (width, height), _ = cv2.getTextSize(text, font, scale, thickness)
    canvas = np.zeros((side, side), np.uint8)
    origin = ((side - width) // 2, (side + height) // 2)
    cv2.putText(canvas, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    return canvas


def as_photo(canvas: np.ndarray, rng: Rng) -> np.ndarray:
    """Half of the drawings become dark ink on grainy, unevenly lit paper, so
    they take the pipeline's photo path (inversion, background removal)."""
    if rng.random() < 0.5:
        return canvas
    paper = rng.uniform(170, 250)
    ink = rng.uniform(10, paper - 80)
    alpha = canvas.astype(np.float32) / 255.0
    page = paper * (1 - alpha) + ink * alpha
    ramp = np.linspace(1 - rng.uniform(0, 0.2), 1, canvas.shape[1], dtype=np.float32)[None, :]
    page = page * ramp + rng.normal(0, 3, canvas.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


def draw_outlier(rng: Rng, held_out: bool = False, side: int = 112) -> np.ndarray:
    """One non-digit drawing (uint8 gray), from the train or held-out families:
    a handwritten letter or symbol, a font glyph, or a shape."""
    shapes, fonts = (HELD_OUT_SHAPES, HELD_OUT_FONTS) if held_out else (TRAIN_SHAPES, TRAIN_FONTS)
    letters = HELD_OUT_HANDWRITTEN if held_out else TRAIN_HANDWRITTEN
    kind = rng.random()
    if kind < 0.45:
        canvas = draw_handwritten(letters, rng, side)
    elif kind < 0.7:
        font = fonts[int(rng.integers(len(fonts)))]
        italic = cv2.FONT_ITALIC if rng.random() < 0.3 else 0
        text = "".join(rng.choice(list(GLYPHS), int(rng.choice([1, 1, 1, 2]))))
        canvas = draw_glyph(text, font | italic, rng, side)
    else:
        shape = shapes[int(rng.integers(len(shapes)))]
        canvas = draw_strokes(shape(rng), rng, side, smooth=shape not in SHARP_SHAPES, filled=shape is blot)
    canvas = cv2.warpAffine(canvas, _random_affine(rng, side), (side, side), flags=cv2.INTER_LINEAR)
    return as_photo(canvas, rng)


def as_pipeline_makes_them(draw: Callable[[Rng], np.ndarray], count: int, seed: list[int],
                           map_fn: Callable[..., Iterator] = map) -> np.ndarray:
    """`count` drawings through predict's pipeline: float32 (count, 28, 28)
    in [0, 1]; a drawing in which the pipeline finds nothing is redrawn.
    `map_fn` may be a thread pool's map (OpenCV releases the GIL)."""
    def one(index: int) -> np.ndarray:
        rng = np.random.default_rng([*seed, index])
        while True:
            digit = prepare_array(draw(rng)).digit
            if digit is not None:
                return digit

    if count == 0:
        size = SETTINGS.image.size
        return np.zeros((0, size, size), np.float32)
    return np.stack(list(map_fn(one, range(count))))


def non_digits(count: int, seed: int, held_out: bool = False,
               map_fn: Callable[..., Iterator] = map) -> np.ndarray:
    """`count` non-digits (train or held-out families) as the pipeline makes them."""
    return as_pipeline_makes_them(lambda rng: draw_outlier(rng, held_out), count, [seed], map_fn)


# ------------------------------------------------------------ number pieces
# Reading a number means classifying candidate pieces of it: the model must
# say "not one digit" for two touching digits taken as one, and for a cut in
# the wrong place (a digit with part of its neighbour).

def _ink_crop(digit: np.ndarray) -> np.ndarray:
    x, y, w, h = cv2.boundingRect(digit)
    return digit[y:y + h, x:x + w] if w and h else digit


def compose_number(digits: list[np.ndarray], rng: Rng, height: int = 56,
                   gap_range: tuple[float, float] = (-0.25, 0.1),
                   ink_contact: bool = False, sizes: list[float] | None = None,
                   min_visible: float | None = None) -> tuple[np.ndarray, list[int]]:
    """Digits (white on black, uint8) side by side at one height, spaced by a
    random share of the height (negative: overlapping), baselines jittered.
    The gap is between the digits' boxes, or with `ink_contact` between
    their nearest ink on the same rows: a negative gap then means strokes
    that meet and cross by that much, however narrow the digit (a 1 shifted
    by a share of the height into its neighbour's box would vanish in it).
    `sizes` gives each digit's height as a share of `height` (default: 0.85
    to 1.05 at random). With `min_visible` (and `ink_contact`), strokes
    cross by less where crossing by the whole gap would leave less than that
    share of either digit's ink clear of the other's: a 1 laid along a 9's
    stem, or on another 1, is gone, not touching. Returns the canvas and
    each digit's right edge (x) in it."""
    crops = [_ink_crop(d) for d in digits]
    scaled = []
    for index, crop in enumerate(crops):
        h = max(1, round(height * (sizes[index] if sizes is not None else rng.uniform(0.85, 1.05))))
        w = max(1, round(crop.shape[1] * h / crop.shape[0]))
        scaled.append(cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR))
    pad = height // 4
    width = sum(s.shape[1] for s in scaled) + pad * 2 + height * len(scaled)
    canvas = np.zeros((height + 2 * pad, width), np.uint8)
    x, gap, rights, previous = pad, 0, [], 0
    for piece in scaled:
        y = pad + int(rng.integers(0, max(1, height - piece.shape[0] + 1)))
        rows = canvas[y:y + piece.shape[0]]
        touching = _touching_x(rows, piece) if ink_contact and rights else None
        if touching is not None:
            x = _crossing_x(rows, piece, touching, gap, pad, previous, min_visible)
        region = canvas[y:y + piece.shape[0], x:x + piece.shape[1]]
        np.maximum(region, piece, out=region)
        rights.append(x + piece.shape[1])
        previous = int(np.count_nonzero(piece > 127))
        gap = round(rng.uniform(*gap_range) * height)
        x = max(pad, x + piece.shape[1] + gap)
    return canvas[:, :max(rights) + pad], rights


def _touching_x(rows: np.ndarray, piece: np.ndarray) -> int | None:
    """Where `piece` goes so that its ink just meets the ink already in
    `rows` (the canvas rows it will cover), on the rows both have ink (more
    than half bright: not an anti-aliased edge); None when they share none."""
    ink, mine = rows > 127, piece > 127
    shared = ink.any(axis=1) & mine.any(axis=1)
    if not shared.any():
        return None
    rightmost = ink.shape[1] - 1 - np.argmax(ink[:, ::-1], axis=1)
    leftmost = np.argmax(mine, axis=1)
    return int((rightmost[shared] - leftmost[shared]).max()) + 1


def _crossing_x(rows: np.ndarray, piece: np.ndarray, touching: int, gap: int, pad: int,
                previous_ink: int, min_visible: float | None) -> int:
    """Where `piece` goes: `gap` past where its ink meets the ink in `rows`
    (negative: crossing), or with `min_visible` the deepest crossing up to
    that which leaves both digits that share of their ink clear."""
    if min_visible is None:
        return max(pad, touching + gap)
    for shift in range(gap, 1):
        x = max(pad, touching + shift)
        if _clear_share(rows, piece, x, previous_ink) >= min_visible:
            return x
    return max(pad, touching)


def _clear_share(rows: np.ndarray, piece: np.ndarray, x: int, previous_ink: int) -> float:
    """With `piece` placed at `x` in `rows`, the smaller share of its ink and
    of its left neighbour's (`previous_ink` pixels) that lies more than a
    pixel from the other's ink."""
    region = rows[:, x:x + piece.shape[1]] > 127
    mine = piece[:, :region.shape[1]] > 127
    near = np.ones((3, 3), np.uint8)
    theirs_near = cv2.dilate(region.astype(np.uint8), near).astype(bool)
    mine_near = cv2.dilate(mine.astype(np.uint8), near).astype(bool)
    hidden_mine = np.count_nonzero(mine & theirs_near) / max(1, np.count_nonzero(piece > 127))
    hidden_theirs = np.count_nonzero(region & mine_near) / max(1, previous_ink)
    return 1.0 - max(hidden_mine, hidden_theirs)


def draw_number_piece(images: np.ndarray, rng: Rng) -> np.ndarray:
    """Two or three touching digits as one blob, or a digit cut together with
    35-65% of its neighbour: what a wrong segmentation of a number gives."""
    count = 2 if rng.random() < 0.8 else 3
    chosen = [images[int(rng.integers(len(images)))] for _ in range(count)]
    canvas, rights = compose_number(chosen, rng, gap_range=(-0.2, 0.02))
    if rng.random() < 0.5:
        left_end = rights[0]
        next_width = rights[1] - left_end
        # at least a third of the height past the first digit: a sliver
        # is only a digit with a speck, which the model should still read
        cut = left_end + max(round(rng.uniform(0.35, 0.65) * next_width), canvas.shape[0] // 4)
        canvas = canvas[:, :max(cut, 1)]
    return as_photo(canvas, rng)


def number_pieces(images: np.ndarray, count: int, seed: int,
                  map_fn: Callable[..., Iterator] = map) -> np.ndarray:
    """`count` wrong segmentations of numbers made of the given training
    digits (uint8, white on black), as the pipeline makes them."""
    return as_pipeline_makes_them(lambda rng: draw_number_piece(images, rng), count, [seed, 7], map_fn)
