"""The line reader: its input, CTC decoding, training lines, training and
export, and how the number reader heeds it."""

from __future__ import annotations

import dataclasses
import json
import shutil

import cv2
import numpy as np
import pytest
import synthetic
from conftest import SHIPPED_MODEL
from test_numbers import number_on_paper
from typer.testing import CliRunner

from digitcli import Reader, Result, Status
from digitcli.cli import app
from digitcli.config import SETTINGS
from digitcli.reading.classifier import load_classifier
from digitcli.reading.lines import BLANK, LineReading, greedy_decode, line_image, line_views
from digitcli.reading.numbers import LoneShape, segment_number
from digitcli.reading.pipeline import ink_mask
from digitcli.reading.runner import (
    Candidate,
    Reading,
    _read_candidates,
    as_item,
    choose_digits,
    fill_result,
    prepare_item,
)
from digitcli.train.outliers import HANDWRITTEN

LINES = SETTINGS.lines


def test_a_line_is_its_ink_cropped_scaled_and_framed():
    mask = np.zeros((200, 300), np.uint8)
    mask[50:110, 40:190] = 255            # 60 high, 150 wide
    line = line_image(mask)
    assert line.shape[0] == LINES.height and line.shape[1] % LINES.stride == 0
    rows, columns = np.nonzero(line > 0.5)
    assert rows.min() == LINES.margin and rows.max() == LINES.margin + LINES.ink_height - 1
    assert columns.min() == LINES.margin and columns.max() == LINES.margin + 60 - 1   # 150 * 24 / 60
    assert line_image(np.zeros((20, 20), np.uint8)) is None


