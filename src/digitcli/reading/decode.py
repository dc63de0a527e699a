"""Decoding: image file bytes -> an upright 8-bit image, or an ImageError.

Kept apart from the vision pipeline: this is where untrusted bytes meet C
decoders, so the format is sniffed, truncation and sizes are checked before
decoding, large JPEGs are decoded at reduced size, orientation and alpha are
settled, and every depth and channel layout becomes uint8 gray or BGR.
"""

from __future__ import annotations

import io
import math
import os
import struct
from collections.abc import Iterator
from typing import NamedTuple

from ..config import SETTINGS, PipelineConfig

# OpenCV's own ceiling on the pixels a decoder may allocate for, read at the
# first decode: the last guard, for a format whose header is not parsed here.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(SETTINGS.pipeline.max_pixels))

import cv2
import numpy as np
import simplejpeg

from ..errors import ImageError


class Decoded(NamedTuple):
    """A decoded image, upright, and what the decoder noticed on the way."""

    image: np.ndarray               # uint8 gray or BGR
    size: tuple[int, int]           # the original (width, height), upright
    damage: str | None = None       # a decoder's warning: the pixels may be wrong


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of any format OpenCV reads, without
    decoding (so that a bomb is refused, and a large image waits its turn,
    before a decoder allocates for it), or None when the header does not say."""
    fmt = sniff_format(data)
    try:
        reader = _HEADER_READERS.get(fmt)
        return reader(data) if reader else None
    except (struct.error, IndexError, ValueError):
        return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    return struct.unpack(">II", data[16:24]) if len(data) >= 24 else None


def jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """A JPEG's marker segments before its first scan, as (marker, body),
    skipping fill bytes (0xFF runs) before markers; stops at what is not a
    marker."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        while pos + 1 < len(data) and data[pos + 1] == 0xFF:   # fill bytes
            pos += 1
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:   # markers without a body
            pos += 2
            continue
        if marker in (0xDA, 0xD9):   # the scan, or the end
            return
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        yield marker, data[pos + 4:pos + 2 + length]
        pos += 2 + length


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The frame header (SOFn)."""
    for marker, body in jpeg_segments(data):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", body[1:5])
            return width, height
    return None


def _gif_size(data: bytes) -> tuple[int, int]:
    """The logical screen, and any frame larger than it."""
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


def _bmp_size(data: bytes) -> tuple[int, int]:
    header = struct.unpack("<I", data[14:18])[0]
    if header == 12:   # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = struct.unpack("<I", data[21:25])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def tiff_tags(tiff: bytes, wanted: set[int]) -> dict[int, int]:
    """The SHORT or LONG values of the `wanted` tags in a TIFF's (or an EXIF
    block's) first IFD; tags missing or out of bounds are left out."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return {}
    order = "<" if tiff[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", tiff[4:8])[0]
    if offset + 2 > len(tiff):
        return {}
    found = {}
    for index in range(min(struct.unpack(order + "H", tiff[offset:offset + 2])[0], 512)):
        entry = offset + 2 + 12 * index
        if entry + 12 > len(tiff):
            break
        tag, kind = struct.unpack(order + "HH", tiff[entry:entry + 4])
        if tag in wanted and kind in (3, 4):
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"),
                                       tiff[entry + 8:entry + (10 if kind == 3 else 12)])[0]
    return found


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first IFD."""
    tags = tiff_tags(data, {256, 257})
    return (tags[256], tags[257]) if len(tags) == 2 else None


def _pnm_tokens(data: bytes, count: int) -> list[bytes]:
    """The first `count` header fields after a PNM's magic ('P5 <width>
    <height> <maxval>'), comments allowed."""
    tokens: list[bytes] = []
    for line in data[2:512].split(b"\n"):
        tokens += line.split(b"#", 1)[0].split()
        if len(tokens) >= count:
            break
    return tokens[:count]


def _pnm_size(data: bytes) -> tuple[int, int] | None:
    tokens = _pnm_tokens(data, 2)
    return (int(tokens[0]), int(tokens[1])) if len(tokens) == 2 else None


