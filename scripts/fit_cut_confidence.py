"""Fit `cut_confidence`, `line_disagreement`, `steady_share` and
`unsteady_line` (config.PredictConfig): the factors a number's confidence
takes for each cut through touching digits, for each segment where the line
reader read other digits than the cuts, and for each line reading that
fewer than `steady_share` of its views repeat.

A number's confidence is the product of its digits' confidences; where a cut
went through ink, a wrong cut can leave two plausible digits, each read with
confidence, so touching numbers read too sure; and where the two readers
disagree, one of them is wrong; and a reading that a slightly smaller,
larger or shifted view of the same ink changes is a guess. This composes
numbers from MNIST's test digits (training data's kind, not the dev sets'),
touching and spaced, reads them with no factor, and picks the factors that
minimise the log loss of "the whole number is right" (a proper score; the
calibration error is printed beside it).

    python scripts/fit_cut_confidence.py [--data ../shared/data/mnist.npz] [--numbers 900]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from compose_numbers import compose

from digitcli import Reader
from digitcli.calibration import calibration_error
from digitcli.mnist import load_mnist
from digitcli.reading import runner

ROOT = Path(__file__).resolve().parent.parent


def mnist_numbers(data: Path, count: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """`count` numbers of 2-5 MNIST test digits, two thirds touching."""
    mnist = load_mnist(data)
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for index in range(count):
        chosen = rng.choice(len(mnist.x_test), int(rng.integers(2, 6)), replace=False)
        inks = []
        for i in chosen:
            rows, columns = np.nonzero(mnist.x_test[i] > 40)
            inks.append(mnist.x_test[i][rows.min():rows.max() + 1, columns.min():columns.max() + 1])
        images.append(compose(inks, touching=index % 3 != 0, rng=rng))
        labels.append("".join(str(int(mnist.y_test[i])) for i in chosen))
    return images, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mnist.npz")
    parser.add_argument("--numbers", type=int, default=900)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    images, labels = mnist_numbers(args.data, args.numbers, args.seed)
    readings: list[runner.Reading] = []
    choose = runner.choose_digits

    def recording(*arguments, **keywords) -> runner.Reading:
        readings.append(choose(*arguments, **keywords))
        return readings[-1]

    runner.choose_digits = recording   # to see each reading's cuts and disagreements
    reader = Reader(engine="threads").configured(cut_confidence=1.0, line_disagreement=1.0, unsteady_line=1.0)
    confidence, right, cuts, disagreements, steadiness = [], [], [], [], []
    for image, label in zip(images, labels):
        readings.clear()
        result = reader.read(image)
        confidence.append(result.confidence or 0.0)
        right.append((result.number or "").replace(" ", "") == label)
        cuts.append(readings[0].cuts if readings else 0)
        disagreements.append(readings[0].disagreements if readings else 0)
        steadiness.append(readings[0].steadiness if readings else ())
    confidence, right = np.array(confidence), np.array(right)
    cuts, disagreements = np.array(cuts), np.array(disagreements)
    print(f"{len(labels)} numbers from MNIST test digits: {right.mean():.1%} read exactly; "
          f"cuts through ink per reading: {np.bincount(cuts).tolist()}; "
          f"segments where the line reader read otherwise: {np.bincount(disagreements).tolist()}")
    best = None
    for share in np.round(np.arange(0.3, 1.05, 0.1), 1):
        unsteady = np.array([sum(each < share for each in shares) for shares in steadiness])
        for factor in np.round(np.arange(1.0, 0.695, -0.01), 2):
            for disagreement in np.round(np.arange(1.0, 0.045, -0.05), 2):
                for unsteady_line in np.round(np.arange(1.0, 0.05, -0.1), 1):
                    scaled = np.clip(confidence * factor ** cuts * disagreement ** disagreements
                                     * unsteady_line ** unsteady, 1e-6, 1 - 1e-6)
                    loss = -np.mean(np.where(right, np.log(scaled), np.log(1 - scaled)))
                    if best is None or loss < best[-2]:
                        best = (factor, disagreement, share, unsteady_line, loss, calibration_error(scaled, right))
    print(f"best: cut_confidence = {best[0]:.2f}, line_disagreement = {best[1]:.2f}, steady_share = {best[2]:.1f}, "
          f"unsteady_line = {best[3]:.1f} (log loss {best[4]:.4f}, calibration error {best[5]:.3f})")


if __name__ == "__main__":
    main()
