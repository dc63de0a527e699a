"""`digitcli train`: load MNIST, then hand over to `digitcli.train` (which
imports TensorFlow, so only this command pays for it)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console

from ..config import LineTrainConfig, TrainConfig
from ..errors import DigitcliError, ExitCode
from ..mnist import Mnist, load_mnist


class TrainingUnavailable(DigitcliError):
    """TensorFlow is not installed: a predict-only install."""

    exit_code = ExitCode.USAGE


def _mnist(data: Path | None, stderr: Console) -> Mnist:
    mnist = load_mnist(data)
    stderr.log(f"MNIST from {mnist.source}: {len(mnist.x_train)} training, {len(mnist.x_test)} test images")
    return mnist


def _unavailable(exc: ImportError) -> TrainingUnavailable:
    return TrainingUnavailable(
        f"training needs TensorFlow, which is not installed ({exc.name or exc}). "
        "Install it with: pip install \"digitcli[train]\" (or pip install -e \".[train]\" in a checkout)")


def run(data: Path | None, output: Path, config: TrainConfig, resume: bool, stderr: Console) -> int:
    mnist = _mnist(data, stderr)
    try:
        from ..train.loop import train  # imports TensorFlow
    except ImportError as exc:
        raise _unavailable(exc) from None
    config = dataclasses.replace(config, validation_size=min(config.validation_size, len(mnist.x_train) // 2))
    result = train(mnist, output, config, stderr, resume=resume)
    return ExitCode.INTERRUPTED if result.interrupted else ExitCode.OK


def run_lines(data: Path | None, output: Path, config: LineTrainConfig, stderr: Console) -> int:
    mnist = _mnist(data, stderr)
    try:
        from ..train.lines import train_lines  # imports TensorFlow
    except ImportError as exc:
        raise _unavailable(exc) from None
    result = train_lines(mnist, output, config, stderr)
    return ExitCode.INTERRUPTED if result.interrupted else ExitCode.OK
