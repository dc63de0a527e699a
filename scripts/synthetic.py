"""Synthetic handwriting on synthetic paper, from material the project owns.

Digits are drawn as pen strokes of our own (smoothed, jittered polylines), on
paper with lighting, shadows, ruled lines and coloured
ink. Used by scripts/make_samples.py (samples/) and by the tests.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from digitcli.reading.numbers import turning
from digitcli.train.outliers import smooth_polyline


def paper(height: int, width: int, colour=(235, 238, 240), seed: int = 0, grain: float = 4.0) -> np.ndarray:
    """Plain paper with a little grain (BGR uint8)."""
    rng = np.random.default_rng(seed)
    page = np.empty((height, width, 3), np.float32)
    page[:] = colour
    page += rng.normal(0, grain, (height, width, 1))
    return np.clip(page, 0, 255).astype(np.uint8)


# Pen strokes of each digit in a unit box (x right, y down), as a person
# writes them; smoothed into curves and jittered per seed when drawn.
def ellipse_points(cx: float, cy: float, rx: float, ry: float, start: float = 0.0, turn: float = 1.0,
                   n: int = 24) -> list[tuple[float, float]]:
    """`n` points round an ellipse in the unit box, from angle `start`, `turn` times round (a pen's loop)."""
    angles = np.linspace(start, start + 2 * np.pi * turn, n)
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [ellipse_points(0.5, 0.5, 0.3, 0.45, -np.pi / 2, 1.05)],
    1: [[(0.35, 0.22), (0.56, 0.04), (0.5, 0.5), (0.45, 0.96)]],
    2: [[(0.2, 0.28), (0.32, 0.08), (0.55, 0.03), (0.76, 0.15), (0.74, 0.38), (0.5, 0.64), (0.18, 0.95),
         (0.5, 0.93), (0.86, 0.95)]],
    3: [[(0.2, 0.14), (0.45, 0.02), (0.72, 0.1), (0.72, 0.32), (0.45, 0.47), (0.74, 0.58), (0.8, 0.8),
         (0.52, 0.97), (0.18, 0.88)]],
    4: [[(0.58, 0.04), (0.35, 0.4), (0.14, 0.66), (0.5, 0.66), (0.86, 0.64)], [(0.66, 0.3), (0.64, 0.97)]],
    5: [[(0.78, 0.05), (0.5, 0.05), (0.3, 0.06)], [(0.3, 0.06), (0.26, 0.44), (0.55, 0.38), (0.78, 0.55),
                                                   (0.76, 0.82), (0.5, 0.97), (0.2, 0.88)]],
    6: [[(0.72, 0.04), (0.42, 0.24), (0.26, 0.58), (0.3, 0.88), (0.55, 0.97), (0.76, 0.8), (0.7, 0.58),
         (0.45, 0.52), (0.28, 0.66)]],
    7: [[(0.14, 0.08), (0.5, 0.06), (0.86, 0.07), (0.62, 0.5), (0.45, 0.96)]],
    8: [ellipse_points(0.5, 0.26, 0.22, 0.22, np.pi / 2, 1.0), ellipse_points(0.5, 0.73, 0.27, 0.25, -np.pi / 2, 1.0)],
    9: [ellipse_points(0.48, 0.3, 0.25, 0.24, 0.0, 1.0), [(0.73, 0.3), (0.7, 0.62), (0.6, 0.97)]],
}


def draw_digit(page: np.ndarray, digit: int, centre: tuple[int, int], height: int, ink=(30, 30, 30),
               thickness: int | None = None, seed: int = 0, slant: float = 0.15) -> np.ndarray:
    """Write `digit` about `height` pixels tall centred on `centre`, with pen
    strokes jittered by `seed`, anti-aliased onto the page."""
    return draw_strokes(page, STROKES[digit], centre, height, ink, thickness, seed, slant)


# Pen strokes of things that are not digits, in the same unit box.
NON_DIGITS: dict[str, list[list[tuple[float, float]]]] = {
    "letter_A": [[(0.08, 0.96), (0.5, 0.03), (0.92, 0.96)], [(0.27, 0.6), (0.73, 0.6)]],
    "smiley": [ellipse_points(0.5, 0.5, 0.48, 0.45, 0, 1.02, 32), ellipse_points(0.33, 0.36, 0.04, 0.04, 0, 1.0, 8),
               ellipse_points(0.67, 0.36, 0.04, 0.04, 0, 1.0, 8), ellipse_points(0.5, 0.56, 0.25, 0.16, 0.3, 0.37, 12)],
}