_HEADER_READERS = {"PNG": _png_size, "JPEG": _jpeg_size, "GIF": _gif_size, "BMP": _bmp_size, "WebP": _webp_size,
                   "TIFF": _tiff_size, "PBM": _pnm_size, "PGM": _pnm_size, "PPM": _pnm_size}


SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"), (b"GIF8", "GIF"), (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"P1", "PBM"), (b"P2", "PGM"), (b"P3", "PPM"), (b"P4", "PBM"), (b"P5", "PGM"), (b"P6", "PPM"),
)


# ISO base media files ('ftyp' box) whose major brand is HEIF's: what iPhones save.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
HEIC_EXTRA = 'reading HEIC (what iPhones save) needs the [heic] extra: pip install "digitcli[heic]"'


def sniff_format(data: bytes) -> str | None:
    """The image format the first bytes announce, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "HEIC"
    return next((name for magic, name in SIGNATURES if data.startswith(magic)), None)


def _looks_truncated(data: bytes, fmt: str) -> bool:
    """Decoders fill a cut-off JPEG with grey and carry on; refuse it instead.
    The end marker may be followed by a phone maker's trailer or by zero
    padding, but never missing from the second half of what is left (a
    thumbnail's marker sits near the start). A PNG's IEND may be followed by
    anything."""
    if fmt == "JPEG":
        data = data.rstrip(b"\0")
        return b"\xff\xd9" not in data[len(data) // 2:]
    if fmt == "PNG":
        return data.rfind(b"IEND") < 33
    return False


def _tiff_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of an EXIF block's first IFD, or 1."""
    value = tiff_tags(tiff, {0x0112}).get(0x0112, 1)
    return value if 1 <= value <= 8 else 1


def exif_orientation(data: bytes, fmt: str) -> int:
    """EXIF orientation (1-8) of a JPEG (APP1), PNG (eXIf chunk) or WebP
    (EXIF chunk), or 1."""
    exif = b""
    if fmt == "JPEG":
        exif = _jpeg_exif(data)
    elif fmt == "PNG":
        position = 8
        while position + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[position:position + 8])
            if kind == b"eXIf":
                exif = data[position + 8:position + 8 + length]
                break
            if kind in (b"IDAT", b"IEND"):
                break
            position += 12 + length
    elif fmt == "WebP":
        position = 12
        while position + 8 <= len(data):
            kind, length = struct.unpack("<4sI", data[position:position + 8])
            if kind == b"EXIF":
                exif = data[position + 8:position + 8 + length]
                break
            position += 8 + length + (length & 1)
    if exif.startswith(b"Exif\0\0"):
        exif = exif[6:]
    return _tiff_orientation(exif)


