"""The batch runner: many images in, one Result each out, in input order.

Pre-process, infer, post-process per batch (as Ultralytics' predictor does):
images are decoded and run through the pipeline on a pool of threads
(OpenCV releases the GIL), then classified a batch at a time, and rows come
out batch by batch, so output streams into a pipe. Every per-input problem
becomes a Result with an error; nothing stops the batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import itertools
import multiprocessing
import os
import queue
import signal
import stat
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from ..config import SETTINGS, ImageConvention, NumberConfig, PipelineConfig, PredictConfig
from ..errors import ImageError
from .classifier import Classifier
from .decode import decode_image, image_dimensions
from .inputs import empty_folder_message
from .lines import LineReader, LineReading, line_image, line_views
from .numbers import LoneShape, Segment, segment_number
from .pipeline import Box, Prepared, as_mnist_made, ink_mask, prepare_digit
from .result import DigitRead, Result, Status

Source = str | Path | bytes | np.ndarray
"""What can be read: a path, encoded image bytes, or a decoded image."""


@dataclass(frozen=True)
class Item:
    """One input with the name its Result carries."""

    source: Source
    name: str | None


def input_bytes(item: Item) -> int:
    """How much there is to read of an input, a cheap guess at its cost: a
    file's size (0 when it cannot be seen; reading it will say why)."""
    source = item.source
    if isinstance(source, (str, Path)):
        try:
            return os.stat(source).st_size
        except (OSError, ValueError):
            return 0
    return len(source) if isinstance(source, bytes) else source.nbytes


def as_item(source: Source, name: str | None = None) -> Item:
    if name is None and isinstance(source, (str, Path)):
        name = str(source)
    return Item(source, name)


def read_error_message(exc: OSError) -> str:
    """'permission denied', not '[Errno 13] Permission denied: ...'."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return empty_folder_message(exc.filename) if exc.filename else "a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


_one_large_image_at_a_time = threading.Lock()


def use_large_image_lock(lock) -> None:
    """Share one lock (a multiprocessing one) among worker processes, so
    that one very large image is decoded at a time across all of them."""
    global _one_large_image_at_a_time
    _one_large_image_at_a_time = lock


def read_image_file(path: str | Path, limit: int) -> bytes:
    """A regular file's bytes, at most `limit` of them. A FIFO, a device
    (/dev/zero) or a socket is refused rather than read forever."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)   # opening a FIFO must not wait for a writer
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise ImageError("not a regular file (a pipe, a device or a socket)")
        if info.st_size > limit:
            raise ImageError(f"file too large ({info.st_size:,} bytes; the limit is {limit:,})")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ImageError(f"file too large (over {limit:,} bytes)")
        return data
    finally:
        os.close(descriptor)


def numbers_for(digits: int | None, numbers: NumberConfig) -> NumberConfig | None:
    """How to segment for a --digits count: not at all for one digit; for
    several, a small square or MNIST-made image may hold them all (no image
    is taken for one digit's cell)."""
    if digits == 1:
        return None
    return numbers if digits is None else dataclasses.replace(numbers, cells_whole=False)


def prepare_image(image: np.ndarray, size: tuple[int, int] | None, config: PipelineConfig,
                  convention: ImageConvention, numbers: NumberConfig | None) -> Prepared:
    """The one-digit reading and, unless numbers is None, the number's segments."""
    whole = size is None or size == (image.shape[1], image.shape[0])   # not decoded at reduced size
    one_digit = numbers is None or numbers.cells_whole                  # unless --digits says several
    if whole and one_digit and (made := as_mnist_made(image, config, convention)) is not None:
        return made   # one digit, as the model reads it: nothing to prepare or cut
    ink = ink_mask(image, size, config)
    prepared = prepare_digit(ink, config, convention)
    if numbers is None:
        return prepared
    return dataclasses.replace(prepared, segments=segment_number(ink, config, numbers, convention, defer_lone=True))


def _prepare_bytes(data: bytes, config: PipelineConfig, convention: ImageConvention,
                   numbers: NumberConfig | None) -> Prepared:
    """Decode and prepare, one very large image at a time."""
    size = image_dimensions(data)
    lock = (_one_large_image_at_a_time if size is not None and size[0] * size[1] > config.large_image_pixels
            else contextlib.nullcontext())
    with lock:
        decoded = decode_image(data, config)
        prepared = prepare_image(decoded.image, decoded.size, config, convention, numbers)
        return dataclasses.replace(prepared, damage=decoded.damage)


