"""Reading on a Ray cluster with Ray Data (the `ray` extra: pip install "digitcli[ray]").

Built on `digitcli.Reader`: each actor of the pool loads the model once and
reads batches of images with it (`map_batches` with a callable class, as
Ray's batch-inference guide does), and the rows come back in input order.
Images are read where the actor runs, from local paths or any URI that
pyarrow's file systems open (s3://, gs://, hdfs://...), as Ray Data itself
reads files; a file that cannot be read gets its error row, as in `predict`.

    import ray
    from digitcli.ray_data import read_images
    for record in read_images(["a.jpg", "s3://bucket/b.png"], concurrency=4):
        print(record["path"], record["number"], record["status"])
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import ray

from .config import SETTINGS
from .errors import ImageError
from .reading.reader import Reader
from .reading.result import Result
from .reading.runner import Item, read_error_message


def _read_uri(uri: str) -> bytes:
    """Bytes of a file named by a URI, through pyarrow (as Ray Data reads)."""
    import pyarrow.fs

    filesystem, path = pyarrow.fs.FileSystem.from_uri(uri)
    with filesystem.open_input_stream(path) as stream:
        data = stream.read(SETTINGS.pipeline.max_file_bytes + 1)
    if len(data) > SETTINGS.pipeline.max_file_bytes:
        raise ImageError("file too large")
    return data


class ReadImages:
    """A stateful Ray Data callable: one Reader (one model load) per actor."""

    def __init__(self, model: str | None = None, reader_options: dict | None = None,
                 record_options: dict | None = None):
        self.reader = Reader(model, **{**(reader_options or {}), "engine": "threads", "workers": 1})
        self.record_options = record_options or {}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        """Local paths are read by the Reader itself (its limits, its error
        rows); a URI's bytes are fetched here first."""
        paths = [str(path) for path in batch["path"]]
        fetched: dict[int, Item | Result] = {}
        for index, path in enumerate(paths):
            if "://" not in path:
                fetched[index] = Item(path, path)
                continue
            try:
                fetched[index] = Item(_read_uri(path), path)
            except OSError as exc:
                fetched[index] = Result(path, error=read_error_message(exc))
            except ImageError as exc:
                fetched[index] = Result(path, error=str(exc))
        read = iter(self.reader.read_many(item for item in fetched.values() if isinstance(item, Item)))
        results = [item if isinstance(item, Result) else next(read) for item in fetched.values()]
        return {"index": list(batch["index"]), "record": [r.as_record(**self.record_options) for r in results]}


def read_images(paths: Iterable[str | Path], model: str | Path | None = None, concurrency: int = 2,
                batch_size: int = 64, reader_options: dict | None = None,
                record_options: dict | None = None) -> Iterator[dict]:
    """predict's records for the images, in input order, read by a pool of
    `concurrency` actors on the Ray cluster `ray.init()` joined (or starts)."""
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    dataset = ray.data.from_items([{"index": i, "path": str(p)} for i, p in enumerate(paths)])
    read = dataset.map_batches(
        ReadImages, batch_size=batch_size, compute=ray.data.ActorPoolStrategy(size=concurrency), batch_format="numpy",
        fn_constructor_kwargs={"model": None if model is None else str(model), "reader_options": reader_options,
                               "record_options": record_options})
    for expected, row in enumerate(read.iter_rows()):
        if row["index"] != expected:
            raise RuntimeError(f"Ray Data returned row {row['index']} where {expected} was expected")
        yield row["record"]