def _jpeg_exif(data: bytes) -> bytes:
    """The EXIF block of a JPEG's APP1 segment, or b""."""
    return next((body for marker, body in jpeg_segments(data) if marker == 0xE1 and body.startswith(b"Exif\0\0")),
                b"")


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn the stored pixels upright, as a viewer shows them."""
    if orientation in (2, 4, 5, 7):
        image = cv2.flip(image, 1)
    turns = {3: cv2.ROTATE_180, 4: cv2.ROTATE_180, 5: cv2.ROTATE_90_CLOCKWISE, 6: cv2.ROTATE_90_CLOCKWISE,
             7: cv2.ROTATE_90_COUNTERCLOCKWISE, 8: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(image, turns[orientation]) if orientation in turns else image


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

# TurboJPEG's warnings that say nothing about the pixels.
HARMLESS_JPEG_WARNINGS = ("invalid sos parameters for sequential jpeg", "unknown jfif revision")


def decode_jpeg(data: bytes, size: tuple[int, int] | None, factor: int) -> tuple[np.ndarray, str | None]:
    """A JPEG, stored side up, at 1/factor size, through libjpeg-turbo
    (simplejpeg), which reports what OpenCV keeps to its log: corrupt
    entropy-coded data ("bad Huffman code", "premature end of data
    segment") decodes into a damaged image, returned with the warning. What
    TurboJPEG cannot convert (CMYK) is OpenCV's to decode."""
    if size is not None:
        bounds = {"min_factor": factor, "min_width": math.ceil(size[0] / factor),
                  "min_height": math.ceil(size[1] / factor)}
    else:
        bounds = {}
    try:
        return simplejpeg.decode_jpeg(data, "BGR", **bounds), None
    except ValueError as exc:
        warning = str(exc).strip().rstrip(".")
    try:
        image = simplejpeg.decode_jpeg(data, "BGR", strict=False, **bounds)
    except ValueError:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED_COLOR[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
        return image, None
    if any(harmless in warning.lower() for harmless in HARMLESS_JPEG_WARNINGS):
        return image, None
    return image, f"damaged JPEG data ({warning[:1].lower() + warning[1:]})"


def decode_image(data: bytes, config: PipelineConfig = SETTINGS.pipeline) -> Decoded:
    """Bytes -> 8-bit BGR or gray image, upright, alpha settled.

    Large JPEGs are decoded at reduced size. EXIF orientation is applied
    for JPEG, PNG and WebP; a decoder's warning about damaged data comes
    back as `damage`.
    """
    if not data:
        raise ImageError("empty file")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageError("not an image (unrecognised file format)")
    if _looks_truncated(data, fmt):
        raise ImageError(f"truncated {fmt} file")
    size = image_dimensions(data)
    check_decoded_size(data, fmt, size, config)
    if fmt == "HEIC":
        image = decode_heic(data, config)
        return Decoded(image, (image.shape[1], image.shape[0]))
    damage = None
    try:
        if fmt == "JPEG":
            image, damage = decode_jpeg(data, size, _jpeg_reduction(size, config.working_side))
        else:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageError(f"cannot decode image ({str(exc).strip().splitlines()[-1]})") from None
    if image is None or image.size == 0:
        raise ImageError(f"corrupt or unsupported {fmt} file")
    if fmt in ("PGM", "PPM"):
        image = rescale_pnm(image, pnm_maxval(data))
    orientation = exif_orientation(data, fmt) if fmt in ("JPEG", "PNG", "WebP") else 1
    if size is None:
        size = (image.shape[1], image.shape[0])
    if orientation != 1:
        image = apply_orientation(image, orientation)
        if orientation >= 5:   # a quarter turn
            size = (size[1], size[0])
    return Decoded(to_uint8_bgr_or_gray(image), size, damage)


def pnm_maxval(data: bytes) -> int:
    """A PGM's or PPM's maxval (255 when unreadable)."""
    tokens = _pnm_tokens(data, 3)
    return int(tokens[2]) if len(tokens) == 3 and tokens[2].isdigit() else 255


def rescale_pnm(image: np.ndarray, maxval: int) -> np.ndarray:
    """OpenCV keeps a PNM's samples as stored: with maxval 15, white is 15.
    Scale them so that maxval is white, at 8 or 16 bits as decoded."""
    full = 65535 if image.dtype == np.uint16 else 255
    if not 0 < maxval < full or maxval == 255:
        return image
    scaled = image.astype(np.float32) * (full / maxval)
    return np.clip(scaled + 0.5, 0, full).astype(image.dtype)


def decoded_bytes_per_pixel(data: bytes, fmt: str) -> int:
    """What one pixel takes decoded: a PNG says (its channels and depth);
    any other is counted as 4 channels of 8 bits, its most, bar 16-bit TIFF.
    A JPEG is decoded at reduced size when large: one byte."""
    if fmt == "PNG" and len(data) >= 26:
        channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(data[25], 4)
        return channels * (2 if data[24] == 16 else 1)
    return 1 if fmt == "JPEG" else 4


def check_decoded_size(data: bytes, fmt: str, size: tuple[int, int] | None, config: PipelineConfig) -> None:
    """Refuse, before any decoder allocates, what would be too large decoded:
    by its pixels, or by its bytes (a 14142x14142 16-bit RGBA PNG is under
    the pixel limit but takes 1.6 GB)."""
    if size is None:
        return
    pixels = size[0] * size[1]
    if pixels > config.max_pixels:
        raise ImageError(f"image too large ({size[0]}x{size[1]} pixels; the limit is {config.max_pixels:,})")
    needed = pixels * decoded_bytes_per_pixel(data, fmt)
    if needed > config.max_decoded_bytes:
        raise ImageError(f"image too large ({size[0]}x{size[1]} pixels would take {needed / 2**20:,.0f} MB "
                         f"decoded; the limit is {config.max_decoded_bytes / 2**20:,.0f} MB)")


def decode_heic(data: bytes, config: PipelineConfig) -> np.ndarray:
    """A HEIC photo through pillow-heif (libheif), which OpenCV cannot read;
    libheif applies the file's rotation and mirroring itself."""
    try:
        import pillow_heif
    except ImportError:
        raise ImageError(HEIC_EXTRA) from None
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        check_decoded_size(data, "HEIC", heif.size, config)
        image = np.asarray(heif)
    except (ValueError, RuntimeError, OSError, EOFError) as exc:
        raise ImageError(f"corrupt or unsupported HEIC file ({str(exc).strip() or exc.__class__.__name__})") from None
    code = cv2.COLOR_RGBA2BGRA if image.ndim == 3 and image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return to_uint8_bgr_or_gray(cv2.cvtColor(np.ascontiguousarray(image), code) if image.ndim == 3 else image)


def to_uint8_bgr_or_gray(image: np.ndarray) -> np.ndarray:
    """Any depth and channel count -> uint8 gray or BGR, alpha settled."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype in (np.float16, np.float32, np.float64):
        image = float_to_uint8(image)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        image = composite_on_paper(image)
    elif image.ndim == 3 and image.shape[2] == 2:   # gray + alpha
        image = composite_on_paper(cv2.cvtColor(cv2.extractChannel(image, 0), cv2.COLOR_GRAY2BGR),
                                   cv2.extractChannel(image, 1))
    return image


def float_to_uint8(image: np.ndarray) -> np.ndarray:
    """Floating-point samples -> 0-255: [0, 1] (the usual convention, give
    or take rounding) and [0, 255] keep their meaning; any other range (HDR,
    signed, 16-bit counts) is stretched to fit. NaN and infinities count as
    black."""
    image = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(image.min()), float(image.max())
    if low >= -0.01 and high <= 1.5:
        image = image * 255.0
    elif low < -0.5 or high > 255.5:
        image = (image - low) * (255.0 / max(high - low, 1e-12))
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def composite_on_paper(bgra: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """A transparent canvas drawing is ink on nothing: put it on paper that
    shows it. Dark ink goes on white; light ink (white on a transparent
    canvas, as drawing apps save) goes on black, when the opaque part is the
    minority a drawing is. An image whose alpha is fully opaque keeps its
    colours as they are."""
    if alpha is None:
        alpha = cv2.extractChannel(bgra, 3)
        bgra = cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)
    if alpha.min() == 255:
        return bgra
    opaque = alpha >= 128
    gray = bgra if bgra.ndim == 2 else cv2.cvtColor(bgra, cv2.COLOR_BGR2GRAY)
    light_ink = 0 < opaque.mean() < 0.5 and float(gray[opaque].mean()) > 128
    alphas = cv2.merge([alpha] * bgra.shape[2]) if bgra.ndim == 3 else alpha
    if light_ink:   # black + alpha * colour
        return cv2.multiply(bgra, alphas, scale=1 / 255)
    # white + alpha * (colour - white) = 255 - alpha * (255 - colour), in OpenCV's C loops
    return cv2.bitwise_not(cv2.multiply(cv2.bitwise_not(bgra), alphas, scale=1 / 255))
