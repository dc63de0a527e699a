"""The line reader: a second model that reads a line of digits whole.

Touching digits are where cutting first and classifying after goes wrong:
no cut separates a 1 leaning into a 4, and a merged pair can look like one
digit. The line reader is a small fully convolutional network with a CTC
head (trained by `digitcli train lines` on lines of MNIST digits; the
shipped file averages two such networks, and reads as one): it reads
a segment's ink left to right, one output step per `stride` columns, and
needs no cuts. The number reader asks it how many digits a segment of
touching ink holds, and whether it reads them as the cuts do (runner.py).

Pure numpy and OpenCV; the model runs in onnxruntime like the classifier.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..config import SETTINGS, LineConvention
from ..errors import ModelError
from .classifier import card_temperature, fix_hint, onnx_session, read_checked

LINES_STEM = "digitcli-lines"
BLANK = 0   # CTC's "no digit here" class; digit d is class d + 1


def line_image(mask: np.ndarray, convention: LineConvention = SETTINGS.lines) -> np.ndarray | None:
    """Binary ink (white on black, any size) -> the line reader's input,
    float32 (height, width) in [0, 1]: the ink cropped, scaled to
    `ink_height` rows, in a blank margin; None when there is no ink."""
    ink = np.asarray(mask) > 0
    x, y, w, h = cv2.boundingRect(ink.astype(np.uint8))
    if not w or not h:
        return None
    width = max(1, round(w * convention.ink_height / h))
    scaled = cv2.resize(ink[y:y + h, x:x + w].astype(np.float32), (width, convention.ink_height),
                        interpolation=cv2.INTER_AREA)
    margin, stride = convention.margin, convention.stride
    total = -(-(width + 2 * margin) // stride) * stride
    line = np.zeros((convention.height, total), np.float32)
    line[margin:margin + convention.ink_height, margin:margin + width] = scaled
    return line


def line_views(line: np.ndarray, ink_heights: tuple[int, ...], shifts: int,
               convention: LineConvention = SETTINGS.lines) -> list[np.ndarray]:
    """The same line's ink as the line reader would see it written a little
    smaller or larger (`ink_heights`) and starting 0 to `shifts` - 1
    columns later (at most an output step's `stride`): touching digits read
    the same in nearly every view, ink the reader only guesses at often
    does not."""
    ink, stride = line > 0.5, convention.stride
    views = []
    for ink_height in ink_heights:
        framed = line_image(ink, dataclasses.replace(convention, ink_height=ink_height,
                                                     margin=(convention.height - ink_height) // 2))
        if framed is None:
            return []
        views.extend(np.pad(framed, ((0, 0), (shift, (stride - shift) % stride))) for shift in range(shifts))
    return views


@dataclass(frozen=True)
class LineReading:
    """What the line reader read: the digits; the probability of its best
    path through the steps (a lower bound on the string's); and for each
    digit, the probabilities of the ten digits at the step where it peaks.
    `refused`: the ink is one narrow shape that the classifier read as no
    digit, or as one (runner.classify): a letter may be what it read, or
    one digit that it took for two. `steadiness`:
    the share of its views (line_views) that read the same digits."""

    digits: str
    confidence: float
    probabilities: np.ndarray   # (len(digits), 10)
    refused: bool = False
    steadiness: float = 1.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    exp = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def greedy_decode(probabilities: np.ndarray) -> LineReading:
    """(steps, classes) -> the best path's digits: repeats merged, blanks
    dropped (CTC), and the path's probability."""
    best = probabilities.argmax(axis=1)
    starts = np.flatnonzero((best != BLANK) & np.concatenate([[True], best[1:] != best[:-1]]))
    peaks = []
    for start in starts:
        end = start + 1
        while end < len(best) and best[end] == best[start]:
            end += 1
        peaks.append(start + int(np.argmax(probabilities[start:end, best[start]])))
    digit_probs = probabilities[peaks, BLANK + 1:] if peaks else np.zeros((0, 10), np.float32)
    digit_probs = digit_probs / np.maximum(digit_probs.sum(axis=1, keepdims=True), 1e-12)
    digits = "".join(str(int(c) - 1) for c in best[starts])
    return LineReading(digits, float(np.prod(probabilities.max(axis=1))), digit_probs)


@dataclass
class LineReader:
    """The line reader's ONNX export, on one onnxruntime thread."""

    path: Path
    session: object
    card: dict | None
    temperature: float

    def read(self, lines: list[np.ndarray]) -> list[LineReading]:
        """Each line image (line_image) read left to right. Lines of one
        width go to the model together, unpadded: a padded line would read
        a little differently, and a reading must not depend on what else is
        in the batch."""
        readings: list[LineReading | None] = [None] * len(lines)
        name = self.session.get_inputs()[0].name
        for width in sorted({line.shape[1] for line in lines}):
            same = [index for index, line in enumerate(lines) if line.shape[1] == width]
            for start in range(0, len(same), SETTINGS.predict.model_batch):
                group = same[start:start + SETTINGS.predict.model_batch]
                batch = np.stack([lines[index] for index in group])[..., None]
                logits = self.session.run(None, {name: batch})[0]   # (N, classes, 1, steps)
                for index, steps in zip(group, logits[:, :, 0, :].transpose(0, 2, 1)):
                    readings[index] = greedy_decode(softmax(steps, self.temperature))
        return readings


def line_reader_path(classifier_path: Path) -> Path:
    """The line reader beside a classifier file: `digitcli-lines.onnx` in
    the same folder."""
    return Path(classifier_path).with_name(f"{LINES_STEM}.onnx")


def load_line_reader(classifier_path: Path) -> LineReader | None:
    """The line reader beside the classifier, or None when there is none
    (a model trained without one): numbers are then read by cuts alone."""
    path = line_reader_path(classifier_path)
    if not path.exists():
        return None
    data, card = read_checked(path)
    reader = LineReader(path, onnx_session(path, data), card, card_temperature(card, path))
    probe = np.zeros((1, SETTINGS.lines.height, 8 * SETTINGS.lines.stride), np.float32)
    try:
        reader.read([probe[0]])
    except Exception:  # noqa: BLE001  (each engine has its own error for a wrong input shape)
        raise ModelError(f"{path} is not a line reader for {SETTINGS.lines.height}-row lines. "
                         f"{fix_hint(path)}") from None
    return reader