def prepare_item(item: Item, config: PipelineConfig = SETTINGS.pipeline,
                 convention: ImageConvention = SETTINGS.image,
                 numbers: NumberConfig | None = SETTINGS.numbers) -> Result:
    """Read one input and run the pipeline; never raises for a bad input."""
    result = Result(path=item.name)
    try:
        source = item.source
        if isinstance(source, np.ndarray):
            result.prepared = prepare_image(source, None, config, convention, numbers)
        else:
            data = source if isinstance(source, bytes) else read_image_file(source, config.max_file_bytes)
            result.prepared = _prepare_bytes(data, config, convention, numbers)
        result.status = Status.OK if result.prepared.found or result.prepared.segments else Status.NO_DIGIT
        result.error = result.prepared.damage
    except OSError as exc:
        result.error = read_error_message(exc)
    except ImageError as exc:
        result.error = str(exc)
    except (cv2.error, ValueError, MemoryError) as exc:  # a pipeline bug must not stop the batch
        result.error = f"cannot process image ({exc.__class__.__name__})"
    return result


def _top(probs: np.ndarray, k: int) -> list[tuple[int, float]]:
    order = np.argsort(probs)[::-1][: max(1, k)]
    return [(int(d), float(probs[d])) for d in order]


Path_ = list[tuple[int, int]]   # a path through a segment's lattice: the glyphs' (from, to) nodes


def best_paths(segment: Segment, scores: dict[tuple[int, int], float], most: int) -> dict[int, tuple[float, Path_]]:
    """For each digit count up to `most`, the best path through the
    segment's lattice (the highest sum of log confidences)."""
    best: list[dict[int, tuple[float, Path_]]] = [{} for _ in range(segment.nodes)]
    best[0][0] = (0.0, [])
    for (i, j), score in sorted(scores.items(), key=lambda item: item[0][1]):
        for count, (total, path) in list(best[i].items()):
            if count + 1 <= most and (count + 1 not in best[j] or best[j][count + 1][0] < total + score):
                best[j][count + 1] = (total + score, [*path, (i, j)])
    return best[-1]


def choose_reading(segments: tuple[Segment, ...], scores: list[dict[tuple[int, int], float]],
                   digits: int | None, counts: list[int | None] | None = None) -> tuple[list[Path_], bool]:
    """The path through each segment's lattice: the most probable reading
    (the product of its digits' confidences), with exactly `digits` digits
    in all when given, else with the line reader's count for each segment
    it read (`counts`, where the lattice has a path that long). Returns the
    paths and whether the count was met."""
    most = digits if digits is not None else max((s.nodes for s in segments), default=1)
    per_segment = [best_paths(segment, s, most) for segment, s in zip(segments, scores)]
    unconstrained = [max(paths.values())[1] if paths else [] for paths in per_segment]
    if digits is None:
        counts = counts or [None] * len(segments)
        return [paths[count][1] if count in paths else best
                for paths, best, count in zip(per_segment, unconstrained, counts)], True
    totals: dict[int, tuple[float, list[Path_]]] = {0: (0.0, [])}
    for paths in per_segment:
        following: dict[int, tuple[float, list[Path_]]] = {}
        for count, (total, chosen) in totals.items():
            for extra, (score, path) in paths.items():
                n = count + extra
                if n <= digits and (n not in following or following[n][0] < total + score):
                    following[n] = (total + score, [*chosen, path])
        totals = following
    if digits in totals:
        return totals[digits][1], True
    return unconstrained, False


