"""Decoding: image file bytes -> an upright 8-bit image, or an ImageError.

Kept apart from the vision pipeline: this is where untrusted bytes meet C
decoders, so the format is sniffed, truncation and sizes are checked before
decoding, large JPEGs are decoded at reduced size, orientation and alpha are
settled, and every depth and channel layout becomes uint8 gray or BGR.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from ..config import SETTINGS, PipelineConfig
from ..errors import ImageError


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header without decoding, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 < len(data):
            if data[pos] != 0xFF:
                return None
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
                return width, height
            pos += 2 + length
    return None


SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"), (b"GIF8", "GIF"), (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"P1", "PBM"), (b"P2", "PGM"), (b"P3", "PPM"), (b"P4", "PBM"), (b"P5", "PGM"), (b"P6", "PPM"),
)


def sniff_format(data: bytes) -> str | None:
    """The image format the first bytes announce, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in SIGNATURES if data.startswith(magic)), None)


def _looks_truncated(data: bytes, fmt: str) -> bool:
    """Decoders fill a cut-off JPEG with grey and carry on; refuse it instead.
    The end marker may be followed by a phone maker's trailer, but never
    missing from the second half (a thumbnail's marker sits near the start)."""
    if fmt == "JPEG":
        return b"\xff\xd9" not in data[len(data) // 2:]
    if fmt == "PNG":
        return b"IEND" not in data[-1024:]
    return False


def _jpeg_reduction(size: tuple[int, int] | None, working_side: int) -> int:
    """The largest JPEG decode reduction (1, 2, 4, 8) that keeps the long side
    at least the working size: decoding at 1/8 is many times faster, and
    averages like a good downscale."""
    if size is None:
        return 1
    long_side = max(size)
    for factor in (8, 4, 2):
        if long_side // factor >= working_side:
            return factor
    return 1


_REDUCED_COLOR = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                  4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def decode_image(data: bytes, config: PipelineConfig = SETTINGS.pipeline) -> tuple[np.ndarray, tuple[int, int]]:
    """Bytes -> 8-bit BGR or gray image, upright, alpha composited on white.

    Returns the image and the original (width, height). JPEGs are decoded
    with OpenCV's EXIF orientation applied and, when large, at reduced size.
    """
    if not data:
        raise ImageError("empty file")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageError("not an image (unrecognised file format)")
    if _looks_truncated(data, fmt):
        raise ImageError(f"truncated {fmt} file")
    size = image_dimensions(data)
    if size is not None and size[0] * size[1] > config.max_pixels:
        raise ImageError(f"image too large ({size[0]}x{size[1]} pixels)")
    buffer = np.frombuffer(data, np.uint8)
    try:
        if fmt == "JPEG":
            factor = _jpeg_reduction(size, config.working_side)
            image = cv2.imdecode(buffer, _REDUCED_COLOR[factor])
        else:
            image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageError(f"cannot decode image ({str(exc).strip().splitlines()[-1]})") from None
    if image is None or image.size == 0:
        raise ImageError(f"corrupt or unsupported {fmt} file")
    if size is None:
        size = (image.shape[1], image.shape[0])
    return to_uint8_bgr_or_gray(image), size


def to_uint8_bgr_or_gray(image: np.ndarray) -> np.ndarray:
    """Any depth and channel count -> uint8 gray or BGR, alpha on white."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = np.clip(image * 255.0 if image.max() <= 1.0 else image, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        image = composite_on_white(image)
    elif image.ndim == 3 and image.shape[2] == 2:   # gray + alpha
        image = composite_on_white(cv2.cvtColor(cv2.extractChannel(image, 0), cv2.COLOR_GRAY2BGR),
                                   cv2.extractChannel(image, 1))
    return image


def composite_on_white(bgra: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """A transparent canvas drawing is ink on nothing: put it on white paper.

    An image whose alpha is fully opaque keeps its colours as they are."""
    if alpha is None:
        alpha = cv2.extractChannel(bgra, 3)
        bgra = cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)
    if alpha.min() == 255:
        return bgra
    # white + alpha * (colour - white) = 255 - alpha * (255 - colour), in OpenCV's C loops
    ink = cv2.multiply(cv2.bitwise_not(bgra), cv2.merge([alpha] * bgra.shape[2]), scale=1 / 255)
    return cv2.bitwise_not(ink)
