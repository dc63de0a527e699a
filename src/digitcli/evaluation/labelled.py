"""Labelled folders of real images (a manifest, or folders named by label),
run through exactly the pipeline `predict` uses, and scored per kind."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..calibration import calibration_error
from ..errors import DataError
from ..reading.inputs import images_in, is_image_name
from ..reading.reader import Reader
from ..reading.result import Result
from .metrics import Metrics, compute_metrics

# A folder (or manifest label) for images that are not digits: predict
# should flag them (low confidence or no digit), and evaluate counts how often.
NOT_A_DIGIT = "not-a-digit"
NOT_A_DIGIT_LABELS = (NOT_A_DIGIT, "x")


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: str | None  # the digits, left to right ("7", "0472"); None: not a digit
    group: str  # the kind (photo, drawing, ...) from a manifest, else the source folder

    @property
    def digit(self) -> int | None:
        """The label as an int when it is one digit."""
        return int(self.label) if self.label is not None and len(self.label) == 1 else None

    @property
    def is_number(self) -> bool:
        return self.label is not None and len(self.label) > 1

    @property
    def label_for_output(self) -> int | str:
        return NOT_A_DIGIT if self.label is None else self.digit if self.digit is not None else self.label


def parse_label(text: str) -> str | None:
    """'7', '0472' -> the digits; 'not-a-digit' or 'x' -> None; else ValueError."""
    text = text.strip()
    if text.lower() in NOT_A_DIGIT_LABELS:
        return None
    if text and text.isascii() and text.isdigit():
        return text
    raise ValueError(text)


def _manifest_in(path: Path) -> Path | None:
    if path.is_file():
        return path
    for name in ("MANIFEST.tsv", "manifest.tsv", "MANIFEST.csv", "manifest.csv"):
        if (path / name).is_file():
            return path / name
    return None


def read_manifest(manifest: Path, by_source: bool = False) -> list[LabelledImage]:
    """A TSV or CSV with columns path (or relpath) and label, and optionally
    kind; paths are relative to the manifest's folder. Images are grouped
    by kind, or by their first folder (the source) with `by_source`."""
    delimiter = "\t" if manifest.suffix.lower() == ".tsv" else ","
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as handle:   # a BOM from a spreadsheet is fine
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
            raise DataError(f"{manifest}:{number}: need a path and a label of digits (or {NOT_A_DIGIT}), got {record}")
        group = (None if by_source else record.get("kind")) or Path(relpath).parts[0]
        items.append(LabelledImage(manifest.parent / relpath, label, group))
    return items


def scan_labelled_folder(root: Path) -> list[LabelledImage]:
    """`<label>/<file>` or `<source>/<label>/<file>` under root; the label
    is a digit, or `not-a-digit` for images that are none."""
    items = []
    for path in images_in(root, recursive=True):
        parts = path.relative_to(root).parts
        try:
            label = parse_label(parts[-2]) if len(parts) >= 2 else ""
        except ValueError:
            continue
        if label == "" or (label is None and parts[-2].lower() != NOT_A_DIGIT):
            continue
        group = parts[0] if len(parts) >= 3 else root.name
        items.append(LabelledImage(path, label, group))
    return items


def find_labelled_images(path: Path, by_source: bool = False) -> list[LabelledImage]:
    """From a manifest (a file, or MANIFEST.tsv in the folder) or the layout."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    manifest = _manifest_in(path)
    items = read_manifest(manifest, by_source) if manifest else scan_labelled_folder(path)
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


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@dataclass
class NumberMetrics:
    """Reading whole numbers: exact matches, digit error rate (edit distance
    over the label's length, summed), answers below --min-confidence, and the
    calibration error of the whole reading's confidence against exactness."""

    count: int
    exact: float
    digit_error_rate: float
    low_confidence: float
    calibration_error: float

    def summary(self) -> dict:
        return {"count": self.count, "exact": round(self.exact, 6), "digit_error_rate": round(self.digit_error_rate, 6),
                "low_confidence": round(self.low_confidence, 5), "calibration_error": round(self.calibration_error, 5)}


