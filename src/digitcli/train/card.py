"""The model card and the model files: what a user (or a later digitcli)
needs to know about a trained model, and writing `.keras`, `.onnx` and the
card, each atomically, the card holding the checksums of the other two."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .. import __version__
from ..calibration import apply_temperature, expected_calibration_error, fit_temperature
from ..config import SETTINGS, TrainConfig
from ..fileio import atomic_path, atomic_write_bytes, atomic_write_text
from ..mnist import Mnist
from ..modelfiles import MODEL_STEM, ModelFiles, card_checksum
from .callbacks import KeepBest
from .dataset import non_digit_inputs, number_piece_inputs, to_model_input
from .export import keras_to_onnx
from .model import predict_in_batches


def card_header(model: keras.Model) -> dict:
    """What every model card opens with: the model, its layers, and what made it when."""
    return {
        "name": model.name,
        "digitcli_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "framework": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "architecture": [
            f"{layer.name}: {layer.__class__.__name__} -> {'x'.join(str(d) for d in layer.output.shape[1:])}"
            for layer in model.layers
        ],
        "parameters": int(model.count_params()),
    }


def model_card(model: keras.Model, mnist: Mnist, config: TrainConfig, keeper: KeepBest,
               test_accuracy: float, seconds: float, n_train: int, n_val: int) -> dict:
    """What a user (or a later digitcli) needs to know about the model."""
    image = SETTINGS.image
    return {
        **card_header(model),
        "input": {"shape": [image.size, image.size, 1], "dtype": "float32", "range": [0.0, 1.0],
                  "convention": f"white digit on black, fitted in a {image.box}x{image.box} box, "
                                f"centred by mass in {image.size}x{image.size} (MNIST)"},
        "output": {"shape": [image.num_classes], "meaning": "softmax probabilities of digits 0-9, spread out for a non-digit"},
        "training": {
            **dataclasses.asdict(config),
            "epochs_run": keeper.last_epoch, "best_epoch": keeper.best_epoch,
            "train_images": n_train, "validation_images": n_val, "seconds": round(seconds, 1),
            "history": keeper.history,
        },
        "data": {"source": Path(mnist.source).name, "sha256": mnist.sha256},
        "metrics": {"validation_accuracy": round(keeper.best_accuracy, 6),
                    "mnist_test_accuracy": round(test_accuracy, 6)},
    }


def calibration(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Temperature scaling on the validation split, so that a confidence of
    0.9 means right nine times in ten; predict applies it (runtime.py)."""
    temperature = fit_temperature(probabilities, labels)
    return {"temperature": round(temperature, 4),
            "validation_ece_before": round(expected_calibration_error(probabilities, labels), 5),
            "validation_ece_after": round(expected_calibration_error(
                apply_temperature(probabilities, temperature), labels), 5)}


def rejection(model: keras.Model, temperature: float, x_val: np.ndarray, config: TrainConfig) -> dict:
    """How often predict's confidence falls below its threshold: for
    validation digits (should be rare), for fresh non-digit drawings, both
    from the families trained on and from held-out ones (other fonts,
    shapes and letters), which say whether rejection generalises, and for
    wrong segmentations of numbers made from validation digits."""

    threshold = SETTINGS.predict.min_confidence
    samples = min(config.rejection_samples, len(x_val))

    def below_threshold(images: np.ndarray) -> float:
        confidence = apply_temperature(predict_in_batches(model, images), temperature).max(axis=1)
        return round(float(np.mean(confidence < threshold)), 5)

    return {
        "min_confidence": threshold,
        "validation_digits_below": below_threshold(to_model_input(x_val)),
        "new_outliers_below": below_threshold(non_digit_inputs(samples, config.seed + 1000)),
        "held_out_outliers_below": below_threshold(non_digit_inputs(samples, config.seed + 2000, True)),
        "number_pieces_below": below_threshold(number_piece_inputs(x_val, samples, config.seed + 3000)),
    }


def write_model_files(model: keras.Model, card: dict, output: Path, stem: str = MODEL_STEM) -> ModelFiles:
    """Write .keras, .onnx and the card, each atomically; the card records
    the checksums of the other two so a mismatched set is detected."""
    files = ModelFiles.in_folder(output, stem)
    # An uncompiled copy (same layers and weights): the training metric and
    # optimizer are not needed to use it, and a plain keras.models.load_model
    # opens it without digitcli installed.
    inference = keras.Model(model.inputs, model.outputs, name=model.name)
    with atomic_path(files.keras) as temp:
        inference.save(temp)
    onnx_bytes = keras_to_onnx(model).SerializeToString()
    atomic_write_bytes(files.onnx, onnx_bytes)
    card["files"] = {files.keras.name: card_checksum(files.keras.read_bytes()),
                     files.onnx.name: card_checksum(onnx_bytes)}
    atomic_write_text(files.card, json.dumps(card, indent=2) + "\n")
    return files
