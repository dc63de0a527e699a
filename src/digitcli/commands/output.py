"""Where predict's rows go: stdout, or a file that survives a crash.

With `--output FILE` every row is written and flushed as it is read, one
write a row; `--resume` counts the complete rows already in FILE (a line
cut short by a kill is dropped), skips that many inputs (rows are written in
input order, so they are exactly the first inputs), checks that the last
row's path is the input it should be, and appends the rest.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..errors import DigitcliError, ExitCode

SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv"}
APPENDABLE = ("jsonl", "csv", "tsv")


class OutputError(DigitcliError):
    exit_code = ExitCode.USAGE


@dataclass
class Output:
    stream: TextIO
    done: int               # rows already in the file (inputs to skip)
    last_path: str | None   # the path of the last of them
    header: bool            # whether a CSV/TSV header is still to be written


def format_for(path: Path, fmt: str | None) -> str:
    """--format, else the file's suffix, else JSON lines."""
    return fmt or SUFFIX_FORMATS.get(path.suffix.lower(), "jsonl")


def _complete_rows(path: Path, fmt: str) -> tuple[int, str | None, int]:
    """Complete rows in the file, the last one's path, and the byte length
    of the complete part (a last line without its newline was cut short)."""
    data = path.read_bytes()
    complete = data[:data.rfind(b"\n") + 1]
    text = complete.decode("utf-8", "surrogateescape")
    if fmt == "jsonl":
        paths = [json.loads(line)["path"] for line in text.splitlines() if line.strip()]
    else:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="," if fmt == "csv" else "\t"))
        paths = [row[0] for row in rows[1:]]
    return len(paths), (paths[-1] if paths else None), len(complete)


def open_output(path: Path, fmt: str, resume: bool) -> Output:
    """Open FILE for the rows: fresh (replacing it), or to append after the
    rows an earlier run of the same command wrote."""
    if path.is_dir():
        raise OutputError(f"--output {path}: is a folder; give a file name")
    if resume and fmt not in APPENDABLE:
        raise OutputError(f"--resume needs a format a row at a time (jsonl, csv, tsv), not {fmt}")
    done, last, length = 0, None, 0
    if resume and path.exists():
        try:
            done, last, length = _complete_rows(path, fmt)
        except (ValueError, KeyError, IndexError) as exc:
            raise OutputError(f"--resume: {path} is not a {fmt} file that predict wrote ({exc})") from None
        with open(path, "r+b") as handle:   # drop a row cut short by a kill
            handle.truncate(length)
    try:
        stream = open(path, "a" if resume else "w", encoding="utf-8", errors="surrogateescape",  # noqa: SIM115
                      newline="")   # closed by the caller, after the last row
    except OSError as exc:
        raise OutputError(f"--output {path}: {(exc.strerror or str(exc)).lower()}") from None
    header = fmt in ("csv", "tsv") and (not resume or os.path.getsize(path) == 0)
    return Output(stream, done, last, header)


def writable_folder(folder: Path, option: str) -> Path:
    """A folder to write into (created if need be), checked before any work:
    not a file, not under a file, and writable; else a usage error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{option} {folder}: is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(f"{option} {folder}: cannot create the folder ({(exc.strerror or str(exc)).lower()})") from None
    if not folder.is_dir():
        raise OutputError(f"{option} {folder}: is not a folder")
    probe = folder / f".digitcli-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"{option} {folder}: cannot write there ({(exc.strerror or str(exc)).lower()})") from None
    return folder
