"""A Reader in worker processes, for a long-running caller that reads one
image at a time for many clients at once (`digitcli serve`).

Decoding and the pipeline are many small numpy calls that hold the GIL, so
threads stop scaling at about two cores (bench/bench_serve.py measured 20
clients on 8 threads of a 16-core machine at 0.7 times one client's
throughput). Here each image is read end to end in one of N processes, each
with its own model. The workers are started by a fork server, not forked
from the caller, which by then runs threads (an event loop, a thread pool):
so a worker that dies (killed for memory) is replaced safely.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from . import runner
from .reader import Reader
from .result import Result, Status

_worker_reader: Reader | None = None


def _start_worker(reader_settings: dict, large_image_lock) -> None:
    """In each worker: its own Reader on the same model and settings; one
    OpenCV thread (the pool is the parallelism); Ctrl-C is the parent's. The
    lock is shared by all workers, so that only one very large image is
    decoded at a time across them, and memory stays bounded."""
    import cv2

    global _worker_reader
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    runner.use_large_image_lock(large_image_lock)
    model = reader_settings.pop("model")
    _worker_reader = Reader(model, **reader_settings)


def _ready() -> bool:
    return _worker_reader is not None


def _read_in_worker(data: bytes, name: str | None, changes: dict) -> Result:
    reader = _worker_reader.configured(**changes) if changes else _worker_reader
    return runner.to_send_back(reader.read(data, name), keep_images=True)


class ReaderPool:
    """`await pool.read(data, name, digits=..., top_k=...)` reads image bytes
    in one of `workers` processes; callers wait their turn when all are busy.
    A worker that dies fails only the reading it was doing."""

    def __init__(self, reader: Reader, workers: int):
        self.reader, self.workers = reader, workers
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._large_image_lock = self._context.Lock()
        self._replace = threading.Lock()
        self._pool = self._start()

    def _settings(self) -> dict:
        reader = self.reader
        return {"model": reader.model_path, "min_confidence": reader.config.min_confidence,
                "top_k": reader.config.top_k, "digits": reader.config.digits, "workers": 1, "engine": "threads",
                "pipeline": reader.pipeline, "convention": reader.convention, "numbers": reader.numbers}

    def _start(self) -> ProcessPoolExecutor:
        """Start every worker now, so that the first requests are not slow."""
        pool = ProcessPoolExecutor(self.workers, mp_context=self._context, initializer=_start_worker,
                                   initargs=(self._settings(), self._large_image_lock))
        for started in [pool.submit(_ready) for _ in range(self.workers)]:
            started.result()
        return pool

    async def read(self, data: bytes, name: str | None = None, **changes) -> Result:
        pool = self._pool
        try:
            return await asyncio.wrap_future(pool.submit(_read_in_worker, data, name, changes))
        except BrokenProcessPool:
            await asyncio.to_thread(self._restart, pool)
            return Result(name, status=Status.ERROR,
                          error="the worker reading it stopped (out of memory, or killed); the others go on")

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._replace:
            if self._pool is broken:   # once, however many requests saw it break
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class InProcessPool:
    """The same interface on threads of this process, `workers` readings at
    a time: for one worker, or a model only this process can run (a .keras
    file, a Classifier object)."""

    def __init__(self, reader: Reader, workers: int = 1):
        self.reader, self.workers = reader, workers
        self._slots = asyncio.Semaphore(workers)

    async def read(self, data: bytes, name: str | None = None, **changes) -> Result:
        reader = self.reader.configured(**changes) if changes else self.reader
        async with self._slots:
            return await asyncio.to_thread(reader.read, data, name)

    def close(self) -> None:
        pass


def reading_pool(reader: Reader, workers: int) -> ReaderPool | InProcessPool:
    """Worker processes where they help: more than one, and an ONNX file
    that each worker can load by its path."""
    if workers > 1 and reader.model_path.suffix == ".onnx" and reader.model_path.is_file():
        return ReaderPool(reader, workers)
    return InProcessPool(reader, workers)
