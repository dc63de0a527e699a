"""Output writers: a Rich table for people; JSON lines, JSON, CSV or TSV for
scripts. One registry (`WRITERS`) makes them and feeds `--format`'s choices.
Every machine format writes `Result.as_record()`: the contract lives in
result.py, not here. Data goes to stdout; messages go to stderr.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from rich.cells import cell_len

from .result import FIELDS, Result, Status

if TYPE_CHECKING:  # rich.text and rich.console are imported only when a table is drawn
    from rich.text import Text


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
    """For a person at a terminal: each row as soon as it is read, in columns
    fitted to the terminal's width (a long path loses its middle, a cell is
    never split across lines), paths shown relative to the inputs' common
    folder; a long run ends by listing again the rows that need a look."""

    GAP = "  "

    def __init__(self, out: TextIO, extras: Extras = Extras(), names: Sequence[str] | None = None,
                 width: int | None = None, recap_after: int = 20, recap_rows: int = 50):
        from rich.console import Console

        super().__init__(out, extras)
        self.console = Console(file=out, width=width, highlight=False)
        self.base = common_folder(names) if names else ""
        self.recap_after, self.recap_rows = recap_after, recap_rows
        self.rows = 0
        self.heading: str | None = None   # the common folder, when the file column's header cannot hold it
        self.note_header = "note"
        self.to_look_at: list[Result] = []
        self.not_listed = 0
        self.columns = self._fit([printable(n[len(self.base):]) for n in names] if names else None)

    def _fit(self, shown: list[str] | None) -> list[tuple[str, int, str]]:
        """(header, width, alignment) of each column but the last (the note,
        which takes what is left, and may run past a narrow terminal's edge):
        the file column as wide as the longest name, or what the terminal
        leaves it; on a narrow terminal, narrower headers first."""
        top_k = self.extras.top_k
        longest = max(map(cell_len, shown), default=4) if shown is not None else 40
        top = [(f"top {top_k}", 6 * top_k + 2 * (top_k - 1), "left")] if top_k > 1 else []
        for fixed, note in (([("number", 8, "center"), ("confidence", 10, "right")], 14),
                            ([("number", 6, "center"), ("conf.", 6, "right")], 14),
                            ([("number", 6, "center"), ("conf.", 6, "right")], 0)):
            fixed = fixed + top
            room = self.console.width - sum(w for _, w, _ in fixed) - len(self.GAP) * (len(fixed) + 1) - note
            if room >= 24:
                break
        self.note_header = "note" if note else ""   # no room for it: the notes themselves say enough
        header = f"file (in {printable(self.base)})" if self.base else "file"
        if cell_len(header) > max(12, room):
            header = "file"
            self.heading = middle_ellipsis(f"in {printable(self.base)}", self.console.width)
        return [(header, max(12, min(max(longest, cell_len(header)), room)), "left"), *fixed]

    def _line(self, cells: list[tuple[str, str]]) -> Text:
        """One line: each fixed cell padded to its width; the path cut in the
        middle to fit, never a number or a confidence (they push the line on)."""
        from rich.text import Text

        line = Text()
        for index, ((text, style), (_, width, align)) in enumerate(zip(cells, self.columns)):
            text = middle_ellipsis(text, width) if index == 0 else text
            pad = max(0, width - cell_len(text))
            left = {"left": 0, "right": pad, "center": pad // 2}[align]
            line.append(" " * left)
            line.append(text, style)
            line.append(" " * (pad - left) + self.GAP)
        note_text, note_style = cells[-1]
        line.append(note_text, note_style)
        line.rstrip()
        return line

    def _header(self) -> None:
        if self.heading:
            self.console.print(self.heading, style="bold", soft_wrap=True)
        cells = [(name, "bold") for name, _, _ in self.columns] + [(self.note_header, "bold")]
        self.console.print(self._line(cells), soft_wrap=True)
        self.console.print("\u2500" * min(self.console.width, sum(w + len(self.GAP) for _, w, _ in self.columns) + 14),
                           style="dim", soft_wrap=True)

    def _cells(self, result: Result) -> list[tuple[str, str]]:
        name = printable(result.path or "")
        if self.base and name.startswith(self.base):
            name = name[len(self.base):]
        cells = [(name, ""), ("" if result.number is None else result.number, "bold"),
                 ("" if result.confidence is None else f"{result.confidence:.1%}", "")]
        if self.extras.top_k > 1:   # a number's digits each have their own: see --boxes
            cells.append(("  ".join(f"{d} {c:.0%}" for d, c in result.top_k), ""))
        cells.append(_note(result))
        return cells

    def write(self, result: Result) -> None:
        if not self.rows:
            self._header()
        self.rows += 1
        self.console.print(self._line(self._cells(result)), soft_wrap=True)
        self.out.flush()
        if result.status is not Status.OK:
            if len(self.to_look_at) < self.recap_rows:
                self.to_look_at.append(result)
            else:
                self.not_listed += 1

    def close(self) -> None:
        """After a run longer than a screen, the rows that need a look again,
        where they cannot scroll away."""
        if self.rows > self.recap_after and self.to_look_at:
            count = len(self.to_look_at) + self.not_listed
            self.console.print(f"\n[bold]{count} need{'s' if count == 1 else ''} a look[/bold] "
                               "(low confidence, no digit or an error):", soft_wrap=True)
            for result in self.to_look_at:
                self.console.print(self._line(self._cells(result)), soft_wrap=True)
            if self.not_listed:
                self.console.print(f"... and {self.not_listed} more: --only-flagged lists them all", soft_wrap=True)
        super().close()


def common_folder(names: Sequence[str]) -> str:
    """The folder every name starts with, as written ('samples/'), or ''."""
    prefix = os.path.commonprefix(list(names))
    return prefix[:prefix.rfind("/") + 1]


def middle_ellipsis(text: str, width: int) -> str:
    """`text` in at most `width` cells, its middle replaced by an ellipsis
    (a path keeps its start and its file name)."""
    if cell_len(text) <= width:
        return text
    keep = max(1, width - 1)
    head, tail = text[:keep // 3], text[-(keep - keep // 3):]
    while cell_len(head) + cell_len(tail) + 1 > width and (head or tail):   # wide characters
        if len(tail) >= len(head):
            tail = tail[1:]
        else:
            head = head[:-1]
    return head + "\u2026" + tail


WRITERS: dict[str, Callable[[TextIO, Extras], Writer]] = {
    "table": TableWriter, "jsonl": JsonLinesWriter, "json": JsonWriter, "csv": DelimitedWriter, "tsv": TsvWriter,
}
"""Every output format by its --format name."""


def make_writer(fmt: str, out: TextIO, extras: Extras = Extras(), header: bool = True,
                names: Sequence[str] | None = None) -> Writer:
    """A writer for --format `fmt`; `header` False continues a CSV/TSV file;
    `names`, the inputs when known in advance, fit the table's columns."""
    if fmt in ("csv", "tsv"):
        return WRITERS[fmt](out, extras, header)
    if fmt == "table":
        return TableWriter(out, extras, names)
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


def _note(result: Result) -> tuple[str, str]:
    """The note cell and its style: what needs a look, in colour."""
    if result.status is Status.ERROR:
        return printable(result.error or ""), "red"
    if result.error:   # a damaged file, read anyway
        return f"{result.status.value}: {printable(result.error)}", "yellow"
    if result.status is Status.LOW_CONFIDENCE:
        return "low confidence", "yellow"
    if result.number is None:
        return result.status.value, "yellow"
    return "", ""


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
