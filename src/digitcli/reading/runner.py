"""The batch runner: many images in, one Result each out, in input order.

Pre-process, infer, post-process per batch (as Ultralytics' predictor does):
images are decoded and run through the pipeline on a pool of threads
(OpenCV releases the GIL), then classified a batch at a time, and rows come
out batch by batch, so output streams into a pipe. Every per-input problem
becomes a Result with an error; nothing stops the batch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from ..config import SETTINGS, ImageConvention, PipelineConfig, PredictConfig
from ..errors import ImageError
from .classifier import Classifier
from .decode import image_dimensions
from .pipeline import Prepared, prepare_array, prepare_bytes
from .result import Result, Status

Source = str | Path | bytes | np.ndarray
"""What can be read: a path, encoded image bytes, or a decoded image."""


@dataclass(frozen=True)
class Item:
    """One input with the name its Result carries."""

    source: Source
    name: str | None


def as_item(source: Source, name: str | None = None) -> Item:
    if name is None and isinstance(source, (str, Path)):
        name = str(source)
    return Item(source, name)


def read_error_message(exc: OSError) -> str:
    """'permission denied', not '[Errno 13] Permission denied: ...'."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a folder (pass --recursive or the folder itself to read the images in it)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


_one_large_image_at_a_time = threading.Lock()


def _prepare_bytes(data: bytes, config: PipelineConfig, convention: ImageConvention) -> Prepared:
    """Decode and prepare, one very large image at a time."""
    size = image_dimensions(data)
    if size is not None and size[0] * size[1] > config.large_image_pixels:
        with _one_large_image_at_a_time:
            return prepare_bytes(data, config, convention)
    return prepare_bytes(data, config, convention)


def prepare_item(item: Item, config: PipelineConfig = SETTINGS.pipeline,
                 convention: ImageConvention = SETTINGS.image) -> Result:
    """Read one input and run the pipeline; never raises for a bad input."""
    result = Result(path=item.name)
    try:
        source = item.source
        if isinstance(source, np.ndarray):
            result.prepared = prepare_array(source, None, config, convention)
        else:
            data = source if isinstance(source, bytes) else Path(source).read_bytes()
            result.prepared = _prepare_bytes(data, config, convention)
        result.status = Status.OK if result.prepared.found else Status.NO_DIGIT
    except OSError as exc:
        result.error = read_error_message(exc)
    except ImageError as exc:
        result.error = str(exc)
    except (cv2.error, ValueError, MemoryError) as exc:  # a pipeline bug must not stop the batch
        result.error = f"cannot process image ({exc.__class__.__name__})"
    return result


def classify(results: list[Result], classifier: Classifier, config: PredictConfig = SETTINGS.predict) -> None:
    """Fill in digit, confidence, top-k and status for the results that have
    a digit, with one call to the model."""
    ready = [r for r in results if r.prepared is not None and r.prepared.found]
    if not ready:
        return
    probabilities = classifier.probabilities(np.stack([r.prepared.digit for r in ready]))
    for result, probs in zip(ready, probabilities):
        order = np.argsort(probs)[::-1][: max(1, config.top_k)]
        result.digit, result.confidence = int(order[0]), float(probs[order[0]])
        result.top_k = [(int(d), float(probs[d])) for d in order]
        result.status = Status.OK if result.confidence >= config.min_confidence else Status.LOW_CONFIDENCE


def run_batch(items: Iterable[Item], classifier: Classifier, config: PredictConfig = SETTINGS.predict,
              pipeline: PipelineConfig = SETTINGS.pipeline, convention: ImageConvention = SETTINGS.image,
              on_result: Callable[[Result], None] | None = None) -> Iterator[Result]:
    """Yield one Result per item, in order. Threads read and prepare the next
    batch while the current one is collected and classified (two batches in
    flight at most, so memory stays bounded however many items come)."""
    cv2.setNumThreads(1)  # parallelism comes from the pool, not inside each call
    items = iter(items)

    def submit(pool: ThreadPoolExecutor, item: Item) -> Future[Result]:
        return pool.submit(prepare_item, item, pipeline, convention)

    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        in_flight: deque[Future[Result]] = deque(submit(pool, i) for i in islice(items, 2 * config.batch_size))
        while in_flight:
            results = [in_flight.popleft().result() for _ in range(min(config.batch_size, len(in_flight)))]
            in_flight.extend(submit(pool, i) for i in islice(items, config.batch_size))
            classify(results, classifier, config)
            for result in results:
                if on_result is not None:
                    on_result(result)
                yield result
