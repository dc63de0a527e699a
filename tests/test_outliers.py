"""Non-digit drawings for outlier exposure: real drawings through the real
pipeline, reproducible, and never a digit-like glyph."""

from __future__ import annotations

import cv2
import numpy as np

from digitcli.train import outliers


def test_outliers_come_out_as_the_pipeline_makes_digits():
    drawings = outliers.non_digits(24, seed=3)
    assert drawings.shape == (24, 28, 28) and drawings.dtype == np.float32
    assert drawings.min() >= 0.0 and drawings.max() <= 1.0
    assert all(d.max() > 0.5 for d in drawings)            # something was found in every one
    assert np.all(drawings[:, 0, :] == 0) and np.all(drawings[:, :, 0] == 0)  # black border, as MNIST


def test_outliers_are_reproducible_and_vary():
    a = outliers.non_digits(8, seed=5)
    assert np.array_equal(a, outliers.non_digits(8, seed=5))
    assert not np.array_equal(a, outliers.non_digits(8, seed=6))
    assert len({d.tobytes() for d in a}) == len(a)


def test_held_out_families_differ_from_training_families():
    assert not set(outliers.TRAIN_SHAPES) & set(outliers.HELD_OUT_SHAPES)
    assert not set(outliers.TRAIN_FONTS) & set(outliers.HELD_OUT_FONTS)
    held_out = outliers.non_digits(8, seed=5, held_out=True)
    assert not np.array_equal(held_out, outliers.non_digits(8, seed=5))


def test_no_glyph_can_pass_for_a_digit():
    """Teaching the model to reject an O or an l would teach it to reject 0s and 1s."""
    digit_like = set("0123456789OoQDIlijJZzSsBbGgqaTt&$!?/|()[]{}")
    assert not digit_like & set(outliers.GLYPHS)


def test_every_shape_draws_strokes_inside_the_canvas():
    rng = np.random.default_rng(0)
    for shape in (*outliers.TRAIN_SHAPES, *outliers.HELD_OUT_SHAPES):
        canvas = outliers.draw_strokes(shape(rng), rng, 112, smooth=True, filled=shape is outliers.blot)
        ys, xs = np.nonzero(canvas)
        assert len(ys) > 50, shape.__name__
        assert ys.min() > 0 and xs.min() > 0 and ys.max() < 111 and xs.max() < 111, shape.__name__


def test_handwritten_letters_leave_out_what_a_hand_writes_as_a_digit():
    assert not {"O", "o", "I", "l", "S", "Z", "b", "g", "q", "theta", "sigma"} & set(outliers.HANDWRITTEN)
    assert not set(outliers.TRAIN_HANDWRITTEN) & set(outliers.HELD_OUT_HANDWRITTEN)
    rng = np.random.default_rng(1)
    for _ in range(30):
        canvas = outliers.draw_handwritten(outliers.TRAIN_HANDWRITTEN, rng, 112)
        assert np.count_nonzero(canvas) > 50


def test_number_pieces_are_wrong_segmentations_of_real_digits():
    digits = np.zeros((4, 28, 28), np.uint8)
    for i, digit in enumerate(digits):
        cv2.putText(digit, str(i + 2), (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2)
    pieces = outliers.number_pieces(digits, 6, seed=2)
    assert pieces.shape == (6, 28, 28) and pieces.max() <= 1.0
    canvas, rights = outliers.compose_number(list(digits[:3]), np.random.default_rng(0))
    assert len(rights) == 3 and rights == sorted(rights) and canvas.shape[1] >= rights[-1]


def test_touching_digits_are_slid_together_until_their_strokes_meet():
    """Two leaning strokes, the first's ink at its top right, the second's
    at its bottom left: boxes overlapping by a share of the height leave
    them apart; slid together by their ink, they meet and cross."""
    stroke = np.zeros((50, 30), np.uint8)
    cv2.line(stroke, (3, 46), (26, 3), 255, 4)
    for ink_contact, pieces in ((False, 2), (True, 1)):
        canvas, _ = outliers.compose_number([stroke, stroke], np.random.default_rng(0), gap_range=(-0.05, -0.05),
                                            ink_contact=ink_contact)
        count, _ = cv2.connectedComponents((canvas > 127).astype(np.uint8))
        assert count - 1 == pieces


def test_touching_digits_cross_no_further_than_leaves_each_visible():
    """Two upright 1s crossing by a tenth of the height lie along each
    other, one stroke where two were written; with `min_visible` they only
    cross as far as leaves each that share of its ink clear of the other's."""
    one = np.zeros((50, 8), np.uint8)
    cv2.line(one, (4, 2), (4, 47), 255, 5)
    widths = {}
    for min_visible in (None, 0.75):
        canvas, _ = outliers.compose_number([one, one], np.random.default_rng(0), gap_range=(-0.1, -0.1),
                                            ink_contact=True, min_visible=min_visible)
        columns = np.flatnonzero((canvas > 127).any(axis=0))
        widths[min_visible] = columns[-1] - columns[0] + 1
    stroke = np.count_nonzero((one > 127).any(axis=0))
    assert widths[None] < 1.5 * stroke       # hidden: hardly wider than one stroke
    assert widths[0.75] >= 2 * stroke - 1    # two strokes side by side, touching
