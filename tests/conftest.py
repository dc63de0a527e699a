"""Shared fixtures: tiny MNIST files and images drawn on the fly, so the
suite needs neither the full MNIST nor anything from the network."""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import synthetic

SHIPPED_MODEL = ROOT / "models" / "digitcli.onnx"


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format MNIST uses."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def mnist_like_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(count, 28, 28) uint8 white-on-black digits drawn with pen strokes,
    with labels: a stand-in for MNIST that a CNN can learn."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = np.zeros((count, 28, 28), np.uint8)
    for i, label in enumerate(labels):
        canvas = np.zeros((28, 28, 3), np.uint8)
        drawn = synthetic.draw_digit(canvas, int(label), (14, 14), 20, (255, 255, 255), 2, seed=int(rng.integers(1e9)))
        images[i] = drawn[:, :, 0]
    return images, labels


@pytest.fixture(scope="session")
def tiny_mnist_arrays():
    x_train, y_train = mnist_like_digits(600, seed=1)
    x_test, y_test = mnist_like_digits(200, seed=2)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory, tiny_mnist_arrays) -> Path:
    path = tmp_path_factory.mktemp("npz") / "mnist.npz"
    np.savez(path, **tiny_mnist_arrays)
    return path


@pytest.fixture(scope="session")
def tiny_idx_folder(tmp_path_factory, tiny_mnist_arrays) -> Path:
    """The four IDX files, gzipped like the originals."""
    from digitcli.mnist import IDX_FILES

    folder = tmp_path_factory.mktemp("idx")
    for key, stem in IDX_FILES.items():
        (folder / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(tiny_mnist_arrays[key])))
    return folder


def write_image(path: Path, image: np.ndarray, params: list[int] | None = None) -> Path:
    ok, data = cv2.imencode(path.suffix, image, params or [])
    assert ok
    path.write_bytes(data.tobytes())
    return path


@pytest.fixture
def digit_photo():
    """A factory of photo-like images: digit_photo(7, size=300, ...)."""
    return synthetic.digit_on_paper
