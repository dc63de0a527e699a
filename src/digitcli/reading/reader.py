"""`digitcli.Reader`: the Python API, and what the CLI itself runs on.

    from digitcli import Reader
    reader = Reader()                      # the shipped model, or Reader(model="path.onnx")
    result = reader.read("photo.jpg")      # also bytes or a numpy image
    for result in reader.read_many(paths): # in order, streamed, errors as results
        print(result.path, result.digit, result.confidence, result.status)

`result.as_record()` is exactly predict's JSON record. A notebook, a web
service or a distributed job (one Reader per worker) calls this.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..config import SETTINGS, ImageConvention, NumberConfig, PipelineConfig
from .classifier import Classifier, load_classifier
from .result import Result
from .runner import Item, Source, as_item, classify, numbers_for, prepare_item, run_batch


class Reader:
    """Reads handwritten digits from images with one loaded model.

    model: an ONNX (or .keras) file or its folder; default the shipped model.
    min_confidence: answers below it get status 'low confidence'.
    top_k: how many of the likeliest digits each result (and each digit) lists.
    digits: read exactly this many digits (1: one digit an image, as a form
        box); None reads however many there are.
    workers, batch_size: processes (or threads) that prepare images, images per model call.
    engine: "auto" (worker processes once the input is long), "threads", or
        "processes".
    keep_images: results keep the 28x28s the model saw (`result.prepared`,
        each digit's `image`); False sends less between processes.
    """

    def __init__(self, model: str | Path | Classifier | None = None, *,
                 min_confidence: float = SETTINGS.predict.min_confidence, top_k: int = SETTINGS.predict.top_k,
                 digits: int | None = SETTINGS.predict.digits,
                 workers: int = SETTINGS.predict.workers, batch_size: int = SETTINGS.predict.batch_size,
                 engine: str = SETTINGS.predict.engine, keep_images: bool = True,
                 pipeline: PipelineConfig = SETTINGS.pipeline, convention: ImageConvention = SETTINGS.image,
                 numbers: NumberConfig = SETTINGS.numbers):
        if model is None or isinstance(model, (str, Path)):
            model = load_classifier(None if model is None else Path(model))
        self.classifier: Classifier = model
        self.config = dataclasses.replace(SETTINGS.predict, min_confidence=min_confidence, top_k=top_k,
                                          digits=digits, workers=workers, batch_size=batch_size, engine=engine,
                                          keep_images=keep_images)
        self.pipeline = pipeline
        self.convention = convention
        self.numbers = numbers

    def configured(self, **changes) -> Reader:
        """A Reader on the same loaded model with some of predict's settings
        changed (`digits`, `top_k`, `min_confidence`...): cheap, the model is
        shared, so a server can honour each request's options."""
        reader = copy.copy(self)
        reader.config = dataclasses.replace(self.config, **changes)
        return reader

    @property
    def model_path(self) -> Path:
        return self.classifier.path

    def read(self, image: Source, name: str | None = None) -> Result:
        """One image: a path, encoded bytes, or a decoded numpy image (gray,
        BGR or BGRA). `name` is what the result's `path` says."""
        result = prepare_item(as_item(image, name), self.pipeline, self.convention, self._numbers)
        classify([result], self.classifier, self.config)
        return result

    def read_many(self, images: Iterable[Source | Item], on_result: Callable[[Result], None] | None = None,
                  streaming: bool = False) -> Iterator[Result]:
        """Many images, streamed: one Result each, in input order, errors as
        results. The iterable is consumed lazily, a batch or two ahead;
        `streaming` says it trickles in (a pipe), so that each result comes
        out as soon as its image has arrived and been read."""
        items = (image if isinstance(image, Item) else as_item(image) for image in images)
        config = dataclasses.replace(self.config, streaming=streaming)
        return run_batch(items, self.classifier, config, self.pipeline, self.convention, self.numbers, on_result)

    @property
    def _numbers(self) -> NumberConfig | None:
        return numbers_for(self.config.digits, self.numbers)
