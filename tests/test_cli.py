"""The command line, through typer's CliRunner and a few real processes."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import synthetic
from conftest import ROOT, SHIPPED_MODEL, write_image
from typer.testing import CliRunner

from digitcli.calibration import apply_temperature
from digitcli.cli import app
from digitcli.reading.classifier import load_classifier

SAMPLES = ROOT / "samples"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def photos(tmp_path):
    """Three readable photos, one blank page and one file that is no image."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for digit in (3, 7, 0):
        write_image(folder / f"{digit}.png", synthetic.digit_on_paper(digit, 240, seed=digit))
    write_image(folder / "blank.png", synthetic.paper(200, 200, seed=9))
    (folder / "notes.jpg").write_text("this is not a picture")
    return folder


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_help_explains_commands_and_exit_codes(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in ("predict", "train", "evaluate", "Exit status"):
        assert word in result.output
    assert "stdin" in runner.invoke(app, ["predict", "--help"]).output


def test_predict_jsonl_rows_carry_the_contract_fields(runner, photos):
    result = runner.invoke(app, ["predict", "-f", "jsonl", str(photos)])
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in records(result.stdout)}
    assert set(rows) == {"0.png", "3.png", "7.png", "blank.png", "notes.jpg"}
    for row in rows.values():
        assert set(row) == {"path", "digit", "confidence", "status", "error", "number"}
    assert rows["3.png"]["digit"] == 3 and rows["7.png"]["digit"] == 7 and rows["0.png"]["digit"] == 0
    assert 0.5 < rows["3.png"]["confidence"] <= 1.0 and rows["3.png"]["error"] is None
    assert rows["blank.png"] == {**rows["blank.png"], "digit": None, "confidence": None, "status": "no digit"}
    assert rows["notes.jpg"]["status"] == "error" and "not an image" in rows["notes.jpg"]["error"]
    assert result.exit_code == 1   # one input failed


def test_predict_exit_zero_when_every_input_was_read(runner, photos):
    result = runner.invoke(app, ["predict", "-f", "jsonl", str(photos / "3.png"), str(photos / "blank.png")])
    assert result.exit_code == 0


def test_predict_csv_and_tsv(runner, photos):
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        result = runner.invoke(app, ["predict", "-f", fmt, str(photos / "7.png"), str(photos / "blank.png")])
        table = list(csv.DictReader(io.StringIO(result.stdout), delimiter=delimiter))
        assert [r["digit"] for r in table] == ["7", ""]
        assert list(table[0]) == ["path", "digit", "confidence", "status", "error", "number"]


def test_predict_json_array_and_top_k(runner, photos):
    result = runner.invoke(app, ["predict", "-f", "json", "-k", "3", str(photos / "0.png")])
    (row,) = json.loads(result.stdout)
    assert row["digit"] == 0 and len(row["top_k"]) == 3
    assert row["top_k"][0]["digit"] == 0
    assert row["top_k"][0]["confidence"] >= row["top_k"][1]["confidence"] >= row["top_k"][2]["confidence"]


def test_predict_table_for_people(runner, photos):
    result = runner.invoke(app, ["predict", "-f", "table", str(photos / "3.png"), str(photos / "notes.jpg")])
    assert "3.png" in result.stdout and "confidence" in result.stdout
    assert "not an image" in result.stdout


def test_predict_reads_paths_from_stdin(runner, photos):
    paths = f"{photos / '3.png'}\n{photos / '7.png'}\n"
    result = runner.invoke(app, ["predict", "-f", "jsonl", "-"], input=paths)
    assert [r["digit"] for r in records(result.stdout)] == [3, 7]


def test_predict_missing_file_gets_its_row(runner, photos):
    result = runner.invoke(app, ["predict", "-f", "jsonl", str(photos / "3.png"), str(photos / "gone.png")])
    rows = records(result.stdout)
    assert rows[1]["status"] == "error" and rows[1]["error"] == "no such file"
    assert result.exit_code == 1


def test_predict_low_confidence_is_marked(runner, photos):
    result = runner.invoke(app, ["predict", "-f", "jsonl", "--min-confidence", "1.0", str(photos / "3.png")])
    assert records(result.stdout)[0]["status"] == "low confidence"


def test_predict_saves_crops(runner, photos, tmp_path):
    crops = tmp_path / "crops"
    result = runner.invoke(app, ["predict", "-f", "jsonl", "--save-crops", str(crops), str(photos)])
    saved = sorted(p.name for p in crops.iterdir())
    assert [name.split("-")[0] for name in saved] == ["0", "3", "7"] and all(n.endswith("-1.png") for n in saved)
    rows = {Path(r["path"]).name: r for r in records(result.stdout)}
    assert rows["blank.png"]["crops"] == [] and rows["notes.jpg"]["crops"] is None
    crop = cv2.imread(rows["3.png"]["crops"][0], cv2.IMREAD_UNCHANGED)
    assert crop.shape == (28, 28) and crop.max() > 200 and crop[0].max() == 0
    again = runner.invoke(app, ["predict", "-f", "jsonl", "--save-crops", str(crops), str(photos)])
    assert sorted(p.name for p in crops.iterdir()) == saved   # a rerun replaces its own crops
    assert [r["crops"] for r in records(again.stdout)] == [r["crops"] for r in records(result.stdout)]


