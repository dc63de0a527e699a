"""Models side by side as predict runs them (second look, numbers and all):
on a labelled folder of real digits, throughput and its ratio to the first
model's, accuracy per kind, the share flagged (below --min-confidence) and
the calibration error; on real images that are not digits, the share
flagged. Alternating rounds in one process, so a slow spell of the machine
touches every model alike. For a retrained or larger model against the
shipped one. The first --model is the baseline; each model reads numbers
with the line reader beside it (copy models/digitcli-lines.* beside a new
classifier to compare classifiers alone).

    python bench/bench_models.py --model models/digitcli.onnx --model NEW/digitcli.onnx [--rounds 3]
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
    parser.add_argument("--model", action="append", help="repeat: the first is the baseline")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    models = args.model or [str(SHIPPED_MODEL)]
    items = labelled_digits(args.labelled)
    non_digits = [item.path.read_bytes() for item in find_labelled_images(args.non_digits)]
    loaded = [Reader(model) for model in models]
    readers = {f"{index}: {reader.model_path.parent.name}": reader for index, reader in enumerate(loaded, start=1)}
    print(f"{len(items)} real digits from {args.labelled} ({args.rounds} alternating rounds), "
          f"{len(non_digits)} real non-digits from {args.non_digits}")
    for name, model in zip(readers, models):
        print(f"  {name} = {model}")
    compare_readers(readers, items, non_digits, args.rounds, "model")


if __name__ == "__main__":
    main()
