"""Output writers: a Rich table for people; JSON lines, JSON, CSV or TSV for
scripts. One registry (`WRITERS`) makes them and feeds `--format`'s choices.
Every machine format writes `Result.as_record()`: the contract lives in
result.py, not here. Data goes to stdout; messages go to stderr.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from rich.markup import escape

from .result import FIELDS, Result, Status

if TYPE_CHECKING:  # rich.table and rich.console are imported only when a table is drawn
    from rich.table import Table


@dataclass(frozen=True)
class Extras:
    """Optional fields after the contract's own: `top_k` (--top-k > 1),
    `digits` with each digit's box (--boxes), `crops` (--save-crops)."""

    top_k: int = 1
    boxes: bool = False
    crops: bool = False

    def record(self, result: Result) -> dict:
        record = result.as_record(self.top_k > 1, self.boxes)
        if self.crops:
            record["crops"] = result.crops
        return record

    @property
    def columns(self) -> list[str]:
        return [*(["top_k"] if self.top_k > 1 else []), *(["digits"] if self.boxes else []),
                *(["crops"] if self.crops else [])]


class Writer:
    """Writes results as they come, or all at the end; `close()` finishes."""

    def __init__(self, out: TextIO, extras: Extras = Extras()):
        self.out, self.extras = out, extras

    def write(self, result: Result) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.out.flush()


class JsonLinesWriter(Writer):
    """One JSON object per line, flushed as each is ready."""

    def write(self, result: Result) -> None:
        self.out.write(json.dumps(self.extras.record(result)) + "\n")
        self.out.flush()


class JsonWriter(Writer):
    """One JSON array, written at the end."""

    def __init__(self, out: TextIO, extras: Extras = Extras()):
        super().__init__(out, extras)
        self.records: list[dict] = []

    def write(self, result: Result) -> None:
        self.records.append(self.extras.record(result))

    def close(self) -> None:
        json.dump(self.records, self.out, indent=2)
        self.out.write("\n")
        super().close()


class DelimitedWriter(Writer):
    """CSV (or TSV) with a header row; top_k as 'digit:confidence' pairs,
    digits as 'digit:confidence:x,y,w,h' items, crops as paths, each list
    space-separated."""

    delimiter = ","

    def __init__(self, out: TextIO, extras: Extras = Extras(), header: bool = True):
        super().__init__(out, extras)
        self.csv = csv.writer(out, delimiter=self.delimiter, lineterminator="\n")
        # csv quotes a field holding "\n" but not one holding a lone "\r",
        # which other readers take for a line end: quote every field of such a row.
        self.quoted = csv.writer(out, delimiter=self.delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
        if header:
            self.csv.writerow([*FIELDS, *extras.columns])

    def write(self, result: Result) -> None:
        record = self.extras.record(result)
        record["path"] = result.path   # CSV keeps a name's own bytes (see unicode_path for JSON)
        values = ["" if record[f] is None else record[f] for f in FIELDS]
        if "top_k" in record:
            values.append(" ".join(f"{t['digit']}:{t['confidence']:.4f}" for t in record["top_k"]))
        if "digits" in record:
            values.append(" ".join(f"{d['digit']}:{d['confidence']:.4f}:{','.join(map(str, d['box']))}"
                                   for d in record["digits"]))
        if "crops" in record:
            values.append(" ".join(record["crops"] or []))
        writer = self.quoted if any(isinstance(v, str) and "\r" in v for v in values) else self.csv
        writer.writerow(values)
        self.out.flush()


class TsvWriter(DelimitedWriter):
    delimiter = "\t"


class TableWriter(Writer):
    """A Rich table for a person at a terminal, drawn at the end."""

    def __init__(self, out: TextIO, extras: Extras = Extras()):
        super().__init__(out, extras)
        self.results: list[Result] = []

    def write(self, result: Result) -> None:
        self.results.append(result)

    def close(self) -> None:
        from rich.console import Console

        Console(file=self.out).print(results_table(self.results, self.extras.top_k))
        super().close()


WRITERS: dict[str, Callable[[TextIO, Extras], Writer]] = {
    "table": TableWriter, "jsonl": JsonLinesWriter, "json": JsonWriter, "csv": DelimitedWriter, "tsv": TsvWriter,
}
"""Every output format by its --format name."""


def make_writer(fmt: str, out: TextIO, extras: Extras = Extras(), header: bool = True) -> Writer:
    """A writer for --format `fmt`; `header` False continues a CSV/TSV file."""
    if fmt in ("csv", "tsv"):
        return WRITERS[fmt](out, extras, header)
    return WRITERS[fmt](out, extras)


def printable(text: str) -> str:
    """A name as a terminal can show it: control characters (escape
    sequences, carriage returns) and undecodable bytes written as escapes,
    so that no file name can move the cursor or recolour the screen."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] if ord(c) < 0xDC80 or ord(c) > 0xDCFF
                   else f"\\x{ord(c) - 0xDC00:02x}" for c in text)


def default_format(stdout_is_terminal: bool) -> str:
    """A table for a person at a terminal, JSON lines for a pipe or a file."""
    return "table" if stdout_is_terminal else "jsonl"


def _note(result: Result) -> str:
    if result.status is Status.ERROR:
        return f"[red]{escape(result.error or '')}[/red]"
    if result.status is Status.LOW_CONFIDENCE:
        return "[yellow]low confidence[/yellow]"
    if result.number is None:
        return f"[yellow]{result.status.value}[/yellow]"
    return ""


def results_table(results: list[Result], top_k: int = 1) -> Table:
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    table.add_column("file", overflow="fold")
    table.add_column("number", justify="center")
    table.add_column("confidence", justify="right")
    if top_k > 1:
        table.add_column(f"top {top_k}")
    table.add_column("note")
    for result in results:
        cells = [escape(printable(result.path or "")), "" if result.number is None else f"[bold]{result.number}[/bold]",
                 "" if result.confidence is None else f"{result.confidence:.1%}"]
        if top_k > 1:   # a number's digits each have their own: see --boxes
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
