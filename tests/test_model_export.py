"""The CNN and its ONNX export (these tests import TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from digitcli.reading.classifier import load_classifier
from digitcli.train.export import keras_to_onnx
from digitcli.train.model import build_model, ensemble_model


@pytest.fixture(scope="module")
def model_with_nontrivial_batchnorm():
    """Random weights, and BatchNorm statistics far from their defaults, so a
    wrong fold in the exporter shows."""
    model = build_model()
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if layer.__class__.__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2.0, var.shape)])
    return model


def test_model_shape_and_size():
    model = build_model()
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert 100_000 < model.count_params() < 1_000_000


def test_onnx_matches_keras_on_random_inputs(tmp_path, model_with_nontrivial_batchnorm):
    x = np.random.default_rng(1).random((32, 28, 28, 1), dtype=np.float32)
    expected = model_with_nontrivial_batchnorm.predict(x, verbose=0)
    path = tmp_path / "m.onnx"
    path.write_bytes(keras_to_onnx(model_with_nontrivial_batchnorm).SerializeToString())
    got = load_classifier(path).probabilities(x[..., 0])          # OpenCV DNN, as predict runs it
    np.testing.assert_allclose(got, expected, atol=2e-5)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"image": x})[0], expected, atol=2e-5)
    assert np.allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_an_ensemble_is_one_onnx_file_giving_the_members_mean(tmp_path, model_with_nontrivial_batchnorm):
    other = build_model()     # fresh weights: the members disagree
    ensemble = ensemble_model([model_with_nontrivial_batchnorm, other])
    x = np.random.default_rng(2).random((16, 28, 28, 1), dtype=np.float32)
    mean = (model_with_nontrivial_batchnorm.predict(x, verbose=0) + other.predict(x, verbose=0)) / 2
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), mean, atol=1e-6)
    path = tmp_path / "ensemble.onnx"
    path.write_bytes(keras_to_onnx(ensemble).SerializeToString())
    np.testing.assert_allclose(load_classifier(path).probabilities(x[..., 0]), mean, atol=2e-5)
