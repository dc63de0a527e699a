"""digitcli: read handwritten digits and numbers from image files.

    from digitcli import Reader
    result = Reader().read("photo.jpg")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Reader", "Result", "Status", "__version__"]

if TYPE_CHECKING:
    from .reading.reader import Reader
    from .reading.result import Result, Status


def __getattr__(name: str):
    """Import the reading library on first use, so that `digitcli --help`
    (which imports this package) does not load OpenCV and onnxruntime."""
    if name == "Reader":
        from .reading.reader import Reader

        return Reader
    if name in ("Result", "Status"):
        from .reading import result

        return getattr(result, name)
    raise AttributeError(f"module 'digitcli' has no attribute {name!r}")
