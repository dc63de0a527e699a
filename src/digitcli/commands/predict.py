"""`digitcli predict`: read every input with a Reader, write a row each."""

from __future__ import annotations

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
from ..reading.writers import default_format, make_writer, summary_line
from .progress import progress


class CropSaver:
    """Writes each 28x28 as `<file stem>.png`, numbering clashes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.used: set[str] = set()
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, result: Result) -> None:
        if result.prepared is None or not result.prepared.found:
            return
        stem, n = Path(result.path or "image").stem or "image", 1
        name = f"{stem}.png"
        while name in self.used:
            n += 1
            name = f"{stem}-{n}.png"
        self.used.add(name)
        write_png(self.folder / name, to_uint8(result.prepared.digit))


def run(arguments: list[str], fmt: str | None, model: Path | None, recursive: bool,
        config: PredictConfig, save_crops: Path | None, stderr: Console) -> int:
    """Read every input, print rows, and return the exit status."""
    reader = Reader(model, min_confidence=config.min_confidence, top_k=config.top_k,
                    workers=config.workers, batch_size=config.batch_size)
    paths = list(expand_inputs(arguments, recursive))
    if not paths:
        stderr.print("no images found in the given inputs")
        return ExitCode.INPUT_FAILED
    fmt = fmt or default_format(sys.stdout.isatty())
    writer = make_writer(fmt, sys.stdout, config.top_k)
    saver = CropSaver(save_crops) if save_crops else None
    counts: Counter[Status] = Counter({status: 0 for status in Status})
    with progress(stderr, len(paths)) as advance:
        for result in reader.read_many(paths, on_result=advance):
            counts[result.status] += 1
            if result.failed:
                stderr.print(f"[red]error:[/red] {escape(result.path or '')}: {escape(result.error or '')}",
                             highlight=False)
            if saver:
                saver.save(result)
            writer.write(result)
    writer.close()
    if fmt == "table" or stderr.is_terminal:
        stderr.print(summary_line(counts), highlight=False)
    return ExitCode.INPUT_FAILED if counts[Status.ERROR] else ExitCode.OK
