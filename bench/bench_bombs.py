"""Peak memory of `digitcli predict` over a folder of decompression bombs,
side by side with the same run over the ordinary images alone.

    python bench/bench_bombs.py [--workers 4] [--copies 4]

The folder (scripts/bombs.py): a header claiming a huge image in each format
(PNG, JPEG with fill bytes, GIF, BMP RLE, WebP, TIFF), a 1.6 GB-decoded
16-bit RGBA PNG, `--copies` real 144-megapixel PNGs (read, one at a time
across the workers; named to fall in different workers' chunks), and 300
ordinary photos so that worker processes are used. Memory is the resident size of predict and all its workers, summed,
sampled every 20 ms. Prints rows out by status and the peak, for both runs.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bombs
from benchlib import tree_memory_mb


def run(folder: Path, workers: int) -> tuple[float, float, collections.Counter]:
    command = [sys.executable, "-m", "digitcli", "predict", str(folder), "--workers", str(workers), "-f", "jsonl"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_memory_mb(process.pid))
        time.sleep(0.02)
    statuses = collections.Counter(json.loads(line)["status"] for line in process.stdout.read().splitlines())
    return peak, time.perf_counter() - started, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--copies", type=int, default=4, help="real 144-megapixel PNGs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        plain, mixed = Path(temp) / "plain", Path(temp) / "bombs"
        plain.mkdir()
        samples = sorted((ROOT / "samples").glob("[0-9]*.*"))
        for index in range(300):
            source = samples[index % len(samples)]
            shutil.copy(source, plain / f"{index:03d}{source.suffix}")
        shutil.copytree(plain, mixed)
        built = bombs.bench_bombs()
        big = built.pop("png-rgb-12000.png")
        for name, data in built.items():
            (mixed / name).write_bytes(data)
        for copy in range(args.copies):
            (mixed / f"{copy * 64:03d}-png-rgb-12000.png").write_bytes(big)   # one in each chunk of 64
        print(f"--workers {args.workers}: 300 photos, then the same with {len(built)} bombs and "
              f"{args.copies} real 144 MP PNGs\n")
        print(f"{'':28} {'peak MB':>8} {'seconds':>8}  rows")
        for name, folder in (("photos alone", plain), ("photos and bombs", mixed)):
            peak, seconds, statuses = run(folder, args.workers)
            print(f"{name:28} {peak:8.0f} {seconds:8.1f}  {dict(statuses)}")


if __name__ == "__main__":
    main()
