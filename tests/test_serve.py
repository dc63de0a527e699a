"""`digitcli serve`'s HTTP API, through Starlette's ASGI test client, and the
real server process (bind, log lines, SIGTERM). The page in a real browser is
tests/test_browser.py."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
import synthetic
from conftest import SHIPPED_MODEL

pytest.importorskip("starlette", reason='needs the [serve] extra: pip install ".[serve]"')
httpx = pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2 (the [test] extra)")

from starlette.testclient import TestClient

from digitcli import Reader
from digitcli.config import ServeConfig
from digitcli.reading.pool import InProcessPool, ReaderPool
from digitcli.server.app import create_app

ROOT = Path(__file__).resolve().parent.parent


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(SHIPPED_MODEL)


@pytest.fixture(scope="module")
def client(reader) -> TestClient:
    """The app as served: two worker processes, started and stopped with it."""
    with TestClient(create_app(reader, ServeConfig(workers=2), log=None)) as client:
        yield client


@pytest.fixture(scope="module")
def seven() -> bytes:
    return jpeg(synthetic.digit_on_paper(7, 240, seed=3))


def test_raw_body_gets_predicts_record(client, reader, seven):
    response = client.post("/api/read", content=seven, headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 200
    assert response.json() == reader.read(seven).as_record()
    assert response.json()["number"] == "7" and response.json()["status"] == "ok"


def test_the_record_is_the_one_predict_writes(client, seven, tmp_path):
    """The same image through the CLI and the API gives the same fields."""
    image = tmp_path / "seven.jpg"
    image.write_bytes(seven)
    row = json.loads(subprocess.run([sys.executable, "-m", "digitcli", "predict", str(image), "--boxes", "-k", "3"],
                                    capture_output=True, text=True, timeout=120, check=True).stdout)
    with image.open("rb") as handle:
        record = client.post("/api/read?boxes=1&top_k=3", files={"file": ("seven.jpg", handle, "image/jpeg")}).json()
    assert record == {**row, "path": "seven.jpg"}


def number_on_paper(text: str) -> np.ndarray:
    return synthetic.draw_number(np.full((160, 400, 3), 235, np.uint8), text, (80, 80), 80, seed=5)


def test_a_number_with_boxes_and_crops(client):
    record = client.post("/api/read?boxes=1&crops=1", content=png(number_on_paper("407"))).json()
    assert record["number"] == "407", record
    assert len(record["digits"]) == len(record["crops"]) == 3
    for url in record["crops"]:
        assert url.startswith("data:image/png;base64,")
        crop = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_UNCHANGED)
        assert crop.shape == (28, 28) and crop.max() > 128   # white digit on black, as MNIST


def test_digits_option_reads_exactly_n(client):
    record = client.post("/api/read?digits=1", content=png(number_on_paper("407"))).json()
    assert record["number"] is not None and len(record["number"]) == 1


def test_non_image_is_422_with_the_records_error(client):
    response = client.post("/api/read", content=b"/etc/passwd")   # bytes, never a path to open
    assert response.status_code == 422
    record = response.json()
    assert record["status"] == "error" and "not an image" in record["error"] and record["digit"] is None


def test_form_without_a_file_field_is_422(client, seven):
    response = client.post("/api/read", files={"photo": ("seven.jpg", seven, "image/jpeg")})
    assert response.status_code == 422 and "'file' field" in response.json()["error"]


def test_body_over_the_limit_is_413(reader, seven):
    small = TestClient(create_app(reader, ServeConfig(max_bytes=len(seven) - 1, workers=1), log=None))
    response = small.post("/api/read", content=seven)
    assert response.status_code == 413 and "over the limit" in response.json()["error"]

    def chunks():   # no Content-Length: counted as it streams in
        for start in range(0, len(seven), 1000):
            yield seven[start:start + 1000]

    response = small.post("/api/read", content=chunks())
    assert response.status_code == 413
    assert small.post("/api/read", content=seven[:100]).status_code == 422   # under the limit: read, not refused


def test_bad_query_is_400(client, seven):
    response = client.post("/api/read?top_k=0", content=seven)
    assert response.status_code == 400 and "top_k" in response.json()["error"]


def test_wrong_method_is_405_and_unknown_path_404(client):
    response = client.get("/api/read")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json() == {"error": "Method Not Allowed"}
    assert client.post("/api/health").status_code == 405
    assert client.get("/etc/passwd").status_code == 404


def test_health_and_model(client):
    assert client.get("/api/health").json() == {"status": "ok"}
    model = client.get("/api/model").json()
    assert model["file"] == "digitcli.onnx" and "/" not in model["file"]   # no server paths
    assert model["metrics"]["mnist_test_accuracy"] > 0.99 and model["min_confidence"] == 0.5


def test_page_is_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/page.js", "/page.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200
    everything = page.text + client.get("/page.js").text + client.get("/page.css").text
    assert not re.search(r"(https?:)?//[a-z]", everything.replace("http://www.w3.org", "")), "an external asset"


@dataclass
class CountingClassifier:
    """The shipped model, counting how many calls run at once."""

    inner: object
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: int = 0
    most: int = 0

    def __post_init__(self):
        self.path, self.card = self.inner.path, self.inner.card

    def probabilities(self, digits):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)
            return self.inner.probabilities(digits)
        finally:
            with self.lock:
                self.running -= 1


def test_readings_at_a_time_are_limited_in_process(reader, seven):
    counting = CountingClassifier(reader.classifier)
    app = create_app(Reader(counting), log=None, pool=InProcessPool(Reader(counting), workers=2))

    async def many() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            responses = await asyncio.gather(*(http.post("/api/read", content=seven) for _ in range(8)))
        return [r.status_code for r in responses]

    assert asyncio.run(many()) == [200] * 8
    assert counting.most == 2


def test_worker_processes_read_as_the_reader_does_and_survive_a_killed_worker(reader, seven):
    pool = ReaderPool(reader, workers=2)
    big = png(synthetic.digit_on_paper(4, 5000, seed=1))   # a second or so to read

    async def scenario() -> list:
        same = await pool.read(seven, "seven.jpg", top_k=3)
        slow = asyncio.ensure_future(pool.read(big, "big.png"))
        await asyncio.sleep(0.3)
        for process in list(pool._pool._processes.values()):   # as the kernel's OOM killer would
            process.kill()
        killed = await slow
        after = await pool.read(seven, "again.jpg")
        return [same, killed, after]

    try:
        same, killed, after = asyncio.run(scenario())
    finally:
        pool.close()
    assert same.as_record(with_top_k=True) == reader.configured(top_k=3).read(seven, "seven.jpg").as_record(True)
    assert killed.failed and "worker" in killed.error
    assert after.number == "7" and after.status.value == "ok"


# ----------------------------------------------------------------- the real server

def start_server(*args: str) -> tuple[subprocess.Popen, str]:
    """`digitcli serve --port 0 ...`; returns the process and its URL."""
    process = subprocess.Popen([sys.executable, "-m", "digitcli", "serve", "--port", "0", *args],
                               stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    match = re.search(r"http://[\d.]+:\d+", line)
    assert match, line + process.stderr.read() if process.poll() is not None else line
    return process, match.group(0)


def descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(c) for c in children.read_text().split()] if children.exists() else []
    return found + [d for c in found for d in descendants(c)]


def running(pid: int) -> bool:
    """Alive, and not a zombie (reparented children wait for init to reap them)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_real_server_reads_logs_and_stops_on_sigterm(seven):
    process, url = start_server("--workers", "2")
    try:
        request = urllib.request.Request(f"{url}/api/read", data=seven, headers={"Content-Type": "image/jpeg"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read())["number"] == "7"
        with urllib.request.urlopen(f"{url}/api/health", timeout=30) as response:
            assert response.status == 200
        assert url.startswith("http://127.0.0.1:")   # this machine only, by default
        workers = descendants(process.pid)
        assert len(workers) >= 2   # the fork server and the worker processes
    finally:
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        stopped_in = time.monotonic() - started
    assert stopped_in < 5 and process.returncode == 0
    deadline = time.monotonic() + 3
    while any(map(running, workers)) and time.monotonic() < deadline:   # the resource tracker exits last
        time.sleep(0.05)
    left = [Path(f"/proc/{pid}/cmdline").read_bytes()[:120] for pid in workers if running(pid)]
    assert left == [], "left running"
    lines = stderr.splitlines()
    assert any('"POST /api/read" 200' in line and "number=7" in line for line in lines), stderr
    assert any('"GET /api/health" 200' in line for line in lines), stderr
    assert "Traceback" not in stderr and "leaked" not in stderr and lines[-1] == "digitcli serve: stopped"


def test_port_in_use_is_a_one_line_error():
    first, url = start_server()
    try:
        port = url.rsplit(":", 1)[1]
        second = subprocess.run([sys.executable, "-m", "digitcli", "serve", "--port", port],
                                capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 2
        assert "address already in use" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.terminate()
        first.communicate(timeout=10)
