"""Reading numbers: segmentation on drawn numbers, the reading's contract,
--digits, --boxes, crops, and evaluate on number labels."""

from __future__ import annotations

import dataclasses
import json

import cv2
import draw_scenes
import numpy as np
import pytest
import synthetic
from conftest import SHIPPED_MODEL, write_image
from typer.testing import CliRunner

from digitcli import Reader, Result, Status
from digitcli.cli import app
from digitcli.config import SETTINGS
from digitcli.evaluation.labelled import edit_distance, parse_label
from digitcli.reading.numbers import LoneShape, _components, _drop_rules, fills_its_cell, segment_number, tilt
from digitcli.reading.pipeline import ink_mask, printed_box, to_working_size
from digitcli.reading.runner import Candidate, Reading, fill_result


def number_on_paper(text: str, seed: int = 0, advance: float = 0.75, height: int = 90) -> np.ndarray:
    width = int(height * (advance * len(text) + 1.5))
    page = synthetic.paper(height * 2, width, seed=seed)
    return synthetic.draw_number(page, text, (height, height), height, (30, 30, 30), 7, seed=seed, advance=advance)


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(SHIPPED_MODEL)


def test_spaced_digits_become_one_segment_each():
    segments = segment_number(ink_mask(number_on_paper("3907", seed=1)))
    assert len(segments) == 4
    assert not any(segment.space_before for segment in segments)


def test_touching_digits_beside_another_are_cut_even_when_narrow():
    """A 0 touching a 1 is narrower than a lone shape must be to be cut, but
    beside a third digit the image is evidently a number: cut it."""
    page = np.full((140, 200), 235, np.uint8)
    cv2.ellipse(page, (60, 70), (22, 33), 0, 0, 360, 20, 6)
    cv2.line(page, (86, 38), (82, 104), 20, 6)    # touching the 0
    cv2.line(page, (100, 38), (97, 104), 20, 6)   # near, not touching
    (segment,) = segment_number(ink_mask(page))
    assert segment.nodes > 3   # cuts inside the touching pair, not only between the groups


@pytest.mark.parametrize("softness", [0.0, 0.1])
@pytest.mark.parametrize("angle", [1.2, 2.0])
def test_a_number_partly_in_a_phones_shadow_is_read_whole(reader, softness, angle):
    """Before, the digits in the shadow were lost (a sure "16"), or the
    shadowed border turned the ink light and nothing was read."""
    shadowed = synthetic.cast_shadow(number_on_paper("16570"), 0.55, angle, -0.1, softness)
    assert reader.read(shadowed).number == "16570"


def test_only_cuts_through_ink_are_cuts():
    """Nodes between separate pieces are not cuts; those inside a piece of
    touching digits are, and a reading across them is less sure."""
    spaced = segment_number(ink_mask(number_on_paper("3907", seed=1)))
    assert all(not segment.cuts for segment in spaced)
    page = np.full((140, 200), 235, np.uint8)
    cv2.ellipse(page, (60, 70), (22, 33), 0, 0, 360, 20, 6)
    cv2.line(page, (86, 38), (82, 104), 20, 6)    # touching the 0
    cv2.line(page, (100, 38), (97, 104), 20, 6)
    (segment,) = segment_number(ink_mask(page))
    assert segment.cuts and all(0 < node < segment.nodes - 1 for node in segment.cuts)


def test_a_lone_wide_shape_is_cut_later_exactly_as_at_once():
    """Deferred, a lone shape wider than a digit (here two touching 0s)
    gives, when cut, the very lattice the segmenter builds at once."""
    ink = ink_mask(number_on_paper("00", seed=1, advance=0.5))
    (shape,) = segment_number(ink, defer_lone=True)
    assert isinstance(shape, LoneShape)
    (later,) = shape.cut()
    (now,) = segment_number(ink)
    assert (later.nodes, later.cuts, later.space_before) == (now.nodes, now.cuts, now.space_before)
    assert later.glyphs.keys() == now.glyphs.keys()
    for edge, glyph in now.glyphs.items():
        assert later.glyphs[edge].box == glyph.box and np.array_equal(later.glyphs[edge].digit, glyph.digit)


