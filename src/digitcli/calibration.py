"""Confidence calibration by temperature scaling (numpy only): the model card
carries a temperature fitted on the validation split, and predict applies it,
so that a confidence of 0.9 means right about nine times in ten."""

from __future__ import annotations

import numpy as np


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Soften (T > 1) or sharpen (T < 1) softmax outputs: softmax(log p / T)."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """How far confidence is from accuracy, averaged over confidence bins
    (0 means that 0.9 is right nine times in ten)."""
    return calibration_error(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels, bins)


def calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error from each answer's confidence and whether
    it was right."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, bool)
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of the
    labels (golden-section search on log T)."""
    def nll(log_t: float) -> float:
        calibrated = apply_temperature(probabilities, float(np.exp(log_t)))
        return float(-np.mean(np.log(np.clip(calibrated[np.arange(len(labels)), labels], 1e-12, 1.0))))

    low, high = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if nll(a) < nll(b):
            high = b
        else:
            low = a
    return float(np.exp((low + high) / 2))