def draw_strokes(page: np.ndarray, strokes: list[list[tuple[float, float]]], centre: tuple[int, int],
                 height: int, ink=(30, 30, 30), thickness: int | None = None, seed: int = 0,
                 slant: float = 0.15) -> np.ndarray:
    """Draw pen strokes given in a unit box, about `height` pixels tall."""
    rng = np.random.default_rng(seed)
    thickness = thickness or max(2, round(height / 14))
    width = 0.7 * height
    layer = np.zeros(page.shape[:2], np.uint8)
    for stroke in strokes:
        unit = np.array(stroke) + rng.normal(0, 0.015, (len(stroke), 2))
        unit[:, 0] += slant * (0.5 - unit[:, 1])
        xy = np.column_stack([centre[0] + (unit[:, 0] - 0.5) * width, centre[1] + (unit[:, 1] - 0.5) * height])
        curve = np.round(smooth_polyline(xy) * 16).astype(np.int32)  # 4 bits of sub-pixel precision
        cv2.polylines(layer, [curve], False, 255, thickness, cv2.LINE_AA, shift=4)
    alpha = layer.astype(np.float32)[..., None] / 255.0
    out = page.astype(np.float32) * (1 - alpha) + np.float32(ink) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def draw_number(page: np.ndarray, text: str, start: tuple[int, int], height: int, ink=(30, 30, 30),
                thickness: int | None = None, seed: int = 0, advance: float = 0.62, slant: float = 0.15) -> np.ndarray:
    """Write a number left to right from `start` (the first digit's centre):
    digits `advance` x height apart (below about 0.55 they touch), '.' and
    ',' as dots, '-' as a dash, ' ' as a wide gap."""
    x, y = start
    thickness = thickness or max(2, round(height / 14))
    for index, char in enumerate(text):
        if char.isdigit():
            page = draw_digit(page, int(char), (round(x), y), height, ink, thickness, seed + index, slant)
            x += advance * height
        elif char in ".,":
            dot = [(0.45, 0.95), (0.5, 0.97)] if char == "." else [(0.5, 0.93), (0.42, 1.08)]
            page = draw_strokes(page, [dot], (round(x - 0.15 * height), y), height, ink, thickness + 2, seed, 0)
            x += 0.3 * height
        elif char == "-":
            page = draw_strokes(page, [[(0.25, 0.55), (0.75, 0.55)]], (round(x), y), height, ink, thickness, seed, 0)
            x += 0.5 * height
        else:
            x += 1.6 * height
    return page


def tilted(page: np.ndarray, degrees: float) -> np.ndarray:
    """The page turned by `degrees` (counter-clockwise) on paper large
    enough to hold it: a number written uphill, a photo taken askew."""
    rotation, size = turning(page.shape, degrees)
    paper_colour = tuple(int(v) for v in np.median(page.reshape(-1, page.shape[2] if page.ndim == 3 else 1), axis=0))
    return cv2.warpAffine(page, rotation, size, flags=cv2.INTER_LINEAR, borderValue=paper_colour)


def add_shadow(page: np.ndarray, strength: float = 0.45, angle: float = 0.6) -> np.ndarray:
    """A soft shadow falling across the page, as from a hand or a phone."""
    height, width = page.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)
    ramp = cv2.GaussianBlur(np.clip((ramp - 0.45) * 3, 0, 1), (0, 0), max(height, width) / 30)
    shade = 1.0 - strength * ramp
    return np.clip(page.astype(np.float32) * shade[..., None], 0, 255).astype(np.uint8)


def cast_shadow(page: np.ndarray, darkness: float = 0.5, angle: float = 0.6, offset: float = 0.0,
                softness: float = 0.1) -> np.ndarray:
    """The shadow of a phone or a hand held over the page: everything beyond
    a straight edge (at `angle` radians, `offset` shares of the page's
    extent across it from the middle) is `darkness` darker, the edge blurred
    over `softness` shares of the page's height (0: a hard edge, as in
    direct sunlight)."""
    height, width = page.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    extent = abs(np.cos(angle)) * width + abs(np.sin(angle)) * height
    across = np.cos(angle) * (xx - width / 2) + np.sin(angle) * (yy - height / 2) - offset * extent
    beyond = 0.5 + 0.5 * np.tanh(across / max(2 * softness * height, 1e-3))
    shade = 1.0 - darkness * beyond
    return np.clip(page.astype(np.float32) * (shade[..., None] if page.ndim == 3 else shade), 0, 255).astype(np.uint8)


def add_vignette(page: np.ndarray, strength: float = 0.3) -> np.ndarray:
    """Uneven light: brighter in the middle, darker at the corners."""
    height, width = page.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.sqrt(((xx - width / 2) / width) ** 2 + ((yy - height / 2) / height) ** 2)
    return np.clip(page.astype(np.float32) * (1 - strength * r[..., None] * 1.4), 0, 255).astype(np.uint8)


