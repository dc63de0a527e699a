"""What does each step of the photo pipeline gain? Accuracy per kind of a
labelled folder with the shipped model, as shipped and with one step at a
time switched off or replaced by the simpler thing a demo project does.

    python bench/bench_levers.py [--labelled ../shared/data/realworld-dev] [--model models/digitcli.onnx]

The model was trained with 30% of its digits made by this very pipeline, so
each figure measures the step in place, not a model retrained without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
from benchlib import labelled_set_arguments

from digitcli import preprocess as P
from digitcli.config import SETTINGS
from digitcli.evaluation import evaluate_photos, find_labelled_images
from digitcli.preprocess import fit_in_box, select_digit  # the originals, which variants build on
from digitcli.runtime import load_classifier


def centre_of_box(boxed: np.ndarray, image=SETTINGS.image) -> np.ndarray:
    out = np.zeros((image.size, image.size), np.float32)
    offset = (image.size - boxed.shape[0]) // 2
    out[offset:offset + boxed.shape[0], offset:offset + boxed.shape[1]] = boxed
    return out


def fill_frame(crop: np.ndarray, image=SETTINGS.image) -> np.ndarray:
    return fit_in_box(crop, dataclasses.replace(image, box=image.size - 2))


def binarised(crop: np.ndarray, image=SETTINGS.image) -> np.ndarray:
    return (fit_in_box(crop, image) > 0.5).astype(np.float32)


def largest_component_only(mask: np.ndarray, config=SETTINGS.pipeline):
    return select_digit(mask, dataclasses.replace(config, merge_distance_fraction=-10.0))


VARIANTS: dict[str, dict[str, Callable]] = {
    "as shipped": {},
    "no stroke-width normalisation": {"normalise_stroke": lambda crop, image=SETTINGS.image: crop},
    "centred by box, not by mass": {"centre_by_mass": centre_of_box},
    "fills 26x26, not MNIST's 20x20 box": {"fit_in_box": fill_frame},
    "binarised, no anti-aliasing": {"fit_in_box": binarised},
    "polarity from the border only": {"ink_is_dark": lambda gray, config=SETTINGS.pipeline:
                                      P._border_says_dark_ink(gray)},
    "no shading removal": {"remove_background": lambda ink, config=SETTINGS.pipeline: ink},
    "largest component only": {"select_digit": largest_component_only},
}


@contextmanager
def patched(replacements: dict[str, Callable]):
    saved = {name: getattr(P, name) for name in replacements}
    for name, function in replacements.items():
        setattr(P, name, function)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(P, name, function)


def main() -> None:
    args = labelled_set_arguments(__doc__)
    classifier = load_classifier(args.model)
    items = find_labelled_images(args.labelled)
    results = {}
    for name, replacements in VARIANTS.items():
        with patched(replacements):
            results[name] = evaluate_photos(items, classifier)
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
