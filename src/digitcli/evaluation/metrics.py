"""Metrics (plain numpy), and measuring a classifier on the MNIST test set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..calibration import calibration_error
from ..config import SETTINGS
from ..reading.classifier import Classifier
from ..reading.pipeline import as_model_input

NUM_CLASSES = SETTINGS.image.num_classes


@dataclass
class Metrics:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix
    (rows: true digit, columns: predicted digit; -1 predictions, i.e. none,
    count as wrong and are left out of the matrix). With confidences, also
    the expected calibration error and the share of answers below
    predict's --min-confidence."""

    accuracy: float
    count: int
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    calibration_error: float | None = None
    low_confidence: float | None = None

    def summary(self) -> dict:
        summary = {"accuracy": round(self.accuracy, 6), "count": self.count}
        if self.calibration_error is not None:
            summary["calibration_error"] = round(self.calibration_error, 5)
            summary["low_confidence"] = round(self.low_confidence, 5)
        return summary

    def as_dict(self) -> dict:
        return {
            **self.summary(),
            "per_class": [
                {"digit": d, "precision": round(float(self.precision[d]), 6),
                 "recall": round(float(self.recall[d]), 6), "f1": round(float(self.f1[d]), 6),
                 "support": int(self.confusion[d].sum())}
                for d in range(NUM_CLASSES)
            ],
            "confusion_matrix": self.confusion.tolist(),
        }


def compute_metrics(truth: np.ndarray, predicted: np.ndarray, confidence: np.ndarray | None = None,
                    min_confidence: float = SETTINGS.predict.min_confidence) -> Metrics:
    """truth, predicted: int arrays of equal length; predicted may hold -1
    (no answer), which counts as wrong but has no confidence to judge, so
    calibration and the low-confidence share cover the answered ones."""
    truth, predicted = np.asarray(truth, int), np.asarray(predicted, int)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    valid = predicted >= 0
    np.add.at(confusion, (truth[valid], predicted[valid]), 1)
    support = np.bincount(truth, minlength=NUM_CLASSES)
    hits = np.diag(confusion)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(hits / confusion.sum(axis=0))
        recall = np.nan_to_num(hits / support)
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    accuracy = float(np.mean(truth == predicted)) if len(truth) else 0.0
    metrics = Metrics(accuracy, len(truth), confusion, precision, recall, f1)
    if confidence is not None and len(truth):
        confidence = np.asarray(confidence, float)
        metrics.calibration_error = calibration_error(confidence[valid], (truth == predicted)[valid])
        metrics.low_confidence = float(np.mean(confidence[valid] < min_confidence)) if valid.any() else 0.0
    return metrics


# ------------------------------------------------------------------- MNIST

@dataclass
class MnistEvaluation:
    metrics: Metrics
    images: np.ndarray      # the test images, for the report
    truth: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray


def evaluate_mnist(classifier: Classifier, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000,
                   min_confidence: float = SETTINGS.predict.min_confidence) -> MnistEvaluation:
    """Classify uint8 (N, 28, 28) images in batches; x / 255 as in training."""
    chunks = [classifier.probabilities(as_model_input(images[i:i + batch_size]))
              for i in range(0, len(images), batch_size)]
    probabilities = np.concatenate(chunks)
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    metrics = compute_metrics(labels, predicted, confidence, min_confidence)
    return MnistEvaluation(metrics, images, labels.astype(int), predicted, confidence)
