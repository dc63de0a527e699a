"""`digitcli train`: fit the CNN on MNIST with augmentation, keep the best
epoch by validation accuracy, and write the model files atomically.

Imports TensorFlow at module level: only the `train` command imports this.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import __version__
from .augment import augment_batch
from .calibration import apply_temperature, expected_calibration_error, fit_temperature
from .config import SETTINGS, TrainConfig
from .data import Mnist
from .export import keras_to_onnx
from .fileio import atomic_path, atomic_write_bytes, atomic_write_text
from .model import build_model
from .modelfiles import ModelFiles, card_checksum

CHECKPOINT_DIR = ".checkpoint"


@dataclass
class TrainResult:
    files: ModelFiles | None   # None when interrupted before any model was written
    test_accuracy: float | None
    best_epoch: int
    epochs_run: int
    seconds: float
    interrupted: bool


def split_validation(x: np.ndarray, y: np.ndarray, size: int, seed: int):
    """A seeded, stratified hold-out: the same split for the same seed."""
    rng = np.random.default_rng(seed)
    val_idx = np.concatenate([
        rng.permutation(np.flatnonzero(y == digit))[: round(size * np.mean(y == digit))]
        for digit in range(10)
    ]) if size else np.array([], dtype=int)
    mask = np.ones(len(y), bool)
    mask[val_idx] = False
    return x[mask], y[mask], x[~mask], y[~mask]


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[..., None]


PIPELINE_WORKERS = 4
OUTLIER = -1   # the label of a non-digit drawing: its target is uniform


def _threaded_map(function, items, workers: int = PIPELINE_WORKERS) -> list:
    """OpenCV releases the GIL, so threads use every core for the pipeline."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items, chunksize=256))


def through_pipeline(images: np.ndarray) -> np.ndarray:
    """MNIST digits as predict's photo pipeline makes them, float32 in [0, 1]
    (a digit the pipeline cannot find keeps its original form)."""
    from .preprocess import prepare_array

    def one(image: np.ndarray) -> np.ndarray:
        digit = prepare_array(image).digit
        return image.astype(np.float32) / 255.0 if digit is None else digit

    return np.stack(_threaded_map(one, images))


