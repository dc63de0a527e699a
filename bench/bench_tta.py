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

from benchlib import DEV_SET, NON_DIGITS_SET, SHIPPED_MODEL, compare_readers, labelled_digits

from digitcli import Reader
from digitcli.evaluation.labelled import find_labelled_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", default=DEV_SET)
    parser.add_argument("--non-digits", default=NON_DIGITS_SET)
    parser.add_argument("--model", default=SHIPPED_MODEL)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    items = labelled_digits(args.labelled)
    non_digits = [item.path.read_bytes() for item in find_labelled_images(args.non_digits)]
    predict = Reader(args.model)
    readers = {"none": predict.configured(second_look_zooms=()),
               "every digit": predict.configured(second_look_below=float("inf")),
               "predict's": predict}
    print(f"{len(items)} real digits from {args.labelled} ({args.rounds} alternating rounds), "
          f"{len(non_digits)} real non-digits from {args.non_digits}")
    compare_readers(readers, items, non_digits, args.rounds, "second look")


if __name__ == "__main__":
    main()
