"""What the benchmarks that score a labelled folder share: where things are,
their command line (--labelled, --model), and reading a labelled set into
the 28x28 digits the model sees."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DEV_SET = DATA / "realworld-dev"
NON_DIGITS_SET = DATA / "not-digits-dev"
SHIPPED_MODEL = ROOT / "models" / "digitcli.onnx"


def labelled_digits(path: Path) -> list:
    """The labelled images of a folder or manifest that are digits."""
    from digitcli.evaluation.labelled import find_labelled_images

    return [item for item in find_labelled_images(path) if item.label is not None]


def prepared_digits(reader, items: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 28x28 digits predict's pipeline makes of labelled images, with
    their labels and groups (images where it finds no digit are left out)."""
    results = list(reader.read_many(item.path for item in items))
    found = [i for i, r in enumerate(results) if r.prepared is not None and r.prepared.found]
    return (np.stack([results[i].prepared.digit for i in found]), np.array([items[i].digit for i in found]),
            np.array([items[i].group for i in found]))


def read_in_rounds(readers: dict, images: list, rounds: int) -> tuple[dict[str, float], dict[str, list]]:
    """Each reader reads all the images, in turn, `rounds` times: a slow
    spell of the machine touches every reader alike. Returns each reader's
    median seconds and its last results."""
    seconds: dict[str, list[float]] = {name: [] for name in readers}
    results: dict[str, list] = {}
    for _ in range(rounds):
        for name, reader in readers.items():
            start = time.perf_counter()
            results[name] = list(reader.read_many(images))
            seconds[name].append(time.perf_counter() - start)
    return {name: float(np.median(times)) for name, times in seconds.items()}, results


def labelled_set_arguments(doc: str | None, several_models: bool = False) -> argparse.Namespace:
    """--labelled DIR (default: the real-world dev set beside the checkout)
    and --model (repeatable with several_models; default: the shipped one)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=DEV_SET)
    if several_models:
        parser.add_argument("--model", type=Path, action="append", help="repeat to compare models side by side")
        parser.add_argument("--non-digits", type=Path, default=NON_DIGITS_SET,
                            help="a folder or manifest of real images that are not digits")
    else:
        parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    args = parser.parse_args()
    if several_models:
        args.model = args.model or [SHIPPED_MODEL]
    return args


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc), e.g. predict's or a
    server's worker processes."""
    tree, stack = [], [pid]
    while stack:
        each = stack.pop()
        tree.append(each)
        try:
            stack += [int(c) for c in Path(f"/proc/{each}/task/{each}/children").read_text().split()]
        except OSError:
            pass
    return tree


def tree_memory_mb(pid: int, field: str = "VmRSS", source: str = "status") -> float:
    """A memory field summed over a process tree, in MB: from /proc/PID/status
    (VmRSS now, VmHWM the peak; shared pages counted in each process, an
    upper bound) or from smaps_rollup (Pss: shared pages split fairly)."""
    total = 0
    for each in process_tree(pid):
        try:
            lines = Path(f"/proc/{each}/{source}").read_text().splitlines()
            total += int(next(line.split()[1] for line in lines if line.startswith(field + ":")))
        except (OSError, StopIteration):
            pass
    return total / 1024


def compare_readers(readers: dict, items: list, non_digits: list[bytes], rounds: int, title: str) -> None:
    """Print, per reader (the first is the baseline), throughput and its ratio
    to the baseline's (alternating rounds, one process), accuracy per kind,
    the share of digits flagged, the calibration error, and the share of real
    non-digits flagged."""
    from digitcli.calibration import calibration_error

    data = [item.path.read_bytes() for item in items]   # from memory: reading, not the disk, is measured
    seconds, results = read_in_rounds(readers, data, rounds)
    groups = sorted({item.group for item in items})
    print(f"  {title:14} {'images/s':>9} {'ratio':>6}" + "".join(f"{g:>10}" for g in groups)
          + f" {'flagged':>8} {'ECE':>6} {'non-digits flagged':>19}")
    base_rate = len(items) / seconds[next(iter(readers))]
    for name, reader in readers.items():
        rate = len(items) / seconds[name]
        correct = np.array([r.number == item.label for item, r in zip(items, results[name])])
        confidence = np.array([r.confidence or 0.0 for r in results[name]])
        accuracy = [correct[[item.group == g for item in items]].mean() for g in groups]
        flagged = np.mean([r.flagged for r in results[name]])
        rejected = np.mean([r.flagged for r in reader.read_many(non_digits)])
        print(f"  {name:14} {rate:9.0f} {rate / base_rate:6.2f}" + "".join(f"{a:10.2%}" for a in accuracy)
              + f" {flagged:8.2%} {calibration_error(confidence, correct):6.3f} {rejected:19.1%}")
