"""`digitcli predict`: read every input with a Reader, write a row each."""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..config import PredictConfig
from ..errors import ExitCode
from ..fileio import write_png
from ..reading.inputs import expand_inputs
from ..reading.pipeline import to_uint8
from ..reading.reader import Reader
from ..reading.result import Result, Status
from ..reading.writers import Extras, default_format, make_writer, printable, summary_line
from .progress import progress


class CropSaver:
    """Writes each digit's 28x28 as `<input stem>-<hash of the input path>-<n>.png`:
    traceable to its input, the same name on every run (a rerun replaces its
    own crops), and never the name of another input's crop."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, result: Result) -> None:
        if result.failed:
            return
        result.crops = []
        name = result.path or "image"
        stem = Path(name).stem[:80] or "image"
        tag = hashlib.sha1(os.fsencode(name)).hexdigest()[:8]
        result.crops = []
        for position, read in enumerate(result.digits, start=1):
            path = self.folder / f"{stem}-{tag}-{position}.png"
            write_png(path, to_uint8(read.image))
            result.crops.append(str(path))


def run(arguments: list[str], fmt: str | None, model: Path | None, recursive: bool,
        config: PredictConfig, save_crops: Path | None, boxes: bool, null: bool, stderr: Console) -> int:
    """Read every input, print rows, and return the exit status."""
    reader = Reader(model, min_confidence=config.min_confidence, top_k=config.top_k, digits=config.digits,
                    workers=config.workers, batch_size=config.batch_size)
    paths = list(expand_inputs(arguments, recursive, null=null,
                               note=lambda message: stderr.print(escape(printable(message)), highlight=False)))
    if not paths:
        stderr.print("no images found in the given inputs")
        return ExitCode.INPUT_FAILED
    fmt = fmt or default_format(sys.stdout.isatty())
    writer = make_writer(fmt, sys.stdout, Extras(config.top_k, boxes, save_crops is not None))
    saver = CropSaver(save_crops) if save_crops else None
    counts: Counter[Status] = Counter({status: 0 for status in Status})
    with progress(stderr, len(paths)) as advance:
        for result in reader.read_many(paths, on_result=advance):
            counts[result.status] += 1
            if result.failed:
                stderr.print(f"[red]error:[/red] {escape(printable(result.path or ''))}: "
                             f"{escape(result.error or '')}", highlight=False)
            if saver:
                saver.save(result)
            writer.write(result)
    writer.close()
    if fmt == "table" or stderr.is_terminal:
        stderr.print(summary_line(counts), highlight=False)
    return ExitCode.INPUT_FAILED if counts[Status.ERROR] else ExitCode.OK
