"""Measuring a model: on the MNIST test set, or on a folder of labelled photos
run through the same pipeline as `predict`. Metrics are plain numpy."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .calibration import calibration_error
from .config import SETTINGS, PredictConfig
from .errors import DataError
from .inputs import images_in, is_image_name
from .predict import STATUS_LOW, Row, run_batch
from .preprocess import STATUS_NO_DIGIT

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


def evaluate_mnist(probabilities_of: Callable[[np.ndarray], np.ndarray], images: np.ndarray,
                   labels: np.ndarray, batch_size: int = 1000,
                   min_confidence: float = SETTINGS.predict.min_confidence) -> MnistEvaluation:
    """Classify uint8 (N, 28, 28) images in batches; x / 255 as in training."""
    chunks = [probabilities_of(images[i:i + batch_size].astype(np.float32) / 255.0)
              for i in range(0, len(images), batch_size)]
    probabilities = np.concatenate(chunks)
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    metrics = compute_metrics(labels, predicted, confidence, min_confidence)
    return MnistEvaluation(metrics, images, labels.astype(int), predicted, confidence)


# -------------------------------------------------------- labelled photos

# A folder (or manifest label) for images that are not digits: predict
# should flag them (low confidence or no digit), and evaluate counts how often.
NOT_A_DIGIT = "not-a-digit"
NOT_A_DIGIT_LABELS = (NOT_A_DIGIT, "x")


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: int | None  # None: not a digit
    group: str  # the kind (photo, drawing, ...) from a manifest, else the source folder


def parse_label(text: str) -> int | None:
    """'0'-'9' -> the digit; 'not-a-digit' or 'x' -> None; else ValueError."""
    text = text.strip()
    if text.lower() in NOT_A_DIGIT_LABELS:
        return None
    if len(text) == 1 and text.isdigit():
        return int(text)
    raise ValueError(text)


def _manifest_in(path: Path) -> Path | None:
    if path.is_file():
        return path
    for name in ("MANIFEST.tsv", "manifest.tsv", "MANIFEST.csv", "manifest.csv"):
        if (path / name).is_file():
            return path / name
    return None


def read_manifest(manifest: Path) -> list[LabelledImage]:
    """A TSV or CSV with columns path (or relpath) and label, and optionally
    kind; paths are relative to the manifest's folder."""
    delimiter = "\t" if manifest.suffix.lower() == ".tsv" else ","
    try:
        with manifest.open(newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle, delimiter=delimiter))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{manifest}: cannot read the manifest ({exc})") from None
    items = []
    for number, record in enumerate(records, start=2):
        relpath = record.get("path") or record.get("relpath")
        try:
            label = parse_label(record.get("label") or "")
        except ValueError:
            relpath = None
        if not relpath:
            raise DataError(f"{manifest}:{number}: need a path and a label 0-9 (or {NOT_A_DIGIT}), got {record}")
        group = record.get("kind") or Path(relpath).parts[0]
        items.append(LabelledImage(manifest.parent / relpath, label, group))
    return items


def scan_labelled_folder(root: Path) -> list[LabelledImage]:
    """`<label>/<file>` or `<source>/<label>/<file>` under root; the label
    is a digit, or `not-a-digit` for images that are none."""
    items = []
    for path in images_in(root, recursive=True):
        parts = path.relative_to(root).parts
        if len(parts) < 2 or parts[-2].lower() not in (*"0123456789", NOT_A_DIGIT):
            continue
        group = parts[0] if len(parts) >= 3 else root.name
        items.append(LabelledImage(path, parse_label(parts[-2]), group))
    return items


def find_labelled_images(path: Path) -> list[LabelledImage]:
    """From a manifest (a file, or MANIFEST.tsv in the folder) or the layout."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    manifest = _manifest_in(path)
    items = read_manifest(manifest) if manifest else scan_labelled_folder(path)
    items = [item for item in items if is_image_name(item.path) or item.path.suffix == ""]
    if not items:
        raise DataError(f"{path}: no labelled images found. Use folders named by digit "
                        f"(<label>/<file> or <source>/<label>/<file>, {NOT_A_DIGIT}/ for images that are none), "
                        "or a MANIFEST.tsv with path and label.")
    return items


@dataclass
class Rejection:
    """Images that are not digits: how many predict flagged (low confidence
    or no digit), out of those it could read."""

    count: int
    flagged: int

    @property
    def share(self) -> float:
        return self.flagged / self.count if self.count else 0.0

    def as_dict(self) -> dict:
        return {"count": self.count, "flagged": self.flagged, "share": round(self.share, 6)}


def is_flagged(row: Row) -> bool:
    """What predict tells a script about a non-digit: not a confident digit."""
    return row.status in (STATUS_LOW, STATUS_NO_DIGIT)


@dataclass
class PhotoEvaluation:
    items: list[LabelledImage]
    rows: list[Row]
    metrics: Metrics
    by_group: dict[str, Metrics] = field(default_factory=dict)
    non_digits: Rejection | None = None

    @property
    def mistakes(self) -> list[tuple[LabelledImage, Row]]:
        """Digits read wrong, and non-digits read as a confident digit."""
        def wrong(item: LabelledImage, row: Row) -> bool:
            if item.label is None:
                return not is_flagged(row) and not row.failed
            return row.digit != item.label

        return [(item, row) for item, row in zip(self.items, self.rows) if wrong(item, row)]


def evaluate_photos(items: list[LabelledImage], classifier, config: PredictConfig = SETTINGS.predict,
                    on_row: Callable[[Row], None] | None = None) -> PhotoEvaluation:
    """Run every labelled image through predict's pipeline and score it; an
    unreadable image or 'no digit' counts as wrong. Images labelled as not
    a digit are scored apart, by how often predict flags them."""
    all_rows = list(run_batch((item.path for item in items), classifier, config, on_row))
    pairs = [(item, row) for item, row in zip(items, all_rows) if item.label is not None]
    others = [row for item, row in zip(items, all_rows) if item.label is None and not row.failed]
    non_digits = Rejection(len(others), sum(map(is_flagged, others))) if len(pairs) < len(items) else None
    truth = np.array([item.label for item, _ in pairs], int)
    predicted = np.array([-1 if row.digit is None else row.digit for _, row in pairs], int)
    confidence = np.array([row.confidence or 0.0 for _, row in pairs])
    groups = np.array([item.group for item, _ in pairs])
    by_group = {group: compute_metrics(truth[groups == group], predicted[groups == group],
                                       confidence[groups == group], config.min_confidence)
                for group in sorted(set(groups))}
    overall = compute_metrics(truth, predicted, confidence, config.min_confidence)
    return PhotoEvaluation(items, all_rows, overall, by_group, non_digits)
