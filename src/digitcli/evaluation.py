"""Measuring a model: on the MNIST test set, or on a folder of labelled photos
run through the same pipeline as `predict`. Metrics are plain numpy."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import SETTINGS, PredictConfig
from .errors import DataError
from .inputs import images_in, is_image_name
from .predict import Row, run_batch

NUM_CLASSES = SETTINGS.image.num_classes


@dataclass
class Metrics:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix
    (rows: true digit, columns: predicted digit; -1 predictions, i.e. none,
    count as wrong and are left out of the matrix)."""

    accuracy: float
    count: int
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray

    def as_dict(self) -> dict:
        return {
            "accuracy": round(self.accuracy, 6), "count": self.count,
            "per_class": [
                {"digit": d, "precision": round(float(self.precision[d]), 6),
                 "recall": round(float(self.recall[d]), 6), "f1": round(float(self.f1[d]), 6),
                 "support": int(self.confusion[d].sum())}
                for d in range(NUM_CLASSES)
            ],
            "confusion_matrix": self.confusion.tolist(),
        }


def compute_metrics(truth: np.ndarray, predicted: np.ndarray) -> Metrics:
    """truth, predicted: int arrays of equal length; predicted may hold -1."""
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
    return Metrics(accuracy, len(truth), confusion, precision, recall, f1)


# ------------------------------------------------------------------- MNIST

@dataclass
class MnistEvaluation:
    metrics: Metrics
    images: np.ndarray      # the test images, for the report
    truth: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray


def evaluate_mnist(probabilities_of: Callable[[np.ndarray], np.ndarray], images: np.ndarray,
                   labels: np.ndarray, batch_size: int = 1000) -> MnistEvaluation:
    """Classify uint8 (N, 28, 28) images in batches; x / 255 as in training."""
    chunks = [probabilities_of(images[i:i + batch_size].astype(np.float32) / 255.0)
              for i in range(0, len(images), batch_size)]
    probabilities = np.concatenate(chunks)
    predicted = probabilities.argmax(axis=1)
    return MnistEvaluation(compute_metrics(labels, predicted), images, labels.astype(int), predicted,
                           probabilities.max(axis=1))


# -------------------------------------------------------- labelled photos

@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: int
    group: str  # the kind (photo, drawing, ...) from a manifest, else the source folder


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
        label = (record.get("label") or "").strip()
        if not relpath or not label.isdigit() or not 0 <= int(label) <= 9:
            raise DataError(f"{manifest}:{number}: need a path and a label 0-9, got {record}")
        group = record.get("kind") or Path(relpath).parts[0]
        items.append(LabelledImage(manifest.parent / relpath, int(label), group))
    return items


def scan_labelled_folder(root: Path) -> list[LabelledImage]:
    """`<label>/<file>` or `<source>/<label>/<file>` under root."""
    items = []
    for path in images_in(root, recursive=True):
        parts = path.relative_to(root).parts
        if len(parts) >= 2 and parts[-2].isdigit() and len(parts[-2]) == 1:
            group = parts[0] if len(parts) >= 3 else root.name
            items.append(LabelledImage(path, int(parts[-2]), group))
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
                        "(<label>/<file> or <source>/<label>/<file>), or a MANIFEST.tsv with path and label.")
    return items


@dataclass
class PhotoEvaluation:
    items: list[LabelledImage]
    rows: list[Row]
    metrics: Metrics
    by_group: dict[str, Metrics] = field(default_factory=dict)

    @property
    def mistakes(self) -> list[tuple[LabelledImage, Row]]:
        return [(item, row) for item, row in zip(self.items, self.rows) if row.digit != item.label]


def evaluate_photos(items: list[LabelledImage], classifier, config: PredictConfig = SETTINGS.predict,
                    on_row: Callable[[Row], None] | None = None) -> PhotoEvaluation:
    """Run every labelled image through predict's pipeline and score it; an
    unreadable image or 'no digit' counts as wrong."""
    rows = list(run_batch((item.path for item in items), classifier, config, on_row))
    truth = np.array([item.label for item in items])
    predicted = np.array([-1 if row.digit is None else row.digit for row in rows])
    by_group = {}
    for group in sorted({item.group for item in items}):
        mask = np.array([item.group == group for item in items])
        by_group[group] = compute_metrics(truth[mask], predicted[mask])
    return PhotoEvaluation(items, rows, compute_metrics(truth, predicted), by_group)
