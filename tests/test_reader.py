"""The public Python API: `digitcli.Reader`, what predict itself runs on."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import synthetic
from conftest import SHIPPED_MODEL, write_image

from digitcli import Reader, Result, Status
from digitcli.config import SETTINGS
from digitcli.reading.runner import second_look, zoomed


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


def test_zoomed_scales_a_digit_about_the_centre():
    square = np.zeros((28, 28), np.float32)
    square[9:19, 9:19] = 1.0   # 10x10, centred
    for factor in (1.1, 0.9):
        view = zoomed(square, factor)
        assert view.sum() == pytest.approx((10 * factor) ** 2, rel=0.01)   # the ink's area scales as factor squared
        moments = cv2.moments(view)
        assert (moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]) == pytest.approx((13.5, 13.5))


def test_a_second_look_averages_only_unsure_readings_with_their_zoomed_views(reader):
    digits = np.stack([reader.read(synthetic.digit_on_paper(d, 200, seed=d)).digits[0].image for d in (3, 5)])
    sure = np.full(10, 0.0005, np.float32)
    sure[3] = 0.9955
    unsure = np.full(10, 0.04, np.float32)
    unsure[5] = 0.64
    probabilities = np.stack([sure, unsure])
    config = SETTINGS.predict
    looked = second_look(digits, probabilities, reader.classifier, config)
    views = reader.classifier.probabilities(np.stack([zoomed(digits[1], z) for z in config.second_look_zooms]))
    assert np.array_equal(looked[0], sure)   # a sure reading is not looked at again
    assert looked[1] == pytest.approx((unsure + views.sum(axis=0)) / (1 + len(views)), abs=1e-6)
    assert np.array_equal(second_look(digits, probabilities, reader.classifier,
                                      dataclasses.replace(config, second_look_zooms=())), probabilities)
    assert np.array_equal(probabilities[1], unsure)   # the caller's array is left as it was


def test_predict_reads_sure_digits_alike_with_or_without_a_second_look(reader):
    photo = synthetic.digit_on_paper(6, 220, seed=4)
    plain, looked = reader.configured(second_look_zooms=()).read(photo), reader.read(photo)
    assert plain.confidence >= SETTINGS.predict.second_look_below
    assert (looked.number, looked.confidence, looked.status) == (plain.number, plain.confidence, plain.status)
