"""Does confidence mean what it says? For each model: on a labelled folder
of real digits, accuracy, the share below predict's --min-confidence and the
expected calibration error (ECE) before and after the card's temperature;
on drawings of non-digits (letters, symbols, shapes; digitcli/outliers.py),
the share below --min-confidence, for the families seen in training and
for held-out ones. Models are run side by side, e.g. before and after a
retraining.

    python bench/bench_confidence.py [--model models/digitcli.onnx ...] [--labelled DIR]
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from benchlib import labelled_digits, labelled_set_arguments

from digitcli.calibration import calibration_error
from digitcli.config import SETTINGS
from digitcli.outliers import outlier_digits
from digitcli.predict import run_batch
from digitcli.runtime import load_classifier

NON_DIGITS = 2000
SEED = 12345   # not a seed that training uses for its drawings


def main() -> None:
    args = labelled_set_arguments(__doc__, several_models=True)
    threshold = SETTINGS.predict.min_confidence
    items = labelled_digits(args.labelled)
    with ThreadPoolExecutor(4) as pool:
        def threaded(function, values):
            return pool.map(function, values, chunksize=64)
        non_digits = {"non-digits, trained families": outlier_digits(NON_DIGITS, SEED, False, threaded),
                      "non-digits, held-out families": outlier_digits(NON_DIGITS, SEED, True, threaded)}
    for model in args.model:
        classifier = load_classifier(model)
        raw = dataclasses.replace(classifier, card=None)
        rows = list(run_batch([item.path for item in items], classifier))
        found = [i for i, row in enumerate(rows) if row.prepared is not None and row.prepared.digit is not None]
        digits = np.stack([rows[i].prepared.digit for i in found])
        labels = np.array([items[i].label for i in found])
        groups = np.array([items[i].group for i in found])
        calibrated, uncalibrated = classifier.probabilities(digits), raw.probabilities(digits)
        print(f"\n{model} (temperature {classifier.temperature:.3f}, --min-confidence {threshold})")
        print(f"  {'set':32} {'images':>6} {'accuracy':>9} {'low conf.':>9} {'ECE raw':>8} {'ECE calibrated':>15}")
        for group in [*sorted(set(groups)), "all"]:
            mask = np.ones(len(groups), bool) if group == "all" else groups == group
            correct = calibrated[mask].argmax(axis=1) == labels[mask]
            confidence = calibrated[mask].max(axis=1)
            print(f"  {group:32} {mask.sum():6d} {correct.mean():9.2%} {np.mean(confidence < threshold):9.1%} "
                  f"{calibration_error(uncalibrated[mask].max(axis=1), correct):8.4f} "
                  f"{calibration_error(confidence, correct):15.4f}")
        for name, images in non_digits.items():
            confidence = classifier.probabilities(images).max(axis=1)
            print(f"  {name:32} {len(images):6d} {'':9} {np.mean(confidence < threshold):9.1%}   "
                  f"(median confidence {np.median(confidence):.2f})")


if __name__ == "__main__":
    main()
