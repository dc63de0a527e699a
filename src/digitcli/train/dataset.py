"""The training data: MNIST split for validation, each digit also as the
photo pipeline makes it and in a writing style MNIST lacks, non-digits for
outlier exposure, and the shuffled, augmented tf.data stream of batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from ..config import SETTINGS, TrainConfig
from ..reading.pipeline import as_model_input, prepare_array
from .augment import augment_batch
from .outliers import non_digits, number_pieces
from .styles import styled_digit

OUTLIER = -1   # the label of a non-digit: its target is uniform


def split_validation(x: np.ndarray, y: np.ndarray, size: int, seed: int):
    """A seeded, stratified hold-out: the same split for the same seed."""
    rng = np.random.default_rng(seed)
    val_idx = np.concatenate([
        rng.permutation(np.flatnonzero(y == digit))[: round(size * np.mean(y == digit))]
        for digit in range(SETTINGS.image.num_classes)
    ]) if size else np.array([], dtype=int)
    mask = np.ones(len(y), bool)
    mask[val_idx] = False
    return x[mask], y[mask], x[~mask], y[~mask]


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return as_model_input(images)[..., None]


def threaded_map(function: Callable, items: Iterable, workers: int = SETTINGS.train.pipeline_workers) -> list:
    """OpenCV releases the GIL, so threads use every core for the pipeline."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items, chunksize=256))


def through_pipeline(images: np.ndarray) -> np.ndarray:
    """MNIST digits as predict's photo pipeline makes them, float32 in [0, 1]
    (a digit the pipeline cannot find keeps its original form)."""
    def one(image: np.ndarray) -> np.ndarray:
        digit = prepare_array(image).digit
        return as_model_input(image) if digit is None else digit

    return np.stack(threaded_map(one, images))


def styled_images(images: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Each digit once in a random writing style MNIST barely has, as the
    pipeline makes it (float32 (N, 28, 28) in [0, 1])."""
    def one(index: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 11, index])
        digit = prepare_array(styled_digit(images[index], int(labels[index]), rng)).digit
        return as_model_input(images[index]) if digit is None else digit

    return np.stack(threaded_map(one, range(len(images))))


def non_digit_inputs(count: int, seed: int, held_out: bool = False) -> np.ndarray:
    """Non-digit drawings as the pipeline makes them, (count, 28, 28, 1)."""
    return non_digits(count, seed, held_out, map_fn=threaded_map)[..., None]


def number_piece_inputs(digits: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Wrong segmentations of numbers made of these digits, (count, 28, 28, 1)."""
    return number_pieces(digits, count, seed, map_fn=threaded_map)[..., None]


def outlier_training_images(digits: np.ndarray, count: int, config: TrainConfig) -> np.ndarray:
    """Non-digits for outlier exposure: drawings, and wrong segmentations of
    numbers made from the training digits, (count, 28, 28, 1)."""
    pieces = round(count * config.number_piece_share)
    return np.concatenate([non_digit_inputs(count - pieces, config.seed),
                           number_piece_inputs(digits, pieces, config.seed)])


def targets(labels: tf.Tensor) -> tf.Tensor:
    """One-hot for digits, uniform for outliers (label -1)."""
    num_classes = SETTINGS.image.num_classes
    one_hot = tf.one_hot(tf.maximum(labels, 0), num_classes)
    return tf.where((labels == OUTLIER)[:, None], tf.fill(tf.shape(one_hot), 1.0 / num_classes), one_hot)


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


def training_batches(x: np.ndarray, y: np.ndarray, config: TrainConfig) -> tf.data.Dataset:
    """(images, targets) batches for `fit`."""
    return make_train_dataset(x, y, config).map(lambda images, labels: (images, targets(labels)))
