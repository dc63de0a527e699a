"""Pictures for `evaluate --report DIR`, where a person would rather look than
read: the confusion matrix, and every mistake with what the model saw.

Drawn with OpenCV (no plotting library needed), written atomically.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from ..config import SETTINGS, ReportConfig
from ..fileio import write_png
from ..reading.pipeline import to_uint8
from ..reading.result import Result

FONT = cv2.FONT_HERSHEY_SIMPLEX
# BGR. Right and wrong in blue and orange, which red-green colour-blind
# readers tell apart (the Okabe-Ito palette); text stays dark on white.
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (128, 128, 128)
RIGHT, WRONG, WRONG_TEXT = (178, 114, 0), (0, 159, 230), (0, 94, 213)

__all__ = ["write_png"]


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.4,
          colour=BLACK, thickness: int = 1) -> None:
    cv2.putText(image, text, origin, FONT, scale, colour, thickness, cv2.LINE_AA)


def confusion_matrix_image(confusion: np.ndarray, title: str) -> np.ndarray:
    """A 10x10 heat map, counts in the cells, errors in red shades."""
    cell, margin_left, margin_top = 44, 70, 70
    n = confusion.shape[0]
    image = np.full((margin_top + n * cell + 20, margin_left + n * cell + 20, 3), 255, np.uint8)
    _text(image, title, (10, 22), 0.55, thickness=1)
    _text(image, "predicted", (margin_left + n * cell // 2 - 35, 42))
    _text(image, "true", (8, margin_top + n * cell // 2))
    row_totals = np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    share = confusion / row_totals
    for t in range(n):
        _text(image, str(t), (margin_left - 18, margin_top + t * cell + cell // 2 + 5), 0.5)
        _text(image, str(t), (margin_left + t * cell + cell // 2 - 5, margin_top - 8), 0.5)
        for p in range(n):
            x0, y0 = margin_left + p * cell, margin_top + t * cell
            strength = float(share[t, p])
            if t == p:
                colour = tuple(int(255 - strength * (255 - c)) for c in RIGHT)
            else:
                colour = tuple(int(255 - min(1.0, strength * 10) * (255 - c)) for c in WRONG)
            cv2.rectangle(image, (x0, y0), (x0 + cell, y0 + cell), colour, -1)
            cv2.rectangle(image, (x0, y0), (x0 + cell, y0 + cell), GREY, 1)
            count = int(confusion[t, p])
            if count:
                label = str(count)
                size = cv2.getTextSize(label, FONT, 0.38, 1)[0]
                _text(image, label, (x0 + (cell - size[0]) // 2, y0 + (cell + size[1]) // 2), 0.38)
    return image


def digit_tile(digit: np.ndarray, side: int) -> np.ndarray:
    """A 28x28 float digit in [0, 1], scaled up without blur, as BGR."""
    gray = to_uint8(digit)
    return cv2.cvtColor(cv2.resize(gray, (side, side), interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR)


def thumbnail(image: np.ndarray, side: int, boxes: Sequence[Sequence[int]] = (),
              labels: Sequence[str] = ()) -> np.ndarray:
    """The original image letterboxed into side x side, each digit's box drawn
    (and labelled with what was read) at the thumbnail's scale, so that a box
    never hides a small image's ink."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scale = side / max(image.shape[:2])
    resized = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    tile = np.full((side, side, 3), 235, np.uint8)
    y0, x0 = (side - resized.shape[0]) // 2, (side - resized.shape[1]) // 2
    tile[y0:y0 + resized.shape[0], x0:x0 + resized.shape[1]] = resized
    for index, (x, y, w, h) in enumerate(boxes):
        left, top = x0 + round(x * scale) - 1, y0 + round(y * scale) - 1
        cv2.rectangle(tile, (left, top), (left + round(w * scale) + 2, top + round(h * scale) + 2), (0, 140, 255), 1)
        if index < len(labels):
            _text(tile, labels[index], (left + 1, max(10, top - 2)), 0.35, (200, 60, 0))
    return tile


def grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    if not tiles:
        return np.full((60, 400, 3), 255, np.uint8)
    height, width = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    canvas = np.full((rows * height, columns * width, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        canvas[r * height:(r + 1) * height, c * width:(c + 1) * width] = tile
    return canvas


def mnist_mistakes_image(images: np.ndarray, truth: np.ndarray, predicted: np.ndarray,
                         confidence: np.ndarray, config: ReportConfig = SETTINGS.report) -> np.ndarray:
    """Each misread MNIST digit, the most confident mistakes first, with its
    index in the test set and 'true -> predicted (confidence)'."""
    wrong = np.flatnonzero(truth != predicted)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    tiles = []
    for index in wrong[:config.max_tiles]:
        tile = np.full((124, 96, 3), 255, np.uint8)
        tile[4:88, 6:90] = digit_tile(images[index] / 255.0, 84)
        _text(tile, f"{truth[index]} -> {predicted[index]} {confidence[index]:.0%}", (6, 104), 0.4, WRONG_TEXT)
        _text(tile, f"test #{index}", (6, 119), 0.35, GREY)
        tiles.append(tile)
    return grid(tiles, config.mnist_columns)


def photo_mistake_tile(original: np.ndarray | None, result: Result, truth: str | None, name: str) -> np.ndarray:
    """The original with each digit's box and what was read there, the 28x28s
    the model saw, and the verdict (truth None: not a digit)."""
    side = 120
    tile = np.full((side + 44, 2 * side + 12, 3), 255, np.uint8)
    if original is not None:
        tile[4:4 + side, 4:4 + side] = thumbnail(original, side, [d.box for d in result.digits],
                                                 [str(d.digit) for d in result.digits])
    seen = [d.image for d in result.digits if d.image is not None]
    if seen:
        strip = np.hstack([digit_tile(d, side // max(1, len(seen))) for d in seen])
        tile[4:4 + strip.shape[0], side + 8:side + 8 + strip.shape[1]] = strip
    truth_text = "not a digit" if truth is None else f"true {truth}"
    verdict = (f"{truth_text}, read {result.number} ({result.confidence:.0%})" if result.number is not None
               else f"{truth_text}, {result.error or result.status.value or 'not read'}")
    _text(tile, verdict, (4, side + 20), 0.42, WRONG_TEXT)
    _text(tile, name[-38:], (4, side + 38), 0.35, GREY)
    return tile


# ------------------------------------------------------------ training curves

def _panel(history: list[dict], metric: str, title: str, width: int = 420, height: int = 300) -> np.ndarray:
    """One metric over the epochs: training in blue, validation in orange
    with dot markers (told apart by shape as well as colour)."""
    left, right, top, bottom = 58, 16, 34, 42
    image = np.full((height, width, 3), 255, np.uint8)
    _text(image, title, (left, 22), 0.5)
    series = [(name, colour, marked, [(h["epoch"], h[name]) for h in history if name in h])
              for name, colour, marked in ((metric, RIGHT, False), (f"val_{metric}", WRONG, True))]
    values = [v for *_, points in series for _, v in points]
    if not values:
        return image
    epochs = [h["epoch"] for h in history]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.08, 1e-3)
    low, high = (max(0.0, low - pad), high + pad) if metric == "loss" else (low - pad, min(1.0, high + pad))
    first, last = min(epochs), max(epochs)

    def xy(epoch: float, value: float) -> tuple[int, int]:
        x = left + (epoch - first) / max(1, last - first) * (width - left - right)
        y = top + (high - value) / max(high - low, 1e-9) * (height - top - bottom)
        return round(x), round(y)

    cv2.rectangle(image, (left, top), (width - right, height - bottom), GREY, 1)
    for i in range(5):   # value ticks and faint grid lines
        value = low + (high - low) * i / 4
        x, y = xy(first, value)
        cv2.line(image, (left + 1, y), (width - right - 1, y), (235, 235, 235), 1)
        _text(image, f"{value:.3f}" if high - low < 0.1 else f"{value:.2f}", (4, y + 4), 0.35, GREY)
    step = max(1, -(-(last - first) // 8))
    for epoch in range(first, last + 1, step):
        x, y = xy(epoch, low)
        cv2.line(image, (x, y), (x, y + 4), GREY, 1)
        _text(image, str(epoch), (x - 5, y + 17), 0.35, GREY)
    _text(image, "epoch", ((left + width - right) // 2 - 18, height - 6), 0.4, GREY)
    for name, colour, marked, points in series:
        pixels = [xy(e, v) for e, v in points]
        for a, b in itertools.pairwise(pixels):
            cv2.line(image, a, b, colour, 2, cv2.LINE_AA)
        for point in pixels if marked else []:
            cv2.circle(image, point, 3, colour, -1, cv2.LINE_AA)
    legend_top = top + 14 if metric == "loss" else height - bottom - 28   # where the curves are not, late on
    for row, (name, colour, marked, points) in enumerate(s for s in series if s[3]):
        x, y = width - right - 130, legend_top + 16 * row
        cv2.line(image, (x, y - 4), (x + 22, y - 4), colour, 2, cv2.LINE_AA)
        if marked:
            cv2.circle(image, (x + 11, y - 4), 3, colour, -1, cv2.LINE_AA)
        _text(image, "validation" if name.startswith("val_") else "training", (x + 28, y), 0.38)
    return image


def curves_image(history: list[dict], title: str) -> np.ndarray:
    """Loss and accuracy per epoch, training and validation, side by side
    (from the model card's training history)."""
    panels = np.hstack([_panel(history, "loss", "loss"), _panel(history, "accuracy", "accuracy")])
    heading = np.full((30, panels.shape[1], 3), 255, np.uint8)
    _text(heading, title, (10, 21), 0.5)
    return np.vstack([heading, panels])


# ------------------------------------------------------------ samples

def _framed(tile: np.ndarray, wrong: bool) -> np.ndarray:
    """A mistake gets a thick orange frame, so it stands out in a grid."""
    if wrong:
        cv2.rectangle(tile, (1, 1), (tile.shape[1] - 2, tile.shape[0] - 2), WRONG, 3)
    return tile


def mnist_samples_image(images: np.ndarray, truth: np.ndarray, predicted: np.ndarray, confidence: np.ndarray,
                        config: ReportConfig = SETTINGS.report) -> np.ndarray:
    """Test images drawn at random (the same ones every run), each with what
    was read and how sure; a mistake is framed in orange with the truth."""
    picked = np.sort(np.random.default_rng(config.sample_seed).choice(
        len(images), min(config.samples, len(images)), replace=False))
    tiles = []
    for index in picked:
        wrong = truth[index] != predicted[index]
        tile = np.full((124, 96, 3), 255, np.uint8)
        tile[6:90, 6:90] = digit_tile(images[index] / 255.0, 84)
        _text(tile, f"read {predicted[index]} {confidence[index]:.0%}", (6, 105), 0.4, WRONG_TEXT if wrong else BLACK)
        _text(tile, f"true {truth[index]}" + (" MISTAKE" if wrong else ""), (6, 119), 0.35,
              WRONG_TEXT if wrong else GREY)
        tiles.append(_framed(tile, wrong))
    return grid(tiles, config.mnist_columns)


def sample_indices(groups: Sequence[str], config: ReportConfig = SETTINGS.report) -> list[int]:
    """Up to `samples_per_group` of each group, at random (seeded), in input order."""
    rng = np.random.default_rng(config.sample_seed)
    chosen: list[int] = []
    for group in sorted(set(groups)):
        members = [i for i, g in enumerate(groups) if g == group]
        chosen += rng.choice(members, min(config.samples_per_group, len(members)), replace=False).tolist()
    return sorted(chosen)


def photo_sample_tile(original: np.ndarray | None, result: Result, truth: str | None, group: str,
                      wrong: bool) -> np.ndarray:
    """One labelled image with its boxes, what was read, how sure, and the truth."""
    side = 120
    tile = np.full((side + 48, side + 8, 3), 255, np.uint8)
    if original is not None:
        tile[4:4 + side, 4:4 + side] = thumbnail(original, side, [d.box for d in result.digits])
    read = (f"{result.number} {result.confidence:.0%}" if result.number is not None
            else result.status.value if not result.failed else "error")
    _text(tile, f"read {read}"[:22], (4, side + 19), 0.38, WRONG_TEXT if wrong else BLACK)
    _text(tile, f"true {'not a digit' if truth is None else truth}"[:22], (4, side + 32), 0.35,
          WRONG_TEXT if wrong else GREY)
    _text(tile, group[:22], (4, side + 44), 0.33, GREY)
    return _framed(tile, wrong)