def rule_lines(page: np.ndarray, spacing: int, colour=(200, 160, 120), margin_x: int | None = None) -> np.ndarray:
    """Ruled notebook paper: blue lines, and a red margin line."""
    page = page.copy()
    for y in range(spacing, page.shape[0], spacing):
        cv2.line(page, (0, y), (page.shape[1], y), colour, max(1, spacing // 30), cv2.LINE_AA)
    if margin_x is not None:
        cv2.line(page, (margin_x, 0), (margin_x, page.shape[0]), (90, 90, 220), max(1, spacing // 25), cv2.LINE_AA)
    return page


def encode(image: np.ndarray, extension: str, params: list[int] | None = None) -> bytes:
    ok, data = cv2.imencode(extension, image, params or [])
    if not ok:
        raise ValueError(f"cannot encode {extension}")
    return data.tobytes()


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert an EXIF block with the given Orientation tag after the JPEG SOI."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def phone_photo_rotated(upright: np.ndarray) -> bytes:
    """A JPEG as a phone stores a portrait shot: pixels sideways, EXIF
    Orientation 6 telling viewers to turn it 90 degrees clockwise."""
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return with_exif_orientation(encode(stored, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]), 6)


def digit_on_paper(digit: int, size: int = 200, seed: int = 0, ink=(30, 30, 30), paper_colour=(235, 238, 240),
                   thickness: int | None = None) -> np.ndarray:
    """A simple square photo-like image of one digit (BGR)."""
    page = paper(size, size, paper_colour, seed)
    return draw_digit(page, digit, (size // 2, size // 2), int(size * 0.6), ink, thickness, seed)


BLANK_PAGES = ("hard shadow", "gutter", "crease", "gradient", "fold", "grid paper", "form box", "dark table",
               "punched holes", "noisy cell")


def blank_page(kind: str, seed: int) -> np.ndarray:
    """An empty sheet photographed as people do: a hard shadow across it, a
    book's gutter, a crease, a lighting gradient, a fold, squared paper, an
    empty box of a form, a sheet lying on a dark table, a sheet's punched
    holes; or a form's empty cell, scanned small and noisy (BLANK_PAGES)."""
    rng = np.random.default_rng(seed)
    if kind == "noisy cell":
        side = int(rng.integers(12, 65))
        cell = rng.normal(rng.uniform(20, 240), rng.uniform(6, 40), (side, side))
        return np.clip(cell, 0, 255).astype(np.uint8)
    height, width = int(rng.integers(400, 900)), int(rng.integers(300, 900))
    page = paper(height, width, seed=seed).astype(np.float32)
    if kind == "hard shadow":
        edge = int(rng.integers(width // 4, 3 * width // 4))
        page[:, edge:] *= rng.uniform(0.35, 0.6)
    elif kind == "gutter":
        centre, spread = rng.uniform(0.3, 0.7) * width, rng.uniform(10, 40)
        page *= (1 - rng.uniform(0.4, 0.7) * np.exp(-((np.arange(width) - centre) / spread) ** 2))[None, :, None]
    elif kind == "crease":
        page = cv2.line(page.astype(np.uint8), (0, int(rng.integers(0, height))), (width, int(rng.integers(0, height))),
                        (150, 150, 150), int(rng.integers(2, 5))).astype(np.float32)
    elif kind == "gradient":
        page *= np.linspace(1.0, rng.uniform(0.3, 0.5), height)[:, None, None]
    elif kind == "grid paper":
        step = int(rng.integers(12, 40))
        colour = tuple(int(c) for c in rng.integers(120, 200, 3))
        page = page.astype(np.uint8)
        for x in range(int(rng.integers(0, step)), width, step):
            cv2.line(page, (x, 0), (x, height), colour, 1)
        for y in range(int(rng.integers(0, step)), height, step):
            cv2.line(page, (0, y), (width, y), colour, 1)
        page = page.astype(np.float32)
    elif kind == "form box":
        x0, y0 = int(rng.uniform(0.05, 0.3) * width), int(rng.uniform(0.05, 0.3) * height)
        x1, y1 = int(rng.uniform(0.7, 0.95) * width), int(rng.uniform(0.7, 0.95) * height)
        page = cv2.rectangle(page.astype(np.uint8), (x0, y0), (x1, y1), (60, 60, 60),
                             int(rng.integers(1, 4))).astype(np.float32)
    elif kind == "dark table":
        table = np.empty_like(page)
        table[:] = rng.uniform(20, 80, 3)
        table += rng.normal(0, 6, page.shape).astype(np.float32)
        corners = np.array([[rng.uniform(0.05, 0.25) * width, rng.uniform(0.05, 0.25) * height],
                            [rng.uniform(0.75, 0.95) * width, rng.uniform(0.05, 0.25) * height],
                            [rng.uniform(0.75, 0.95) * width, rng.uniform(0.75, 0.95) * height],
                            [rng.uniform(0.05, 0.25) * width, rng.uniform(0.75, 0.95) * height]], np.int32)
        sheet = cv2.fillPoly(np.zeros(page.shape[:2], np.uint8), [corners], 255) > 0
        page = np.where(sheet[:, :, None], page, table)
    elif kind == "punched holes":
        radius, x = int(min(height, width) * rng.uniform(0.015, 0.03)), int(width * rng.uniform(0.04, 0.08))
        for share in (0.2, 0.5, 0.8)[:int(rng.integers(2, 4))]:
            cv2.circle(page, (x, int(height * share)), radius, tuple(float(c) for c in rng.uniform(20, 60, 3)), -1)
    else:   # a fold: a dark line, and the far side a little in shadow
        fold = int(rng.uniform(0.3, 0.7) * height)
        page[fold:fold + 3] *= 0.7
        page[fold + 3:] *= 0.9
    return np.clip(page, 0, 255).astype(np.uint8)
