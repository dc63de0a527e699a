"""Does throughput grow with the cores? `digitcli predict` over the
real-world dev set repeated (4 times by default), by worker count, with the
thread engine (the old one) and worker processes, side by side in one run:
images per second, the speed-up over one worker, and peak memory of the
whole process tree (PSS, so that pages the workers share count once).
Then a replay: each image's reading time, measured here on one core, put
through predict's chunking (chunks closed at `chunk_size` images, or also
at `chunk_bytes`) and handed to W workers as they come free: the speed-up
the schedule alone allows, without start-up or contention, to compare with
the measured one.

    python bench/bench_scale.py [--images DIR] [--repeat 4] [--rounds 3] [--workers 1,2,4,...]
"""

from __future__ import annotations

import argparse
import heapq
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from benchlib import DEV_SET, tree_memory_mb

from digitcli import Reader
from digitcli.config import SETTINGS
from digitcli.reading.runner import as_item, classify, prepare_item

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def measure(list_file: str, workers: int, engine: str) -> tuple[float, float]:
    """Wall seconds and peak PSS of one predict run over the listed paths."""
    command = [sys.executable, "-m", "digitcli", "predict", "-", "-f", "jsonl", "--workers", str(workers),
               "--engine", engine]
    peak = 0.0
    with open(list_file, "rb") as stdin:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_memory_mb(process.pid, "Pss", "smaps_rollup"))
                time.sleep(0.25)   # reading smaps costs CPU: sample sparingly

        watcher = threading.Thread(target=watch)
        watcher.start()
        process.wait()
        seconds = time.perf_counter() - start
        done.set()
        watcher.join()
    return seconds, peak


def reading_seconds(paths: list[str]) -> dict[str, float]:
    """Each distinct image's time to read end to end, on this core."""
    cv2.setNumThreads(1)
    reader = Reader()
    seconds = {}
    for path in dict.fromkeys(paths):
        start = time.perf_counter()
        classify([prepare_item(as_item(path))], reader.classifier, reader.config)
        seconds[path] = time.perf_counter() - start
    return seconds


def chunk_seconds(paths: list[str], seconds: dict[str, float], size: int, limit: float) -> list[float]:
    """The chunks predict hands out, as their reading times."""
    chunks, current, count, held = [], 0.0, 0, 0
    for path in paths:
        current, count, held = current + seconds[path], count + 1, held + os.path.getsize(path)
        if count >= size or held >= limit:
            chunks.append(current)
            current, count, held = 0.0, 0, 0
    return chunks + ([current] if count else [])


def replayed_speedup(chunks: list[float], workers: int) -> float:
    """One worker's time over W workers', each taking the next chunk when free."""
    free = [0.0] * workers
    for chunk in chunks:
        heapq.heappush(free, heapq.heappop(free) + chunk)
    return sum(chunks) / max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEV_SET)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    cores = os.cpu_count() or 1
    default_workers = sorted({1, 2, *[w for w in (4, 8, 16, 32) if w <= cores], cores})
    parser.add_argument("--workers", default=",".join(map(str, default_workers)))
    args = parser.parse_args()
    images = sorted(str(p) for p in args.images.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) * args.repeat
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(images) + "\n")
    print(f"{len(images)} images ({args.images} x{args.repeat}), {cores} cores; each run is one digitcli "
          f"predict, read from stdin; {args.rounds} rounds, each running every row once, in turn: the median "
          "run, and the speed-up of each round")
    print(f"  {'workers':>7} {'engine':>9} {'seconds':>8} {'images/s':>9} {'vs 1 worker':>12} {'rounds':>18} "
          f"{'peak PSS':>9}")
    rows = [(workers, engine) for workers in map(int, args.workers.split(",")) for engine in ("threads", "processes")]
    runs: dict[tuple[int, str], list[tuple[float, float]]] = {row: [] for row in rows}
    for _ in range(args.rounds):   # in turn, so that a slow spell of the machine touches every row alike
        for row in rows:
            runs[row].append(measure(handle.name, *row))
    for workers, engine in rows:
        seconds = [run[0] for run in runs[(workers, engine)]]
        first = [run[0] for run in runs[(rows[0][0], engine)]]
        speedups = [one / each for one, each in zip(first, seconds)]
        median = float(np.median(seconds))
        peak = max(run[1] for run in runs[(workers, engine)])
        print(f"  {workers:7d} {engine:>9} {median:8.2f} {len(images) / median:9.0f} "
              f"{float(np.median(first)) / median:11.2f}x {' '.join(f'{x:.2f}' for x in speedups):>18} "
              f"{peak:7.0f} MB", flush=True)
    os.unlink(handle.name)
    seconds = reading_seconds(images)
    config = SETTINGS.predict
    print(f"replay of the chunk schedule ({sum(seconds[p] for p in images):.1f} s on one core):")
    for name, limit in ((f"chunks of {config.chunk_size} images", float("inf")),
                        (f"...or {config.chunk_bytes:,} bytes (predict)", config.chunk_bytes)):
        chunks = chunk_seconds(images, seconds, config.chunk_size, limit)
        print(f"  {name:34}" + "".join(f"  {w} workers {replayed_speedup(chunks, w):5.2f}x"
                                       for w in (2, 4, 8, 16, 32)))


if __name__ == "__main__":
    main()
