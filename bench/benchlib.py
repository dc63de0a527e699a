"""What the benchmarks that score a labelled folder share: where things are,
and their command line (--labelled, --model)."""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "data" / "realworld-dev"
SHIPPED_MODEL = ROOT / "models" / "digitcli.onnx"


def labelled_digits(path: Path) -> list:
    """The labelled images of a folder or manifest that are digits."""
    from digitcli.evaluation import find_labelled_images

    return [item for item in find_labelled_images(path) if item.label is not None]


def labelled_set_arguments(doc: str | None, several_models: bool = False) -> argparse.Namespace:
    """--labelled DIR (default: the real-world dev set beside the checkout)
    and --model (repeatable with several_models; default: the shipped one)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=DEV_SET)
    if several_models:
        parser.add_argument("--model", type=Path, action="append", help="repeat to compare models side by side")
    else:
        parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    args = parser.parse_args()
    if several_models:
        args.model = args.model or [SHIPPED_MODEL]
    return args
