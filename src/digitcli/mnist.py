"""Loading MNIST: Keras' `mnist.npz`, a folder of IDX files, or the Keras cache.

Pure numpy: evaluation on MNIST needs no TensorFlow when the file is on disk.
Whatever is read is validated, because a truncated download that trains a
model on garbage is worse than a clear error.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import DATA_ENV_VAR, SETTINGS
from .errors import DataError

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
KERAS_NPZ = Path("datasets") / "mnist.npz"


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # (N, 28, 28) uint8, white digit on black
    y_train: np.ndarray  # (N,) uint8 in 0..9
    x_test: np.ndarray
    y_test: np.ndarray
    source: str          # where it was read from, for messages and the model card
    sha256: str          # checksum of what was read, for the model card


def keras_cache_file() -> Path:
    """Where `keras.datasets.mnist.load_data()` keeps its download."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / KERAS_NPZ


def _missing_data_message() -> str:
    return (
        "MNIST not found and it cannot be downloaded here.\n"
        f"Pass --data PATH (Keras' mnist.npz, or a folder of the four IDX files), "
        f"set {DATA_ENV_VAR}=PATH, or copy mnist.npz to {keras_cache_file()}."
    )


def resolve_data_path(data: Path | None) -> Path | None:
    """The explicit path, else the environment variable, else the Keras cache
    if it holds the file; None means only a download is left."""
    if data is not None:
        return data
    from_env = os.environ.get(DATA_ENV_VAR)
    if from_env:
        return Path(from_env)
    cached = keras_cache_file()
    return cached if cached.exists() else None


def load_mnist(data: Path | None = None) -> Mnist:
    """Load and validate MNIST from wherever the user keeps it."""
    path = resolve_data_path(data)
    if path is None:
        return _download_with_keras()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder. {_missing_data_message()}")
    if path.is_dir():
        # A folder may hold mnist.npz or the IDX files (as ../shared/data does).
        npz = path / "mnist.npz"
        idx_dir = path / "mnist" if not _has_idx(path) and (path / "mnist").is_dir() else path
        if not _has_idx(idx_dir) and npz.exists():
            return load_npz(npz)
        return load_idx_folder(idx_dir)
    return load_npz(path)


def load_npz(path: Path) -> Mnist:
    """Read Keras' mnist.npz (keys x_train, y_train, x_test, y_test)."""
    import zipfile

    try:
        raw = path.read_bytes()
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in IDX_FILES}
    except KeyError as exc:
        raise DataError(f"{path}: not an MNIST npz, missing array {exc}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read as npz ({exc}); is the file complete?") from None
    return _validated(arrays, source=str(path), sha256=hashlib.sha256(raw).hexdigest())


def _has_idx(folder: Path) -> bool:
    return any(_idx_file(folder, name) is not None for name in IDX_FILES.values())


def _idx_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz", folder / stem.replace("-idx", ".idx")):
        if candidate.exists():
            return candidate
    return None


def load_idx_folder(folder: Path) -> Mnist:
    """Read the four original IDX files, gzipped or not."""
    arrays = {}
    digest = hashlib.sha256()
    for key, stem in IDX_FILES.items():
        path = _idx_file(folder, stem)
        if path is None:
            raise DataError(
                f"{folder}: missing {stem}(.gz). A folder must hold the four MNIST IDX files."
            )
        raw = _read_maybe_gzip(path)
        digest.update(raw)
        arrays[key] = parse_idx(raw, name=str(path))
    return _validated(arrays, source=str(folder), sha256=digest.hexdigest())


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc}); is the file complete?") from None


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode an IDX file of unsigned bytes (the only type MNIST uses)."""
    if len(raw) < 8:
        raise DataError(f"{name}: too short to be an IDX file")
    zero, dtype_code, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise DataError(f"{name}: not an IDX file of unsigned bytes (bad magic number)")
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims)) + header
    if len(raw) != expected:
        raise DataError(
            f"{name}: header promises {expected - header} bytes of data, file has "
            f"{len(raw) - header}; the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _validated(arrays: dict[str, np.ndarray], source: str, sha256: str) -> Mnist:
    """Check shapes, types, label range and counts before anyone trains on it."""
    size, num_classes = SETTINGS.image.size, SETTINGS.image.num_classes
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != (size, size):
            raise DataError(f"{source}: {split} images have shape {images.shape}, expected (N, {size}, {size})")
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise DataError(f"{source}: {split} arrays must be uint8, got {images.dtype}/{labels.dtype}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(
                f"{source}: {len(images)} {split} images but {labels.shape} labels; counts must match"
            )
        if len(images) == 0:
            raise DataError(f"{source}: the {split} split is empty")
        if labels.max() >= num_classes:
            raise DataError(f"{source}: {split} labels must be digits 0-{num_classes - 1}, found {labels.max()}")
    return Mnist(
        x_train=arrays["x_train"], y_train=arrays["y_train"],
        x_test=arrays["x_test"], y_test=arrays["y_test"],
        source=source, sha256=sha256,
    )


def _download_with_keras() -> Mnist:
    """Last resort: Keras' own download, which needs TensorFlow and a network."""
    try:
        from keras.datasets import mnist
    except ImportError:
        raise DataError(_missing_data_message()) from None
    try:
        mnist.load_data()
    except Exception:  # noqa: BLE001  (any network failure: say what to do instead)
        raise DataError(_missing_data_message()) from None
    return load_npz(keras_cache_file())
