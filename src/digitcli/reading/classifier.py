"""The classifier: one interface for every model file.

`load_classifier(path)` opens the ONNX export with onnxruntime (predict's
path: no TensorFlow, a fast start), or a `.keras` file through
`digitcli.train` (which imports TensorFlow, lazily, only then). Both check
the file against its model card and apply the card's calibration, so a
confidence means the same whichever file is read.

onnxruntime was measured against OpenCV's DNN module on the shipped model
(`python bench/bench_engines.py`): about 3.5 times the throughput on one
thread, for some 50 ms more import time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..calibration import apply_temperature
from ..config import SETTINGS
from ..errors import ModelError
from ..modelfiles import MODEL_STEM, card_checksum, read_card

if TYPE_CHECKING:
    from .lines import LineReader

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF"


class Classifier(Protocol):
    """A loaded model: `probabilities(batch)` maps (N, 28, 28) float32
    digits in [0, 1] to (N, 10) calibrated probabilities."""

    path: Path
    card: dict | None
    line_reader: LineReader | None   # the line reader beside the model file, if there is one

    def probabilities(self, digits: np.ndarray) -> np.ndarray: ...


def fix_hint(path: Path) -> str:
    """What to do about a bad model file."""
    return ("Use the shipped model (omit --model), or write a new one with "
            f"`digitcli train --output {path.parent if str(path.parent) not in ('', '/') else 'models'}`.")


def card_temperature(card: dict | None, path: Path) -> float:
    """The calibration temperature the card records (1 when none); a card
    with a temperature that is not a positive finite number is refused."""
    value = ((card or {}).get("calibration") or {}).get("temperature", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ModelError(f"{path.with_suffix('.json')}: calibration temperature {value!r} is not a positive number. "
                         "Re-train, or restore the card that came with the model.")
    return float(value)


@dataclass
class OnnxClassifier:
    """The ONNX export, run by onnxruntime on one thread per call: the batch
    runner supplies the parallelism."""

    path: Path
    session: object
    card: dict | None
    temperature: float
    line_reader: LineReader | None = None

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        """In calls of at most `model_batch` images: onnxruntime's memory
        arena grows to the largest call and keeps it."""
        size, step = SETTINGS.image.size, SETTINGS.predict.model_batch
        if len(digits) == 0:
            return np.zeros((0, SETTINGS.image.num_classes), np.float32)
        batch = np.ascontiguousarray(digits, np.float32).reshape(len(digits), size, size, 1)
        name = self.session.get_inputs()[0].name
        raw = np.concatenate([self.session.run(None, {name: batch[i:i + step]})[0]
                              for i in range(0, len(batch), step)])
        return apply_temperature(np.asarray(raw, np.float32).reshape(len(digits), -1), self.temperature)


def resolve_model_path(path: Path | None) -> Path:
    """The given file, `digitcli.onnx` in a given folder, or the default."""
    path = Path(path) if path is not None else SETTINGS.default_model
    return path / f"{MODEL_STEM}.onnx" if path.is_dir() else path


def read_checked(path: Path) -> tuple[bytes, dict | None]:
    """The model file's bytes and its card, checked against each other."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model file {path} not found. {fix_hint(path)}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    card = read_card(path.with_suffix(".json"))
    expected = (card or {}).get("files", {}).get(path.name)
    if expected and expected != card_checksum(data):
        raise ModelError(
            f"{path} does not match its model card {path.with_suffix('.json')} (checksum differs): "
            "one of them was replaced. Re-train, or restore both files together.")
    return data, card


def load_classifier(path: Path | None = None) -> Classifier:
    """Load and check a model (ONNX, or .keras through TensorFlow); any
    problem is a ModelError that names the file and says how to fix it."""
    path = resolve_model_path(path)
    data, card = read_checked(path)
    temperature = card_temperature(card, path)
    if data[:4] in (ZIP_MAGIC, HDF5_MAGIC):
        try:
            from ..train.keras_classifier import KerasClassifier  # imports TensorFlow
        except ImportError:
            raise ModelError(f"{path} is a Keras model, which needs TensorFlow (pip install 'digitcli[train]'); "
                             f"or pass the ONNX export beside it ({path.with_suffix('.onnx').name}).") from None
        classifier: Classifier = KerasClassifier.load(path, card, temperature)
    else:
        classifier = _load_onnx(path, data, card, temperature)
    check_outputs(classifier)
    from .lines import load_line_reader  # (lines.py loads its model with this module's helpers)

    classifier.line_reader = load_line_reader(path)
    return classifier


def _load_onnx(path: Path, data: bytes, card: dict | None, temperature: float) -> OnnxClassifier:
    return OnnxClassifier(path, onnx_session(path, data), card, temperature)


def onnx_session(path: Path, data: bytes):
    """An onnxruntime session on one thread (the batch runner supplies the
    parallelism); a file onnxruntime cannot load is a ModelError."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001  (onnxruntime raises several kinds for a bad file)
        raise ModelError(f"{path} is not a valid ONNX model (truncated or corrupt). {fix_hint(path)}") from None
    return session


def check_outputs(classifier: Classifier) -> None:
    """A model for another input or output shape, or one that outputs NaN,
    fails here, not mid-batch."""
    num_classes, size = SETTINGS.image.num_classes, SETTINGS.image.size
    probe = np.zeros((2, size, size), np.float32)
    probe[1, 8:20, 12:16] = 1.0
    try:
        out = classifier.probabilities(probe)
    except Exception:  # noqa: BLE001  (each engine has its own error for a wrong input shape)
        raise ModelError(f"{classifier.path} does not take {size}x{size}x1 images as digitcli's models do. "
                         f"{fix_hint(classifier.path)}") from None
    if out.shape != (2, num_classes):
        raise ModelError(f"{classifier.path} outputs shape {out.shape[1:]}, expected ({num_classes},) "
                         f"digit probabilities. {fix_hint(classifier.path)}")
    if not np.all(np.isfinite(out)):
        raise ModelError(f"{classifier.path} outputs numbers that are not finite (NaN or infinity). "
                         f"{fix_hint(classifier.path)}")