def test_a_lone_wide_shape_is_cut_only_when_the_one_digit_reading_is_unsure(reader):
    """A wide 0 read confidently as one digit is never cut (its candidates
    could not outweigh it); touching 0s, which the one-digit reading cannot
    settle, are."""
    page = np.full((140, 220), 235, np.uint8)
    cv2.ellipse(page, (110, 70), (45, 33), 0, 0, 360, 20, 7)
    wide = reader.read(page)
    assert wide.number == "0" and wide.status is Status.OK and wide.prepared.segments == ()
    touching = reader.read(number_on_paper("00", seed=1, advance=0.5))
    assert touching.number == "00" and touching.status is Status.OK and len(touching.prepared.segments[0].glyphs) > 2


def test_a_1_pressed_against_a_narrow_0_is_read_though_the_shape_reads_as_one_digit(reader):
    """A 1 written against a narrow 0's side makes one shape no wider than a
    digit, which the classifier reads as a 0. The line reader reads it too
    ("10"), the cuts read the same, and that reading stands, flagged: not a
    sure "0"."""
    page = np.full((140, 140), 235, np.uint8)
    cv2.ellipse(page, (68, 70), (16, 33), 0, 0, 360, 20, 6)
    cv2.line(page, (48, 38), (46, 104), 20, 6)
    result = reader.read(page)
    assert result.number == "10" and result.status is Status.LOW_CONFIDENCE


def test_each_cut_through_ink_costs_the_number_some_confidence():
    config = dataclasses.replace(SETTINGS.predict, cut_confidence=0.9)
    digits = [Candidate((0, 0, 10, 20), np.zeros((28, 28), np.float32), np.eye(10, dtype=np.float32)[d] * 0.5 + 0.05)
              for d in (4, 2)]
    for cuts in (0, 1):
        result = Result("x")
        fill_result(result, Reading(digits, cuts=cuts), config)
        assert result.number == "42" and result.confidence == pytest.approx(0.55 * 0.55 * 0.9 ** cuts)


@pytest.mark.parametrize("text", ["35", "11", "907"])
def test_a_register_column_rule_and_its_print_are_not_digits(reader, text):
    """A register's row number beside a column rule (broken into dashes by
    the scan) with small print at its foot: the rule and the print are
    dropped, and the one-digit reading (the rule, the largest shape) does
    not stand in for the number."""
    page = synthetic.paper(260, 200, seed=5)
    page = synthetic.draw_number(page, text, (30, 120), 40, (30, 30, 30), 4, seed=5)
    for y in range(0, 260, 34):
        cv2.line(page, (150, y), (151, y + 28), (40, 40, 40), 2)
    cv2.putText(page, "Trykt for", (90, 252), cv2.FONT_HERSHEY_PLAIN, 0.8, (40, 40, 40), 1)
    result = reader.read(page)
    assert result.number == text and result.status is Status.OK


@pytest.mark.parametrize("text", ["35", "11", "907"])
def test_a_full_stop_does_not_join_the_print_below_it(reader, text):
    """A register's row number with a full stop, and small print far below
    it: the full stop is not the print's bar (as a 5's flag is its body's),
    else the two make one tall shape beside which the number is small print."""
    page = synthetic.paper(210, 140, seed=6)
    page = synthetic.draw_number(page, text, (20, 75), 30, (30, 30, 30), 3, seed=6)
    stop = 24 + 23 * len(text)
    cv2.rectangle(page, (stop, 72), (stop + 3, 74), (30, 30, 30), -1)
    cv2.putText(page, "Trykt", (stop - 8, 190), cv2.FONT_HERSHEY_PLAIN, 0.8, (40, 40, 40), 1)
    result = reader.read(page)
    assert result.number == text and result.status is Status.OK


