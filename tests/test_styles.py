"""Writing styles for training: each yields an image the pipeline reads."""

from __future__ import annotations

import cv2
import numpy as np

from digitcli.reading.pipeline import prepare_array
from digitcli.train import styles as digit_styles


def _seven() -> np.ndarray:
    digit = np.zeros((28, 28), np.uint8)
    cv2.polylines(digit, [np.array([[7, 6], [20, 6], [12, 23]])], False, 255, 2, cv2.LINE_AA)
    return digit


def test_every_style_keeps_a_digit_the_pipeline_finds():
    rng = np.random.default_rng(0)
    for style in (*digit_styles.STYLES, digit_styles.add_crossbar, digit_styles.add_flag_and_base):
        image = style(_seven(), rng)
        assert image.dtype == np.uint8 and image.ndim == 2, style.__name__
        assert prepare_array(image).digit is not None, style.__name__


def test_crossbar_adds_ink_across_the_stem():
    rng = np.random.default_rng(3)
    assert np.count_nonzero(digit_styles.add_crossbar(_seven(), rng)) > np.count_nonzero(_seven())


def test_styled_digits_are_reproducible():
    a = digit_styles.styled_digit(_seven(), 7, np.random.default_rng(5))
    b = digit_styles.styled_digit(_seven(), 7, np.random.default_rng(5))
    assert np.array_equal(a, b)
