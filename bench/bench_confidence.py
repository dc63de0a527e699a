"""Does confidence mean what it says? For each model: on a labelled folder
of real digits, accuracy, the share below predict's --min-confidence and the
expected calibration error (ECE) before and after the card's temperature;
on real images that are not digits (not-digits-dev), the share predict
flags; on drawings of non-digits (letters, symbols, shapes;
digitcli/train/outliers.py) the share below --min-confidence, for the
families seen in training and for held-out ones; and on wrong segmentations
of numbers (two touching digits, a digit with part of its neighbour).
Every probability is predict's: after its second look at unsure digits
(runner.second_look). Models are run side by side, e.g. before and after a retraining.

    python bench/bench_confidence.py [--model models/digitcli.onnx ...] [--labelled DIR] [--non-digits DIR]
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from benchlib import DATA, labelled_set_arguments, prepared_digits

from digitcli import Reader
from digitcli.calibration import calibration_error
from digitcli.config import SETTINGS
from digitcli.evaluation.labelled import find_labelled_images
from digitcli.mnist import load_mnist
from digitcli.reading.runner import second_look
from digitcli.train.outliers import non_digits, number_pieces

NON_DIGITS = 2000
SEED = 12345   # not a seed that training uses for its drawings


def synthetic_non_digits() -> dict[str, np.ndarray]:
    test_digits = load_mnist(DATA / "mnist.npz").x_test
    with ThreadPoolExecutor(4) as pool:
        def threaded(function, values):
            return pool.map(function, values, chunksize=64)
        return {"non-digits, trained families": non_digits(NON_DIGITS, SEED, False, threaded),
                "non-digits, held-out families": non_digits(NON_DIGITS, SEED, True, threaded),
                "number pieces (MNIST test digits)": number_pieces(test_digits, NON_DIGITS, SEED, threaded)}


def main() -> None:
    args = labelled_set_arguments(__doc__, several_models=True)
    threshold = SETTINGS.predict.min_confidence
    items = [item for item in find_labelled_images(args.labelled) if item.label is not None]
    real_non_digits = [item.path for item in find_labelled_images(args.non_digits)] if args.non_digits.exists() else []
    drawings = synthetic_non_digits()
    for model in args.model:
        reader = Reader(model)
        classifier = reader.classifier
        raw = dataclasses.replace(classifier, temperature=1.0)
        digits, labels, groups = prepared_digits(reader, items)
        calibrated = second_look(digits, classifier.probabilities(digits), classifier)
        uncalibrated = second_look(digits, raw.probabilities(digits), raw)
        print(f"\n{model} (temperature {classifier.temperature:.3f}, --min-confidence {threshold})")
        print(f"  {'set':36} {'images':>6} {'accuracy':>9} {'flagged':>9} {'ECE raw':>8} {'ECE calibrated':>15}")
        for group in [*sorted(set(groups)), "all"]:
            mask = np.ones(len(groups), bool) if group == "all" else groups == group
            correct = calibrated[mask].argmax(axis=1) == labels[mask]
            confidence = calibrated[mask].max(axis=1)
            print(f"  {group:36} {mask.sum():6d} {correct.mean():9.2%} {np.mean(confidence < threshold):9.1%} "
                  f"{calibration_error(uncalibrated[mask].max(axis=1), correct):8.4f} "
                  f"{calibration_error(confidence, correct):15.4f}")
        if real_non_digits:
            results = [r for r in reader.read_many(real_non_digits) if not r.failed]
            print(f"  {'real non-digits (' + args.non_digits.name + ')':36} {len(results):6d} {'':9} "
                  f"{np.mean([r.flagged for r in results]):9.1%}")
        for name, images in drawings.items():
            confidence = second_look(images, classifier.probabilities(images), classifier).max(axis=1)
            print(f"  {name:36} {len(images):6d} {'':9} {np.mean(confidence < threshold):9.1%}   "
                  f"(median confidence {np.median(confidence):.2f})")


if __name__ == "__main__":
    main()
