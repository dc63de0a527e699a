"""How fast does Ctrl-C stop a long batch? `digitcli predict` over the
real-world dev set, SIGINT a second after the first row, by worker count:
seconds from the signal to the exit, the exit status (130), and whether
every row written is whole JSON.

    python bench/bench_interrupt.py [--images DIR] [--runs 3] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time

from benchlib import DEV_SET


def interrupted_run(images: str, workers: int, after: float) -> tuple[float, int, int, bool]:
    job = subprocess.Popen([sys.executable, "-m", "digitcli", "predict", "-r", images, "-f", "jsonl",
                            "--workers", str(workers)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = job.stdout.readline()
    time.sleep(after)
    started = time.monotonic()
    job.send_signal(signal.SIGINT)
    rest, _ = job.communicate(timeout=120)
    seconds = time.monotonic() - started
    rows = (first + rest).decode().splitlines()
    whole = True
    for row in rows:
        try:
            json.loads(row)
        except ValueError:
            whole = False
    return seconds, job.returncode, len(rows), whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", default=DEV_SET)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--after", type=float, default=1.0, help="seconds after the first row")
    args = parser.parse_args()
    print(f"SIGINT {args.after:g} s after the first row of predict over {args.images}")
    print(f"  {'workers':>7}  {'seconds to exit':>15}  {'exit':>4}  {'rows':>5}  rows whole")
    for workers in map(int, args.workers.split(",")):
        for _ in range(args.runs):
            seconds, code, rows, whole = interrupted_run(args.images, workers, args.after)
            print(f"  {workers:>7}  {seconds:>15.2f}  {code:>4}  {rows:>5}  {'yes' if whole else 'NO'}")


if __name__ == "__main__":
    main()