def classify(results: list[Result], classifier: Classifier, config: PredictConfig = SETTINGS.predict) -> None:
    """Fill in the readings of a batch of results: one call to the model for
    each one-digit image and every candidate digit of every number, one for
    the candidates of lone shapes that neither the one-digit reading nor
    the line reader settles, and one more for a second look at the digits
    read with less than `second_look_below`."""
    owners = [result for result in results if result.prepared is not None]
    singles, glyph_probs = _read_candidates([result.prepared for result in owners], classifier, singles=True)
    lone = {index: shape for index, result in enumerate(owners) if (shape := _lone_shape(result.prepared))}
    # A narrow shape goes to the line reader when it is not read as a digit,
    # or when it is tall enough to show two digits pressed together (a 1
    # against a 0's side reads as a sure 0).
    asked = [index for index, shape in lone.items()
             if not shape.narrow or _unsure(singles[index], config) or shape.box[3] >= config.narrow_line_height]
    line_reader = getattr(classifier, "line_reader", None)
    lone_lines = dict(zip(asked, _read_lone_shapes(line_reader, [lone[index] for index in asked], config)))
    uncut = []
    for index, shape in lone.items():
        prepared = owners[index].prepared
        several = _several(lone_lines.get(index), config)
        if shape.narrow:
            settled = not several and config.digits in (None, 1)
            if several:
                lone_lines[index] = dataclasses.replace(lone_lines[index], refused=True)
        else:
            settled = not several and _one_digit_outweighs(prepared, shape, singles[index], config)
        owners[index].prepared = dataclasses.replace(prepared, segments=() if settled else shape.cut())
        if not settled:
            uncut.append(index)
    if uncut:
        _, cut_probs = _read_candidates([owners[index].prepared for index in uncut], classifier, singles=False)
        for index, probs in zip(uncut, cut_probs):
            glyph_probs[index] = probs
    lines = _read_lines([result.prepared for result in owners], line_reader, config, lone_lines)
    readings = [choose_digits(result.prepared, single, probs, config, read)
                for result, single, probs, read in zip(owners, singles, glyph_probs, lines)]
    chosen = [candidate for reading in readings for candidate in reading.digits if not candidate.from_line]
    if chosen:
        looked = second_look(np.stack([c.image for c in chosen]), np.stack([c.probabilities for c in chosen]),
                             classifier, config)
        for candidate, probabilities in zip(chosen, looked):
            candidate.probabilities = probabilities
    for result, reading in zip(owners, readings):
        fill_result(result, reading, config)
        if result.prepared.damage and result.status is Status.OK:
            result.status = Status.LOW_CONFIDENCE   # a damaged image's reading is a guess


def _lone_shape(prepared: Prepared) -> LoneShape | None:
    """The image's one lone shape, not cut yet (numbers.LoneShape), or None."""
    segments = prepared.segments
    return segments[0] if len(segments) == 1 and isinstance(segments[0], LoneShape) else None


def _read_candidates(prepared: list[Prepared], classifier: Classifier,
                     singles: bool) -> tuple[list[np.ndarray | None], list[list[dict]]]:
    """In one model call: each one-digit reading (when `singles`) and every
    candidate digit of every cut segment. Returns the one-digit readings'
    probabilities (None where there is none) and each segment's candidates'
    probabilities by edge."""
    def cut_segments(each: Prepared) -> list[Segment]:
        return [segment for segment in each.segments if isinstance(segment, Segment)]

    images = []
    for each in prepared:
        if singles and each.found:
            images.append(each.digit)
        for segment in cut_segments(each):
            images.extend(glyph.digit for glyph in segment.glyphs.values())
    probabilities = iter(classifier.probabilities(np.stack(images)) if images else ())
    found, glyph_probs = [], []
    for each in prepared:   # in the order the images were stacked
        found.append(next(probabilities) if singles and each.found else None)
        glyph_probs.append([{edge: next(probabilities) for edge in segment.glyphs} for segment in cut_segments(each)])
    return found, glyph_probs


def _read_lines(prepared: list[Prepared], line_reader: LineReader | None, config: PredictConfig,
                lone_lines: dict[int, LineReading | None]) -> list[list[LineReading | None]]:
    """In one call to the line reader: each segment cut through ink (touching
    digits) read whole; a cut lone shape's one segment keeps the reading of
    the shape (`lone_lines`, by image: the same ink). Returns, for each
    image, each segment's reading (None for a segment the cuts alone read)."""
    segments = [[segment for segment in each.segments if isinstance(segment, Segment)] for each in prepared]
    if not _line_reader_heeded(line_reader, config):
        return [[None] * len(each) for each in segments]
    unread = [s.line for index, each in enumerate(segments) if index not in lone_lines
              for s in each if s.line is not None]
    readings = iter(line_reader.read(unread))
    read = [[(lone_lines[index] if index in lone_lines else next(readings)) if s.line is not None else None
             for s in each] for index, each in enumerate(segments)]
    return _with_steadiness(read, segments, line_reader, config)


