"""The convolutional network (Keras), its training metric, and batched
inference. Imports TensorFlow: only `digitcli.train` modules import this."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..config import SETTINGS, ImageConvention


def conv_bn_relu(x, filters: int, kernel: int | tuple[int, int] = 3, strides: int = 1, name: str = "",
                 padding: str = "same"):
    """Conv (no bias: BatchNorm has one) -> BatchNorm -> ReLU."""
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False,
                      name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_model(image: ImageConvention = SETTINGS.image) -> keras.Model:
    """A VGG-style CNN sized for CPU training: three stages of two
    Conv-BN-ReLU blocks (16, 32, 64 filters), each followed by max pooling,
    then a dropout-regularised dense head. Most parameters sit in the head,
    where they are cheap; the convolutions stay narrow, where they are costly.

    Input: (28, 28, 1) float32 in [0, 1], white digit on black.
    Output: 10 softmax probabilities.
    """
    inputs = keras.Input(shape=(image.size, image.size, 1), name="image")
    x = inputs
    for stage, filters in enumerate((16, 32, 64), start=1):
        x = conv_bn_relu(x, filters, name=f"s{stage}a")
        x = conv_bn_relu(x, filters, name=f"s{stage}b")
        x = layers.MaxPooling2D(padding="same", name=f"s{stage}_pool")(x)   # 28 -> 14 -> 7 -> 4
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.4, name="dropout1")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.3, name="dropout2")(x)
    outputs = layers.Dense(image.num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digitcli_cnn")


def ensemble_model(members: list[keras.Model]) -> keras.Model:
    """One model whose output is the mean of the members' probabilities:
    networks trained from different seeds err on different digits, and the
    ensemble is one ONNX file, read like a single network."""
    inputs = keras.Input(shape=members[0].input_shape[1:], name="image")
    # One output each (a loaded model's are a list), named after its place.
    outputs = [keras.Model(member.inputs, member.outputs[0], name=f"member_{index + 1}")(inputs)
               for index, member in enumerate(members)]
    mean = layers.Average(name="probabilities")(outputs)
    return keras.Model(inputs, mean, name="digitcli_cnn_ensemble")


def predict_in_batches(model: keras.Model, images: np.ndarray,
                       batch_size: int = SETTINGS.train.inference_batch_size) -> np.ndarray:
    """Softmax outputs for (N, 28, 28, 1) float32 images, quietly."""
    return model.predict(images, batch_size=batch_size, verbose=0)


@keras.saving.register_keras_serializable(package="digitcli")
class DigitAccuracy(keras.metrics.Metric):
    """Accuracy over the digits of a batch; non-digits (uniform targets)
    have no right answer and are left out."""

    def __init__(self, name: str = "accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        is_digit = keras.ops.cast(keras.ops.max(y_true, axis=1) > 0.5, "float32")
        hit = keras.ops.cast(keras.ops.argmax(y_true, axis=1) == keras.ops.argmax(y_pred, axis=1), "float32")
        self.correct.assign_add(keras.ops.sum(hit * is_digit))
        self.count.assign_add(keras.ops.sum(is_digit))

    def result(self):
        return self.correct / keras.ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)
