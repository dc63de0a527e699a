"""`digitcli evaluate`: measure a model on the MNIST test set or on labelled
folders of real images, print tables or JSON, and draw the report pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console

from ..config import PredictConfig
from ..errors import ExitCode
from ..evaluation.labelled import PhotoEvaluation, evaluate_photos, find_labelled_images
from ..evaluation.metrics import Metrics, evaluate_mnist
from ..evaluation.tables import accuracy_table, confusion_table, numbers_table, per_class_table
from ..mnist import load_mnist
from ..reading.classifier import load_classifier
from ..reading.decode import decode_image
from ..reading.reader import Reader
from .output import writable_folder
from .progress import progress


def print_tables(stdout: Console, title: str, groups: dict[str, Metrics], overall: Metrics) -> None:
    stdout.print(accuracy_table(title, groups))
    stdout.print(per_class_table(overall))
    stdout.print(confusion_table(overall))


def write_report(folder: Path, title: str, metrics: Metrics, mistakes: np.ndarray, samples: np.ndarray,
                 card: dict | None, stderr: Console) -> None:
    """confusion.png, mistakes.png, samples.png and (from the model card's
    training history) curves.png; then say where they are."""
    from ..evaluation import report as pictures

    written = [
        pictures.write_png(folder / "confusion.png", pictures.confusion_matrix_image(
            metrics.confusion, f"{title}: {metrics.accuracy:.2%} of {metrics.count}")),
        pictures.write_png(folder / "mistakes.png", mistakes),
        pictures.write_png(folder / "samples.png", samples),
    ]
    history = ((card or {}).get("training") or {}).get("history")
    if history:
        written.append(pictures.write_png(folder / "curves.png", pictures.curves_image(
            history, f"training of {(card or {}).get('name', 'the model')}, {card.get('created', '')}")))
    else:
        stderr.print("report: no curves.png (the model card keeps no training history: a model trained by an "
                     "older digitcli)", highlight=False)
    stderr.print("report: " + ", ".join(str(p) for p in written), highlight=False)


def run_mnist(model: Path | None, data: Path | None, fmt: str, report: Path | None,
              config: PredictConfig, stdout: Console, stderr: Console) -> int:
    if report is not None:
        writable_folder(report, "--report")
    classifier = load_classifier(model)
    mnist = load_mnist(data)
    result = evaluate_mnist(classifier, mnist.x_test, mnist.y_test, min_confidence=config.min_confidence)
    if fmt == "json":
        print(json.dumps({"model": str(classifier.path), "data": mnist.source,
                          "mnist_test": result.metrics.as_dict()}, indent=2))
    else:
        print_tables(stdout, f"{classifier.path} on MNIST test ({mnist.source})",
                     {"mnist test": result.metrics}, result.metrics)
    if report:
        from ..evaluation.report import mnist_mistakes_image, mnist_samples_image

        shown = (result.images, result.truth, result.predicted, result.confidence)
        write_report(report, "MNIST test", result.metrics, mnist_mistakes_image(*shown),
                     mnist_samples_image(*shown), classifier.card, stderr)
    return ExitCode.OK


def _original_for_report(path: Path):
    try:
        return decode_image(path.read_bytes())[0]
    except Exception:  # noqa: BLE001  (an unreadable file still gets its tile, without the picture)
        return None


def write_labelled_report(folder: Path, title: str, result: PhotoEvaluation, reader: Reader,
                          stderr: Console) -> None:
    from ..config import SETTINGS
    from ..evaluation.report import grid, photo_mistake_tile, photo_sample_tile, sample_indices

    mistakes = sorted(result.mistakes, key=lambda pair: -(pair[1].confidence or 0.0))   # confident first
    mistake_tiles = [photo_mistake_tile(_original_for_report(item.path), r, item.label, str(item.path))
                     for item, r in mistakes[:SETTINGS.report.max_tiles]]
    sample_tiles = []
    for index in sample_indices([item.group for item in result.items]):
        item, read = result.items[index], result.results[index]
        sample_tiles.append(photo_sample_tile(_original_for_report(item.path), read, item.label, item.group,
                                              result.is_mistake(item, read)))
    write_report(folder, title, result.metrics, grid(mistake_tiles, SETTINGS.report.mistakes_columns),
                 grid(sample_tiles, SETTINGS.report.mnist_columns), reader.classifier.card, stderr)


def _as_json(result: PhotoEvaluation, model: Path, labelled: Path) -> str:
    return json.dumps({
        "model": str(model), "labelled": str(labelled),
        "overall": result.metrics.as_dict(),
        "by_group": {name: m.summary() for name, m in result.by_group.items()},
        **({"non_digits": result.non_digits.as_dict()} if result.non_digits else {}),
        **({"numbers": {"overall": result.numbers.summary(),
                        "by_group": {name: m.summary() for name, m in result.numbers_by_group.items()}}}
           if result.numbers else {}),
        "mistakes": [{**r.as_record(with_digits=True), "label": item.label_for_output, "group": item.group}
                     for item, r in result.mistakes],
    }, indent=2)


def run_labelled(labelled: Path, model: Path | None, fmt: str, report: Path | None,
                 config: PredictConfig, stdout: Console, stderr: Console, by_source: bool = False) -> int:
    if report is not None:
        writable_folder(report, "--report")
    reader = Reader(model, min_confidence=config.min_confidence, workers=config.workers, digits=config.digits)
    items = find_labelled_images(labelled, by_source)
    with progress(stderr, len(items)) as advance:
        result = evaluate_photos(items, reader, on_result=advance)
    if fmt == "json":
        print(_as_json(result, reader.model_path, labelled))
    else:
        if result.metrics.count:
            print_tables(stdout, f"{reader.model_path} on {labelled}",
                         {**result.by_group, "all": result.metrics}, result.metrics)
        if result.numbers:
            stdout.print(numbers_table(f"numbers: {reader.model_path} on {labelled}",
                                       {**result.numbers_by_group, "all": result.numbers}))
        if result.non_digits:
            rejection = result.non_digits
            stdout.print(f"[bold]not a digit[/bold]: {rejection.flagged} of {rejection.count} "
                         f"([bold]{rejection.share:.1%}[/bold]) flagged as low confidence or no digit "
                         f"(--min-confidence {config.min_confidence})", highlight=False)
    if report:
        write_labelled_report(report, labelled.name, result, reader, stderr)
    return ExitCode.OK
