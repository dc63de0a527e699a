"""MNIST loading: npz, IDX folders (gzipped or not), validation, discovery."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from conftest import idx_bytes

from digitcli.errors import DataError
from digitcli.mnist import IDX_FILES, load_mnist, parse_idx, resolve_data_path


def test_npz_loads_and_validates(tiny_npz, tiny_mnist_arrays):
    mnist = load_mnist(tiny_npz)
    assert mnist.x_train.shape == (600, 28, 28) and mnist.x_train.dtype == np.uint8
    np.testing.assert_array_equal(mnist.y_test, tiny_mnist_arrays["y_test"])
    assert len(mnist.sha256) == 64


def test_idx_folder_gzipped_and_plain_agree(tiny_idx_folder, tmp_path, tiny_npz):
    for stem in IDX_FILES.values():
        (tmp_path / stem).write_bytes(gzip.decompress((tiny_idx_folder / f"{stem}.gz").read_bytes()))
    gz, plain, npz = load_mnist(tiny_idx_folder), load_mnist(tmp_path), load_mnist(tiny_npz)
    for split in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(gz, split), getattr(plain, split))
        np.testing.assert_array_equal(getattr(gz, split), getattr(npz, split))


def test_folder_holding_mnist_subfolder_is_found(tiny_idx_folder, tmp_path):
    (tmp_path / "mnist").symlink_to(tiny_idx_folder)
    assert load_mnist(tmp_path).x_train.shape[0] == 600


def test_truncated_idx_is_a_clear_error(tiny_mnist_arrays):
    raw = idx_bytes(tiny_mnist_arrays["x_train"])
    with pytest.raises(DataError, match="truncated"):
        parse_idx(raw[:-100], "train-images")


def test_bad_magic_is_rejected():
    with pytest.raises(DataError, match="magic"):
        parse_idx(b"\x00\x00\x0d\x03" + b"\x00" * 20, "x")


def test_label_out_of_range_is_rejected(tmp_path, tiny_mnist_arrays):
    arrays = dict(tiny_mnist_arrays)
    arrays["y_train"] = arrays["y_train"].copy()
    arrays["y_train"][0] = 11
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match="0-9"):
        load_mnist(tmp_path / "bad.npz")


def test_count_mismatch_is_rejected(tmp_path, tiny_mnist_arrays):
    arrays = dict(tiny_mnist_arrays)
    arrays["y_test"] = arrays["y_test"][:-1]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match="counts must match"):
        load_mnist(tmp_path / "bad.npz")


def test_wrong_shape_is_rejected(tmp_path, tiny_mnist_arrays):
    arrays = dict(tiny_mnist_arrays)
    arrays["x_train"] = np.zeros((600, 32, 32), np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=r"\(N, 28, 28\)"):
        load_mnist(tmp_path / "bad.npz")


def test_truncated_npz_is_a_clear_error(tmp_path, tiny_npz):
    (tmp_path / "cut.npz").write_bytes(tiny_npz.read_bytes()[:5000])
    with pytest.raises(DataError, match="complete"):
        load_mnist(tmp_path / "cut.npz")


def test_missing_path_says_where_to_put_the_data(tmp_path):
    with pytest.raises(DataError, match="DIGITCLI_DATA"):
        load_mnist(tmp_path / "nowhere.npz")


def test_environment_variable_then_keras_cache(tmp_path, monkeypatch, tiny_npz):
    monkeypatch.setenv("DIGITCLI_DATA", str(tiny_npz))
    assert resolve_data_path(None) == tiny_npz
    monkeypatch.delenv("DIGITCLI_DATA")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert resolve_data_path(None) is None
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(tiny_npz.read_bytes())
    assert resolve_data_path(None) == tmp_path / "datasets" / "mnist.npz"
    assert load_mnist().x_test.shape == (200, 28, 28)
