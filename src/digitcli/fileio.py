"""Atomic file writing: every file digitcli writes appears whole or not at all.

A temporary file in the same folder is written, flushed to disk and renamed
over the target, so an interrupted run (Ctrl-C, SIGKILL, a full disk) never
leaves a half-written model, card or report where a good one used to be.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` (same suffixes, for writers that
    look at them, such as Keras); on success it replaces `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + "".join(target.suffixes),
                                     dir=target.parent)
    os.close(fd)
    temp = Path(temp_name)
    os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; a model is an ordinary file
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
        _fsync_dir(target.parent)
    finally:
        temp.unlink(missing_ok=True)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target) as temp:
        temp.write_bytes(data)


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def encode_png(image: np.ndarray) -> bytes:
    """A uint8 image (gray, BGR or BGRA) as PNG bytes."""
    import cv2

    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"cannot encode an image of shape {image.shape} as PNG")
    return encoded.tobytes()


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write a uint8 image as a PNG file, atomically."""
    atomic_write_bytes(path, encode_png(image))
    return path