def _with_steadiness(read: list[list[LineReading | None]], segments: list[list[Segment]],
                     line_reader: LineReader, config: PredictConfig) -> list[list[LineReading | None]]:
    """Each reading of several digits with its steadiness: the share of its
    views (lines.line_views) that read the same digits, all views of the
    batch in one call to the line reader."""
    asked = [(index, position) for index, each in enumerate(read)
             for position, reading in enumerate(each) if _several(reading, config)]
    views = [line_views(segments[index][position].line, config.line_view_heights, config.line_view_shifts)
             for index, position in asked]
    seen = iter(line_reader.read([view for each in views for view in each]))
    for (index, position), each in zip(asked, views):
        digits = read[index][position].digits
        same = sum(next(seen).digits == digits for _ in each)
        read[index][position] = dataclasses.replace(read[index][position], steadiness=same / len(each) if each else 1.0)
    return read


def _read_lone_shapes(line_reader: LineReader | None, shapes: list[LoneShape],
                      config: PredictConfig) -> list[LineReading | None]:
    """The line reader's reading of each lone shape asked about, in one
    call: one it reads as several digits is touching digits, which a
    one-digit reading must not settle."""
    if not _line_reader_heeded(line_reader, config):
        return [None] * len(shapes)
    return list(line_reader.read([line_image(shape.mask) for shape in shapes]))


def _line_reader_heeded(line_reader: LineReader | None, config: PredictConfig) -> bool:
    """Whether there is a line reader to ask: one beside the model, not
    turned off, and no --digits count (which the cuts meet alone)."""
    return line_reader is not None and config.line_reader and config.digits is None


def _several(reading: LineReading | None, config: PredictConfig) -> bool:
    """Whether the line reader read several digits (a lone digit is the classifier's)."""
    return reading is not None and len(reading.digits) >= config.line_min_digits


def _unsure(single: np.ndarray | None, config: PredictConfig) -> bool:
    """Whether the one-digit reading does not read the image as a digit."""
    return single is None or float(single.max()) < config.min_confidence


def _one_digit_outweighs(prepared: Prepared, shape: LoneShape, single: np.ndarray | None,
                         config: PredictConfig) -> bool:
    """Whether a lone shape's one-digit reading wins over whatever its cuts
    could read (choose_digits): it covers the same ink, and it is at least as
    probable as any reading of two digits or more can be, each of which pays
    `split_penalty` at least once."""
    return (single is not None and config.digits is None
            and float(np.log(max(single.max(), 1e-12))) >= -config.split_penalty
            and _same_ink(prepared.box, [shape.box], config.same_ink))


@dataclass
class Candidate:
    """One digit of a reading before it is settled: where it is, what the
    model saw and its probabilities for each digit."""

    box: Box | None
    image: np.ndarray
    probabilities: np.ndarray
    space_before: bool = False
    from_line: bool = False   # read by the line reader (the cuts read it otherwise)


@dataclass
class Reading:
    """The digits chosen for one image, left to right, whether there are as
    many as --digits asked for, and how many of the cuts between them go
    through ink (touching digits)."""

    digits: list[Candidate]
    count_met: bool = True
    cuts: int = 0
    disagreements: int = 0   # segments where the cuts read other digits than the line reader
    refused: int = 0         # segments read by the line reader in a shape the classifier refused
    steadiness: tuple[float, ...] = ()   # of each segment's line reading (lines.LineReading)


def zoomed(digit: np.ndarray, factor: float) -> np.ndarray:
    """The 28x28 digit scaled by `factor` about its centre (where the
    pipeline put its centre of mass), as a writer's larger or smaller hand."""
    size = digit.shape[0]
    centre = (size - 1) / 2
    matrix = cv2.getRotationMatrix2D((centre, centre), 0, factor)
    return cv2.warpAffine(np.asarray(digit, np.float32), matrix, (size, size), flags=cv2.INTER_LINEAR)


def second_look(digits: np.ndarray, probabilities: np.ndarray, classifier: Classifier,
                config: PredictConfig = SETTINGS.predict) -> np.ndarray:
    """Test-time augmentation where it matters: each digit read with less
    than `second_look_below` is read again zoomed in and out, and the views'
    probabilities are averaged. A digit reads much the same under a zoom; a
    letter or a symbol that only resembles one often does not, and its
    confidence falls. Sure readings (most of them) cost nothing more."""
    zooms = config.second_look_zooms
    unsure = np.flatnonzero(probabilities.max(axis=1) < config.second_look_below)
    if not len(unsure) or not zooms:
        return probabilities
    views = classifier.probabilities(np.stack([zoomed(digits[i], z) for i in unsure for z in zooms]))
    looked = probabilities.copy()
    looked[unsure] = (probabilities[unsure] + views.reshape(len(unsure), len(zooms), -1).sum(axis=1)) / (1 + len(zooms))
    return looked


