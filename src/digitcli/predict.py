"""The batch runner behind `digitcli predict` and `evaluate` on photos.

Images are read and run through the pipeline on a pool of threads (OpenCV
releases the GIL, so the cores are used), then classified in batches. Rows
come out in input order, batch by batch, so output streams into a pipe.
Every per-file problem becomes a row with an error; nothing stops the batch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from .config import SETTINGS, PredictConfig
from .errors import ImageError
from .preprocess import STATUS_OK, Prepared, image_dimensions, prepare_bytes
from .runtime import Classifier

STATUS_LOW = "low confidence"
STATUS_ERROR = "error"


@dataclass
class Row:
    """One input's result; `as_record()` is the documented output contract."""

    path: str
    digit: int | None = None
    confidence: float | None = None
    status: str = STATUS_ERROR
    error: str | None = None
    top_k: list[tuple[int, float]] = field(default_factory=list)
    prepared: Prepared | None = None  # the pipeline's output, for crops and reports

    @property
    def failed(self) -> bool:
        return self.status == STATUS_ERROR

    def as_record(self, with_top_k: bool = False) -> dict:
        record = {"path": self.path, "digit": self.digit,
                  "confidence": None if self.confidence is None else round(self.confidence, 4),
                  "status": self.status, "error": self.error}
        if with_top_k:
            record["top_k"] = [{"digit": d, "confidence": round(c, 4)} for d, c in self.top_k]
        return record


def read_error_message(exc: OSError) -> str:
    """'permission denied', not '[Errno 13] Permission denied: ...'."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a folder (pass --recursive or the folder itself to read the images in it)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


# Decoding a 100-megapixel image takes some 300 MB: one such at a time keeps
# a batch's memory bounded whatever the number of threads.
_LARGE_IMAGE_PIXELS = 16_000_000
_one_large_image_at_a_time = threading.Lock()


def _prepare(data: bytes) -> Prepared:
    size = image_dimensions(data)
    if size is not None and size[0] * size[1] > _LARGE_IMAGE_PIXELS:
        with _one_large_image_at_a_time:
            return prepare_bytes(data)
    return prepare_bytes(data)


def prepare_path(path: Path) -> Row:
    """Read one file and run the pipeline; never raises for a bad file."""
    row = Row(path=str(path))
    try:
        row.prepared = _prepare(path.read_bytes())
        row.status = row.prepared.status
    except OSError as exc:
        row.error = read_error_message(exc)
    except ImageError as exc:
        row.error = str(exc)
    except (cv2.error, ValueError, MemoryError) as exc:  # a pipeline bug must not stop the batch
        row.error = f"cannot process image ({exc.__class__.__name__})"
    return row


def classify_rows(rows: list[Row], classifier: Classifier, config: PredictConfig) -> None:
    """Fill in digit, confidence and top-k for the rows that have a digit."""
    ready = [row for row in rows if row.prepared is not None and row.prepared.digit is not None]
    if not ready:
        return
    probabilities = classifier.probabilities(np.stack([row.prepared.digit for row in ready]))
    for row, probs in zip(ready, probabilities):
        order = np.argsort(probs)[::-1][: max(1, config.top_k)]
        row.digit, row.confidence = int(order[0]), float(probs[order[0]])
        row.top_k = [(int(d), float(probs[d])) for d in order]
        row.status = STATUS_OK if row.confidence >= config.min_confidence else STATUS_LOW


def run_batch(paths: Iterable[Path], classifier: Classifier, config: PredictConfig = SETTINGS.predict,
              on_row: Callable[[Row], None] | None = None) -> Iterator[Row]:
    """Yield one Row per path, in order. Threads read and prepare the next
    batch while the current one is collected and classified (two batches in
    flight at most, so memory stays bounded however many paths come)."""
    cv2.setNumThreads(1)  # parallelism comes from the pool, not inside each call
    paths = iter(paths)
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        in_flight: deque[Future[Row]] = deque(pool.submit(prepare_path, p)
                                              for p in islice(paths, 2 * config.batch_size))
        while in_flight:
            rows = [in_flight.popleft().result() for _ in range(min(config.batch_size, len(in_flight)))]
            in_flight.extend(pool.submit(prepare_path, p) for p in islice(paths, config.batch_size))
            classify_rows(rows, classifier, config)
            for row in rows:
                if on_row is not None:
                    on_row(row)
                yield row
