"""Pictures for `evaluate --report DIR`, where a person would rather look than
read: the confusion matrix, and every mistake with what the model saw.

Drawn with OpenCV (no plotting library needed), written atomically.
"""

from __future__ import annotations

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
