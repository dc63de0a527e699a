"""The output contract: what reading one image gives, in one place.

`Result.as_record()` is exactly the record `digitcli predict` writes (JSON
lines, JSON, CSV, TSV), so every writer, the Python API and a server agree on
the fields, their order and their rounding. Scripts depend on it: add
fields, never rename or reorder them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline import Prepared


class Status(str, Enum):
    """What became of one input."""

    OK = "ok"                          # a digit, read with at least --min-confidence
    LOW_CONFIDENCE = "low confidence"  # a guess below --min-confidence: unsure, or not a digit
    NO_DIGIT = "no digit"              # the image was read and holds no digit (a blank page)
    ERROR = "error"                    # the input could not be read; `error` says why

    def __str__(self) -> str:
        return self.value


FIELDS = ("path", "digit", "confidence", "status", "error", "number")
"""The record's fields, in order; `top_k`, `digits` and `crops` follow when
asked for."""

CONFIDENCE_DECIMALS = 4


def unicode_path(path: str | None) -> str | None:
    """A path as valid Unicode: a file name's bytes that are not UTF-8
    (held by Python as surrogate escapes) are written as the text \\xNN,
    so that strict JSON parsers accept every record."""
    if path is None or path.isascii():
        return path
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in path)


def rounded(confidence: float | None) -> float | None:
    return None if confidence is None else round(confidence, CONFIDENCE_DECIMALS)


Box = tuple[int, int, int, int]  # x, y, width, height, in the original image's pixels


@dataclass
class DigitRead:
    """One digit of a reading: what it is, how sure, where, what the model saw."""

    digit: int
    confidence: float
    box: Box
    image: object = field(default=None, repr=False)   # the 28x28 float32 the model read
    top_k: list[tuple[int, float]] = field(default_factory=list)

    def as_record(self, with_top_k: bool = False) -> dict:
        record = {"digit": self.digit, "confidence": rounded(self.confidence), "box": list(self.box)}
        if with_top_k:
            record["top_k"] = [{"digit": d, "confidence": rounded(c)} for d, c in self.top_k]
        return record


@dataclass
class Result:
    """One input's reading: `number` is every digit read, left to right (a
    space between numbers); `digit` is set when there is exactly one."""

    path: str | None
    digit: int | None = None
    confidence: float | None = None
    status: Status = Status.ERROR
    error: str | None = None
    number: str | None = None
    top_k: list[tuple[int, float]] = field(default_factory=list)
    digits: list[DigitRead] = field(default_factory=list)
    crops: list[str] | None = None                               # where --save-crops wrote each digit's 28x28
    prepared: Prepared | None = field(default=None, repr=False)  # what the pipeline made, for reports

    @property
    def failed(self) -> bool:
        return self.status is Status.ERROR

    @property
    def flagged(self) -> bool:
        """Not a confident digit: what a non-digit should get."""
        return self.status in (Status.LOW_CONFIDENCE, Status.NO_DIGIT)

    @classmethod
    def from_record(cls, record: dict) -> Result:
        """A result back from its record (as a worker elsewhere sent it)."""
        def pairs(items: list[dict] | None) -> list[tuple[int, float]]:
            return [(t["digit"], t["confidence"]) for t in items or []]

        return cls(record["path"], record["digit"], record["confidence"], Status(record["status"]),
                   record["error"], record["number"], pairs(record.get("top_k")),
                   [DigitRead(d["digit"], d["confidence"], tuple(d["box"]), None, pairs(d.get("top_k")))
                    for d in record.get("digits") or []])

    def as_record(self, with_top_k: bool = False, with_digits: bool = False) -> dict:
        """predict's JSON record: the documented contract."""
        record = {"path": unicode_path(self.path), "digit": self.digit, "confidence": rounded(self.confidence),
                  "status": self.status.value, "error": self.error, "number": self.number}
        if with_top_k:
            record["top_k"] = [{"digit": d, "confidence": rounded(c)} for d, c in self.top_k]
        if with_digits:
            record["digits"] = [d.as_record(with_top_k) for d in self.digits]
        return record
