"""What a typical MNIST demo project does, as the baseline for bench_predict.py.

Import TensorFlow, load the Keras model, and for each image: read it as
grayscale, invert if the paper is light, resize to 28x28, scale by 1/255 and
call `model.predict` on that one image. Prints one `path<TAB>digit` line per
image. Not part of digitcli; kept only to measure against.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import tensorflow as tf  # noqa: F401  (what demo projects import)
from tensorflow import keras


def main(model_path: str, paths: list[str]) -> None:
    model = keras.models.load_model(model_path)
    for path in paths:
        gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if gray is None:
            print(f"{path}\terror")
            continue
        if gray.mean() > 127:
            gray = 255 - gray
        x = cv2.resize(gray, (28, 28), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        probabilities = model.predict(x[None, :, :, None], verbose=0)
        print(f"{path}\t{int(probabilities.argmax())}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
