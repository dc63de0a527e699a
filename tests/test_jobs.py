"""Big jobs: worker processes, streaming stdin, output files that survive a
kill (--output/--resume), --shard, and a Ray cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import synthetic
from conftest import SHIPPED_MODEL, write_image

from digitcli import Reader
from digitcli.reading.runner import as_item, input_bytes


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """600 small drawn digits (and a few numbers), quick to read."""
    root = tmp_path_factory.mktemp("job")
    for index in range(600):
        write_image(root / f"{index:04d}.png", synthetic.digit_on_paper(index % 10, 64, seed=index, thickness=4))
    return root


def predict(*args, stdin=None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "digitcli", "predict", *args], stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_worker_processes_give_the_rows_threads_give(folder):
    paths = sorted(folder.iterdir())
    threads = [r.as_record(True, True) for r in Reader(SHIPPED_MODEL, engine="threads", top_k=2).read_many(paths)]
    processes = [r.as_record(True, True)
                 for r in Reader(SHIPPED_MODEL, engine="processes", workers=2, top_k=2).read_many(paths)]
    assert processes == threads and len(threads) == 600
    byte_chunks = Reader(SHIPPED_MODEL, engine="processes", workers=2, top_k=2).configured(chunk_bytes=2000)
    assert [r.as_record(True, True) for r in byte_chunks.read_many(paths)] == threads   # chunks of an image or two


def test_a_chunks_cost_is_guessed_from_its_inputs_sizes(folder, tmp_path):
    path = min(folder.iterdir())
    assert input_bytes(as_item(path)) == path.stat().st_size > 0
    assert input_bytes(as_item(str(tmp_path / "missing.png"))) == 0
    assert input_bytes(as_item(b"12345")) == 5
    assert input_bytes(as_item(np.zeros((10, 20, 3), np.uint8))) == 600


def test_killed_job_resumes_to_exactly_the_uninterrupted_rows(folder, tmp_path):
    complete = tmp_path / "complete.jsonl"
    subprocess.run([sys.executable, "-m", "digitcli", "predict", str(folder), "-o", str(complete)], check=True,
                   capture_output=True, timeout=120)
    output = tmp_path / "rows.jsonl"
    job = predict(str(folder), "-o", str(output), "--workers", "1", "--engine", "threads")
    deadline = time.monotonic() + 60
    while (not output.exists() or output.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=30)
    written = output.read_bytes()
    assert 0 < written.count(b"\n") < 600, "the kill should land mid-job"
    resumed = subprocess.run([sys.executable, "-m", "digitcli", "predict", str(folder), "-o", str(output),
                              "--resume"], capture_output=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert output.read_bytes() == complete.read_bytes()
    again = subprocess.run([sys.executable, "-m", "digitcli", "predict", str(folder), "-o", str(output),
                            "--resume"], capture_output=True, timeout=120, check=False)
    assert again.returncode == 0 and output.read_bytes() == complete.read_bytes()   # nothing left to do


def test_a_row_cut_short_by_a_kill_is_dropped_and_redone(folder, tmp_path):
    output = tmp_path / "rows.csv"
    subprocess.run([sys.executable, "-m", "digitcli", "predict", str(folder), "-o", str(output)],
                   check=True, capture_output=True, timeout=120)
    complete = output.read_bytes()
    lines = complete.split(b"\n")
    output.write_bytes(b"\n".join(lines[:101]) + b"\n" + lines[101][:7])   # header, 100 rows, half a row
    subprocess.run([sys.executable, "-m", "digitcli", "predict", str(folder), "-o", str(output), "--resume"],
                   check=True, capture_output=True, timeout=120)
    assert output.read_bytes() == complete


def test_resume_refuses_other_inputs(folder, tmp_path):
    output = tmp_path / "rows.jsonl"
    output.write_text(json.dumps({"path": "elsewhere.png"}) + "\n")
    result = subprocess.run([sys.executable, "-m", "digitcli", "predict", str(folder), "-o", str(output),
                             "--resume"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "same inputs" in result.stderr


def test_shards_split_the_inputs_without_overlap(folder):
    shards = []
    for index in range(3):
        result = subprocess.run([sys.executable, "-m", "digitcli", "predict", str(folder), "--shard", f"{index}/3",
                                 "-f", "jsonl"], capture_output=True, text=True, timeout=120, check=True)
        shards.append([json.loads(line)["path"] for line in result.stdout.splitlines()])
    everything = sorted(str(p) for p in folder.iterdir())
    assert sorted(path for shard in shards for path in shard) == everything
    assert shards[1] == everything[1::3]


def test_stdin_rows_come_out_as_paths_arrive(folder):
    job = predict("-", "-f", "jsonl", stdin=subprocess.PIPE)
    try:
        job.stdin.write(f"{folder / '0001.png'}\n".encode())
        job.stdin.flush()
        first = job.stdout.readline()   # before the second path is even written
        assert json.loads(first)["digit"] == 1
        job.stdin.write(f"{folder / '0002.png'}\n".encode())
        job.stdin.close()
        second = job.stdout.readline()
        assert json.loads(second)["digit"] == 2
        assert job.wait(timeout=60) == 0
    finally:
        job.kill()


def as_in_a_terminal() -> None:
    """Ctrl-C as a foreground job gets it: a shell starts background jobs
    (`cmd &`, a CI runner's) with SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_a_long_batch_quickly(folder):
    job = predict(str(folder), str(folder), str(folder), "-f", "jsonl", "--workers", "2",
                  preexec_fn=as_in_a_terminal)
    job.stdout.readline()   # it is reading
    # Go on reading the rows, as a terminal does. Were they left to fill the
    # pipe, predict's main thread would wait in a write, and Ctrl-C can be
    # handed to one of its native threads (OpenBLAS's, say), which leaves
    # that write waiting until the reader reads or goes away.
    drain = threading.Thread(target=job.stdout.read, daemon=True)
    drain.start()
    started = time.monotonic()
    job.send_signal(signal.SIGINT)
    assert job.wait(timeout=30) == 130
    assert time.monotonic() - started < 5


def test_ray_engine_gives_the_local_rows(folder):
    pytest.importorskip("ray.data")
    paths = [str(p) for p in sorted(folder.iterdir())[:200]] + [str(folder / "missing.png")]
    env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    local = subprocess.run([sys.executable, "-m", "digitcli", "predict", *paths, "-f", "jsonl", "--boxes"],
                           capture_output=True, text=True, timeout=120, check=False)
    on_ray = subprocess.run([sys.executable, "-m", "digitcli", "predict", *paths, "-f", "jsonl", "--boxes",
                             "--engine", "ray", "--workers", "2"], capture_output=True, text=True, timeout=300,
                            check=False, env=env)
    assert on_ray.returncode == local.returncode == 1, on_ray.stderr[-3000:]
    assert on_ray.stdout == local.stdout
