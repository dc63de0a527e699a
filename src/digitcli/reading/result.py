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


FIELDS = ("path", "digit", "confidence", "status", "error")
"""The record's fields, in order; `top_k` follows when asked for."""

CONFIDENCE_DECIMALS = 4


def rounded(confidence: float | None) -> float | None:
    return None if confidence is None else round(confidence, CONFIDENCE_DECIMALS)


@dataclass
class Result:
    """One input's reading."""

    path: str | None
    digit: int | None = None
    confidence: float | None = None
    status: Status = Status.ERROR
    error: str | None = None
    top_k: list[tuple[int, float]] = field(default_factory=list)
    prepared: Prepared | None = field(default=None, repr=False)  # what the model saw, for crops and reports

    @property
    def failed(self) -> bool:
        return self.status is Status.ERROR

    @property
    def flagged(self) -> bool:
        """Not a confident digit: what a non-digit should get."""
        return self.status in (Status.LOW_CONFIDENCE, Status.NO_DIGIT)

    def as_record(self, with_top_k: bool = False) -> dict:
        """predict's JSON record: the documented contract."""
        record = {"path": self.path, "digit": self.digit, "confidence": rounded(self.confidence),
                  "status": self.status.value, "error": self.error}
        if with_top_k:
            record["top_k"] = [{"digit": d, "confidence": rounded(c)} for d, c in self.top_k]
        return record
