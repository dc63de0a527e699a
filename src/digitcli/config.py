"""All of digitcli's tunable settings, in one place.

Every module takes its numbers from these dataclasses instead of keeping
constants of its own, so that a change of convention (say, the size of the
digit box) is made once and seen everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DATA_ENV_VAR = "DIGITCLI_DATA"
MODEL_ENV_VAR = "DIGITCLI_MODEL"


def _package_models_dir() -> Path:
    """Where the shipped model lives: `digitcli/models/`, in an installed
    wheel a copy of the top-level models/, in a checkout a link to it."""
    return Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class ImageConvention:
    """The model's input, as MNIST was made: a white digit on black, fitted
    into a 20x20 box and placed in a 28x28 frame by its centre of mass."""

    size: int = 28
    box: int = 20
    num_classes: int = 10


@dataclass(frozen=True)
class TrainConfig:
    """Defaults of `digitcli train`; the shipped model uses exactly these."""

    epochs: int = 24
    batch_size: int = 128
    seed: int = 1
    validation_size: int = 5000
    learning_rate: float = 3e-3
    warmup_epochs: int = 1
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    # Augmentation: geometric jitter like a different writer, and stroke
    # thickness like a different pen.
    rotation_degrees: float = 12.0
    zoom: float = 0.12
    shift: float = 0.10
    shear: float = 0.15
    stroke_probability: float = 0.5
    # Share of training digits shown as the photo pipeline makes them
    # (threshold, crop, 20x20 box, centre of mass), so that the model knows
    # what predict will feed it.
    pipeline_fraction: float = 0.3
    # Share shown in a writing style MNIST barely has (digit_styles.py:
    # European 1s and 7s, felt-tip, faint and broken strokes, stretched to
    # fill a box, binarised at low resolution, shaky), through the pipeline.
    style_fraction: float = 0.25
    # Share of each batch that is drawings of non-digits (letters, symbols,
    # shapes; outliers.py) with a uniform target, so that predict's
    # confidence drops on things that are not digits (outlier exposure).
    outlier_fraction: float = 0.15
    outlier_count: int = 30_000     # at most half the training digits
    # Share of those that are wrong segmentations of numbers (touching
    # digits taken as one, a digit cut with part of its neighbour), so that
    # number reading can tell a whole digit from a piece.
    number_piece_share: float = 0.3
    # The model is the average of the last epochs' weights (stochastic
    # weight averaging) when that beats the best single epoch on validation.
    average_last_epochs: int = 5


@dataclass(frozen=True)
class PipelineConfig:
    """Knobs of the photo pipeline (preprocess.py)."""

    working_side: int = 512          # photos are scaled so the long side is at most this
    min_working_side: int = 128      # ...and tiny crops up to at least this
    polarity_side: int = 128         # size at which dark and light lines are compared
    dark_line_ratio: float = 1.3     # this much more dark line detail means dark ink
    background_side: int = 48        # size at which the paper's shading is estimated
    min_component_fraction: float = 0.0002  # specks smaller than this share of the area go
    border_margin_fraction: float = 0.01    # components touching the frame this close are edges
    merge_distance_fraction: float = 0.12   # strokes this close to the main one join it
    min_contrast: float = 18.0       # below this ink/paper difference the page is blank
    small_image_side: int = 64       # images this small are crops: no shading correction
    max_pixels: int = 200_000_000    # refuse to decode more than this


@dataclass(frozen=True)
class PredictConfig:
    """Defaults of `digitcli predict`."""

    batch_size: int = 256
    workers: int = field(default_factory=lambda: max(1, min(8, os.cpu_count() or 1)))
    min_confidence: float = 0.5
    top_k: int = 1


@dataclass(frozen=True)
class Settings:
    image: ImageConvention = field(default_factory=ImageConvention)
    train: TrainConfig = field(default_factory=TrainConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    models_dir: Path = field(default_factory=_package_models_dir)

    @property
    def default_model(self) -> Path:
        """The model predict and evaluate use unless told otherwise."""
        override = os.environ.get(MODEL_ENV_VAR)
        return Path(override) if override else self.models_dir / "digitcli.onnx"


SETTINGS = Settings()