@pytest.mark.parametrize("text", ["53", "907", "11"])
def test_a_table_corner_above_the_number_is_not_a_digit(reader, text):
    """A register's cell corner (the row's rule meeting the column's, cut by
    the crop) ending just above the number: lines touching two edges,
    several times the digits' height, merged with the digits below them
    and read as a sure 7."""
    page = synthetic.paper(220, 150, seed=7)
    page = synthetic.draw_number(page, text, (78, 110), 26, (30, 30, 30), 3, seed=7)
    cv2.line(page, (72, 1), (149, 1), (40, 40, 40), 2)
    cv2.line(page, (147, 1), (147, 95), (40, 40, 40), 2)
    result = reader.read(page)
    assert result.number == text and result.status is Status.OK


@pytest.mark.parametrize(("text", "radius"), [("7", 70), ("7", 95), ("63", 70), ("63", 95), ("100", 80)])
def test_a_circle_round_an_exam_mark_is_a_frame(reader, text, radius):
    """A teacher's circle round a mark, however tight, is not a 0: ink in a
    closed outline's hole, clear of it, is what is read (a circled 7 read
    as a sure 0 before)."""
    page = synthetic.paper(240, 600, seed=radius)
    centre = 110 + round(0.62 * 80 * (len(text) - 1) / 2)
    page = synthetic.draw_number(page, text, (110, 120), 80, (30, 30, 30), seed=radius)
    cv2.ellipse(page, (centre, 120), (radius + 25 * (len(text) - 1), radius), 0, 0, 360, (30, 30, 200), 3)
    result = reader.read(page)
    assert result.number == text and result.status is Status.OK