def _heed_line_reader(reading: list[Candidate], paths: list[Path_], lines: list[LineReading | None]) -> int:
    """Where the line reader read a segment and the cuts read other digits,
    its digits replace theirs (it reads touching digits better; the count
    is already its own, choose_reading). Returns how many segments it
    disagreed on."""
    disagreements, start = 0, 0
    for path, line in zip(paths, lines):
        own = reading[start:start + len(path)]
        start += len(path)
        if line is None or "".join(str(int(c.probabilities.argmax())) for c in own) == line.digits:
            continue
        disagreements += 1
        if len(own) == len(line.digits):
            for candidate, probabilities in zip(own, line.probabilities):
                candidate.probabilities, candidate.from_line = probabilities, True
    return disagreements


def _same_ink(box: Box | None, boxes: list[Box], overlap: float) -> bool:
    """Whether the one digit's box and the number's digits' boxes enclose
    mostly the same ink (intersection over union at least `overlap`): the same
    shape read two ways. A register's column rule, say, can be the one-digit
    pipeline's largest shape while the digits read beside it."""
    if box is None or not boxes:
        return False
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    x, y, w, h = box
    inside = max(0, min(right, x + w) - max(left, x)) * max(0, min(bottom, y + h) - max(top, y))
    union = w * h + (right - left) * (bottom - top) - inside
    return inside >= overlap * union


def choose_digits(prepared: Prepared, single: np.ndarray | None, glyph_probs: list[dict],
                  config: PredictConfig, lines: list[LineReading | None] | None = None) -> Reading:
    """Decide between the one-digit reading and the number's best path; a
    segment the line reader read gets as many digits as it read there."""
    segments = prepared.segments
    lines = lines or [None] * len(segments)
    penalty = config.split_penalty
    scores = [{edge: float(np.log(max(p.max(), 1e-12))) - penalty for edge, p in probs.items()}
              for probs in glyph_probs]
    # One digit, or none: the classifier reads a lone digit better than the line reader does.
    lines = [line if _several(line, config) else None for line in lines]
    counts = [len(line.digits) if line is not None else None for line in lines]
    paths, count_met = choose_reading(segments, scores, config.digits, counts) if segments else ([], True)
    reading = [Candidate(segment.glyphs[edge].box, segment.glyphs[edge].digit, probs[edge],
                         position == 0 and segment.space_before)
               for segment, probs, path in zip(segments, glyph_probs, paths)
               for position, edge in enumerate(path)]
    disagreements = _heed_line_reader(reading, paths, lines)
    if single is not None and disagreements and not _unsure(single, config) and \
            any(line is not None and line.refused for line in lines):
        # A narrow shape read as one digit, and by the line reader as several
        # that the cuts do not read: the one digit (a scanned 0 read "41").
        return Reading([Candidate(prepared.box, prepared.digit, single)])
    one_segment = len({id(segment) for segment, path in zip(segments, paths) if path}) <= 1
    if single is not None and len(reading) > 1 and config.digits is None and not any(lines):
        # Several digits read where the one-digit reading holds (nearly) all
        # the ink: touching digits, or one digit (broken strokes, a detached
        # bar) that the cuts only seemed to read? The more probable reading
        # wins, each cut in a shape paying its penalty.
        splits = len(reading) - 1 if one_segment else 0
        number_score = sum(float(np.log(max(c.probabilities.max(), 1e-12))) for c in reading) - penalty * splits
        if (one_segment or prepared.ink_share >= config.one_digit_ink) and \
                _same_ink(prepared.box, [c.box for c in reading], config.same_ink) and \
                float(np.log(max(single.max(), 1e-12))) >= number_score:
            reading = reading[:1]
    if single is not None and (config.digits == 1 or len(reading) <= 1):
        # One digit: the one-digit pipeline (all of a digit's strokes, however far apart) reads it.
        return Reading([Candidate(prepared.box, prepared.digit, single)])
    cuts = sum(j in segment.cuts for segment, path in zip(segments, paths) for _, j in path[:-1])
    refused = sum(line is not None and line.refused for line in lines)
    steadiness = tuple(line.steadiness for line in lines if line is not None)
    return Reading(reading, count_met, cuts, disagreements, refused, steadiness)