def test_views_of_a_line_are_its_ink_smaller_larger_and_shifted():
    mask = np.zeros((200, 300), np.uint8)
    mask[50:110, 40:190] = 255
    views = line_views(line_image(mask), ink_heights=(20, 24), shifts=LINES.stride)
    assert len(views) == 2 * LINES.stride
    for index, view in enumerate(views):
        rows, columns = np.nonzero(view > 0.5)
        ink_height, shift = (20, 24)[index // LINES.stride], index % LINES.stride
        assert view.shape[0] == LINES.height and view.shape[1] % LINES.stride == 0
        assert rows.max() - rows.min() + 1 == ink_height
        assert columns.min() == (LINES.height - ink_height) // 2 + shift
        assert columns.max() - columns.min() + 1 == round(150 * ink_height / 60)


def test_a_number_whose_line_reading_its_views_do_not_repeat_is_less_sure():
    config = SETTINGS.predict
    digits = [Candidate((0, 0, 10, 20), np.zeros((28, 28), np.float32), np.eye(10, dtype=np.float32)[d])
              for d in (4, 2)]
    confidences = []
    for steadiness in ((), (1.0,), (config.steady_share,), (config.steady_share - 0.1,), (0.0, 0.5)):
        result = Result("x")
        fill_result(result, Reading(digits, steadiness=steadiness), config)
        confidences.append(result.confidence)
    assert confidences == pytest.approx([1, 1, 1, config.unsteady_line, config.unsteady_line ** 2])


def frames(classes: list[int], sure: float = 0.9) -> np.ndarray:
    """Step probabilities whose best class is each of `classes`."""
    probabilities = np.full((len(classes), LINES.num_classes), (1 - sure) / (LINES.num_classes - 1), np.float32)
    probabilities[np.arange(len(classes)), classes] = sure
    return probabilities


def test_ctc_decoding_merges_repeats_and_drops_blanks():
    three, seven = 3 + 1, 7 + 1
    reading = greedy_decode(frames([BLANK, three, three, BLANK, three, seven, seven, BLANK]))
    assert reading.digits == "337"
    assert reading.probabilities.shape == (3, 10)
    assert np.allclose(reading.probabilities.sum(axis=1), 1)
    assert list(reading.probabilities.argmax(axis=1)) == [3, 3, 7]
    assert reading.confidence == pytest.approx(0.9 ** 8)
    assert greedy_decode(frames([BLANK, BLANK])).digits == ""


def test_training_lines_hold_only_their_digits(tiny_mnist_arrays):
    from digitcli.train.line_data import line_samples

    config = dataclasses.replace(SETTINGS.train_lines, mark_share=1.0, max_digits=5)
    x, widths, y = line_samples(tiny_mnist_arrays["x_train"], tiny_mnist_arrays["y_train"], 40, 3, config)
    assert x.shape == (40, LINES.height, config.max_width)
    assert np.all(widths % LINES.stride == 0) and np.all(widths <= config.max_width)
    counts = (y >= 0).sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 5
    assert all(set(row[row >= 0]) <= set(range(10)) for row in y)   # the marks add no labels
    assert all(x[i, :, :widths[i]].max() > 0.5 and not x[i, :, widths[i]:].any() for i in range(40))
    again = line_samples(tiny_mnist_arrays["x_train"], tiny_mnist_arrays["y_train"], 40, 3, config)
    assert np.array_equal(x, again[0]) and np.array_equal(y, again[2])   # the seed decides


def test_cursive_joins_make_spaced_digits_one_piece_and_small_digits_come_last():
    from digitcli.train.line_data import smaller_at_the_end, with_ligatures

    canvas = np.zeros((80, 120), np.uint8)
    cv2.circle(canvas, (30, 40), 16, 255, 4)
    cv2.circle(canvas, (85, 40), 16, 255, 4)
    assert cv2.connectedComponents((canvas > 127).astype(np.uint8))[0] - 1 == 2
    rng = np.random.default_rng(0)
    pieces = [cv2.connectedComponents((with_ligatures(canvas.copy(), [49, 104], 56, np.random.default_rng(seed))
                                       > 127).astype(np.uint8))[0] - 1 for seed in range(10)]
    assert set(pieces) == {1, 2}   # mostly joined, now and then not
    config = dataclasses.replace(SETTINGS.train_lines, small_share=1.0)
    sizes = smaller_at_the_end(4, config, rng)
    assert sizes is not None and sizes[-1] < sizes[0] and all(0.4 < size < 1.1 for size in sizes)
    assert smaller_at_the_end(1, config, rng) is None   # a lone digit is never smaller than itself


def test_the_line_reader_trains_exports_and_loads_beside_the_classifier(tiny_npz, tmp_path):
    """A short training writes the three files; the ONNX export reads lines
    of any width as Keras does; a classifier finds the reader beside it."""
    import keras
    from rich.console import Console

    from digitcli.mnist import load_mnist
    from digitcli.train.lines import train_lines

    config = dataclasses.replace(SETTINGS.train_lines, samples=256, validation_samples=32, epochs=1)
    result = train_lines(load_mnist(tiny_npz), tmp_path, config, Console(stderr=True, quiet=True))
    assert not result.interrupted and result.files.onnx.exists() and result.files.card.exists()
    card = json.loads(result.files.card.read_text())
    assert len(card["training"]["history"]) == len(config.members) == 2   # an ensemble, in one file
    for name in ("digitcli.onnx", "digitcli.json"):
        shutil.copy(SHIPPED_MODEL.with_name(name), tmp_path / name)
    reader = load_classifier(tmp_path / "digitcli.onnx").line_reader
    assert reader is not None and reader.path == result.files.onnx
    keras_model = keras.models.load_model(result.files.keras, compile=False)
    rng = np.random.default_rng(0)
    for width in (32, 100):
        line = (rng.random((1, LINES.height, width)) > 0.8).astype(np.float32)
        expected = keras_model.predict(line[..., None], verbose=0).transpose(0, 3, 1, 2)
        got = reader.session.run(None, {reader.session.get_inputs()[0].name: line[..., None]})[0]
        assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-4
    # a line reads the same alone and among lines of other widths (to float32 rounding: a batch
    # of two may be summed in another order than one line)
    lines = [(rng.random((LINES.height, width)) > 0.8).astype(np.float32) for width in (40, 64, 40, 100)]
    together = reader.read(lines)
    for line, reading in zip(lines, together):
        (alone,) = reader.read([line])
        assert alone.digits == reading.digits and alone.confidence == pytest.approx(reading.confidence, rel=1e-5)
    (tmp_path / "digitcli-lines.onnx").unlink()
    assert load_classifier(tmp_path / "digitcli.onnx").line_reader is None   # numbers read by cuts alone


def test_train_lines_has_no_resume():
    result = CliRunner().invoke(app, ["train", "lines", "--resume"])
    assert result.exit_code == 2 and "--resume" in result.output


@pytest.fixture(scope="module")
def touching_zeros():
    """Two touching 0s, cut, with the classifier's reading of every
    candidate digit of the lattice."""
    prepared = prepare_item(as_item(number_on_paper("00", seed=1, advance=0.5))).prepared
    (shape,) = prepared.segments
    prepared = dataclasses.replace(prepared, segments=shape.cut())
    singles, glyph_probs = _read_candidates([prepared], Reader(SHIPPED_MODEL).classifier, singles=True)
    return prepared, singles[0], glyph_probs[0]


def reading_of(digits: str) -> LineReading:
    probabilities = np.full((len(digits), 10), 0.01, np.float32)
    probabilities[np.arange(len(digits)), [int(d) for d in digits]] = 0.91
    return LineReading(digits, 0.8, probabilities)


def test_the_line_reader_sets_the_count_and_overrules_other_digits(touching_zeros):
    prepared, single, glyph_probs = touching_zeros
    config = SETTINGS.predict
    agreed = choose_digits(prepared, single, glyph_probs, config, [reading_of("00")])
    assert [int(c.probabilities.argmax()) for c in agreed.digits] == [0, 0] and agreed.disagreements == 0
    assert not any(c.from_line for c in agreed.digits)
    overruled = choose_digits(prepared, single, glyph_probs, config, [reading_of("08")])
    assert [int(c.probabilities.argmax()) for c in overruled.digits] == [0, 8] and overruled.disagreements == 1
    assert all(c.from_line for c in overruled.digits)
    one = choose_digits(prepared, single, glyph_probs, config, [reading_of("8")])
    unheeded = choose_digits(prepared, single, glyph_probs, config, [None])
    assert [c.box for c in one.digits] == [c.box for c in unheeded.digits] and one.disagreements == 0


def test_a_shape_read_as_one_digit_keeps_it_unless_the_cuts_read_what_the_line_reader_read(touching_zeros):
    """Where the classifier reads the shape as one digit and the line reader
    as several (a refused reading: runner.classify), the several stand only
    where the cuts read them too; otherwise the one digit does."""
    prepared, _, glyph_probs = touching_zeros
    sure_eight = np.full(10, 0.002, np.float32)
    sure_eight[8] = 0.982
    config = SETTINGS.predict
    agreed = choose_digits(prepared, sure_eight, glyph_probs, config,
                           [dataclasses.replace(reading_of("00"), refused=True)])
    assert [int(c.probabilities.argmax()) for c in agreed.digits] == [0, 0] and agreed.refused == 1
    other = choose_digits(prepared, sure_eight, glyph_probs, config,
                          [dataclasses.replace(reading_of("08"), refused=True)])
    assert [int(c.probabilities.argmax()) for c in other.digits] == [8] and other.refused == 0
    unrefused = choose_digits(prepared, sure_eight, glyph_probs, config, [reading_of("08")])
    assert [int(c.probabilities.argmax()) for c in unrefused.digits] == [0, 8]


def test_the_shipped_line_reader_reads_touching_digits():
    """Four digits drawn as one shape: the shipped reader reads them all,
    confidently, where the cuts alone read a doubtful 8."""
    reader = Reader(SHIPPED_MODEL, workers=1)
    assert reader.classifier.line_reader is not None
    image = number_on_paper("3908", seed=3, advance=0.45)
    result = reader.read(image)
    assert result.number == "3908" and result.status is Status.OK
    assert reader.configured(line_reader=False).read(image).number != "3908"


def test_digits_that_overlap_into_a_narrow_shape_are_read_when_it_is_not_a_digit():
    """A 4 and a 9 written into each other make a shape no wider than a
    digit, which the classifier does not read as one; the line reader is
    asked, and reads both (the cuts alone give a doubtful 8). A letter is
    such a shape too, so the reading is flagged."""
    image = number_on_paper("49", seed=1, advance=0.35)
    (shape,) = segment_number(ink_mask(image), defer_lone=True)
    assert isinstance(shape, LoneShape) and shape.narrow
    assert segment_number(ink_mask(image)) == ()   # undeferred: a one-digit reading, as before
    reader = Reader(SHIPPED_MODEL, workers=1)
    result = reader.read(image)
    assert result.number == "49" and result.status is Status.LOW_CONFIDENCE
    assert reader.configured(refused_shape=1.0).read(image).status is Status.OK
    alone = reader.configured(line_reader=False).read(image)
    assert alone.number != "49" and alone.status is Status.LOW_CONFIDENCE
    assert reader.configured(line_reader=False, digits=2).read(image).number == "49"   # a known count cuts it


def test_a_letter_the_line_reader_reads_as_digits_stays_flagged():
    """A pen-drawn B: the classifier refuses it, the line reader (which has
    never seen a letter) reads it as digits, surely; the reading is flagged."""
    page = synthetic.paper(200, 200, seed=0)
    image = synthetic.draw_strokes(page, [stroke.tolist() for stroke in HANDWRITTEN["B"]], (100, 100), 120, seed=0)
    reader = Reader(SHIPPED_MODEL, workers=1)
    result = reader.read(image)
    assert len(result.number) >= 2 and result.status is Status.LOW_CONFIDENCE
    assert reader.configured(refused_shape=1.0).read(image).status is Status.OK
