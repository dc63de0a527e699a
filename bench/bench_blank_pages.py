"""Blank pages as people photograph them (a hard shadow, a book's gutter, a
crease, a lighting gradient, a fold, squared paper, an empty form box, a
sheet on a dark table, punched holes) and a form's empty cell scanned
small and noisy: how many does predict read as a confident digit (`ok`,
the worst answer), and how many as `no digit` (the right one)? As shipped,
side by side with paper shapes read as ink, rulings kept and noise
thresholded as ink (PipelineConfig.paper_shapes and remove_ruling off,
one_tone_separation 0: the pipeline before those rules).

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
    readers = {"as shipped": Reader(),
               "rules off": Reader(pipeline=variant(paper_shapes=False, remove_ruling=False,
                                                      one_tone_separation=0.0))}
    print(f"{args.pages} generated blank pages of each kind: how many read as a confident digit (ok) "
          "and how many as no digit")
    print(f"  {'kind':14}" + "".join(f"{name + ': ok / no digit':>38}" for name in readers))
    totals: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for kind in synthetic.BLANK_PAGES:
        pages = [synthetic.blank_page(kind, seed) for seed in range(args.pages)]
        cells = []
        for name, reader in readers.items():
            statuses = collections.Counter(reader.read(page).status.value for page in pages)
            totals[name].update(statuses)
            cells.append(f"{statuses['ok']:>32} / {statuses['no digit']:>3}")
        print(f"  {kind:14}" + "".join(cells))
    pages = args.pages * len(synthetic.BLANK_PAGES)
    print(f"  {'all (' + str(pages) + ')':14}"
          + "".join(f"{totals[name]['ok']:>32} / {totals[name]['no digit']:>3}" for name in readers))


if __name__ == "__main__":
    main()