@pytest.mark.parametrize("text", ["7623", "089"])
def test_a_row_of_boxes_a_digit_in_each_is_a_frame(reader, text):
    """A form's row of boxes in a small image: its strokes are thick for
    the image, but it is a closed outline holding a digit in each hole (its
    walls were read as 1s and 7s: "1761273")."""
    height = 50
    page = synthetic.paper(height * 3, height * (len(text) + 2), seed=3)
    for index, digit in enumerate(text):
        left = height * (index + 1)
        cv2.rectangle(page, (left, 45), (left + height, 45 + 65), (60, 60, 60), 2)
        page = synthetic.draw_number(page, digit, (left + height // 2, 78), 40, (30, 30, 30), seed=index)
    result = reader.read(page)
    assert result.number == text and result.status is Status.OK


def test_digits_that_touch_a_circle_keep_it_from_being_a_frame(reader):
    """Where digits touch the teacher's circle they are part of its outline,
    and their loops are holes that hold nothing: then it is no frame, or the
    reading would be the one digit left inside ("878" read "7" at 99.9%)."""
    page, label = draw_scenes.circled(np.random.default_rng(55), 70)
    assert label == "878"
    assert reader.read(page).number == "878"


@pytest.mark.parametrize("text", ["8431", "1111"])
def test_a_meter_photographed_close_up_keeps_its_digits(reader, text):
    """Light digits in a meter's dark windows, at a phone's resolution: the
    face round the windows is lighter than them, so each column through a
    1's stem was light most of the way down, like a ruled line, and the
    ruling's removal cut the digits away ("8431" read "6 2 1")."""
    height = 200
    cell = int(1.1 * height)
    page = np.full((height * 3, cell * (len(text) + 2), 3), 45, np.uint8)
    for index, digit in enumerate(text):
        left = cell * (index + 1) + 4
        cv2.rectangle(page, (left, int(0.7 * height)), (left + cell - 8, int(2.3 * height)), (8, 8, 8), -1)
        page = synthetic.draw_number(page, digit, (left + cell // 2 - 4, int(1.5 * height)), height,
                                     (235, 235, 235), seed=index)
    result = reader.read(page)
    assert result.number == text and result.status is Status.OK


def test_a_tick_beside_a_mark_is_not_cut_into_ones(reader):
    """A tick after an exam mark was cut into its two arms, each a sure
    "1" ("17 11" at 99%): a piece cut off a shape, under half the line's
    height, is no digit. The tick is read whole, as no digit, and flags."""
    page = synthetic.paper(220, 700, seed=5)
    page = synthetic.draw_number(page, "17", (90, 110), 80, seed=9)
    page = synthetic.draw_strokes(page, [[(0.1, 0.55), (0.4, 0.9), (0.95, 0.1)]], (330, 110), 80,
                                  (30, 30, 200), seed=3, slant=0)
    result = reader.read(page)
    assert result.number.startswith("17 ") and "11" not in result.number
    assert result.status is Status.LOW_CONFIDENCE


@pytest.mark.parametrize("text", ["35", "907", "11"])
def test_print_half_the_digits_height_is_not_read(reader, text):
    """Print under a handwritten number (a register's footer) at half the
    digits' height is print, not digits."""
    page = synthetic.paper(200, 220, seed=8)
    page = synthetic.draw_number(page, text, (50, 70), 28, (30, 30, 30), 3, seed=8)
    cv2.putText(page, "Trykt for Kirke", (10, 185), cv2.FONT_HERSHEY_SIMPLEX, 0.62, (40, 40, 40), 1)
    result = reader.read(page)
    assert result.number == text and result.status is Status.OK


def test_two_lines_of_handwriting_are_both_read_though_one_is_smaller(reader):
    """Only lines well under the tallest one's height are print: a second
    number written at two thirds the first one's height is read."""
    page = synthetic.paper(260, 260, seed=9)
    page = synthetic.draw_number(page, "47", (40, 90), 60, (30, 30, 30), 6, seed=9)
    page = synthetic.draw_number(page, "25", (40, 200), 42, (30, 30, 30), 5, seed=10)
    assert reader.read(page).number == "47 25"


@pytest.mark.parametrize("degrees", [20, -20, 12])
def test_a_sloping_number_is_levelled_before_it_is_cut(reader, degrees):
    """A number written uphill or downhill (or photographed askew) is read
    along its slope, not as two lines, and its digits' boxes are in the
    original image, climbing or falling with it."""
    page = synthetic.tilted(number_on_paper("250638", seed=3, height=60), degrees)
    result = reader.read(page)
    assert result.number == "250638" and result.status is Status.OK
    boxes = [d.box for d in result.digits]
    height, width = page.shape[:2]
    assert all(0 <= x and x + w <= width and 0 <= y and y + h <= height for x, y, w, h in boxes)
    assert [x for x, *_ in boxes] == sorted(x for x, *_ in boxes)
    centres = [y + h / 2 for _, y, _, h in boxes]
    assert (centres[-1] - centres[0]) * degrees < 0   # counter-clockwise: the right end is higher


def _tilt_of(page: np.ndarray) -> float | None:
    ink = ink_mask(page)
    labels, pieces = _components(ink, SETTINGS.pipeline, SETTINGS.numbers)
    return tilt(labels, _drop_rules(pieces, SETTINGS.numbers), SETTINGS.numbers)


def test_tilt_levels_only_a_sloping_line_of_digits():
    assert _tilt_of(synthetic.tilted(number_on_paper("4711", seed=2), 15)) == pytest.approx(-15, abs=2)
    assert _tilt_of(number_on_paper("4711", seed=2)) is None
    assert _tilt_of(synthetic.tilted(synthetic.digit_on_paper(1, 200, seed=1), 25)) is None   # one slanted stroke
    two_lines = synthetic.paper(300, 420, seed=4)   # a long line over a short one
    two_lines = synthetic.draw_number(two_lines, "4711025", (40, 90), 60, (30, 30, 30), 6, seed=4)
    two_lines = synthetic.draw_number(two_lines, "38", (40, 210), 60, (30, 30, 30), 6, seed=5)
    assert _tilt_of(two_lines) is None


def test_dots_commas_and_dashes_are_not_digits():
    segments = segment_number(ink_mask(number_on_paper("25.130,-", seed=2)))
    assert len(segments) == 5


def test_two_numbers_far_apart_are_separated_by_a_space(reader):
    result = reader.read(number_on_paper("12 85", seed=3))
    assert result.number == "12 85" and result.digit is None
    assert [d.digit for d in result.digits] == [1, 2, 8, 5]


@pytest.mark.parametrize("text", ["17", "2048", "905"])
def test_numbers_are_read_left_to_right(reader, text):
    result = reader.read(number_on_paper(text, seed=len(text)))
    assert result.number == text and result.status is Status.OK
    boxes = [d.box for d in result.digits]
    assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)


def test_one_digit_reads_as_before(reader):
    result = reader.read(synthetic.digit_on_paper(6, 240, seed=4))
    assert result.digit == 6 and result.number == "6" and len(result.digits) == 1


def test_digits_option_forces_the_count(tmp_path):
    image = number_on_paper("4711", seed=5)
    assert Reader(SHIPPED_MODEL, digits=4).read(image).number == "4711"
    one = Reader(SHIPPED_MODEL, digits=1).read(image)
    assert one.digit is not None and len(one.number) == 1
    too_many = Reader(SHIPPED_MODEL, digits=7).read(image)
    assert too_many.status is Status.LOW_CONFIDENCE


def test_boxes_and_crops_on_the_command_line(tmp_path):
    image = number_on_paper("58", seed=6)
    path = write_image(tmp_path / "mark.png", image)
    crops = tmp_path / "crops"
    result = CliRunner().invoke(app, ["predict", str(path), "--boxes", "--save-crops", str(crops), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert record["number"] == "58" and len(record["digits"]) == 2
    height, width = image.shape[:2]
    for digit in record["digits"]:
        x, y, w, h = digit["box"]
        assert 0 <= x and 0 <= y and x + w <= width and y + h <= height
    assert len(record["crops"]) == 2 and all(name.startswith(str(crops / "mark-")) for name in record["crops"])
    assert cv2.imread(record["crops"][0], cv2.IMREAD_GRAYSCALE).shape == (28, 28)


def test_evaluate_scores_number_labels(tmp_path):
    folder = tmp_path / "numbers"
    for index, text in enumerate(["31", "760", "2024"]):
        (folder / text).mkdir(parents=True)
        write_image(folder / text / f"{index}.png", number_on_paper(text, seed=10 + index))
    result = CliRunner().invoke(app, ["evaluate", "--labelled", str(folder), "-f", "json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.stdout)["numbers"]["overall"]
    assert numbers["count"] == 3 and numbers["exact"] == 1.0 and numbers["digit_error_rate"] == 0.0


def test_labels_and_edit_distance():
    assert parse_label("0472") == "0472" and parse_label("x") is None
    with pytest.raises(ValueError):
        parse_label("12a")
    assert edit_distance("1480", "1480") == 0 and edit_distance("148", "1480") == 1
    assert edit_distance("2800", "128402") == 3


def test_a_digit_in_pieces_is_one_digit(reader):
    """A 5 whose bar floats above its body: one digit, not '8 5' or '7 5'."""
    bar = [(0.32, 0.0), (0.8, 0.02)]
    body = [(0.3, 0.2), (0.26, 0.46), (0.55, 0.4), (0.78, 0.57), (0.76, 0.84), (0.5, 0.98), (0.2, 0.9)]
    page = synthetic.draw_strokes(synthetic.paper(220, 200, seed=7), [bar, body], (100, 110), 150, thickness=8,
                                  seed=7)
    result = reader.read(page)
    assert result.number == "5" and result.digit == 5


def test_a_sheet_of_symbols_is_not_a_number(reader):
    """Rows and columns of '(' are not a column of 1s."""
    page = synthetic.paper(420, 420, seed=8)
    for row in range(5):
        for column in range(5):
            page = synthetic.draw_strokes(page, [[(0.7, 0.0), (0.4, 0.3), (0.35, 0.6), (0.65, 1.0)]],
                                          (50 + 80 * column, 50 + 80 * row), 50, thickness=4, seed=row * 5 + column)
    result = reader.read(page)
    assert result.flagged, result.number


# Digits as binarised 16x16 datasets store them, each stretched to fill its
# cell (# is ink): a 1 becomes a wide slab, a 0 a broken ring.
FILLED_CELLS = {
    "1": """
########........
############....
############....
############....
....############
....############
....############
....############
....############
....############
....############
....############
....############
........########
........########
........########""",
    "0": """
......#...####..
....#....#...#..
..##..........#.
..#...........#.
.#.............#
.#............##
##............##
##............#.
##...........##.
.#...........#..
.#..........##..
.#.........##...
.##........#....
..##.....##.....
...##..###......
....#####.......""",
    # a 1 written with a broad pen: stretched, it covers more of its cell than the paper does
    "1, more ink than paper": """
......#########.
.....###########
....##########..
....##########..
....##########..
...##########...
...##########...
...##########...
...##########...
..##########....
..##########....
..##########....
.##########.....
.##########.....
..#########.....
..#######.......""",
}


def cell_image(pattern: str, scale: int = 1) -> np.ndarray:
    rows = pattern.strip().splitlines()
    cell = np.array([[0 if char == "#" else 255 for char in row] for row in rows], np.uint8)
    return cv2.resize(cell, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)


def test_a_digit_stretched_to_fill_a_small_square_cell_is_never_cut():
    """A filled 1 is a wide slab and a binarised 0 a broken ring: cutting
    them only finds pieces. Small, square and inked from edge to edge, the
    image is one digit's cell; with a margin, wider than square or large,
    it may be a number."""
    for pattern in FILLED_CELLS.values():
        for scale in (1, 2):
            ink = ink_mask(cell_image(pattern, scale))
            assert fills_its_cell(ink) and segment_number(ink, defer_lone=True) == ()
        cell = cell_image(pattern, 2)
        assert not fills_its_cell(ink_mask(cv2.copyMakeBorder(cell, 6, 6, 6, 6, cv2.BORDER_CONSTANT, value=255)))
        assert not fills_its_cell(ink_mask(cv2.resize(cell, (48, 32), interpolation=cv2.INTER_NEAREST)))
        assert not fills_its_cell(ink_mask(cell_image(pattern, 5)))   # 80x80: a photo's crop, not a cell


def test_filled_cells_read_by_default_as_with_digits_1(reader):
    cells = [cell_image(pattern, scale) for pattern in FILLED_CELLS.values() for scale in (1, 2)]
    for cell, default, counted in zip(cells, reader.read_many(cells), reader.configured(digits=1).read_many(cells)):
        assert default.number == counted.number and len(default.number) == 1


def test_a_filled_cell_with_more_ink_than_paper_is_read_not_taken_for_blank(reader):
    """The median of such a cell is ink: measured from it, the ink had no
    contrast and the cell read as 'no digit'."""
    pattern = FILLED_CELLS["1, more ink than paper"]
    assert np.mean(cell_image(pattern) == 0) > 0.5
    for scale in (1, 2):
        assert reader.read(cell_image(pattern, scale)).number == "1"


def binarised_cell(digit: int, seed: int, side: int) -> np.ndarray:
    """A pen-drawn digit stretched to fill a side x side cell and binarised, dark on white."""
    page = synthetic.draw_digit(synthetic.paper(160, 160, seed=seed), digit, (80, 80), 110, (20, 20, 20), 12, seed=seed)
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    x, y, w, h = cv2.boundingRect((gray < 128).astype(np.uint8))
    stretched = cv2.resize(gray[y:y + h, x:x + w], (side, side), interpolation=cv2.INTER_AREA)
    return np.where(stretched < 128, 0, 255).astype(np.uint8)


def test_a_binarised_cell_is_read_either_way_round(reader):
    """Binarised digit datasets store a cell dark on white or, as their bits
    are, white on black. The line test took the gaps between a white
    digit's thick strokes for dark lines: a quarter of MNIST's test digits
    so stored at 32x32 were read the wrong way round, and a 7 as a 9."""
    for digit in range(10):
        for side in (16, 32):
            cell = binarised_cell(digit, 0, side)
            assert ink_mask(cell).inverted and not ink_mask(255 - cell).inverted, (digit, side)
    sevens = [255 - binarised_cell(7, seed, side) for seed in (0, 3, 4, 5) for side in (16, 32)]
    assert [result.number for result in reader.read_many(sevens)] == ["7"] * len(sevens)


def form_cell(digit: int, seed: int, side: int, kind: str, degrees: float = 0.0) -> np.ndarray:
    """A pen-drawn digit in a form's printed box, cropped as a form reader
    crops a cell and scanned grey: the box and a margin of paper ("box"),
    cut at the box ("tight"), or a comb's cell, open at the top ("comb");
    turned by `degrees` within the crop, as a scan comes out askew."""
    margin = 0 if kind == "tight" else side // 10
    total, line = side + 2 * margin, max(1, side // 20)
    page = synthetic.paper(total, total, seed=seed)
    near, far = margin, total - 1 - margin
    corners = [(near, far, far, far), (near, near, near, far), (far, near, far, far)]   # bottom, left, right
    for x0, y0, x1, y1 in corners + ([(near, near, far, near)] if kind != "comb" else []):
        cv2.line(page, (x0, y0), (x1, y1), (40, 40, 40), line)
    page = synthetic.draw_digit(page, digit, (total // 2 + side // 10, total // 2), int(side * 0.7), (30, 30, 30),
                                max(2, side // 20), seed=seed)   # written large, near the box's right side
    if degrees:
        turn = cv2.getRotationMatrix2D((total / 2, total / 2), degrees, 1.0)
        page = cv2.warpAffine(page, turn, (total, total), borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)


@pytest.mark.parametrize("kind", ["box", "tight", "comb"])
def test_a_digit_in_a_forms_printed_box_is_read_not_the_box(reader, kind):
    """A form's box round a cell's crop: its edges outweighed the digit's
    strokes in the polarity test, the border it fills looked dark (so the
    cell was read light on dark), and its sides were read as 1s ("107"
    for a 0). Of MNIST's test digits so boxed, 7-85% were read right."""
    sizes = ((40, 0.0), (60, 0.0), (120, 1.5))
    cells = [form_cell(digit, digit + side, side, kind, degrees) for digit in range(10) for side, degrees in sizes]
    assert all(ink_mask(cell).inverted for cell in cells)
    expected = [str(digit) for digit in range(10) for _ in sizes]
    assert [result.number for result in reader.read_many(cells)] == expected


def test_a_printed_box_is_told_from_a_digit_that_fills_its_crop():
    """A printed box has three or four thin straight sides meeting in
    corners, inside light paper; a 0 or a 3 filling its crop, a scanner's
    margin, or a sheet on a table do not."""
    for kind in ("box", "tight", "comb"):
        assert printed_box(to_working_size(form_cell(4, 1, 60, kind))) is not None, kind
    zero = np.full((60, 48), 235, np.uint8)
    cv2.ellipse(zero, (24, 30), (21, 27), 0, 0, 360, 30, 4)
    three = np.full((60, 48), 235, np.uint8)
    cv2.polylines(three, [np.array([[3, 4], [44, 4], [44, 56], [3, 56]]), np.array([[12, 30], [44, 30]])], False, 30, 3)
    margin = form_cell(4, 1, 60, "box")
    margin[:, :12] = 20
    for name, gray in (("a 0", zero), ("a 3", three), ("a dark margin", margin),
                       ("an empty page", np.full((60, 60), 235, np.uint8))):
        assert printed_box(to_working_size(gray)) is None, name
    assert printed_box(to_working_size(cv2.resize(form_cell(4, 1, 60, "box"), (400, 400)))) is None   # a page


def test_digits_n_still_cuts_a_small_square_image_of_several_digits(reader):
    """--digits 2 says the image holds two: a square crop inked edge to
    edge is then not one digit's cell."""
    page = synthetic.draw_number(synthetic.paper(180, 240, seed=1), "17", (70, 90), 90, (30, 30, 30), 7, seed=3)
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    x, y, w, h = cv2.boundingRect((gray < 128).astype(np.uint8))
    crop = cv2.resize(gray[y:y + h, x:x + w], (32, 32), interpolation=cv2.INTER_AREA)
    square = np.where(crop < 128, 0, 255).astype(np.uint8)
    assert fills_its_cell(ink_mask(square))
    assert reader.configured(digits=2).read(square).number == "17"


def form_field(text: str, kind: str, side: int, seed: int, degrees: float = 0.0) -> np.ndarray:
    """A number pen-written in a form's field of printed boxes, a digit a
    cell, cropped with a margin of paper and scanned grey: joined boxes,
    separate boxes, a comb's cells open at the top, or a comb's ticks on a
    baseline. The digits are written large, and each a little off the
    middle of its cell, towards one wall or the other."""
    gap = side // 4 if kind == "separate" else 0
    margin, line = side // 4, max(2, side // 20)
    width, height = 2 * margin + len(text) * (side + gap), 2 * margin + side
    page = synthetic.paper(height, width, seed=seed)
    tick = side if kind != "ticks" else side // 3
    top, bottom = margin, margin + side
    for index, digit in enumerate(text):
        left = margin + index * (side + gap)
        cv2.line(page, (left, bottom), (left + side, bottom), (50, 50, 50), line)
        if kind in ("joined", "separate"):
            cv2.line(page, (left, top), (left + side, top), (50, 50, 50), line)
        for x in (left, left + side):
            cv2.line(page, (x, bottom - tick), (x, bottom), (50, 50, 50), line)
        shift = side // 8 * (1 if index % 2 else -1)
        page = synthetic.draw_digit(page, int(digit), (left + side // 2 + shift, margin + side // 2),
                                    int(side * 0.7), (30, 30, 30), max(2, side // 20), seed=seed + index)
    if degrees:
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        page = cv2.warpAffine(page, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)


@pytest.mark.parametrize("kind", ["joined", "separate", "comb", "ticks"])
def test_a_number_in_a_forms_field_of_boxes_is_read_without_its_walls(reader, kind):
    """Each wall of a form's boxes was read as a 1 ("1410171" for "407"),
    and the boxes set the digits so far apart that they read as several
    numbers: of MNIST's test digits so written, 0-12% of the fields were
    read right (52-69% of the combs of short ticks)."""
    fields = [("407", 40, 0.0), ("3815", 60, 0.0), ("92", 80, 1.0), ("65130", 50, -0.8)]
    images = [form_field(text, kind, side, seed, degrees) for seed, (text, side, degrees) in enumerate(fields)]
    assert all(ink_mask(image).form_field for image in images)
    assert [result.number for result in reader.read_many(images)] == [text for text, _, _ in fields]


def test_digits_standing_on_a_line_are_not_a_comb(reader):
    """A number written on a line, its 1s' and 4s' stems standing on it at
    nearly even steps, is not a comb's ticks: digits lie outside any steps
    that the stems make, and the stems are not as tall as each other."""
    page = synthetic.paper(150, 300, seed=5)
    cv2.line(page, (0, 114), (300, 114), (50, 50, 50), 3)
    page = synthetic.draw_number(page, "1141", (100, 74), 80, (30, 30, 30), 5, seed=2)
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    assert not ink_mask(gray).form_field
    assert reader.read(gray).number == "1141"
