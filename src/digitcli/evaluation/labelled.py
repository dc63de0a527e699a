"""Labelled folders of real images (a manifest, or folders named by label),
run through exactly the pipeline `predict` uses, and scored per kind."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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


@dataclass
class PhotoEvaluation:
    items: list[LabelledImage]
    results: list[Result]
    metrics: Metrics
    by_group: dict[str, Metrics] = field(default_factory=dict)
    non_digits: Rejection | None = None

    @property
    def mistakes(self) -> list[tuple[LabelledImage, Result]]:
        """Digits read wrong, and non-digits read as a confident digit."""
        def wrong(item: LabelledImage, result: Result) -> bool:
            if item.label is None:
                return not result.flagged and not result.failed
            return result.digit != item.label

        return [(item, result) for item, result in zip(self.items, self.results) if wrong(item, result)]


def evaluate_photos(items: list[LabelledImage], reader: Reader,
                    on_result: Callable[[Result], None] | None = None) -> PhotoEvaluation:
    """Run every labelled image through predict's pipeline and score it; an
    unreadable image or 'no digit' counts as wrong. Images labelled as not
    a digit are scored apart, by how often predict flags them."""
    min_confidence = reader.config.min_confidence
    results = list(reader.read_many((item.path for item in items), on_result))
    pairs = [(item, r) for item, r in zip(items, results) if item.label is not None]
    others = [r for item, r in zip(items, results) if item.label is None and not r.failed]
    non_digits = Rejection(len(others), sum(r.flagged for r in others)) if len(pairs) < len(items) else None
    truth = np.array([item.label for item, _ in pairs], int)
    predicted = np.array([-1 if r.digit is None else r.digit for _, r in pairs], int)
    confidence = np.array([r.confidence or 0.0 for _, r in pairs])
    groups = np.array([item.group for item, _ in pairs])
    by_group = {group: compute_metrics(truth[groups == group], predicted[groups == group],
                                       confidence[groups == group], min_confidence)
                for group in sorted(set(groups))}
    overall = compute_metrics(truth, predicted, confidence, min_confidence)
    return PhotoEvaluation(items, results, overall, by_group, non_digits)
