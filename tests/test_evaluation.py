"""Metrics and labelled folders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitcli.errors import DataError
from digitcli.evaluation.labelled import find_labelled_images
from digitcli.evaluation.metrics import compute_metrics


def test_metrics_on_a_known_confusion():
    truth = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, -1, 2])
    m = compute_metrics(truth, predicted)
    assert m.accuracy == pytest.approx(4 / 6)
    assert m.confusion[0, 0] == 1 and m.confusion[0, 1] == 1 and m.confusion[1, 1] == 2
    assert m.confusion.sum() == 5   # the unread image is wrong, and in no cell
    assert m.precision[1] == pytest.approx(2 / 3) and m.recall[1] == pytest.approx(2 / 3)
    assert m.recall[2] == 1.0 and m.precision[5] == 0.0


def test_labelled_layouts(tmp_path):
    for rel in ("a/3/x.png", "a/4/y.jpg", "b/7/z.png", "b/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    items = find_labelled_images(tmp_path)
    assert sorted((i.group, i.digit) for i in items) == [("a", 3), ("a", 4), ("b", 7)]


def test_manifest_with_kind(tmp_path):
    (tmp_path / "MANIFEST.tsv").write_text("relpath\tlabel\tkind\nx/1.png\t1\tphoto\ny/2.png\t2\tdrawing\n")
    items = find_labelled_images(tmp_path)
    assert [(i.group, i.digit) for i in items] == [("photo", 1), ("drawing", 2)]
    assert items[0].path == tmp_path / "x" / "1.png"


def test_bad_manifest_line_is_reported(tmp_path):
    (tmp_path / "MANIFEST.tsv").write_text("path\tlabel\nx.png\tseven\n")
    with pytest.raises(DataError, match="MANIFEST.tsv:2"):
        find_labelled_images(tmp_path)


def test_empty_folder_is_reported(tmp_path):
    with pytest.raises(DataError, match="no labelled images"):
        find_labelled_images(tmp_path)


def test_temperature_fixes_overconfidence():
    from digitcli.calibration import apply_temperature, expected_calibration_error, fit_temperature

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 4000)
    logits = rng.normal(0, 1, (4000, 10))
    logits[np.arange(4000), labels] += 2.0          # right about 70% of the time
    sharp = np.exp(4 * logits)                       # ...but sure of itself
    sharp /= sharp.sum(axis=1, keepdims=True)
    temperature = fit_temperature(sharp, labels)
    assert temperature > 1.5   # it softens
    calibrated = apply_temperature(sharp, temperature)
    assert expected_calibration_error(calibrated, labels) < 0.03 < expected_calibration_error(sharp, labels)
    np.testing.assert_array_equal(calibrated.argmax(axis=1), sharp.argmax(axis=1))


def test_metrics_with_confidences_report_calibration_and_low_confidence():
    truth = np.array([0, 1, 2, 3, 4])
    predicted = np.array([0, 1, 2, 9, -1])
    confidence = np.array([0.99, 0.9, 0.3, 0.8, 0.0])
    m = compute_metrics(truth, predicted, confidence, min_confidence=0.5)
    assert m.low_confidence == pytest.approx(1 / 4)          # the unread image has no confidence to judge
    # bins: 0.3 right (0.7), 0.8 wrong (0.8), 0.9 right (0.1), 0.99 right (0.01), each a quarter
    assert m.calibration_error == pytest.approx((0.7 + 0.8 + 0.1 + 0.01) / 4)
    assert m.summary() == {"accuracy": 0.6, "count": 5, "calibration_error": 0.4025, "low_confidence": 0.25}
    assert compute_metrics(truth, predicted).summary() == {"accuracy": 0.6, "count": 5}


def test_not_a_digit_folders_and_manifest_labels(tmp_path):
    for rel in ("a/3/x.png", "a/not-a-digit/star.png", "not-a-digit/smiley.png", "a/notes/y.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    items = find_labelled_images(tmp_path)
    assert sorted((i.path.name, i.label) for i in items) == [("smiley.png", None), ("star.png", None), ("x.png", "3")]
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\na/3/x.png,3\nnot-a-digit/smiley.png,x\na/notes/y.png,not-a-digit\n")
    assert [i.label for i in find_labelled_images(manifest)] == ["3", None, None]


def test_manifest_with_a_byte_order_mark(tmp_path):
    (tmp_path / "MANIFEST.tsv").write_bytes("\ufeffrelpath\tlabel\nx/1.png\t1\n".encode("utf-8"))
    assert [i.digit for i in find_labelled_images(tmp_path)] == [1]


def test_a_manifest_whose_images_are_all_missing_is_a_data_error(tmp_path):
    from typer.testing import CliRunner

    from digitcli.cli import app

    (tmp_path / "MANIFEST.tsv").write_text("relpath\tlabel\ngone/1.png\t1\ngone/2.png\t2\n")
    result = CliRunner().invoke(app, ["evaluate", "--labelled", str(tmp_path)])
    assert result.exit_code == 4 and "none of the 2" in result.output


ORANGE = np.array([0, 159, 230])   # BGR: the report's colour for mistakes (Okabe-Ito orange)
BLUE = np.array([178, 114, 0])     # ...and for training / right


def has_colour(image: np.ndarray, colour: np.ndarray) -> bool:
    return bool(np.any(np.all(np.abs(image.astype(int) - colour) <= 2, axis=-1)))


def test_curves_draw_training_and_validation():
    from digitcli.evaluation.report import curves_image

    history = [{"epoch": e, "loss": 1 / e, "accuracy": 1 - 0.1 / e, "val_loss": 1.1 / e, "val_accuracy": 1 - 0.12 / e}
               for e in range(1, 6)]
    image = curves_image(history, "test")
    assert image.ndim == 3 and has_colour(image, BLUE) and has_colour(image, ORANGE)
    training_only = curves_image([{k: v for k, v in h.items() if not k.startswith("val_")} for h in history], "t")
    assert has_colour(training_only, BLUE) and not has_colour(training_only, ORANGE)


def test_samples_mark_mistakes_and_are_the_same_every_run():
    from digitcli.evaluation.report import mnist_samples_image, sample_indices

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (100, 28, 28), dtype=np.uint8)
    truth = rng.integers(0, 10, 100)
    right = mnist_samples_image(images, truth, truth.copy(), np.full(100, 0.99))
    assert not has_colour(right, ORANGE)
    wrong = mnist_samples_image(images, truth, (truth + 1) % 10, np.full(100, 0.99))
    assert has_colour(wrong, ORANGE)
    assert np.array_equal(right, mnist_samples_image(images, truth, truth.copy(), np.full(100, 0.99)))
    picked = sample_indices(["a"] * 30 + ["b"] * 5)
    assert picked == sorted(picked) and sum(i >= 30 for i in picked) == 5 and len(picked) == 12 + 5


def shrink_mnist_folders(monkeypatch, npz, out, *options: str) -> dict[str, list]:
    """Run scripts/shrink_mnist.py on five test digits: its labelled images by folder."""
    import shrink_mnist

    monkeypatch.setattr("sys.argv", ["shrink_mnist.py", "--data", str(npz), "--out", str(out), "--count", "5", *options])
    shrink_mnist.main()
    folders: dict[str, list] = {}
    for item in find_labelled_images(out):
        folders.setdefault(item.path.relative_to(out).parts[0], []).append(item)
    return folders


def test_shrink_mnist_writes_small_dark_digits_that_evaluate_reads(tmp_path, monkeypatch, tiny_npz, tiny_mnist_arrays):
    """scripts/shrink_mnist.py: the test digits at a scan cell's size, dark
    on white, one source folder a size, labelled by their folder."""
    folders = shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path, "--side", "16", "12")
    assert {folder: len(items) for folder, items in folders.items()} == {"shrunk-16": 5, "shrunk-12": 5}
    for folder, items in folders.items():
        side = int(folder.split("-")[1])
        for item in items:
            image = cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE)
            assert image.shape == (side, side) and int(item.label) == tiny_mnist_arrays["y_test"][int(item.path.stem)]
            assert image.max() == 255 and image.mean() > 127   # dark ink on white paper


def test_shrink_mnist_filled_stretches_each_digit_to_its_cell_and_binarises_it(tmp_path, monkeypatch, tiny_npz):
    """--filled: the digit's ink box fills the square (as binarised digit
    datasets store digits), black on white only."""
    folders = shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path, "--filled", "--side", "16", "32")
    assert {folder: len(items) for folder, items in folders.items()} == {"filled-16": 5, "filled-32": 5}
    for item in folders["filled-16"] + folders["filled-32"]:
        image = cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE)
        x, y, w, h = cv2.boundingRect((image == 0).astype(np.uint8))
        assert set(np.unique(image)) <= {0, 255}
        assert x <= 2 and y <= 2 and image.shape[1] - (x + w) <= 2 and image.shape[0] - (y + h) <= 2


def test_shrink_mnist_filled_white_on_black_is_the_same_cells_inverted(tmp_path, monkeypatch, tiny_npz):
    dark = shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path / "dark", "--filled", "--side", "16")
    light = shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path / "light", "--filled", "--white-on-black",
                                 "--side", "16")
    for on_white, on_black in zip(dark["filled-16"], light["filled-16"], strict=True):
        assert on_white.path.name == on_black.path.name
        assert np.array_equal(255 - cv2.imread(str(on_white.path), 0), cv2.imread(str(on_black.path), 0))


def test_shrink_mnist_boxed_writes_each_digit_in_a_printed_box(tmp_path, monkeypatch, tiny_npz):
    """--boxed: grey crops of a form's cell, a dark digit in a printed box
    whose kind cycles (margin, cut at the box, comb, light grey), half JPEGs."""
    folders = shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path, "--boxed", "--side", "40")
    assert list(folders) == ["boxed-40"] and len(folders["boxed-40"]) == 5
    for item in folders["boxed-40"]:
        index = int(item.path.stem)
        assert item.path.suffix == (".jpg" if index % 2 else ".png")
        image = cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE)
        assert 40 <= image.shape[0] == image.shape[1] <= 48 and np.median(image) > 200   # light paper
        assert image.min() < 140   # a dark digit (and box)


def test_shrink_mnist_as_is_writes_mnist_s_own_28x28s(tmp_path, monkeypatch, tiny_npz, tiny_mnist_arrays):
    folders = shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path, "--as-is")
    assert list(folders) == ["as-is-28"] and len(folders["as-is-28"]) == 5
    for item in folders["as-is-28"]:
        image = cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE)
        assert np.array_equal(image, tiny_mnist_arrays["x_test"][int(item.path.stem)])


def test_shrink_mnist_enlarges_by_whole_pixels_or_smoothly(tmp_path, monkeypatch, tiny_npz, tiny_mnist_arrays):
    """--blocks: each pixel a flat block, as a viewer shows it; --smooth:
    bilinear. Both white on black, and both refuse to shrink."""
    blocks = shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path / "blocks", "--blocks", "--side", "56")
    smooth = shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path / "smooth", "--smooth", "--side", "56")
    assert list(blocks) == ["blocks-56"] and list(smooth) == ["smooth-56"]
    for block, bilinear in zip(blocks["blocks-56"], smooth["smooth-56"]):
        digit = tiny_mnist_arrays["x_test"][int(block.path.stem)]
        image = cv2.imread(str(block.path), cv2.IMREAD_GRAYSCALE)
        assert np.array_equal(image, np.repeat(np.repeat(digit, 2, axis=0), 2, axis=1))
        assert not np.array_equal(cv2.imread(str(bilinear.path), cv2.IMREAD_GRAYSCALE), image)
    with pytest.raises(SystemExit):
        shrink_mnist_folders(monkeypatch, tiny_npz, tmp_path / "small", "--blocks", "--side", "16")


def test_compose_numbers_writes_numbers_of_one_writer_s_digits(tmp_path, monkeypatch):
    """scripts/compose_numbers.py: numbers made of a labelled folder's
    digits, spaced and touching, with a manifest that evaluate reads."""
    import compose_numbers
    import synthetic
    from conftest import write_image

    for label in range(10):
        folder = tmp_path / "digits" / "writer" / str(label)
        folder.mkdir(parents=True)
        write_image(folder / "0.png", synthetic.digit_on_paper(label, size=96, seed=label))
    out = tmp_path / "numbers"
    monkeypatch.setattr("sys.argv", ["compose_numbers.py", "--digits", str(tmp_path / "digits"), "--out", str(out),
                                     "--per-kind", "3"])
    compose_numbers.main()
    items = find_labelled_images(out)
    assert len(items) == 6 and all(item.label.isdigit() and 2 <= len(item.label) <= 5 for item in items)
    assert {item.group.split()[-1] for item in items} == {"spaced", "touching"}
    for item in items:
        assert cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE) is not None
    monkeypatch.setattr("sys.argv", ["compose_numbers.py", "--digits", str(tmp_path / "digits"), "--out",
                                     str(tmp_path / "shadowed"), "--per-kind", "3", "--shadow"])
    compose_numbers.main()
    shadowed = find_labelled_images(tmp_path / "shadowed")
    assert [item.label for item in shadowed] == [item.label for item in items]   # the same numbers...
    for plain, dark in zip(items, shadowed):   # ...part of each in shadow
        lit, shaded = (cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE).astype(float) for item in (plain, dark))
        assert lit.shape == shaded.shape and (shaded <= lit + 1).all() and (shaded < 0.8 * lit).mean() > 0.1
