"""`digitcli predict --engine ray`: the same reading and rows, on a Ray
cluster (digitcli.ray_data), for jobs bigger than one machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..config import PredictConfig
from ..errors import DigitcliError, ExitCode
from ..reading.inputs import expand_inputs
from ..reading.result import Result, Status
from ..reading.writers import Extras, default_format, make_writer, printable, summary_line


class RayUnavailable(DigitcliError):
    exit_code = ExitCode.USAGE


def run(arguments: list[str], fmt: str | None, model: Path | None, recursive: bool, config: PredictConfig,
        boxes: bool, null: bool, address: str | None, stderr: Console) -> int:
    try:
        import ray

        from ..ray_data import read_images
    except ImportError:
        raise RayUnavailable('--engine ray needs Ray: pip install "digitcli[ray]" '
                             '(or pip install -e ".[ray]" in a checkout)') from None
    paths = list(expand_inputs(
        arguments, recursive, null=null, note=lambda message: stderr.print(escape(printable(message)), highlight=False)))
    if not paths:
        stderr.print("no images found in the given inputs")
        return ExitCode.INPUT_FAILED
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray.init(address=address, num_cpus=None if address else config.workers, include_dashboard=False,
             logging_level="ERROR", log_to_driver=False, configure_logging=False)
    stderr.print(f"ray: {len(paths)} images on {escape(address or 'a local cluster')}", highlight=False)
    extras = Extras(config.top_k, boxes, False)
    fmt = fmt or default_format(sys.stdout.isatty())
    writer = make_writer(fmt, sys.stdout, extras)
    counts = {status: 0 for status in Status}
    reader_options = {"min_confidence": config.min_confidence, "top_k": config.top_k, "digits": config.digits}
    try:
        records = read_images([os.path.abspath(p) if "://" not in p else p for p in paths], model,
                              concurrency=config.workers, reader_options=reader_options,
                              record_options={"with_top_k": config.top_k > 1, "with_digits": boxes})
        for given, record in zip(paths, records):
            result = Result.from_record(record)
            result.path = given   # the path as given, not as the cluster saw it
            counts[result.status] += 1
            if result.failed:
                stderr.print(f"[red]error:[/red] {escape(printable(result.path))}: {escape(result.error or '')}",
                             highlight=False)
            writer.write(result)
    finally:
        writer.close()
        ray.shutdown()
    if fmt == "table" or stderr.is_terminal:
        stderr.print(summary_line(counts), highlight=False)
    return ExitCode.INPUT_FAILED if counts[Status.ERROR] else ExitCode.OK