def styled_images(images: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Each digit once in a random writing style MNIST barely has, as the
    pipeline makes it (float32 (N, 28, 28) in [0, 1])."""
    from .digit_styles import styled_digit
    from .preprocess import prepare_array

    def one(index: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 11, index])
        digit = prepare_array(styled_digit(images[index], int(labels[index]), rng)).digit
        return images[index].astype(np.float32) / 255.0 if digit is None else digit

    return np.stack(_threaded_map(one, range(len(images))))


def outlier_training_images(digits: np.ndarray, count: int, config: TrainConfig) -> np.ndarray:
    """Non-digits for outlier exposure: drawings, and wrong segmentations of
    numbers made from the training digits, (count, 28, 28, 1)."""
    from .outliers import number_pieces

    pieces = round(count * config.number_piece_share)
    drawings = outlier_images(count - pieces, config.seed)
    return np.concatenate([drawings, number_pieces(digits, pieces, config.seed, map_fn=_threaded_map)[..., None]])


def outlier_images(count: int, seed: int, held_out: bool = False) -> np.ndarray:
    """Non-digit drawings as the pipeline makes them, (count, 28, 28, 1)."""
    from .outliers import outlier_digits

    return outlier_digits(count, seed, held_out, map_fn=_threaded_map)[..., None]


def targets(labels: tf.Tensor) -> tf.Tensor:
    """One-hot for digits, uniform for outliers (label -1)."""
    num_classes = SETTINGS.image.num_classes
    one_hot = tf.one_hot(tf.maximum(labels, 0), num_classes)
    return tf.where((labels == OUTLIER)[:, None], tf.fill(tf.shape(one_hot), 1.0 / num_classes), one_hot)


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


def make_train_dataset(x: np.ndarray, y: np.ndarray, config: TrainConfig) -> tf.data.Dataset:
    """Shuffled, augmented batches, repeated forever (fit counts the steps).
    With `pipeline_fraction`, that share of each batch is the digits as the
    photo pipeline makes them instead of as MNIST stores them; with
    `style_fraction`, that share is in a writing style MNIST barely has; with
    `outlier_fraction`, that share is non-digits (label -1)."""
    raw = to_model_input(x)
    processed = through_pipeline(x)[..., None] if config.pipeline_fraction > 0 else raw
    styled = styled_images(x, y, config.seed)[..., None] if config.style_fraction > 0 else raw
    data = tf.data.Dataset.from_tensor_slices((raw, processed, styled, y.astype(np.int32)))
    data = data.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True).repeat()
    if config.outlier_fraction > 0 and config.outlier_count > 0:
        drawings = outlier_training_images(x, min(config.outlier_count, len(x) // 2), config)
        outliers = tf.data.Dataset.from_tensor_slices(
            (drawings, drawings, drawings, np.full(len(drawings), OUTLIER, np.int32)))
        outliers = outliers.shuffle(len(drawings), seed=config.seed + 1, reshuffle_each_iteration=True).repeat()
        data = tf.data.Dataset.sample_from_datasets(
            [data, outliers], [1 - config.outlier_fraction, config.outlier_fraction], seed=config.seed)
    data = data.batch(config.batch_size, drop_remainder=True).enumerate()

    def augment(step, batch):
        raw_images, processed_images, styled_images, labels = batch
        seed = tf.stack([tf.constant(config.seed, tf.int64), step])
        draw = tf.random.stateless_uniform([tf.shape(labels)[0], 1, 1, 1], seed + 7)
        images = tf.where(draw < config.pipeline_fraction, processed_images, raw_images)
        images = tf.where(draw >= 1.0 - config.style_fraction, styled_images, images)
        return augment_batch(images, config, seed), labels

    return data.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


class RichProgress(keras.callbacks.Callback):
    """Epoch and batch bars with loss, accuracy and ETA, on stderr."""

    def __init__(self, console: Console, epochs: int, steps: int, initial_epoch: int = 0):
        super().__init__()
        self.console, self.epochs, self.steps = console, epochs, steps
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console, transient=False)
        self.epoch_task = self.progress.add_task("epochs", total=epochs, completed=initial_epoch, metrics="")
        self.batch_task = self.progress.add_task("batches", total=steps, metrics="")

    def on_train_begin(self, logs=None):
        self.progress.start()

    def on_epoch_begin(self, epoch, logs=None):
        self.progress.reset(self.batch_task, total=self.steps,
                            description=f"epoch {epoch + 1}/{self.epochs}", metrics="")

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.progress.update(self.batch_task, completed=batch + 1,
                             metrics=f"loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        summary = (f"loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f} "
                   f"val_acc {logs.get('val_accuracy', 0):.4f}")
        self.progress.update(self.epoch_task, completed=epoch + 1, metrics=summary)
        self.progress.console.log(f"epoch {epoch + 1}/{self.epochs}: {summary}")

    def on_train_end(self, logs=None):
        self.progress.stop()


class KeepBest(keras.callbacks.Callback):
    """Remember the best epoch by validation accuracy, and checkpoint every
    epoch (atomically) so that `--resume` and Ctrl-C lose at most one epoch."""

    def __init__(self, checkpoint_dir: Path, best_accuracy: float = -1.0, best_epoch: int = 0,
                 average_from: int | None = None):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.best_accuracy, self.best_epoch = best_accuracy, best_epoch
        self.best_weights = None
        self.last_epoch = best_epoch
        self.average_from = average_from   # first epoch (1-based) of the weight average
        self.weight_sum: list[np.ndarray] | None = None
        self.averaged_epochs: list[int] = []

    @property
    def averaged_weights(self) -> list[np.ndarray] | None:
        if not self.averaged_epochs:
            return None
        return [w / len(self.averaged_epochs) for w in self.weight_sum]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        accuracy = float(logs.get("val_accuracy", 0.0))
        self.last_epoch = epoch + 1
        if self.average_from is not None and epoch + 1 >= self.average_from:
            weights = self.model.get_weights()
            self.weight_sum = weights if self.weight_sum is None else [s + w for s, w in zip(self.weight_sum, weights)]
            self.averaged_epochs.append(epoch + 1)
        if accuracy > self.best_accuracy or "val_accuracy" not in logs:   # no validation: keep the last
            self.best_accuracy, self.best_epoch = accuracy, epoch + 1
            self.best_weights = self.model.get_weights()
            with atomic_path(self.checkpoint_dir / "best.weights.h5") as temp:
                self.model.save_weights(temp)
        with atomic_path(self.checkpoint_dir / "last.keras") as temp:
            self.model.save(temp)
        atomic_write_text(self.checkpoint_dir / "state.json", json.dumps({
            "epoch": epoch + 1, "best_epoch": self.best_epoch, "best_val_accuracy": self.best_accuracy}))


def use_average_if_better(model: keras.Model, keeper: KeepBest, train_data: tf.data.Dataset,
                          validation: tuple[np.ndarray, np.ndarray], console: Console) -> str | None:
    """Stochastic weight averaging: the mean of the last epochs' weights often
    generalises better than any one of them. BatchNorm statistics are
    recomputed for the averaged weights; the average is kept only if it
    beats the best single epoch on the validation split."""
    best_weights = model.get_weights()
    model.set_weights(keeper.averaged_weights)
    for images, _ in train_data.take(200):
        model(images, training=True)   # refreshes BatchNorm's moving statistics
    x_val, y_val = validation
    accuracy = float(np.mean(model.predict(x_val, batch_size=1024, verbose=0).argmax(axis=1) == y_val.argmax(axis=1)))
    first, last = keeper.averaged_epochs[0], keeper.averaged_epochs[-1]
    console.log(f"average of epochs {first}-{last}: val_acc {accuracy:.4f} "
                f"(best single epoch {keeper.best_epoch}: {keeper.best_accuracy:.4f})")
    if accuracy >= keeper.best_accuracy:
        keeper.best_accuracy = accuracy
        return f"average of epochs {first}-{last}"
    model.set_weights(best_weights)
    return None


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop_cleanly_on_signals() -> dict:
    """Ctrl-C, `kill` and `kill -INT` all stop training cleanly, even where
    the shell started it with SIGINT ignored (a background job, CI). Returns
    the previous handlers, to restore."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def _learning_rate(config: TrainConfig, steps_per_epoch: int):
    total = config.epochs * steps_per_epoch
    warmup = min(config.warmup_epochs * steps_per_epoch, total // 2)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 10, decay_steps=max(1, total - warmup), alpha=0.01,
        warmup_target=config.learning_rate, warmup_steps=warmup)


def train(mnist: Mnist, output: Path, config: TrainConfig, console: Console,
          resume: bool = False) -> TrainResult:
    """Train, keep the best epoch, export, and write model files atomically."""
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    x_train, y_train, x_val, y_val = split_validation(
        mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    steps = len(x_train) // config.batch_size
    checkpoint_dir = output / CHECKPOINT_DIR
    average_from = max(1, config.epochs - config.average_last_epochs + 1) if config.average_last_epochs > 1 else None
    initial_epoch, keeper = 0, KeepBest(checkpoint_dir, average_from=average_from)
    state_file = checkpoint_dir / "state.json"
    if resume and state_file.exists():
        state = json.loads(state_file.read_text())
        model = keras.models.load_model(checkpoint_dir / "last.keras")
        initial_epoch = state["epoch"]
        keeper = KeepBest(checkpoint_dir, state["best_val_accuracy"], state["best_epoch"], average_from)
        best_model = build_model()
        best_model.load_weights(checkpoint_dir / "best.weights.h5")
        keeper.best_weights = best_model.get_weights()
        console.log(f"resuming after epoch {initial_epoch} (best so far: epoch {keeper.best_epoch}, "
                    f"val_acc {keeper.best_accuracy:.4f})")
    else:
        if resume:
            console.log(f"no checkpoint in {checkpoint_dir}; starting afresh")
        model = build_model()
        model.compile(
            optimizer=keras.optimizers.AdamW(_learning_rate(config, steps), weight_decay=config.weight_decay),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
            metrics=[DigitAccuracy()], jit_compile=True)
    console.log(f"training on {len(x_train)} images, validating on {len(x_val)}, "
                f"{model.count_params():,} parameters, {config.epochs} epochs")
    train_data = make_train_dataset(x_train, y_train, config).map(
        lambda images, labels: (images, targets(labels)))
    validation = (to_model_input(x_val), keras.utils.to_categorical(y_val, 10)) if len(x_val) else None
    interrupted = False
    previous_handlers = _stop_cleanly_on_signals()
    try:
        if initial_epoch < config.epochs:
            model.fit(train_data, epochs=config.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                      validation_data=validation, validation_batch_size=512, verbose=0, shuffle=False,
                      callbacks=[keeper, RichProgress(console, config.epochs, steps, initial_epoch)])
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for sig, previous in previous_handlers.items():
            signal.signal(sig, previous)
    seconds = time.monotonic() - started
    if interrupted:
        console.log(f"interrupted after epoch {keeper.last_epoch}; the model in {output} is unchanged. "
                    f"The best epoch so far ({keeper.best_epoch}) is checkpointed in {checkpoint_dir}: "
                    "continue with `digitcli train --resume`.")
        return TrainResult(None, None, keeper.best_epoch, keeper.last_epoch, seconds, True)
    if keeper.best_weights is not None:
        model.set_weights(keeper.best_weights)
    weights_from = f"epoch {keeper.best_epoch}"
    if len(keeper.averaged_epochs) > 1 and validation is not None:
        weights_from = use_average_if_better(model, keeper, train_data, validation, console) or weights_from
    probabilities = model.predict(to_model_input(mnist.x_test), batch_size=1024, verbose=0)
    test_accuracy = float(np.mean(probabilities.argmax(axis=1) == mnist.y_test))
    card = model_card(model, mnist, config, keeper, test_accuracy, seconds, len(x_train), len(x_val))
    card["training"]["weights"] = weights_from
    if len(x_val):
        card["calibration"] = calibration(model.predict(to_model_input(x_val), batch_size=1024, verbose=0), y_val)
        card["rejection"] = rejection(model, card["calibration"]["temperature"], x_val, config)
    files = write_model_files(model, card, output)
    console.log(f"kept {weights_from}: val_acc {keeper.best_accuracy:.4f}, "
                f"MNIST test accuracy {test_accuracy:.4%}; wrote {files.onnx}, {files.keras}, {files.card}")
    return TrainResult(files, test_accuracy, keeper.best_epoch, keeper.last_epoch, seconds, False)


def model_card(model: keras.Model, mnist: Mnist, config: TrainConfig, keeper: KeepBest,
               test_accuracy: float, seconds: float, n_train: int, n_val: int) -> dict:
    """What a user (or a later digitcli) needs to know about the model."""
    image = SETTINGS.image
    return {
        "name": model.name,
        "digitcli_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "framework": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "architecture": [
            f"{layer.name}: {layer.__class__.__name__} -> {'x'.join(str(d) for d in layer.output.shape[1:])}"
            for layer in model.layers
        ],
        "parameters": int(model.count_params()),
        "input": {"shape": [image.size, image.size, 1], "dtype": "float32", "range": [0.0, 1.0],
                  "convention": "white digit on black, fitted in a 20x20 box, centred by mass in 28x28 (MNIST)"},
        "output": {"shape": [image.num_classes], "meaning": "softmax probabilities of digits 0-9, spread out for a non-digit"},
        "training": {
            **dataclasses.asdict(config),
            "epochs_run": keeper.last_epoch, "best_epoch": keeper.best_epoch,
            "train_images": n_train, "validation_images": n_val, "seconds": round(seconds, 1),
        },
        "data": {"source": Path(mnist.source).name, "sha256": mnist.sha256},
        "metrics": {"validation_accuracy": round(keeper.best_accuracy, 6),
                    "mnist_test_accuracy": round(test_accuracy, 6)},
    }


def calibration(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Temperature scaling on the validation split, so that a confidence of
    0.9 means right nine times in ten; predict applies it (runtime.py)."""
    temperature = fit_temperature(probabilities, labels)
    return {"temperature": round(temperature, 4),
            "validation_ece_before": round(expected_calibration_error(probabilities, labels), 5),
            "validation_ece_after": round(expected_calibration_error(
                apply_temperature(probabilities, temperature), labels), 5)}


REJECTION_SAMPLES = 2000


def rejection(model: keras.Model, temperature: float, x_val: np.ndarray, config: TrainConfig) -> dict:
    """How often predict's confidence falls below its threshold: for
    validation digits (should be rare), for fresh non-digit drawings, both
    from the families trained on and from held-out ones (other fonts,
    shapes and letters), which say whether rejection generalises, and for
    wrong segmentations of numbers made from validation digits."""
    from .outliers import number_pieces

    threshold = SETTINGS.predict.min_confidence
    samples = min(REJECTION_SAMPLES, len(x_val))

    def below_threshold(images: np.ndarray) -> float:
        confidence = apply_temperature(model.predict(images, batch_size=1024, verbose=0), temperature).max(axis=1)
        return round(float(np.mean(confidence < threshold)), 5)

    return {
        "min_confidence": threshold,
        "validation_digits_below": below_threshold(to_model_input(x_val)),
        "new_outliers_below": below_threshold(outlier_images(samples, config.seed + 1000)),
        "held_out_outliers_below": below_threshold(outlier_images(samples, config.seed + 2000, True)),
        "number_pieces_below": below_threshold(number_pieces(x_val, samples, config.seed + 3000,
                                                             map_fn=_threaded_map)[..., None]),
    }


def write_model_files(model: keras.Model, card: dict, output: Path) -> ModelFiles:
    """Write .keras, .onnx and the card, each atomically; the card records
    the checksums of the other two so a mismatched set is detected."""
    files = ModelFiles.in_folder(output)
    # An uncompiled copy (same layers and weights): the training metric and
    # optimizer are not needed to use it, and a plain keras.models.load_model
    # opens it without digitcli installed.
    inference = keras.Model(model.inputs, model.outputs, name=model.name)
    with atomic_path(files.keras) as temp:
        inference.save(temp)
    onnx_bytes = keras_to_onnx(model).SerializeToString()
    atomic_write_bytes(files.onnx, onnx_bytes)
    card["files"] = {files.keras.name: card_checksum(files.keras.read_bytes()),
                     files.onnx.name: card_checksum(onnx_bytes)}
    atomic_write_text(files.card, json.dumps(card, indent=2) + "\n")
    return files
