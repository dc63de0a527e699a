"""Speed and memory of `digitcli predict`, side by side with a baseline that
does what typical MNIST demo projects do (bench/baseline_demo.py).

    python bench/bench_predict.py [--images DIR] [--runs 5]

Prints: cold start of one image (median of N runs), throughput over a folder
of images in one call (images/s, end to end), peak memory (max RSS of the
process), for both, and the ratios. Needs TensorFlow for the baseline only.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IMAGES = ROOT.parent / "shared" / "data" / "realworld-dev"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def timed_run(command: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of that child)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    pid = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env).pid
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"failed: {' '.join(command[:4])} ...")
    return wall, usage.ru_maxrss / 1024


def digitcli_command(paths: list[str]) -> list[str]:
    return [sys.executable, "-m", "digitcli", "predict", "-f", "jsonl", *paths]


def baseline_command(paths: list[str]) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / "baseline_demo.py"), str(ROOT / "models" / "digitcli.keras"), *paths]


def median_run(command: list[str], runs: int) -> tuple[float, float]:
    results = [timed_run(command) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-baseline", action="store_true", help="Skip the TensorFlow baseline.")
    args = parser.parse_args()
    images = sorted(str(p) for p in args.images.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    one = str(ROOT / "samples" / "0_black_marker.jpg")
    print(f"machine: {os.cpu_count()} cores; images: {len(images)} from {args.images}")

    cold, cold_rss = median_run(digitcli_command([one]), args.runs)
    batch_wall, batch_rss = median_run(digitcli_command(images), max(1, args.runs // 2))
    print(f"digitcli  cold start, one image: {cold:.3f} s (median of {args.runs}), peak {cold_rss:.0f} MB")
    print(f"digitcli  {len(images)} images in one call: {batch_wall:.2f} s = {len(images) / batch_wall:.0f} images/s, "
          f"peak {batch_rss:.0f} MB")
    if args.no_baseline:
        return
    base_cold, base_cold_rss = median_run(baseline_command([one]), args.runs)
    base_wall, base_rss = timed_run(baseline_command(images))
    print(f"baseline  cold start, one image: {base_cold:.3f} s (median of {args.runs}), peak {base_cold_rss:.0f} MB")
    print(f"baseline  {len(images)} images in one call: {base_wall:.2f} s = {len(images) / base_wall:.0f} images/s, "
          f"peak {base_rss:.0f} MB")
    print(f"ratios    cold start {base_cold / cold:.1f}x faster, throughput {base_wall / batch_wall:.1f}x higher, "
          f"peak memory {base_rss / batch_rss:.1f}x smaller")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
