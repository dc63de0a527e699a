"""Blank pages as people photograph them (a hard shadow, a book's gutter, a
crease, a lighting gradient, a fold): how many does predict read as a
confident digit? As shipped, side by side with paper shapes read as ink
(PipelineConfig.paper_shapes off, the pipeline before it had the rule).

    python bench/bench_blank_pages.py [--pages 10]

bench/bench_levers.py shows what the same switch does to the dev set's accuracy.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import synthetic

from digitcli import Reader
from digitcli.reading.pipeline import variant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10, help="pages of each kind")
    args = parser.parse_args()
    readers = {"as shipped": Reader(), "paper shapes read as ink": Reader(pipeline=variant(paper_shapes=False))}
    print(f"{args.pages} generated blank pages of each kind: how many read as a confident digit (status ok)")
    print(f"  {'kind':14}" + "".join(f"{name:>26}" for name in readers))
    totals = collections.Counter()
    for kind in synthetic.BLANK_PAGES:
        pages = [synthetic.blank_page(kind, seed) for seed in range(args.pages)]
        cells = []
        for name, reader in readers.items():
            confident = sum(reader.read(page).status.value == "ok" for page in pages)
            totals[name] += confident
            cells.append(f"{confident:>26}")
        print(f"  {kind:14}" + "".join(cells))
    print(f"  {'all':14}" + "".join(f"{f'{totals[name]} of {args.pages * len(synthetic.BLANK_PAGES)}':>26}"
                                    for name in readers))


if __name__ == "__main__":
    main()
