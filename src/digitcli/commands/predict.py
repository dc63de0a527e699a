"""`digitcli predict`: read every input with a Reader, write a row each."""

from __future__ import annotations

import collections
import hashlib
import itertools
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..config import PredictConfig
from ..errors import ExitCode
from ..fileio import write_png
from ..reading.inputs import expand_inputs
from ..reading.pipeline import to_uint8
from ..reading.reader import Reader
from ..reading.result import Result, Status, unicode_path
from ..reading.writers import Extras, default_format, make_writer, printable, summary_line
from .output import OutputError, format_for, open_output, writable_folder
from .progress import progress


class CropSaver:
    """Writes each digit's 28x28 as `<input stem>-<hash of the input path>-<n>.png`:
    traceable to its input, the same name on every run (a rerun replaces its
    own crops), and never the name of another input's crop."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, result: Result) -> str | None:
        """Write the result's crops; a message when they cannot be written
        (the row is still written, with `crops` null)."""
        if result.failed:
            return None
        name = result.path or "image"
        stem = Path(name).stem[:80] or "image"
        tag = hashlib.sha1(os.fsencode(name)).hexdigest()[:8]
        result.crops = []
        try:
            for position, read in enumerate(result.digits, start=1):
                path = self.folder / f"{stem}-{tag}-{position}.png"
                write_png(path, to_uint8(read.image))
                result.crops.append(str(path))
        except (OSError, ValueError) as exc:
            result.crops = None
            return f"cannot write its crops ({(getattr(exc, 'strerror', None) or str(exc)).lower()})"
        return None


def shard_of(items: Iterable[str], shard: tuple[int, int] | None) -> Iterator[str]:
    """Every N-th input starting at the I-th (0-based): a stable split by
    input position, for SLURM arrays, Kubernetes jobs or xargs."""
    if shard is None:
        yield from items
        return
    index, count = shard
    yield from itertools.islice(items, index, None, count)


def run(arguments: list[str], fmt: str | None, model: Path | None, recursive: bool,
        config: PredictConfig, save_crops: Path | None, boxes: bool, null: bool, stderr: Console,
        output: Path | None = None, resume: bool = False, shard: tuple[int, int] | None = None,
        only_flagged: bool = False) -> int:
    """Read every input, write rows, and return the exit status."""
    if resume and output is None:
        raise OutputError("--resume needs --output FILE: the rows of the run to continue")
    if save_crops is not None:
        writable_folder(save_crops, "--save-crops")
    reader = Reader(model, min_confidence=config.min_confidence, top_k=config.top_k, digits=config.digits,
                    workers=config.workers, batch_size=config.batch_size, engine=config.engine,
                    keep_images=save_crops is not None)
    streaming = "-" in arguments
    paths: Iterable[str] = shard_of(expand_inputs(
        arguments, recursive, null=null, note=lambda message: stderr.print(escape(printable(message)), highlight=False)),
        shard)
    total = None
    if not streaming:   # arguments alone: list them, for the progress bar
        paths = list(paths)
        total = len(paths)
    extras = Extras(config.top_k, boxes, save_crops is not None)
    if output is not None:
        fmt = format_for(output, fmt)
        target = open_output(output, fmt, resume)
        writer = make_writer(fmt, target.stream, extras, header=target.header)
        paths = _skip_done(paths, target.done, target.last_path, output)
        if target.done:
            stderr.print(f"resuming: {target.done} rows already in {escape(str(output))}", highlight=False)
            total = None if total is None else max(0, total - target.done)
    else:
        sys.stdout.reconfigure(errors="surrogateescape")   # a non-UTF-8 file name comes out as its own bytes
        fmt = fmt or default_format(sys.stdout.isatty())
        writer = make_writer(fmt, sys.stdout, extras, names=None if streaming else paths)
    saver = CropSaver(save_crops) if save_crops else None
    counts: collections.Counter[Status] = collections.Counter({status: 0 for status in Status})
    rows_are_progress = fmt == "table" and output is None and sys.stdout.isatty()   # a bar would garble them
    with progress(stderr, 0 if rows_are_progress else total or 0) as advance:
        for result in reader.read_many(paths, on_result=advance, streaming=streaming):
            counts[result.status] += 1
            if only_flagged and result.status is Status.OK:
                continue
            if result.failed:
                stderr.print(f"[red]error:[/red] {escape(printable(result.path or ''))}: "
                             f"{escape(result.error or '')}", highlight=False)
            problem = saver.save(result) if saver else None
            if problem:
                stderr.print(f"[yellow]warning:[/yellow] {escape(printable(result.path or ''))}: {escape(problem)}",
                             highlight=False)
            writer.write(result)
    writer.close()
    if output is not None:
        writer.out.close()
    if not sum(counts.values()) and not (output is not None and resume):
        stderr.print("no images found in the given inputs")
        return ExitCode.INPUT_FAILED
    if fmt == "table" or stderr.is_terminal:
        stderr.print(summary_line(counts), highlight=False)
    return ExitCode.INPUT_FAILED if counts[Status.ERROR] else ExitCode.OK


def _skip_done(paths: Iterable[str], done: int, last_path: str | None, output: Path) -> Iterator[str]:
    """The inputs after the `done` ones already written, checking that the
    last written row is the input it should be (the same command, resumed)."""
    paths = iter(paths)
    if done:
        collections.deque(itertools.islice(paths, done - 1), maxlen=0)   # skip, holding none in memory
        last = next(paths, None)
        if last is None or unicode_path(last) != last_path:
            raise OutputError(f"--resume: {output} holds {done} rows, but input {done} is "
                              f"{last!r}, not {last_path!r}: resume with the same inputs as the first run")
    yield from paths