def test_predict_bad_format_is_a_usage_error(runner, photos):
    result = runner.invoke(app, ["predict", "-f", "xml", str(photos)])
    assert result.exit_code == 2


def test_predict_missing_model_exit_code(runner, photos, tmp_path):
    result = runner.invoke(app, ["predict", "-m", str(tmp_path / "none.onnx"), str(photos)])
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert "none.onnx" in result.output


def test_evaluate_mnist_json(runner, tiny_npz):
    result = runner.invoke(app, ["evaluate", "--data", str(tiny_npz), "-f", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["mnist_test"]
    assert report["count"] == 200 and 0.0 <= report["accuracy"] <= 1.0
    assert np.array(report["confusion_matrix"]).sum() == 200
    assert len(report["per_class"]) == 10


def test_evaluate_labelled_folder_with_report(runner, tmp_path):
    root = tmp_path / "mine"
    for digit in (1, 4, 8):
        (root / "phone" / str(digit)).mkdir(parents=True)
        write_image(root / "phone" / str(digit) / "a.jpg", synthetic.digit_on_paper(digit, 260, seed=digit))
    report = tmp_path / "report"
    result = runner.invoke(app, ["evaluate", "--labelled", str(root), "-f", "json", "--report", str(report)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["overall"]["count"] == 3 and out["by_group"]["phone"]["count"] == 3
    assert 0.0 <= out["by_group"]["phone"]["calibration_error"] <= 1.0
    assert 0.0 <= out["by_group"]["phone"]["low_confidence"] <= 1.0
    for picture in ("confusion.png", "mistakes.png", "samples.png"):
        assert cv2.imread(str(report / picture)) is not None, picture


def test_evaluate_report_draws_the_cards_training_curves(runner, tiny_npz, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    shutil.copy(SHIPPED_MODEL, model / "digitcli.onnx")
    card = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())
    card["training"].pop("history", None)
    (model / "digitcli.json").write_text(json.dumps(card))
    result = runner.invoke(app, ["evaluate", "-m", str(model), "--data", str(tiny_npz), "--report",
                                 str(tmp_path / "old")])
    assert result.exit_code == 0 and "no curves.png" in result.stderr
    assert not (tmp_path / "old" / "curves.png").exists() and (tmp_path / "old" / "samples.png").exists()
    card["training"]["history"] = [{"epoch": e, "loss": 1 / e, "accuracy": 1 - 0.1 / e, "val_loss": 1.2 / e,
                                    "val_accuracy": 1 - 0.2 / e} for e in (1, 2, 3)]
    (model / "digitcli.json").write_text(json.dumps(card))
    result = runner.invoke(app, ["evaluate", "-m", str(model), "--data", str(tiny_npz), "--report",
                                 str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "new" / "curves.png")) is not None


def test_evaluate_counts_non_digits_that_predict_flags(runner, tmp_path):
    root = tmp_path / "mine"
    (root / "not-a-digit").mkdir(parents=True)
    (root / "7").mkdir()
    for sample in ("x_letter_A.jpg", "x_smiley_drawing.png", "7_red_ink_green_paper.jpg"):
        folder = "7" if sample[0] == "7" else "not-a-digit"
        (root / folder / sample).write_bytes((SAMPLES / sample).read_bytes())
    write_image(root / "not-a-digit" / "blank.png", synthetic.paper(200, 200))
    result = runner.invoke(app, ["evaluate", "--labelled", str(root), "-f", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["overall"] == {**out["overall"], "accuracy": 1.0, "count": 1}
    assert out["non_digits"] == {"count": 3, "flagged": 3, "share": 1.0}
    assert out["mistakes"] == []
    table = runner.invoke(app, ["evaluate", "--labelled", str(root)])
    assert "not a digit: 3 of 3 (100.0%) flagged" in table.stdout


def test_evaluate_missing_data_is_a_message_not_a_traceback(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("DIGITCLI_DATA", raising=False)
    result = runner.invoke(app, ["evaluate", "--data", str(tmp_path / "nope.npz")])
    assert result.exit_code == 4 and "Traceback" not in result.output
    assert "DIGITCLI_DATA" in result.output


def train_tiny(runner, data: Path, out: Path, epochs: int, validation_size: int, *extra: str) -> dict:
    """Train on the tiny drawn digits through the CLI; return the model card."""
    pytest.importorskip("tensorflow")
    result = runner.invoke(app, ["train", "--data", str(data), "--epochs", str(epochs), "--batch-size", "8",
                                 "--validation-size", str(validation_size), "--output", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "digitcli.json").read_text())


def test_train_smoke_beats_chance(runner, tiny_npz, tmp_path):
    """One epoch on 600 drawn digits: it must finish, write the three files
    and do far better than the 10% of guessing."""
    out = tmp_path / "model"
    card = train_tiny(runner, tiny_npz, out, epochs=1, validation_size=100)
    assert card["metrics"]["mnist_test_accuracy"] > 0.3
    assert card["training"]["epochs_run"] == 1 and card["parameters"] > 0
    assert set(card["training"]["history"][0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    assert set(card["rejection"]) == {"min_confidence", "validation_digits_below", "new_outliers_below",
                                      "held_out_outliers_below", "number_pieces_below"}
    plain_keras = "import keras, sys; keras.models.load_model(sys.argv[1]).summary()"   # no digitcli needed
    loaded = subprocess.run([sys.executable, "-c", plain_keras, str(out / "digitcli.keras")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    photos = tmp_path / "labelled"
    for index, digit in enumerate((1, 3, 7, 0, 4, 1)):
        (photos / str(digit)).mkdir(parents=True, exist_ok=True)
        write_image(photos / str(digit) / f"{index}.png", synthetic.digit_on_paper(digit, 160, seed=index))
    labelled = {}
    for model in ("digitcli.onnx", "digitcli.keras"):   # onnxruntime on the export, and Keras itself
        evaluated = runner.invoke(app, ["evaluate", "-m", str(out / model), "--data", str(tiny_npz), "-f", "json"])
        accuracy = json.loads(evaluated.stdout)["mnist_test"]["accuracy"]
        assert abs(accuracy - card["metrics"]["mnist_test_accuracy"]) < 1e-6, model
        evaluated = runner.invoke(app, ["evaluate", "-m", str(out / model), "--labelled", str(photos), "-f", "json"])
        assert evaluated.exit_code == 0, evaluated.output
        labelled[model] = json.loads(evaluated.stdout)["overall"]
    # both files give the same answers with the same (card) calibration
    assert labelled["digitcli.onnx"]["accuracy"] == labelled["digitcli.keras"]["accuracy"]
    assert abs(labelled["digitcli.onnx"]["calibration_error"] - labelled["digitcli.keras"]["calibration_error"]) < 1e-3


def test_train_two_members_writes_one_model_that_is_their_mean(runner, tiny_npz, tmp_path):
    out = tmp_path / "ensemble"
    card = train_tiny(runner, tiny_npz, out, 1, 100, "--members", "2")
    assert [m["seed"] for m in card["training"]["members"]] == [1, 2]
    assert (out / ".checkpoint" / "state.json").exists() and (out / ".checkpoint" / "member-2" / "state.json").exists()
    keras = pytest.importorskip("keras")
    model = keras.models.load_model(out / "digitcli.keras")
    first, second = (model.get_layer(f"member_{i}") for i in (1, 2))
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    mean = (first.predict(x, verbose=0) + second.predict(x, verbose=0)) / 2
    assert not np.allclose(first.predict(x, verbose=0), second.predict(x, verbose=0), atol=1e-3)   # two networks
    np.testing.assert_allclose(model.predict(x, verbose=0), mean, atol=1e-6)
    onnx = load_classifier(out / "digitcli.onnx")
    np.testing.assert_allclose(onnx.probabilities(x[..., 0]), apply_temperature(mean, onnx.temperature), atol=2e-5)


def run_cli(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitcli", *args], capture_output=True, text=True,
                          input=stdin, timeout=120, check=False)


def test_real_process_pipe_defaults_to_jsonl_and_stderr_gets_messages(photos):
    result = run_cli("predict", str(photos / "7.png"), str(photos / "notes.jpg"))
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["digit"] for r in rows] == [7, None]
    assert "notes.jpg" in result.stderr and "Traceback" not in result.stderr
    assert result.returncode == 1


def test_real_process_usage_error_exit_2():
    result = run_cli("predict", "--no-such-option")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_real_process_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("digitcli ")


def test_train_without_validation_keeps_the_last_epoch(runner, tiny_npz, tmp_path):
    card = train_tiny(runner, tiny_npz, tmp_path / "model", epochs=2, validation_size=0)
    assert card["training"]["weights"] == "epoch 2" and "calibration" not in card
    history = card["training"]["history"]   # the curves of evaluate --report: training metrics only
    assert [h["epoch"] for h in history] == [1, 2] and all("val_loss" not in h for h in history)
    assert all(h["loss"] > 0 and 0 <= h["accuracy"] <= 1 for h in history)
