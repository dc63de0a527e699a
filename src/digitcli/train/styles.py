"""Writing styles MNIST barely has, applied to MNIST digits for training.

Real forms and datasets hold digits that MNIST's American writers rarely
made or that its preparation never produced: 7s with a crossbar, 1s with a
long flag and a base, thick felt-tip and faint, broken scanner strokes,
digits stretched to fill a square and binarised at 16x16 or 32x32, and
shaky hands (elastic distortion). Each function maps a uint8 MNIST digit
(white on black) to an image as such a source would hold it; training runs
it through predict's pipeline, so the model sees what predict would feed it.

Pure numpy and OpenCV (no TensorFlow).
"""

from __future__ import annotations

import cv2
import numpy as np

Rng = np.random.Generator


def _ink_box(digit: np.ndarray) -> tuple[int, int, int, int]:
    return cv2.boundingRect((digit > 64).astype(np.uint8))


def add_crossbar(digit: np.ndarray, rng: Rng) -> np.ndarray:
    """A European 7: a short bar across the stem at mid-height."""
    out = digit.copy()
    _, y, w, h = _ink_box(digit)
    row = y + int(h * rng.uniform(0.45, 0.6))
    ink = np.flatnonzero(digit[row] > 64)
    if h < 8 or len(ink) == 0:
        return out
    centre = int(ink.mean())
    half = max(3, int(w * rng.uniform(0.25, 0.4)))
    cv2.line(out, (centre - half, row), (centre + half, row + int(rng.integers(-1, 2))), 255,
             int(rng.integers(1, 3)), cv2.LINE_AA)
    return out


def add_flag_and_base(digit: np.ndarray, rng: Rng) -> np.ndarray:
    """A European 1: a long flag down-left from the top, sometimes a base."""
    out = digit.copy()
    x, y, w, h = _ink_box(digit)
    if h < 8:
        return out
    top = np.flatnonzero(digit[y] > 64)
    top_x = int(top.mean()) if len(top) else x + w // 2
    length = h * rng.uniform(0.3, 0.5)
    angle = rng.uniform(0.7, 1.2)   # radians below the horizontal, pointing left
    end = (int(top_x - length * np.cos(angle)), int(y + length * np.sin(angle)))
    thickness = int(rng.integers(1, 3))
    cv2.line(out, (top_x, y), end, 255, thickness, cv2.LINE_AA)
    if rng.random() < 0.4:
        bottom = np.flatnonzero(digit[y + h - 1] > 64)
        bottom_x = int(bottom.mean()) if len(bottom) else x + w // 2
        half = int(h * rng.uniform(0.15, 0.25))
        cv2.line(out, (bottom_x - half, y + h - 1), (bottom_x + half, y + h - 1), 255, thickness, cv2.LINE_AA)
    return out


def fill_box(digit: np.ndarray, rng: Rng) -> np.ndarray:
    """Stretched to fill a square, as several datasets and form readers store
    digits (a 1 becomes a wide bar), at 16, 20 or 32 pixels, often binarised."""
    x, y, w, h = _ink_box(digit)
    crop = digit[y:y + h, x:x + w]
    side = int(rng.choice([16, 20, 32]))
    filled = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.6:
        filled = np.where(filled > rng.uniform(60, 140), 255, 0).astype(np.uint8)
    return filled


def low_resolution(digit: np.ndarray, rng: Rng) -> np.ndarray:
    """A round trip through 16x16 or 32x32, binarised: a coarse scanner."""
    side = int(rng.choice([14, 16, 32]))
    small = cv2.resize(digit, (side, side), interpolation=cv2.INTER_AREA)
    return np.where(small > rng.uniform(60, 140), 255, 0).astype(np.uint8)


def thick_pen(digit: np.ndarray, rng: Rng) -> np.ndarray:
    """A felt-tip: strokes much wider than MNIST's pen."""
    big = cv2.resize(digit, (112, 112), interpolation=cv2.INTER_LINEAR)
    radius = int(rng.integers(3, 8))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(big, kernel)


def faint_and_broken(digit: np.ndarray, rng: Rng) -> np.ndarray:
    """A dry pen or a light scan: ink fading along the stroke, with gaps."""
    big = cv2.resize(digit, (84, 84), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    fade = cv2.resize(rng.uniform(0.35, 1.0, (4, 4)).astype(np.float32), (84, 84), interpolation=cv2.INTER_CUBIC)
    big *= np.clip(fade, 0.3, 1.0)
    ys, xs = np.nonzero(big > 100)
    for _ in range(int(rng.integers(1, 4)) if len(ys) else 0):
        i = int(rng.integers(len(ys)))
        cv2.circle(big, (int(xs[i]), int(ys[i])), int(rng.integers(2, 5)), 0, -1)
    return np.clip(big, 0, 255).astype(np.uint8)


def elastic(digit: np.ndarray, rng: Rng, alpha: float = 34.0, sigma: float = 4.0) -> np.ndarray:
    """A shaky hand: a smooth random displacement field (Simard et al., 2003)."""
    size = digit.shape[0]
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, digit.shape).astype(np.float32), (0, 0), sigma) * alpha
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, digit.shape).astype(np.float32), (0, 0), sigma) * alpha
    grid_y, grid_x = np.mgrid[0:size, 0:size].astype(np.float32)
    return cv2.remap(digit, grid_x + dx, grid_y + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


STYLES = (fill_box, low_resolution, thick_pen, faint_and_broken, elastic)


def styled_digit(digit: np.ndarray, label: int, rng: Rng) -> np.ndarray:
    """One MNIST digit in one random style (and, for 1s and 7s, often the
    European form): an image for predict's pipeline."""
    if label == 7 and rng.random() < 0.5:
        digit = add_crossbar(digit, rng)
    elif label == 1 and rng.random() < 0.5:
        digit = add_flag_and_base(digit, rng)
    style = STYLES[int(rng.integers(len(STYLES)))]
    return style(digit, rng)
