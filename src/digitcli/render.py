"""Output rendering: a Rich table for people, JSON lines, JSON, CSV or TSV
for scripts. Data goes to stdout; messages go to stderr (cli.py).

Fields (a contract for scripts; keep them stable): path, digit (int or
null), confidence (0-1 or null), status ("ok", "low confidence",
"no digit", "error"), error (message or null), and top_k with --top-k > 1.
"""

from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # rich.table is imported only when a table is drawn
    from rich.table import Table

from .predict import STATUS_ERROR, STATUS_LOW, Row

FIELDS = ("path", "digit", "confidence", "status", "error")


def default_format(stdout_is_terminal: bool) -> str:
    """A table for a person at a terminal, JSON lines for a pipe or a file."""
    return "table" if stdout_is_terminal else "jsonl"


class RowWriter:
    """Writes rows as they come (jsonl, csv, tsv) or all at the end (table, json)."""

    def __init__(self, fmt: str, out: TextIO, console: Console | None = None, top_k: int = 1):
        self.fmt, self.out, self.top_k = fmt, out, top_k
        self.console = console or Console(file=out)
        self.rows: list[Row] = []
        self._csv = None
        if fmt in ("csv", "tsv"):
            self._csv = csv.writer(out, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
            self._csv.writerow([*FIELDS, *(["top_k"] if top_k > 1 else [])])

    def write(self, row: Row) -> None:
        if self.fmt == "jsonl":
            self.out.write(json.dumps(row.as_record(self.top_k > 1)) + "\n")
            self.out.flush()
        elif self._csv is not None:
            record = row.as_record()
            values = ["" if record[f] is None else record[f] for f in FIELDS]
            if self.top_k > 1:
                values.append(" ".join(f"{d}:{c:.4f}" for d, c in row.top_k))
            self._csv.writerow(values)
        else:
            self.rows.append(row)

    def close(self) -> None:
        if self.fmt == "json":
            json.dump([row.as_record(self.top_k > 1) for row in self.rows], self.out, indent=2)
            self.out.write("\n")
        elif self.fmt == "table":
            self.console.print(results_table(self.rows, self.top_k))
        self.out.flush()


def _note(row: Row) -> str:
    if row.status == STATUS_ERROR:
        return f"[red]{escape(row.error or '')}[/red]"
    if row.status == STATUS_LOW:
        return "[yellow]low confidence[/yellow]"
    if row.digit is None:
        return f"[yellow]{row.status}[/yellow]"
    return ""


def results_table(rows: list[Row], top_k: int = 1) -> Table:
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    table.add_column("file", overflow="fold")
    table.add_column("digit", justify="center")
    table.add_column("confidence", justify="right")
    if top_k > 1:
        table.add_column(f"top {top_k}")
    table.add_column("note")
    for row in rows:
        cells = [escape(row.path), "" if row.digit is None else f"[bold]{row.digit}[/bold]",
                 "" if row.confidence is None else f"{row.confidence:.1%}"]
        if top_k > 1:
            cells.append("  ".join(f"{d} {c:.0%}" for d, c in row.top_k))
        cells.append(_note(row))
        table.add_row(*cells)
    return table


def summary_line(rows_total: int, failed: int, no_digit: int, low: int) -> str:
    parts = [f"{rows_total} image{'s' if rows_total != 1 else ''}", f"{rows_total - failed - no_digit} read"]
    if low:
        parts.append(f"{low} low confidence")
    if no_digit:
        parts.append(f"{no_digit} without a digit")
    if failed:
        parts.append(f"{failed} failed")
    return ", ".join(parts)


# ------------------------------------------------------------- evaluation

def accuracy_table(title: str, groups: dict) -> Table:
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold", title_justify="left")
    table.add_column("set")
    table.add_column("images", justify="right")
    table.add_column("correct", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("low confidence", justify="right")
    table.add_column("calibration error", justify="right")
    for name, metrics in groups.items():
        correct = round(metrics.accuracy * metrics.count)
        calibrated = metrics.calibration_error is not None
        table.add_row(name, str(metrics.count), str(correct), f"[bold]{metrics.accuracy:.2%}[/bold]",
                      f"{metrics.low_confidence:.1%}" if calibrated else "",
                      f"{metrics.calibration_error:.3f}" if calibrated else "")
    return table


def per_class_table(metrics) -> Table:
    from rich.table import Table

    table = Table(title="per digit", show_edge=False, header_style="bold", title_justify="left")
    for column in ("digit", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="right")
    for digit in range(len(metrics.precision)):
        table.add_row(str(digit), f"{metrics.precision[digit]:.2%}", f"{metrics.recall[digit]:.2%}",
                      f"{metrics.f1[digit]:.4f}", str(int(metrics.confusion[digit].sum())))
    return table


def confusion_table(metrics) -> Table:
    from rich.table import Table

    table = Table(title="confusion matrix (rows: true digit, columns: predicted)", show_edge=False,
                  header_style="bold", title_justify="left")
    table.add_column("")
    n = metrics.confusion.shape[0]
    for p in range(n):
        table.add_column(str(p), justify="right")
    for t in range(n):
        cells = []
        for p in range(n):
            count = int(metrics.confusion[t, p])
            cells.append(f"[green]{count}[/green]" if t == p else (f"[red]{count}[/red]" if count else "[dim]·[/dim]"))
        table.add_row(f"[bold]{t}[/bold]", *cells)
    return table
