"""What each command does, end to end: wires inputs, runner, renderer and
progress together, so that cli.py only parses arguments."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.markup import escape

from .config import PredictConfig
from .errors import ExitCode
from .fileio import atomic_write_bytes
from .inputs import expand_inputs
from .predict import STATUS_ERROR, STATUS_LOW, Row, run_batch
from .preprocess import STATUS_NO_DIGIT
from .render import RowWriter, default_format, summary_line
from .runtime import load_classifier

PROGRESS_AFTER = 50  # images; shorter batches finish before a bar helps


@contextlib.contextmanager
def progress(console: Console, total: int) -> Iterator[Callable[..., None]]:
    """Yield a function to call once per image: it advances a transient bar
    on stderr, shown only to a person watching a long batch."""
    if not console.is_terminal or total < PROGRESS_AFTER:
        yield lambda *_: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("reading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=console, transient=True)
    task = bar.add_task("reading", total=total)
    with bar:
        yield lambda *_: bar.advance(task)


def crop_png(digit: np.ndarray) -> bytes:
    _, encoded = cv2.imencode(".png", np.clip(digit * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return encoded.tobytes()


class CropSaver:
    """Writes each 28x28 as `<file stem>.png`, numbering clashes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.used: set[str] = set()
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, row: Row) -> None:
        if row.prepared is None or row.prepared.digit is None:
            return
        stem, n = Path(row.path).stem or "image", 1
        name = f"{stem}.png"
        while name in self.used:
            n += 1
            name = f"{stem}-{n}.png"
        self.used.add(name)
        atomic_write_bytes(self.folder / name, crop_png(row.prepared.digit))


def run_predict(arguments: list[str], fmt: str | None, model: Path | None, recursive: bool,
                config: PredictConfig, save_crops: Path | None, stderr: Console) -> int:
    """Classify every input, print rows, and return the exit status."""
    classifier = load_classifier(model)
    paths = list(expand_inputs(arguments, recursive))
    if not paths:
        stderr.print("no images found in the given inputs")
        return ExitCode.INPUT_FAILED
    fmt = fmt or default_format(sys.stdout.isatty())
    writer = RowWriter(fmt, sys.stdout, top_k=config.top_k)
    saver = CropSaver(save_crops) if save_crops else None
    counts = {STATUS_ERROR: 0, STATUS_NO_DIGIT: 0, STATUS_LOW: 0}
    with progress(stderr, len(paths)) as advance:
        for row in run_batch(paths, classifier, config, on_row=advance):
            if row.status in counts:
                counts[row.status] += 1
            if row.failed:
                stderr.print(f"[red]error:[/red] {escape(row.path)}: {escape(row.error or '')}", highlight=False)
            if saver:
                saver.save(row)
            writer.write(row)
    writer.close()
    if fmt == "table" or stderr.is_terminal:
        stderr.print(summary_line(len(paths), counts[STATUS_ERROR], counts[STATUS_NO_DIGIT], counts[STATUS_LOW]),
                     highlight=False)
    return ExitCode.INPUT_FAILED if counts[STATUS_ERROR] else ExitCode.OK


# ---------------------------------------------------------------- evaluate

def _probabilities_function(model: Path | None):
    """ONNX through OpenCV (no TensorFlow), or a .keras file through Keras."""
    if model is not None and Path(model).suffix == ".keras":
        from .errors import ModelError

        try:
            import keras
        except ImportError:
            raise ModelError(f"{model}: evaluating a .keras file needs TensorFlow "
                             "(pip install 'digitcli[train]'), or pass the .onnx file beside it") from None
        try:
            net = keras.models.load_model(model, compile=False)
        except Exception as exc:  # noqa: BLE001  (Keras raises many kinds for a bad file)
            raise ModelError(f"{model}: cannot load the Keras model ({exc.__class__.__name__})") from None
        return str(model), lambda x: net.predict(x[..., None], verbose=0, batch_size=1000)
    classifier = load_classifier(model)
    return str(classifier.path), classifier.probabilities


