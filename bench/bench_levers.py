"""What does each stage of the photo pipeline gain? Accuracy per kind of a
labelled folder with the shipped model, as shipped and with one stage at a
time switched off (PipelineConfig's switches) or replaced by the simpler
thing a demo project does.

    python bench/bench_levers.py [--labelled ../shared/data/realworld-dev] [--model models/digitcli.onnx]

The model was trained with 30% of its digits made by this very pipeline, so
each figure measures the stage in place, not a model retrained without it.
"""

from __future__ import annotations

import dataclasses

from benchlib import labelled_set_arguments

from digitcli import Reader
from digitcli.config import SETTINGS
from digitcli.evaluation.labelled import evaluate_photos, find_labelled_images
from digitcli.reading.classifier import load_classifier
from digitcli.reading.pipeline import variant

VARIANTS = {
    "as shipped": {},
    "no stroke-width normalisation": {"pipeline": variant(normalise_stroke=False)},
    "centred by box, not by mass": {"pipeline": variant(centre_by_mass=False)},
    "fills 26x26, not MNIST's 20x20 box": {"convention": dataclasses.replace(SETTINGS.image, box=26)},
    "binarised, no anti-aliasing": {"pipeline": variant(anti_alias=False)},
    "polarity from the border only": {"pipeline": variant(line_polarity=False)},
    "no shading removal": {"pipeline": variant(remove_shading=False)},
    "largest component only": {"pipeline": variant(merge_strokes=False)},
    "paper shapes read as ink": {"pipeline": variant(paper_shapes=False)},
}


def main() -> None:
    args = labelled_set_arguments(__doc__)
    classifier = load_classifier(args.model)
    items = find_labelled_images(args.labelled)
    results = {name: evaluate_photos(items, Reader(classifier, **settings)) for name, settings in VARIANTS.items()}
    groups = list(results["as shipped"].by_group)
    print(f"{args.model} on {args.labelled}: accuracy (change from as shipped)")
    print(f"  {'variant':38}" + "".join(f"{g:>18}" for g in [*groups, "all"]))
    base = results["as shipped"]
    for name, result in results.items():
        cells = []
        for group in [*groups, "all"]:
            metrics = result.metrics if group == "all" else result.by_group[group]
            reference = base.metrics if group == "all" else base.by_group[group]
            delta = "" if result is base else f" ({metrics.accuracy - reference.accuracy:+.1%})"
            cells.append(f"{metrics.accuracy:.1%}{delta}".rjust(18))
        print(f"  {name:38}" + "".join(cells))


if __name__ == "__main__":
    main()
