"""Turning command-line arguments into a list of image paths.

Files, globs (for shells that leave them unexpanded), folders (the images in
them; recursively with --recursive) and `-` for paths on stdin, one a line,
as `find ... | digitcli predict -` sends them. A path that does not exist is
kept, so that it gets its own error row instead of vanishing.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

IMAGE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp",
    ".pgm", ".ppm", ".pbm", ".pnm", ".gif", ".jp2",
})
GLOB_CHARS = frozenset("*?[")


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def images_in(folder: Path, recursive: bool) -> list[Path]:
    """The image files in a folder, sorted for a stable order."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and is_image_name(p))


def expand_inputs(arguments: Iterable[str], recursive: bool = False,
                  stdin: TextIO | None = None) -> Iterator[Path]:
    """Yield the image paths the arguments name, in the order given."""
    for argument in arguments:
        if argument == "-":
            for line in stdin or sys.stdin:
                line = line.rstrip("\r\n")
                if line:
                    yield Path(line)
            continue
        path = Path(argument)
        if path.is_dir():
            yield from images_in(path, recursive)
        elif not path.exists() and GLOB_CHARS & set(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            yield from (Path(m) for m in matches) if matches else (path,)
        else:
            yield path
