"""What does reading numbers cost one-digit images? Side by side on a
labelled folder of single digits (the real-world dev set): `--digits 1`
(one digit an image, as before numbers) against the default (however many
digits there are), alternating rounds, in one process: throughput, and
accuracy per kind (a one-digit image read as several digits counts wrong);
and the default without the line reader, where the model has one.

    python bench/bench_numbers.py [--labelled ../shared/data/realworld-dev] [--model models/digitcli.onnx] [--rounds 3]
"""

from __future__ import annotations

import argparse

import numpy as np
from benchlib import DEV_SET, SHIPPED_MODEL, labelled_digits, read_in_rounds

from digitcli import Reader
from digitcli.reading.classifier import load_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", default=DEV_SET)
    parser.add_argument("--model", default=SHIPPED_MODEL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    items = labelled_digits(args.labelled)
    paths = [item.path for item in items]
    data = [path.read_bytes() for path in paths]   # from memory: the pipeline, not the disk, is measured
    classifier = load_classifier(args.model)
    extra = {"workers": args.workers} if args.workers else {}
    readers = {"--digits 1": Reader(classifier, digits=1, **extra), "default": Reader(classifier, **extra)}
    if classifier.line_reader is not None:
        readers["no line reader"] = readers["default"].configured(line_reader=False)
    seconds, results = read_in_rounds(readers, data, args.rounds)
    print(f"{len(items)} one-digit images from {args.labelled}, {args.rounds} alternating rounds")
    groups = sorted({item.group for item in items})
    print(f"  {'mode':15} {'images/s':>9}" + "".join(f"{g:>12}" for g in groups))
    rates = {}
    for name in readers:
        rates[name] = len(items) / seconds[name]
        accuracy = [np.mean([r.digit == item.digit for item, r in zip(items, results[name]) if item.group == g])
                    for g in groups]
        print(f"  {name:15} {rates[name]:9.0f}" + "".join(f"{a:12.2%}" for a in accuracy))
    print(f"  default keeps {rates['default'] / rates['--digits 1']:.0%} of the --digits 1 throughput")
    if "no line reader" in rates:
        print(f"  the line reader (on lone shapes) keeps {rates['default'] / rates['no line reader']:.0%} "
              "of the default's throughput without it")


if __name__ == "__main__":
    main()
