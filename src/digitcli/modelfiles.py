"""The set of files that make one model: `.keras`, `.onnx` and the JSON card.

No TensorFlow here: predict reads the card and the ONNX file only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

MODEL_STEM = "digitcli"


def card_checksum(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ModelFiles:
    keras: Path
    onnx: Path
    card: Path

    @classmethod
    def in_folder(cls, folder: Path, stem: str = MODEL_STEM) -> ModelFiles:
        return cls(folder / f"{stem}.keras", folder / f"{stem}.onnx", folder / f"{stem}.json")

    @classmethod
    def beside(cls, model: Path) -> ModelFiles:
        """The set a given model file belongs to (any of the three, or a folder)."""
        model = Path(model)
        if model.is_dir():
            return cls.in_folder(model)
        return cls(model.with_suffix(".keras"), model.with_suffix(".onnx"), model.with_suffix(".json"))


def read_card(path: Path) -> dict | None:
    """The model card, or None when there is none; a broken one is an error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the model card ({exc}). "
                         "Re-train with `digitcli train` or delete the card.") from None
