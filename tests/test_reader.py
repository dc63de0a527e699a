"""The public Python API: `digitcli.Reader`, what predict itself runs on."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import synthetic
from conftest import SHIPPED_MODEL, write_image

from digitcli import Reader, Result, Status


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(SHIPPED_MODEL)


def test_reads_a_path_bytes_and_a_numpy_image_alike(reader, tmp_path):
    photo = synthetic.digit_on_paper(4, 220, seed=2)
    path = write_image(tmp_path / "four.png", photo)
    from_path = reader.read(path)
    from_bytes = reader.read(path.read_bytes(), name="upload")
    from_array = reader.read(cv2.imread(str(path)))
    assert from_path.path == str(path) and from_bytes.path == "upload" and from_array.path is None
    for result in (from_path, from_bytes, from_array):
        assert result.digit == 4 and result.status is Status.OK
    assert from_path.confidence == pytest.approx(from_bytes.confidence, abs=1e-6)


def test_read_many_streams_in_order_with_errors_as_results(reader, tmp_path):
    paths = []
    for index, digit in enumerate((3, 8, 1)):
        paths.append(write_image(tmp_path / f"{index}.png", synthetic.digit_on_paper(digit, 200, seed=index)))
    paths.insert(1, tmp_path / "missing.png")
    results = list(reader.read_many(paths))
    assert [r.path for r in results] == [str(p) for p in paths]
    assert [r.digit for r in results] == [3, None, 8, 1]
    assert results[1].status is Status.ERROR and results[1].error == "no such file"
    assert all(isinstance(r, Result) for r in results)


def test_blank_page_is_no_digit(reader):
    result = reader.read(np.full((100, 100), 230, np.uint8))
    assert result.status is Status.NO_DIGIT and result.digit is None and result.flagged


def test_as_record_is_exactly_predicts_json(reader, tmp_path):
    path = write_image(tmp_path / "seven.png", synthetic.digit_on_paper(7, 200, seed=5))
    expected = reader.read(path).as_record()
    printed = subprocess.run([sys.executable, "-m", "digitcli", "predict", "-f", "jsonl", str(path)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(printed) == expected
    assert list(expected) == ["path", "digit", "confidence", "status", "error", "number"]


def test_options_reach_the_results(tmp_path):
    path = write_image(tmp_path / "two.png", synthetic.digit_on_paper(2, 200, seed=1))
    strict = Reader(SHIPPED_MODEL, min_confidence=1.0, top_k=3).read(path)
    assert strict.status is Status.LOW_CONFIDENCE and len(strict.top_k) == 3
    assert strict.as_record(with_top_k=True)["top_k"][0]["digit"] == strict.digit
