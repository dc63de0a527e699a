"""A `.keras` model file behind the reading library's Classifier interface.

The reading library imports this lazily, only for a `.keras` file: it
imports TensorFlow. Confidences get the card's temperature, as ONNX ones do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..calibration import apply_temperature
from ..errors import ModelError
from .model import predict_in_batches


@dataclass
class KerasClassifier:
    path: Path
    model: keras.Model
    card: dict | None
    temperature: float
    line_reader: object | None = None   # reading.lines.LineReader, set by load_classifier

    @classmethod
    def load(cls, path: Path, card: dict | None, temperature: float) -> KerasClassifier:
        try:
            model = keras.models.load_model(path, compile=False)
        except Exception as exc:  # noqa: BLE001  (Keras raises many kinds for a bad file)
            raise ModelError(f"{path}: cannot load the Keras model ({exc.__class__.__name__})") from None
        return cls(path, model, card, temperature)

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        if len(digits) == 0:
            return np.zeros((0, self.model.output_shape[-1]), np.float32)
        raw = predict_in_batches(self.model, np.asarray(digits, np.float32).reshape(len(digits), *self.model.input_shape[1:]))
        return apply_temperature(np.asarray(raw, np.float32), self.temperature)

