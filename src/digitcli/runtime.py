"""Inference without TensorFlow: the ONNX export, run by OpenCV's DNN module.

OpenCV is already a dependency for the pipeline, so predict needs nothing
more, and starts in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .calibration import apply_temperature
from .config import SETTINGS
from .errors import ModelError
from .modelfiles import card_checksum, read_card

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF"


def _fix_hint(path: Path) -> str:
    return (f"Use the shipped model (omit --model), or write a new one with "
            f"`digitcli train --output {path.parent}`.")


@dataclass
class Classifier:
    """A loaded model: `probabilities(batch)` maps (N, 28, 28) float32 digits
    in [0, 1] to (N, 10) probabilities."""

    path: Path
    net: cv2.dnn.Net
    card: dict | None

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        """Calibrated by the temperature in the model card, when it has one."""
        if len(digits) == 0:
            return np.zeros((0, SETTINGS.image.num_classes), np.float32)
        batch = np.ascontiguousarray(digits, np.float32).reshape(len(digits), *self.input_shape)
        self.net.setInput(batch)
        raw = np.asarray(self.net.forward(), np.float32).reshape(len(digits), -1)
        return apply_temperature(raw, self.temperature)

    @property
    def temperature(self) -> float:
        return float(((self.card or {}).get("calibration") or {}).get("temperature", 1.0))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        size = SETTINGS.image.size
        return (size, size, 1)


def load_classifier(path: Path | None = None) -> Classifier:
    """Load and check an ONNX model; any problem is a ModelError that names
    the file and says how to fix it."""
    path = Path(path) if path is not None else SETTINGS.default_model
    if path.is_dir():
        path = path / "digitcli.onnx"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model file {path} not found. {_fix_hint(path)}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    if data[:4] == ZIP_MAGIC or data[:4] == HDF5_MAGIC:
        raise ModelError(
            f"{path} is a Keras model; predict runs the ONNX export written beside it "
            f"({path.with_suffix('.onnx').name}). Pass that file to --model.")
    card = read_card(path.with_suffix(".json"))
    expected = (card or {}).get("files", {}).get(path.name)
    if expected and expected != card_checksum(data):
        raise ModelError(
            f"{path} does not match its model card {path.with_suffix('.json')} (checksum differs): "
            "one of them was replaced. Re-train, or restore both files together.")
    try:
        net = cv2.dnn.readNetFromONNX(np.frombuffer(data, np.uint8))
    except cv2.error:
        raise ModelError(f"{path} is not a valid ONNX model (truncated or corrupt). {_fix_hint(path)}") from None
    classifier = Classifier(path, net, card)
    _check_shapes(classifier)
    return classifier


def _check_shapes(classifier: Classifier) -> None:
    """A model for another input or output shape fails here, not mid-batch."""
    num_classes = SETTINGS.image.num_classes
    try:
        out = classifier.probabilities(np.zeros((2, *classifier.input_shape[:2]), np.float32))
    except cv2.error:
        raise ModelError(f"{classifier.path} does not take 28x28x1 images as digitcli's models do. "
                         f"{_fix_hint(classifier.path)}") from None
    if out.shape != (2, num_classes):
        raise ModelError(f"{classifier.path} outputs shape {out.shape[1:]}, expected ({num_classes},) "
                         f"digit probabilities. {_fix_hint(classifier.path)}")
