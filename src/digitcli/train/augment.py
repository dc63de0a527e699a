"""Training augmentation (TensorFlow ops, run inside the tf.data pipeline).

Each image gets one random affine warp (rotation, zoom, shear, shift: another
writer's hand) and, half the time, a thicker or thinner stroke (another pen).
Both are cheap batched ops, so two CPU cores keep up with training.
"""

from __future__ import annotations

import math

import tensorflow as tf

from ..config import TrainConfig


def random_affine_matrices(batch: int, size: int, config: TrainConfig, seed) -> tf.Tensor:
    """Per-image projective transforms in the 8-parameter form that
    ImageProjectiveTransformV3 takes (output pixel -> input pixel)."""
    seeds = tf.random.experimental.stateless_split(seed, 6)

    def uniform(i, limit):
        return tf.random.stateless_uniform([batch], seeds[i], -limit, limit)

    angle = uniform(0, math.radians(config.rotation_degrees))
    scale = 1.0 + uniform(1, config.zoom)
    shear = uniform(2, config.shear)
    shift_x = uniform(3, config.shift * size)
    shift_y = uniform(4, config.shift * size)
    aspect = 1.0 + uniform(5, config.zoom / 2)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Forward map A = R(angle) @ Shear @ diag(scale*aspect, scale/aspect);
    # the op wants the inverse, around the image centre.
    sx, sy = scale * aspect, scale / aspect
    a00, a01 = cos * sx, (cos * shear - sin) * sy
    a10, a11 = sin * sx, (sin * shear + cos) * sy
    det = a00 * a11 - a01 * a10
    i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det
    centre = (size - 1) / 2.0
    cx, cy = centre + shift_x, centre + shift_y
    t0 = centre - (i00 * cx + i01 * cy)
    t1 = centre - (i10 * cx + i11 * cy)
    zeros = tf.zeros([batch])
    return tf.stack([i00, i01, t0, i10, i11, t1, zeros, zeros], axis=1)


def vary_stroke(images: tf.Tensor, config: TrainConfig, seed) -> tf.Tensor:
    """Blend each image toward its dilation or erosion: a random pen width."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    batch = tf.shape(images)[0]
    amount = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[0], -1.0, 1.0)
    apply = tf.cast(
        tf.random.stateless_uniform([batch, 1, 1, 1], seeds[1]) < config.stroke_probability,
        images.dtype)
    amount = amount * apply
    dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    thicker = images + tf.maximum(amount, 0.0) * 0.7 * (dilated - images)
    return thicker + tf.minimum(amount, 0.0) * 0.7 * (images - eroded)


def augment_batch(images: tf.Tensor, config: TrainConfig, seed) -> tf.Tensor:
    """images: (B, 28, 28, 1) float32 in [0, 1] -> same, augmented."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    size = images.shape[1]
    matrices = random_affine_matrices(tf.shape(images)[0], size, config, seeds[0])
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=matrices, output_shape=[size, size],
        interpolation="BILINEAR", fill_mode="CONSTANT", fill_value=0.0)
    return tf.clip_by_value(vary_stroke(warped, config, seeds[1]), 0.0, 1.0)