def fill_result(result: Result, reading: Reading, config: PredictConfig) -> None:
    """The result's fields from the chosen digits: the number left to right,
    its confidence the product of its digits'."""
    if not reading.digits:
        result.status = Status.NO_DIGIT
        return
    result.digits = [DigitRead(*_top(c.probabilities, 1)[0], c.box, c.image, _top(c.probabilities, config.top_k))
                     for c in reading.digits]
    text = ""
    for position, (read, candidate) in enumerate(zip(result.digits, reading.digits)):
        text += (" " if candidate.space_before and position and config.digits is None else "") + str(read.digit)
    result.number = text
    # Each digit's confidence is the model's; a cut through touching digits
    # may be wrong in a way no one digit's confidence shows.
    unsteady = sum(share < config.steady_share for share in reading.steadiness)
    result.confidence = (float(np.prod([read.confidence for read in result.digits]))
                         * config.cut_confidence ** reading.cuts * config.line_disagreement ** reading.disagreements
                         * config.refused_shape ** reading.refused * config.unsteady_line ** unsteady)
    result.digit = result.digits[0].digit if len(result.digits) == 1 else None
    result.top_k = result.digits[0].top_k if len(result.digits) == 1 else []
    confident = result.confidence >= config.min_confidence and reading.count_met
    result.status = Status.OK if confident else Status.LOW_CONFIDENCE


def _prepare_many(items: list[Item], pipeline: PipelineConfig, convention: ImageConvention,
                  numbers: NumberConfig | None) -> list[Result]:
    return [prepare_item(item, pipeline, convention, numbers) for item in items]


_worker_classifier: Classifier | None = None


def _worker_start() -> None:
    """In each worker process: one OpenCV thread (the pool is the
    parallelism), and Ctrl-C is the parent's to handle. The model came with
    the fork: an onnxruntime session on one thread starts no thread of its
    own, so each worker has a working copy without loading it again."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)


def _read_many(items: list[Item], pipeline: PipelineConfig, convention: ImageConvention,
               numbers: NumberConfig | None, config: PredictConfig) -> list[Result]:
    """Prepare and classify a chunk in a worker process; what goes back to
    the parent is the readings (and each digit's 28x28), not the lattices."""
    results = _prepare_many(items, pipeline, convention, numbers)
    classify(results, _worker_classifier, config)
    return [to_send_back(result, config.keep_images) for result in results]


def to_send_back(result: Result, keep_images: bool) -> Result:
    """What a worker process returns of a result: the readings and, when
    kept, each digit's 28x28; never the number's lattice. Less to send back:
    the parent's share of the work is the limit."""
    if not keep_images:
        result.prepared = None
        for read in result.digits:
            read.image = None
    elif result.prepared is not None and result.prepared.segments:
        result.prepared = dataclasses.replace(result.prepared, segments=())
    return result


def _process_pool(workers: int, classifier: Classifier) -> ProcessPoolExecutor | None:
    """Worker processes that read images end to end, forked now, before
    this process starts any thread (a fork copies only the calling thread,
    so no lock can be left held). Decoding and the pipeline are many small
    numpy calls that hold the GIL: threads stop scaling at about two cores;
    processes, each with its own model, do not."""
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods() or not str(classifier.path).endswith(
            ".onnx"):
        return None
    global _worker_classifier
    _worker_classifier = classifier   # inherited by the forked workers
    context = multiprocessing.get_context("fork")
    use_large_image_lock(context.Lock())   # ...as is this, shared by them all
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start)
    pool.submit(int).result()   # starts every worker now
    return pool


_END = object()


