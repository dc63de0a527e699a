"""`digitcli train`: fit the CNN on MNIST with augmentation, keep the best
epoch (or the average of the last ones) by validation accuracy, calibrate,
and write the model files atomically. Ctrl-C and SIGTERM stop cleanly."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from rich.console import Console

from ..config import SETTINGS, TrainConfig
from ..mnist import Mnist
from ..modelfiles import ModelFiles
from .callbacks import KeepBest, RichProgress
from .card import calibration, model_card, rejection, write_model_files
from .dataset import split_validation, to_model_input, training_batches
from .model import DigitAccuracy, build_model, ensemble_model, predict_in_batches

CHECKPOINT_DIR = ".checkpoint"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class TrainResult:
    files: ModelFiles | None   # None when interrupted before any model was written
    test_accuracy: float | None
    best_epoch: int
    epochs_run: int
    seconds: float
    interrupted: bool


def validation_accuracy(model: keras.Model, validation: tuple[np.ndarray, np.ndarray]) -> float:
    x_val, y_val = validation
    return float(np.mean(predict_in_batches(model, x_val).argmax(axis=1) == y_val.argmax(axis=1)))


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
    accuracy = validation_accuracy(model, validation)
    first, last = keeper.averaged_epochs[0], keeper.averaged_epochs[-1]
    console.log(f"average of epochs {first}-{last}: val_acc {accuracy:.4f} "
                f"(best single epoch {keeper.best_epoch}: {keeper.best_accuracy:.4f})")
    if accuracy >= keeper.best_accuracy:
        keeper.best_accuracy = accuracy
        return f"average of epochs {first}-{last}"
    model.set_weights(best_weights)
    return None


def stop_cleanly_on_signals() -> dict:
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


def _new_model(config: TrainConfig, steps: int) -> keras.Model:
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.AdamW(_learning_rate(config, steps), weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[DigitAccuracy()], jit_compile=True)
    return model


@dataclass
class Member:
    """One trained network of the model, and where its weights came from."""

    model: keras.Model
    keeper: KeepBest
    weights_from: str
    seed: int


class MemberInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a member's training, with what it had done."""

    def __init__(self, keeper: KeepBest):
        super().__init__()
        self.keeper = keeper


def member_checkpoint_dir(output: Path, index: int) -> Path:
    """The first network's checkpoints sit where a single model's always
    did; each further member's in a folder of its own inside."""
    checkpoint_dir = output / CHECKPOINT_DIR
    return checkpoint_dir if index == 0 else checkpoint_dir / f"member-{index + 1}"


def train_member(x_train: np.ndarray, y_train: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None,
                 config: TrainConfig, checkpoint_dir: Path, console: Console, resume: bool) -> Member:
    """One network from `config.seed` (weights, shuffling, augmentation), on
    the split it is given; checkpointed each epoch. Raises MemberInterrupted
    when stopped (the checkpoint holds the epochs done)."""
    keras.utils.set_random_seed(config.seed)
    steps = len(x_train) // config.batch_size
    average_from = max(1, config.epochs - config.average_last_epochs + 1) if config.average_last_epochs > 1 else None
    keeper = KeepBest(checkpoint_dir, average_from=average_from)
    if resume and keeper.has_checkpoint:
        model = keeper.restore(best_model=build_model())
        console.log(f"resuming after epoch {keeper.last_epoch} (best so far: epoch {keeper.best_epoch}, "
                    f"val_acc {keeper.best_accuracy:.4f})")
    else:
        if resume:
            console.log(f"no checkpoint in {checkpoint_dir}; starting afresh")
        model = _new_model(config, steps)
    initial_epoch = keeper.last_epoch
    console.log(f"training on {len(x_train)} images, validating on {len(validation[0]) if validation else 0}, "
                f"{model.count_params():,} parameters, {config.epochs} epochs")
    train_data = training_batches(x_train, y_train, config)
    try:
        if initial_epoch < config.epochs:
            model.fit(train_data, epochs=config.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                      validation_data=validation, validation_batch_size=512, verbose=0, shuffle=False,
                      callbacks=[keeper, RichProgress(console, config.epochs, steps, initial_epoch)])
    except KeyboardInterrupt:
        raise MemberInterrupted(keeper) from None
    if keeper.best_weights is not None:
        model.set_weights(keeper.best_weights)
    weights_from = f"epoch {keeper.best_epoch}"
    if len(keeper.averaged_epochs) > 1 and validation is not None:
        weights_from = use_average_if_better(model, keeper, train_data, validation, console) or weights_from
    return Member(model, keeper, weights_from, config.seed)


def train(mnist: Mnist, output: Path, config: TrainConfig, console: Console,
          resume: bool = False) -> TrainResult:
    """Train each member network, fold them into one model (one member:
    itself), export, and write model files atomically. All members share
    the validation split, which picks their epochs and calibrates the whole."""
    started = time.monotonic()
    x_train, y_train, x_val, y_val = split_validation(
        mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    num_classes = SETTINGS.image.num_classes
    validation = (to_model_input(x_val), keras.utils.to_categorical(y_val, num_classes)) if len(x_val) else None
    members: list[Member] = []
    previous_handlers = stop_cleanly_on_signals()
    try:
        for index in range(config.members):
            if config.members > 1:
                console.log(f"member {index + 1} of {config.members}")
            members.append(train_member(x_train, y_train, validation, replace(config, seed=config.seed + index),
                                        member_checkpoint_dir(output, index), console, resume))
    except MemberInterrupted as stop:
        keeper = stop.keeper
        member = f" of member {len(members) + 1} (of {config.members})" if config.members > 1 else ""
        console.log(f"interrupted after epoch {keeper.last_epoch}{member}; the model in {output} is unchanged. "
                    f"The best epoch so far ({keeper.best_epoch}) is checkpointed in {keeper.checkpoint_dir}: "
                    "continue with `digitcli train --resume`.")
        return TrainResult(None, None, keeper.best_epoch, keeper.last_epoch, time.monotonic() - started, True)
    finally:
        for sig, previous in previous_handlers.items():
            signal.signal(sig, previous)
    seconds = time.monotonic() - started
    model = ensemble_model([m.model for m in members]) if len(members) > 1 else members[0].model
    test_accuracy = float(np.mean(predict_in_batches(model, to_model_input(mnist.x_test)).argmax(axis=1)
                                  == mnist.y_test))
    first = members[0]
    card = model_card(model, mnist, config, first.keeper, test_accuracy, seconds, len(x_train), len(x_val))
    card["training"]["weights"] = first.weights_from
    if len(members) > 1:
        card["training"]["members"] = [
            {"seed": m.seed, "weights": m.weights_from, "best_epoch": m.keeper.best_epoch,
             "validation_accuracy": round(m.keeper.best_accuracy, 6), "history": m.keeper.history}
            for m in members]
        if validation is not None:
            card["metrics"]["validation_accuracy"] = round(validation_accuracy(model, validation), 6)
    if len(x_val):
        card["calibration"] = calibration(predict_in_batches(model, to_model_input(x_val)), y_val)
        card["rejection"] = rejection(model, card["calibration"]["temperature"], x_val, config)
    files = write_model_files(model, card, output)
    kept = ", ".join(m.weights_from for m in members)
    console.log(f"kept {kept}: val_acc {card['metrics']['validation_accuracy']:.4f}, "
                f"MNIST test accuracy {test_accuracy:.4%}; wrote {files.onnx}, {files.keras}, {files.card}")
    last = members[-1].keeper
    return TrainResult(files, test_accuracy, last.best_epoch, last.last_epoch, seconds, False)
