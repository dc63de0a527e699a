"""Output writers: a Rich table for people; JSON lines, JSON, CSV or TSV for
scripts. One registry (`WRITERS`) makes them and feeds `--format`'s choices.
Every machine format writes `Result.as_record()`: the contract lives in
result.py, not here. Data goes to stdout; messages go to stderr.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from rich.markup import escape

from .result import FIELDS, Result, Status

if TYPE_CHECKING:  # rich.table and rich.console are imported only when a table is drawn
    from rich.table import Table


class Writer:
    """Writes results as they come, or all at the end; `close()` finishes."""

    def __init__(self, out: TextIO, top_k: int = 1):
        self.out, self.top_k = out, top_k

    @property
    def with_top_k(self) -> bool:
        return self.top_k > 1

    def write(self, result: Result) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.out.flush()


class JsonLinesWriter(Writer):
    """One JSON object per line, flushed as each is ready."""

    def write(self, result: Result) -> None:
        self.out.write(json.dumps(result.as_record(self.with_top_k)) + "\n")
        self.out.flush()


class JsonWriter(Writer):
    """One JSON array, written at the end."""

    def __init__(self, out: TextIO, top_k: int = 1):
        super().__init__(out, top_k)
        self.records: list[dict] = []

    def write(self, result: Result) -> None:
        self.records.append(result.as_record(self.with_top_k))

    def close(self) -> None:
        json.dump(self.records, self.out, indent=2)
        self.out.write("\n")
        super().close()


class DelimitedWriter(Writer):
    """CSV (or TSV) with a header row; top_k as 'digit:confidence' pairs."""

    delimiter = ","

    def __init__(self, out: TextIO, top_k: int = 1):
        super().__init__(out, top_k)
        self.csv = csv.writer(out, delimiter=self.delimiter, lineterminator="\n")
        self.csv.writerow([*FIELDS, *(["top_k"] if self.with_top_k else [])])

    def write(self, result: Result) -> None:
        record = result.as_record(self.with_top_k)
        values = ["" if record[f] is None else record[f] for f in FIELDS]
        if self.with_top_k:
            values.append(" ".join(f"{t['digit']}:{t['confidence']:.4f}" for t in record["top_k"]))
        self.csv.writerow(values)


class TsvWriter(DelimitedWriter):
    delimiter = "\t"


class TableWriter(Writer):
    """A Rich table for a person at a terminal, drawn at the end."""

    def __init__(self, out: TextIO, top_k: int = 1):
        super().__init__(out, top_k)
        self.results: list[Result] = []

    def write(self, result: Result) -> None:
        self.results.append(result)

    def close(self) -> None:
        from rich.console import Console

        Console(file=self.out).print(results_table(self.results, self.top_k))
        super().close()


WRITERS: dict[str, Callable[[TextIO, int], Writer]] = {
    "table": TableWriter, "jsonl": JsonLinesWriter, "json": JsonWriter, "csv": DelimitedWriter, "tsv": TsvWriter,
}
"""Every output format by its --format name."""


def make_writer(fmt: str, out: TextIO, top_k: int = 1) -> Writer:
    return WRITERS[fmt](out, top_k)


def default_format(stdout_is_terminal: bool) -> str:
    """A table for a person at a terminal, JSON lines for a pipe or a file."""
    return "table" if stdout_is_terminal else "jsonl"


def _note(result: Result) -> str:
    if result.status is Status.ERROR:
        return f"[red]{escape(result.error or '')}[/red]"
    if result.status is Status.LOW_CONFIDENCE:
        return "[yellow]low confidence[/yellow]"
    if result.digit is None:
        return f"[yellow]{result.status.value}[/yellow]"
    return ""


def results_table(results: list[Result], top_k: int = 1) -> Table:
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    table.add_column("file", overflow="fold")
    table.add_column("digit", justify="center")
    table.add_column("confidence", justify="right")
    if top_k > 1:
        table.add_column(f"top {top_k}")
    table.add_column("note")
    for result in results:
        cells = [escape(result.path or ""), "" if result.digit is None else f"[bold]{result.digit}[/bold]",
                 "" if result.confidence is None else f"{result.confidence:.1%}"]
        if top_k > 1:
            cells.append("  ".join(f"{d} {c:.0%}" for d, c in result.top_k))
        cells.append(_note(result))
        table.add_row(*cells)
    return table


def summary_line(counts: dict[Status, int]) -> str:
    """'16 images, 16 read, 2 low confidence' for stderr."""
    total = sum(counts.values())
    failed, no_digit, low = counts[Status.ERROR], counts[Status.NO_DIGIT], counts[Status.LOW_CONFIDENCE]
    parts = [f"{total} image{'s' if total != 1 else ''}", f"{total - failed - no_digit} read"]
    if low:
        parts.append(f"{low} low confidence")
    if no_digit:
        parts.append(f"{no_digit} without a digit")
    if failed:
        parts.append(f"{failed} failed")
    return ", ".join(parts)
