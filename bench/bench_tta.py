"""Does cheap test-time augmentation help on real images? Accuracy per kind
of a labelled folder, for the plain prediction and for averages over small
variations of each 28x28 digit (thinner, thicker, shifted, rotated, scaled).

    python bench/bench_tta.py [--labelled ../shared/data/realworld-dev] [--model models/digitcli.onnx]
"""

from __future__ import annotations

import cv2
import numpy as np
from benchlib import labelled_digits, labelled_set_arguments, prepared_digits

from digitcli import Reader


def warped(digits: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return np.stack([cv2.warpAffine(d, matrix, (28, 28)) for d in digits])


def main() -> None:
    args = labelled_set_arguments(__doc__)
    reader = Reader(args.model)
    classifier = reader.classifier
    digits, labels, groups = prepared_digits(reader, labelled_digits(args.labelled))
    kernel = np.ones((2, 2), np.uint8)
    variants = {
        "thinner": np.stack([cv2.erode(d, kernel) for d in digits]),
        "thicker": np.stack([cv2.dilate(d, kernel) for d in digits]),
        **{f"shift {dx},{dy}": warped(digits, np.float32([[1, 0, dx], [0, 1, dy]]))
           for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))},
        "rotate +8": warped(digits, cv2.getRotationMatrix2D((13.5, 13.5), 8, 1)),
        "rotate -8": warped(digits, cv2.getRotationMatrix2D((13.5, 13.5), -8, 1)),
        "scale 0.9": warped(digits, cv2.getRotationMatrix2D((13.5, 13.5), 0, 0.9)),
        "scale 1.1": warped(digits, cv2.getRotationMatrix2D((13.5, 13.5), 0, 1.1)),
    }
    probs = {"plain": classifier.probabilities(digits)}
    probs.update({name: classifier.probabilities(v) for name, v in variants.items()})
    combos = {
        "plain": ["plain"],
        "tta thickness": ["plain", "thinner", "thicker"],
        "tta shifts": ["plain", "shift 1,0", "shift -1,0", "shift 0,1", "shift 0,-1"],
        "tta rotations": ["plain", "rotate +8", "rotate -8"],
        "tta scales": ["plain", "scale 0.9", "scale 1.1"],
        "tta all": list(probs),
    }
    names = sorted(set(groups))
    print(f"{'':16}" + "".join(f"{name:>12}" for name in names))
    for combo, members in combos.items():
        predicted = np.mean([probs[m] for m in members], axis=0).argmax(axis=1)
        print(f"{combo:16}" + "".join(f"{np.mean(predicted[groups == n] == labels[groups == n]):12.2%}"
                                       for n in names))


if __name__ == "__main__":
    main()