def run_batch(items: Iterable[Item], classifier: Classifier, config: PredictConfig = SETTINGS.predict,
              pipeline: PipelineConfig = SETTINGS.pipeline, convention: ImageConvention = SETTINGS.image,
              numbers: NumberConfig = SETTINGS.numbers,
              on_result: Callable[[Result], None] | None = None) -> Iterator[Result]:
    """Yield one Result per item, in input order, as soon as it is read.

    A reader thread takes items as they arrive (a slow stdin is not waited
    for) and hands them, in small chunks, to worker processes that read them
    end to end (pre-process, infer, post-process per chunk, each with its
    own model); or, for a few items, one worker or a model that is not ONNX,
    to threads that prepare them while the main thread classifies whatever
    is ready (up to `batch_size`) in one model call. Results are yielded in
    input order.
    At most about two batches are in flight, so memory stays bounded however
    many items come. Ctrl-C drops queued work at once."""
    cv2.setNumThreads(1)  # parallelism comes from the workers, not inside each call
    number_config = numbers_for(config.digits, numbers)
    items = iter(items)
    head = list(islice(items, config.process_after)) if config.engine == "auto" and not config.streaming else []
    few = config.engine == "threads" or (config.engine == "auto" and not config.streaming
                                         and len(head) < config.process_after)
    processes = None if few else _process_pool(config.workers, classifier)
    threads = ThreadPoolExecutor(config.workers) if processes is None else None
    chunk = max(1, config.chunk_size)
    # In flight: two batches' worth (of chunks for processes, of images for
    # threads), and for processes enough chunks that a slow one at the head
    # (a large photo) does not leave the other workers idle.
    in_flight = (max(2, 2 * config.batch_size // chunk, 4 * config.workers) if processes is not None
                 else 2 * config.batch_size)
    pending: queue.Queue = queue.Queue(maxsize=in_flight)
    stop = threading.Event()

    def submit(batch: list[Item]) -> None:
        if processes is not None:   # read end to end in the worker
            pending.put(processes.submit(_read_many, batch, pipeline, convention, number_config, config))
        else:                       # prepared in a thread, classified here in batches
            for item in batch:
                pending.put(threads.submit(_prepare_many, [item], pipeline, convention, number_config))

    def feed() -> None:
        """Read items and hand them out: a chunk when it is full, or as soon
        as the input pauses (so a trickle on stdin is read at once)."""
        arrivals: queue.Queue = queue.Queue(maxsize=4 * chunk)

        def read() -> None:
            try:
                for item in itertools.chain(head, items):
                    if stop.is_set():
                        return
                    arrivals.put(item)
                arrivals.put(_END)
            except BaseException as exc:  # noqa: BLE001  (a bad input list: the main thread reports it)
                arrivals.put(exc)

        threading.Thread(target=read, name="digitcli-reader", daemon=True).start()
        waiting: list[Item] = []
        with contextlib.suppress(RuntimeError):   # the pools were shut down: the consumer stopped
            hand_out(arrivals, waiting)

    def hand_out(arrivals: queue.Queue, waiting: list[Item]) -> None:
        """A chunk closes at `chunk_size` images or `chunk_bytes` of input:
        a chunk of large photos takes many times as long as one of small
        scans, and at the end of a job the other workers would wait for it."""
        waiting_bytes = 0
        while not stop.is_set():
            try:
                item = arrivals.get(timeout=config.flush_seconds if waiting else None)
            except queue.Empty:
                submit(waiting)
                waiting, waiting_bytes = [], 0
                continue
            if item is _END or isinstance(item, BaseException):
                if waiting:
                    submit(waiting)
                pending.put(item)
                return
            waiting.append(item)
            if processes is not None:
                waiting_bytes += input_bytes(item)
            if len(waiting) >= chunk or waiting_bytes >= config.chunk_bytes:
                submit(waiting)
                waiting, waiting_bytes = [], 0

    feeder = threading.Thread(target=feed, name="digitcli-feeder", daemon=True)
    feeder.start()
    ready: deque[Result] = deque()
    finished = False
    try:
        while not finished or ready:
            while not finished and len(ready) < config.batch_size:
                try:
                    entry = pending.get(block=not ready)
                except queue.Empty:
                    break   # the input pauses: classify what is ready now
                if entry is _END:
                    finished = True
                elif isinstance(entry, BaseException):
                    raise entry
                else:
                    ready.extend(entry.result())
            results = [ready.popleft() for _ in range(min(config.batch_size, len(ready)))]
            if processes is None:
                classify(results, classifier, config)
            for result in results:
                if on_result is not None:
                    on_result(result)
                yield result
    finally:
        stop.set()
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)
        if processes is not None:   # queued chunks are dropped; each worker ends its current one
            processes.shutdown(wait=True, cancel_futures=True)
        while not pending.empty():   # unblock a feeder waiting to hand out more
            with contextlib.suppress(queue.Empty):
                pending.get_nowait()
