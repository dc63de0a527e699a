"""Test-time augmentation as predict does it, against none, side by side:
predict's second look (a digit read with less than `second_look_below` is
read again zoomed in and out, and the three readings averaged), the same for
every digit, and no second look. Per mode, on a labelled folder of real
digits: accuracy per kind, the share flagged (below --min-confidence) and
the calibration error; on real images that are not digits, the share
flagged; and throughput, in alternating rounds in one process.

    python bench/bench_tta.py [--labelled ../shared/data/realworld-dev] [--non-digits DIR] [--model M] [--rounds 3]
"""

from __future__ import annotations

import argparse

import numpy as np
from benchlib import DEV_SET, NON_DIGITS_SET, SHIPPED_MODEL, labelled_digits, read_in_rounds

from digitcli import Reader
from digitcli.calibration import calibration_error
from digitcli.evaluation.labelled import find_labelled_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", default=DEV_SET)
    parser.add_argument("--non-digits", default=NON_DIGITS_SET)
    parser.add_argument("--model", default=SHIPPED_MODEL)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    items = labelled_digits(args.labelled)
    data = [item.path.read_bytes() for item in items]   # from memory: reading, not the disk, is measured
    non_digits = [item.path.read_bytes() for item in find_labelled_images(args.non_digits)]
    predict = Reader(args.model)
    readers = {"none": predict.configured(second_look_zooms=()),
               "every digit": predict.configured(second_look_below=float("inf")),
               "predict's": predict}
    seconds, results = read_in_rounds(readers, data, args.rounds)
    groups = sorted({item.group for item in items})
    print(f"{len(items)} real digits from {args.labelled} ({args.rounds} alternating rounds), "
          f"{len(non_digits)} real non-digits from {args.non_digits}")
    print(f"  {'second look':12} {'images/s':>9} {'ratio':>6}" + "".join(f"{g:>10}" for g in groups)
          + f" {'flagged':>8} {'ECE':>6} {'non-digits flagged':>19}")
    base_rate = len(items) / seconds["none"]
    for name, reader in readers.items():
        rate = len(items) / seconds[name]
        correct = np.array([r.number == item.label for item, r in zip(items, results[name])])
        confidence = np.array([r.confidence or 0.0 for r in results[name]])
        accuracy = [correct[[item.group == g for item in items]].mean() for g in groups]
        flagged = np.mean([r.flagged for r in results[name]])
        rejected = np.mean([r.flagged for r in reader.read_many(non_digits)])
        print(f"  {name:12} {rate:9.0f} {rate / base_rate:6.2f}" + "".join(f"{a:10.2%}" for a in accuracy)
              + f" {flagged:8.2%} {calibration_error(confidence, correct):6.3f} {rejected:19.1%}")


if __name__ == "__main__":
    main()
