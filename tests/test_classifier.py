"""Loading models for predict: the shipped one, and every kind of bad one."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import SHIPPED_MODEL

from digitcli.errors import ModelError
from digitcli.reading.classifier import load_classifier


def test_shipped_model_loads_and_classifies():
    classifier = load_classifier(SHIPPED_MODEL)
    probs = classifier.probabilities(np.zeros((3, 28, 28), np.float32))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_shipped_model_card_describes_it():
    card = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())
    assert card["input"]["shape"] == [28, 28, 1]
    assert card["metrics"]["mnist_test_accuracy"] >= 0.996
    assert card["files"]["digitcli.onnx"].startswith("sha256:")


def test_missing_model_names_the_file(tmp_path):
    with pytest.raises(ModelError, match="nothing.onnx not found"):
        load_classifier(tmp_path / "nothing.onnx")


def test_truncated_model_is_reported(tmp_path):
    path = tmp_path / "cut.onnx"
    path.write_bytes(SHIPPED_MODEL.read_bytes()[:20000])
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        load_classifier(path)


def test_broken_keras_file_is_reported(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ModelError, match="model.keras"):
        load_classifier(path)


@pytest.mark.parametrize("temperature", [0, -1, "warm", float("nan"), True])
def test_card_with_a_meaningless_temperature_is_refused(tmp_path, temperature):
    model = tmp_path / "digitcli.onnx"
    model.write_bytes(SHIPPED_MODEL.read_bytes())
    card = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())
    card["calibration"]["temperature"] = temperature
    (tmp_path / "digitcli.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="temperature"):
        load_classifier(model)


def test_model_that_outputs_nan_is_refused(tmp_path):
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    nan = numpy_helper.from_array(np.full((28 * 28, 10), np.nan, np.float32), "nan")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "nan"], ["probabilities"])], "nan",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])], [nan])
    path = tmp_path / "nan.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    with pytest.raises(ModelError, match="not finite"):
        load_classifier(path)


def test_card_that_does_not_match_the_model(tmp_path):
    model = tmp_path / "digitcli.onnx"
    model.write_bytes(SHIPPED_MODEL.read_bytes())
    card = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())
    card["files"]["digitcli.onnx"] = "sha256:" + "0" * 64
    (tmp_path / "digitcli.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not match its model card"):
        load_classifier(model)


def test_model_with_wrong_input_shape(tmp_path):
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"], axis=1)], "wrong",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])])
    path = tmp_path / "wrong.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    with pytest.raises(ModelError, match="wrong.onnx"):
        load_classifier(path)


def test_predict_path_never_imports_tensorflow(tmp_path):
    """A real process: load the model, run the pipeline and classify."""
    code = (
        "import sys\n"
        "from digitcli.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"r = CliRunner().invoke(app, ['predict', '-f', 'jsonl', {str(SHIPPED_MODEL.parent.parent / 'samples')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_shipped_model_reaches_its_accuracy_on_the_real_mnist():
    """Runs where MNIST is at hand (CI points DIGITCLI_DATA at it)."""
    from digitcli.errors import DataError
    from digitcli.mnist import load_mnist, resolve_data_path

    if resolve_data_path(None) is None:
        pytest.skip("MNIST not available: set DIGITCLI_DATA")
    try:
        mnist = load_mnist()
    except DataError as exc:
        pytest.skip(str(exc))
    classifier = load_classifier(SHIPPED_MODEL)
    predicted = np.concatenate([
        classifier.probabilities(mnist.x_test[i:i + 1000].astype(np.float32) / 255).argmax(axis=1)
        for i in range(0, len(mnist.x_test), 1000)])
    accuracy = float(np.mean(predicted == mnist.y_test))
    assert accuracy >= 0.996, accuracy


def test_shipped_model_flags_drawings_that_are_not_digits():
    """Outlier exposure: new drawings of letters, symbols and shapes get a
    confidence below predict's threshold; digits drawn by the tests do not."""
    from conftest import mnist_like_digits

    from digitcli.config import SETTINGS
    from digitcli.train.outliers import non_digits

    classifier = load_classifier(SHIPPED_MODEL)
    threshold = SETTINGS.predict.min_confidence

    def flagged(images: np.ndarray) -> float:
        return float(np.mean(classifier.probabilities(images).max(axis=1) < threshold))

    assert flagged(non_digits(300, seed=4242)) >= 0.9
    digits, _ = mnist_like_digits(300, seed=4242)
    assert flagged(digits.astype(np.float32) / 255) <= 0.05
