"""Load test of `digitcli serve`: 1,000 requests from 20 clients, side by side
with one client alone, the Reader in-process (no HTTP), and the alternative
the server replaces, a `digitcli predict` process per image.

    python bench/bench_serve.py [--images DIR] [--requests 1000] [--clients 20] [--workers N]

The server is the real one (`digitcli serve --port 0`, uvicorn) in its own
process; the clients are threads in this one, each with a keep-alive
connection, posting real images (default: the real-world dev set) in turn.
Prints throughput, latency percentiles, the server's peak memory, and the
ratios. Needs the [serve] extra.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchlib import tree_memory_mb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IMAGES = ROOT.parent / "shared" / "data" / "realworld-dev"
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def image_bytes(folder: Path, count: int) -> list[tuple[str, bytes]]:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not paths:
        raise SystemExit(f"no images under {folder}")
    step = max(1, len(paths) // count)
    return [(str(p), p.read_bytes()) for p in paths[::step][:count]]


def start_server(workers: int | None) -> tuple[subprocess.Popen, str, int]:
    command = [sys.executable, "-m", "digitcli", "serve", "--port", "0"]
    if workers:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = process.stderr.readline()
    match = re.search(r"http://([\d.]+):(\d+)", line)
    if not match:
        raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
    # drain the request log, or the server blocks on a full pipe
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
    return process, match.group(1), int(match.group(2))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def load(host: str, port: int, images: list[tuple[str, bytes]], requests: int, clients: int) -> dict:
    """`requests` POSTs shared among `clients` threads; latencies in ms."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_client = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=120)
        for n in range(per_client[index]):
            _, body = images[(index * 7919 + n) % len(images)]
            started = time.perf_counter()
            connection.request("POST", "/api/read", body=body, headers={"Content-Type": "application/octet-stream"})
            response = connection.getresponse()
            answer = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status not in (200, 422):
                    failures.append(f"{response.status} {answer[:80]!r}")
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"requests": len(latencies), "seconds": seconds, "per_second": len(latencies) / seconds,
            "p50": percentile(latencies, 0.5), "p90": percentile(latencies, 0.9),
            "p99": percentile(latencies, 0.99), "max": max(latencies), "failures": failures}


def in_process(images: list[tuple[str, bytes]], count: int) -> dict:
    from digitcli import Reader

    reader = Reader(workers=1, engine="threads")
    reader.read(images[0][1])   # warm
    latencies = []
    started = time.perf_counter()
    for n in range(count):
        t = time.perf_counter()
        reader.read(images[n % len(images)][1])
        latencies.append((time.perf_counter() - t) * 1000)
    seconds = time.perf_counter() - started
    return {"requests": count, "per_second": count / seconds, "p50": percentile(latencies, 0.5),
            "p90": percentile(latencies, 0.9), "p99": percentile(latencies, 0.99)}


def process_per_image(images: list[tuple[str, bytes]], count: int) -> dict:
    latencies = []
    for path, _ in images[:count]:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "digitcli", "predict", path], capture_output=True, check=False)
        latencies.append((time.perf_counter() - t) * 1000)
    return {"requests": count, "per_second": count / (sum(latencies) / 1000), "p50": percentile(latencies, 0.5),
            "p90": percentile(latencies, 0.9), "p99": percentile(latencies, 0.99)}


def serve_rows(images: list[tuple[str, bytes]], workers: int | None, requests: int, clients: int) -> dict:
    """One client alone, then `clients` at once, against one server."""
    process, host, port = start_server(workers)
    label = f"--workers {workers}" if workers else "default workers"
    try:
        load(host, port, images, 20, 1)   # warm
        rows = {f"HTTP {label}, 1 client": load(host, port, images, min(200, requests), 1),
                f"HTTP {label}, {clients} clients": load(host, port, images, requests, clients)}
        for row in rows.values():
            row["memory"] = tree_memory_mb(process.pid, "VmHWM")
    finally:
        process.terminate()
        process.wait(timeout=10)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES if DEFAULT_IMAGES.is_dir() else ROOT / "samples")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, action="append",
                        help="the server's --workers; repeat to compare side by side (default: 1, and its default)")
    parser.add_argument("--processes", type=int, default=10, help="images read by a process each, for the baseline")
    args = parser.parse_args()
    images = image_bytes(args.images, 200)
    print(f"{len(images)} images from {args.images}, mean {statistics.mean(len(b) for _, b in images) / 1024:.0f} KB; "
          f"{os.cpu_count()} cores", flush=True)

    baseline = "in-process Reader.read, 1 caller"
    rows = {baseline: in_process(images, 200)}
    for workers in args.workers or [1, None]:
        rows.update(serve_rows(images, workers, args.requests, args.clients))
    rows["a predict process per image"] = process_per_image(images, args.processes)

    print(f"\n{'':40} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'peak MB':>8}")
    for name, row in rows.items():
        memory = f"{row['memory']:8.0f}" if "memory" in row else f"{'':8}"
        print(f"{name:40} {row['requests']:8d} {row['per_second']:8.1f} {row['p50']:8.1f} {row['p90']:8.1f} "
              f"{row['p99']:8.1f} {memory}")
    print()
    alone = rows[baseline]
    for name, row in rows.items():
        if name.endswith(f"{args.clients} clients"):
            one = rows[name.replace(f"{args.clients} clients", "1 client")]
            failed = len(row["failures"])
            print(f"{name}: x{row['per_second'] / one['per_second']:.2f} the throughput of 1 client, "
                  f"x{row['per_second'] / alone['per_second']:.2f} of the in-process Reader; p50 latency "
                  f"x{row['p50'] / one['p50']:.1f}, p99 x{row['p99'] / one['p99']:.1f}; {failed} failed"
                  + (f" (first: {row['failures'][0]})" if failed else ""))
    per_process = rows["a predict process per image"]["per_second"]
    ones = [row for name, row in rows.items() if name.endswith("1 client")]
    print(f"a server (1 client) vs a predict process per image: x{ones[-1]['per_second'] / per_process:.0f} "
          "throughput")
    print(json.dumps({name: {k: round(v, 2) if isinstance(v, float) else v for k, v in row.items() if k != "failures"}
                      for name, row in rows.items()}))


if __name__ == "__main__":
    main()
