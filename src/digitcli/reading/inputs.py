"""Turning command-line arguments into a stream of image paths.

Files, globs (for shells that leave them unexpanded), folders (the images in
them; recursively with --recursive) and `-` for paths on stdin, one a line
(or NUL-separated with --null), as `find ... | digitcli predict -` sends
them. Paths stay byte for byte as given. A path that does not exist is
kept, so that it gets its own error row instead of vanishing.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import DigitcliError, ExitCode

IMAGE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp",
    ".pgm", ".ppm", ".pbm", ".pnm", ".gif", ".jp2", ".heic", ".heif",   # HEIC with the [heic] extra
})
GLOB_CHARS = frozenset("*?[")


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def images_in(folder: Path, recursive: bool) -> list[Path]:
    """The image files in a folder, sorted for a stable order."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and is_image_name(p))


class InputError(DigitcliError):
    """The list of inputs itself is malformed (a usage error)."""

    exit_code = ExitCode.USAGE


def _in_folder(folder: str, recursive: bool) -> Iterator[str]:
    """A folder's images as the folder was given joined with their relative
    names (`./scans/` stays `./scans/...`), sorted; a folder without any
    is yielded itself, so that it gets a row saying so (empty_folder_message)
    instead of silently dropping out."""
    root = Path(folder)
    found = [os.path.join(folder, str(p.relative_to(root))) for p in images_in(root, recursive)]
    yield from found or [folder]


def empty_folder_message(folder: str) -> str:
    """Why a folder given as an input gave no image."""
    try:
        has_folders = any(p.is_dir() for p in Path(folder).iterdir())
    except OSError:
        has_folders = False
    if has_folders:
        return "a folder with no images directly in it, but sub-folders: pass -r (--recursive) to read them"
    return "a folder with no images in it"


def expand_one(argument: str, recursive: bool) -> Iterator[str]:
    """One argument: a file (kept as given, even when missing, so that it
    gets its own error row), a folder, or a glob the shell left unexpanded."""
    if os.path.isdir(argument):
        yield from _in_folder(argument, recursive)
    elif not os.path.lexists(argument) and GLOB_CHARS & set(argument):
        yield from sorted(glob.glob(argument, recursive=True)) or [argument]
    else:
        yield argument


def read_path_list(stream: BinaryIO, null: bool) -> Iterator[str]:
    """Paths from a stream, one a line (or NUL-separated with `null`), read as
    they arrive. Bytes that are not UTF-8 are kept (as the file system
    names them: surrogate escapes), so every name can be opened."""
    separator = b"\0" if null else b"\n"
    pending = b""
    while chunk := stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536):
        pending += chunk
        *complete, pending = pending.split(separator)
        yield from _decoded(complete, null)
    yield from _decoded([pending], null)


def _decoded(names: list[bytes], null: bool) -> Iterator[str]:
    for name in names:
        if not null:
            name = name.rstrip(b"\r")
            if b"\0" in name:
                raise InputError("the path list on stdin holds NUL bytes: pass -0 (--null) for NUL-separated "
                                 "paths, as `find -print0` writes them")
        if name:
            yield os.fsdecode(name)


def expand_inputs(arguments: Iterable[str], recursive: bool = False, stdin: BinaryIO | None = None,
                  null: bool = False, note: Callable[[str], None] = lambda message: None) -> Iterator[str]:
    """Yield the image paths the arguments name, in the order given, each
    as the user wrote it. `-` reads paths from stdin (folders among them
    are read too, recursively with `recursive`)."""
    for argument in arguments:
        if argument == "-":
            stream = stdin or sys.stdin.buffer
            if hasattr(stream, "isatty") and stream.isatty():
                note("reading image paths from the terminal, one a line; Ctrl-D to end")
            for line in read_path_list(stream, null):
                yield from expand_one(line, recursive)
        else:
            yield from expand_one(argument, recursive)
