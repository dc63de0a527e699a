"""Training callbacks: progress on stderr, and keeping (and checkpointing)
the best epoch and the running weight average, so that Ctrl-C loses at most
one epoch and `--resume` continues exactly where an uninterrupted run would."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..fileio import atomic_path, atomic_write_text


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
        self.progress.update(self.batch_task, completed=batch + 1, metrics=_metrics(logs, ("loss", "accuracy")))

    def on_epoch_end(self, epoch, logs=None):
        summary = _metrics(logs, ("loss", "accuracy", "val_accuracy"))
        self.progress.update(self.epoch_task, completed=epoch + 1, metrics=summary)
        self.progress.console.log(f"epoch {epoch + 1}/{self.epochs}: {summary}")

    def on_train_end(self, logs=None):
        self.progress.stop()


def _metrics(logs: dict | None, names: tuple[str, ...]) -> str:
    """'loss 0.1234 acc 0.9876 ...' for the metrics Keras logged."""
    short = {"accuracy": "acc", "val_accuracy": "val_acc"}
    return " ".join(f"{short.get(name, name)} {float(logs[name]):.4f}" for name in names if name in (logs or {}))


HISTORY_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def epoch_record(epoch: int, logs: dict) -> dict:
    """One epoch of the card's training history: its 1-based number and the
    losses and accuracies, training and validation, that Keras logged."""
    return {"epoch": epoch, **{name: round(float(logs[name]), 6) for name in HISTORY_METRICS if name in logs}}


class KeepBest(keras.callbacks.Callback):
    """Remember the best epoch by validation accuracy, each epoch's losses and
    accuracies (the card's history), and sum the weights of the epochs to
    average; checkpoint all of it every epoch (atomically)."""

    STATE, BEST, LAST, AVERAGE = "state.json", "best.weights.h5", "last.keras", "average.npz"

    def __init__(self, checkpoint_dir: Path, average_from: int | None = None):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.best_accuracy, self.best_epoch = -1.0, 0
        self.best_weights: list[np.ndarray] | None = None
        self.last_epoch = 0
        self.average_from = average_from   # first epoch (1-based) of the weight average
        self.weight_sum: list[np.ndarray] | None = None
        self.averaged_epochs: list[int] = []
        self.history: list[dict] = []

    @property
    def has_checkpoint(self) -> bool:
        return (self.checkpoint_dir / self.STATE).exists()

    def restore(self, best_model: keras.Model) -> keras.Model:
        """Load the checkpoint: returns the last epoch's model (compiled, with
        its optimizer state); `best_model` receives the best weights."""
        state = json.loads((self.checkpoint_dir / self.STATE).read_text())
        self.last_epoch, self.best_epoch = state["epoch"], state["best_epoch"]
        self.best_accuracy = state["best_val_accuracy"]
        self.averaged_epochs = list(state.get("averaged_epochs", []))
        self.history = list(state.get("history", []))
        best_model.load_weights(self.checkpoint_dir / self.BEST)
        self.best_weights = best_model.get_weights()
        if self.averaged_epochs:
            with np.load(self.checkpoint_dir / self.AVERAGE) as archive:
                self.weight_sum = [archive[f"w{i}"] for i in range(len(archive.files))]
        return keras.models.load_model(self.checkpoint_dir / self.LAST)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        accuracy = float(logs.get("val_accuracy", 0.0))
        self.history.append(epoch_record(epoch + 1, logs))
        if self.average_from is not None and epoch + 1 >= self.average_from:
            weights = self.model.get_weights()
            self.weight_sum = weights if self.weight_sum is None else [s + w for s, w in zip(self.weight_sum, weights)]
            self.averaged_epochs.append(epoch + 1)
            with atomic_path(self.checkpoint_dir / self.AVERAGE) as temp, open(temp, "wb") as handle:
                np.savez(handle, **{f"w{i}": w for i, w in enumerate(self.weight_sum)})
        if accuracy > self.best_accuracy or "val_accuracy" not in logs:   # no validation: keep the last
            self.best_accuracy, self.best_epoch = accuracy, epoch + 1
            self.best_weights = self.model.get_weights()
            with atomic_path(self.checkpoint_dir / self.BEST) as temp:
                self.model.save_weights(temp)
        with atomic_path(self.checkpoint_dir / self.LAST) as temp:
            self.model.save(temp)
        atomic_write_text(self.checkpoint_dir / self.STATE, json.dumps({
            "epoch": epoch + 1, "best_epoch": self.best_epoch, "best_val_accuracy": self.best_accuracy,
            "averaged_epochs": self.averaged_epochs, "history": self.history}))
        self.last_epoch = epoch + 1   # only now: a stop before this says the epoch the checkpoint holds

    @property
    def averaged_weights(self) -> list[np.ndarray] | None:
        if not self.averaged_epochs:
            return None
        return [w / len(self.averaged_epochs) for w in self.weight_sum]