def run_evaluate_mnist(model: Path | None, data: Path | None, fmt: str, report: Path | None,
                       config: PredictConfig, stdout: Console, stderr: Console) -> int:
    from .data import load_mnist
    from .evaluation import evaluate_mnist
    from .render import accuracy_table, confusion_table, per_class_table

    model_name, probabilities_of = _probabilities_function(model)
    mnist = load_mnist(data)
    result = evaluate_mnist(probabilities_of, mnist.x_test, mnist.y_test, min_confidence=config.min_confidence)
    if fmt == "json":
        print(json.dumps({"model": model_name, "data": mnist.source,
                          "mnist_test": result.metrics.as_dict()}, indent=2))
    else:
        stdout.print(accuracy_table(f"{model_name} on MNIST test ({mnist.source})",
                                    {"mnist test": result.metrics}))
        stdout.print(per_class_table(result.metrics))
        stdout.print(confusion_table(result.metrics))
    if report:
        from . import report as pictures

        written = [
            pictures.write_png(report / "confusion.png", pictures.confusion_matrix_image(
                result.metrics.confusion, f"MNIST test: {result.metrics.accuracy:.2%} of {result.metrics.count}")),
            pictures.write_png(report / "mistakes.png", pictures.mnist_mistakes_image(
                result.images, result.truth, result.predicted, result.confidence)),
        ]
        stderr.print("report: " + ", ".join(str(p) for p in written), highlight=False)
    return ExitCode.OK


def _original_for_report(path: Path):
    from .preprocess import decode_image

    try:
        return decode_image(path.read_bytes())[0]
    except Exception:  # noqa: BLE001  (an unreadable file still gets its tile, without the picture)
        return None


def run_evaluate_photos(labelled: Path, model: Path | None, fmt: str, report: Path | None,
                        config: PredictConfig, stdout: Console, stderr: Console) -> int:
    from .evaluation import NOT_A_DIGIT, evaluate_photos, find_labelled_images
    from .render import accuracy_table, confusion_table, per_class_table

    classifier = load_classifier(model)
    items = find_labelled_images(labelled)
    with progress(stderr, len(items)) as advance:
        result = evaluate_photos(items, classifier, config, on_row=advance)
    if fmt == "json":
        print(json.dumps({
            "model": str(classifier.path), "labelled": str(labelled),
            "overall": result.metrics.as_dict(),
            "by_group": {name: m.summary() for name, m in result.by_group.items()},
            **({"non_digits": result.non_digits.as_dict()} if result.non_digits else {}),
            "mistakes": [{**row.as_record(), "label": NOT_A_DIGIT if item.label is None else item.label,
                          "group": item.group} for item, row in result.mistakes],
        }, indent=2))
    else:
        if result.metrics.count:
            stdout.print(accuracy_table(f"{classifier.path} on {labelled}", {**result.by_group, "all": result.metrics}))
            stdout.print(per_class_table(result.metrics))
            stdout.print(confusion_table(result.metrics))
        if result.non_digits:
            rejection = result.non_digits
            stdout.print(f"[bold]not a digit[/bold]: {rejection.flagged} of {rejection.count} "
                         f"([bold]{rejection.share:.1%}[/bold]) flagged as low confidence or no digit "
                         f"(--min-confidence {config.min_confidence})", highlight=False)
    if report:
        from . import report as pictures

        tiles = [pictures.photo_mistake_tile(
            _original_for_report(item.path), row.prepared.digit if row.prepared else None,
            row.prepared.box if row.prepared else None, item.label, row.digit, row.confidence,
            str(item.path), row.error or row.status)
            for item, row in result.mistakes[:pictures.MAX_TILES]]
        written = [
            pictures.write_png(report / "confusion.png", pictures.confusion_matrix_image(
                result.metrics.confusion, f"{labelled.name}: {result.metrics.accuracy:.2%} of {result.metrics.count}")),
            pictures.write_png(report / "mistakes.png", pictures.grid(tiles, 4)),
        ]
        stderr.print("report: " + ", ".join(str(p) for p in written), highlight=False)
    return ExitCode.OK