def read_digits(result: Result) -> str:
    """The digits a result read, without the spaces between numbers."""
    return (result.number or "").replace(" ", "")


def number_metrics(pairs: list[tuple[LabelledImage, Result]], min_confidence: float) -> NumberMetrics:
    read = [read_digits(r) for _, r in pairs]
    labels = [item.label for item, _ in pairs]
    exact = np.array([a == b for a, b in zip(read, labels)])
    errors = sum(edit_distance(a, b) for a, b in zip(read, labels))
    confidence = np.array([r.confidence or 0.0 for _, r in pairs])
    return NumberMetrics(len(pairs), float(exact.mean()) if len(pairs) else 0.0,
                         errors / max(1, sum(len(b) for b in labels)),
                         float(np.mean(confidence < min_confidence)) if len(pairs) else 0.0,
                         calibration_error(confidence, exact))


@dataclass
class PhotoEvaluation:
    items: list[LabelledImage]
    results: list[Result]
    metrics: Metrics                                   # images of one digit
    by_group: dict[str, Metrics] = field(default_factory=dict)
    non_digits: Rejection | None = None
    numbers: NumberMetrics | None = None               # images of numbers
    numbers_by_group: dict[str, NumberMetrics] = field(default_factory=dict)

    @staticmethod
    def is_mistake(item: LabelledImage, result: Result) -> bool:
        """A digit or number read wrong, or a non-digit read as a confident digit."""
        if item.label is None:
            return not result.flagged and not result.failed
        if item.is_number:
            return read_digits(result) != item.label
        return result.digit != item.digit

    @property
    def mistakes(self) -> list[tuple[LabelledImage, Result]]:
        return [(item, result) for item, result in zip(self.items, self.results) if self.is_mistake(item, result)]


def evaluate_photos(items: list[LabelledImage], reader: Reader,
                    on_result: Callable[[Result], None] | None = None) -> PhotoEvaluation:
    """Run every labelled image through predict's pipeline and score it; an
    unreadable image or 'no digit' counts as wrong. Numbers are scored by
    exact match and digit errors; images labelled as not a digit apart, by
    how often predict flags them."""
    min_confidence = reader.config.min_confidence
    results = list(reader.read_many((item.path for item in items), on_result))
    if results and all(r.failed for r in results):
        raise DataError(f"none of the {len(results)} labelled images could be read (the first: "
                        f"{results[0].path}: {results[0].error}); is the manifest beside its images?")
    pairs = [(item, r) for item, r in zip(items, results) if item.digit is not None]
    number_pairs = [(item, r) for item, r in zip(items, results) if item.is_number]
    others = [r for item, r in zip(items, results) if item.label is None and not r.failed]
    non_digits = (Rejection(len(others), sum(r.flagged for r in others))
                  if any(item.label is None for item in items) else None)
    truth = np.array([item.digit for item, _ in pairs], int)
    predicted = np.array([-1 if r.digit is None else r.digit for _, r in pairs], int)
    confidence = np.array([r.confidence or 0.0 for _, r in pairs])
    groups = np.array([item.group for item, _ in pairs])
    by_group = {group: compute_metrics(truth[groups == group], predicted[groups == group],
                                       confidence[groups == group], min_confidence)
                for group in sorted(set(groups))}
    overall = compute_metrics(truth, predicted, confidence, min_confidence)
    evaluation = PhotoEvaluation(items, results, overall, by_group, non_digits)
    if number_pairs:
        evaluation.numbers = number_metrics(number_pairs, min_confidence)
        evaluation.numbers_by_group = {
            group: number_metrics([p for p in number_pairs if p[0].group == group], min_confidence)
            for group in sorted({item.group for item, _ in number_pairs})}
    return evaluation
