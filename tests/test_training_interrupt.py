"""A training run stopped at any point leaves the previous model usable, and
`--resume` carries on from the last checkpoint. Real processes, real signals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SHIPPED_MODEL

from digitcli.reading.classifier import load_classifier

pytest.importorskip("tensorflow")


@pytest.fixture
def existing_model(tmp_path) -> Path:
    out = tmp_path / "model"
    out.mkdir()
    for suffix in (".keras", ".onnx", ".json"):
        shutil.copy(SHIPPED_MODEL.with_suffix(suffix), out)
    return out


def start_training(data: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", "digitcli", "train", "--data", str(data), "--output", str(out),
         "--batch-size", "16", "--validation-size", "100", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.2)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_killed_training_leaves_the_previous_model(tiny_npz, existing_model, sig):
    before = snapshot(existing_model)
    process = start_training(tiny_npz, existing_model, "--epochs", "50")
    wait_for(existing_model / ".checkpoint" / "state.json", process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    if sig != signal.SIGKILL:
        assert process.returncode == 130, stderr
        assert "--resume" in stderr and "Traceback" not in stderr
    assert snapshot(existing_model) == before
    probs = load_classifier(existing_model / "digitcli.onnx").probabilities(np.zeros((1, 28, 28), np.float32))
    assert probs.shape == (1, 10)


def test_resume_continues_from_the_checkpoint(tiny_npz, tmp_path):
    out = tmp_path / "fresh"
    process = start_training(tiny_npz, out, "--epochs", "50")
    wait_for(out / ".checkpoint" / "state.json", process)
    process.send_signal(signal.SIGINT)
    _, stopped = process.communicate(timeout=120)
    assert not (out / "digitcli.onnx").exists(), stopped
    resumed = start_training(tiny_npz, out, "--epochs", "2", "--resume")
    _, stderr = resumed.communicate(timeout=240)
    said = f"interrupted run:\n{stopped}\nresumed run:\n{stderr}"   # both, should this ever fail
    assert resumed.returncode == 0, said
    assert "resuming after epoch" in stderr, said
    assert (out / "digitcli.onnx").exists() and (out / "digitcli.json").exists(), said
    history = json.loads((out / "digitcli.json").read_text())["training"]["history"]
    epochs = [h["epoch"] for h in history]   # the epochs before the interrupt are kept
    assert len(epochs) >= 2 and epochs == list(range(1, len(epochs) + 1)), (epochs, said)
