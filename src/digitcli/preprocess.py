"""The photo pipeline: any image of one handwritten digit -> a 28x28 MNIST digit.

Pure numpy and OpenCV (no TensorFlow). Each step is a small function over
arrays, so each can be tested on images drawn by the tests:

    decode -> ink channel -> scale to working size -> polarity (ink bright)
    -> background removal -> threshold -> pick the digit's components
    -> stroke width -> 20x20 box -> 28x28 by centre of mass
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from .config import SETTINGS, ImageConvention, PipelineConfig
from .errors import ImageError

Box = tuple[int, int, int, int]  # x, y, width, height

STATUS_OK = "ok"
STATUS_NO_DIGIT = "no digit"


@dataclass(frozen=True)
class Prepared:
    """What the pipeline made of one image."""

    digit: np.ndarray | None  # (28, 28) float32 in [0, 1], white on black; None if no digit
    status: str               # "ok" or "no digit"
    box: Box | None           # the digit's bounding box in the original image
    size: tuple[int, int]     # the original image's (width, height)
    inverted: bool            # True when the ink was dark on light paper


# ----------------------------------------------------------------- decoding

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


# ------------------------------------------------------------ ink and paper

def histogram(image: np.ndarray) -> np.ndarray:
    """The 256-bin histogram of a uint8 image (cheaper than sorting pixels)."""
    return np.bincount(image.ravel(), minlength=256)


def histogram_percentile(hist: np.ndarray, q: float) -> float:
    """The q-th percentile (0-100) of the values a histogram counts."""
    cumulative = np.cumsum(hist)
    return float(np.searchsorted(cumulative, q / 100.0 * (cumulative[-1] - 1), side="right"))


def ink_channel(image: np.ndarray) -> np.ndarray:
    """The gray view with the most ink/paper contrast: luminance, or one
    colour channel (red ink on green paper can have equal luminance)."""
    if image.ndim == 2:
        return image
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA) if max(image.shape[:2]) > 64 else image
    views = [cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), *cv2.split(small)]
    spreads = [histogram_percentile(h, 99) - histogram_percentile(h, 1) for h in map(histogram, views)]
    best = int(np.argmax(spreads))
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if best == 0 else cv2.extractChannel(image, best - 1)


def _resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    scale = long_side / max(image.shape[:2])
    if scale == 1.0:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def to_working_size(gray: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """Scale so the long side is at most `working_side` (big photos get
    cheap) and at least `min_working_side` (tiny crops such as 28x28 or
    16x16 get enough pixels for a smooth threshold)."""
    long_side = max(gray.shape)
    return _resize_long_side(gray, min(config.working_side, max(long_side, config.min_working_side)))


def _border_says_dark_ink(gray: np.ndarray) -> bool:
    """Paper is what the border of the picture mostly shows."""
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ring = max(1, min(gray.shape) // 20)
    border = np.concatenate([gray[:ring].ravel(), gray[-ring:].ravel(),
                             gray[:, :ring].ravel(), gray[:, -ring:].ravel()])
    return histogram_percentile(histogram(border), 50) > threshold


def ink_is_dark(gray: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """Decide polarity. Ink strokes are thin lines; a difference of Gaussians
    answers a dark line with a strong negative centre and a light line with a
    positive one, while shading and shadow edges (steps, not lines) answer
    both ways alike. Clearly dark lines mean dark ink; otherwise (light ink,
    or a digit filling the frame) the border, mostly paper, decides."""
    small = _resize_long_side(gray, config.polarity_side).astype(np.float32)
    half = _resize_long_side(small, config.polarity_side // 2)
    blurred = [cv2.GaussianBlur(small, (0, 0), sigma) for sigma in (1.0, 2.0, 4.0)]
    coarse = [cv2.GaussianBlur(half, (0, 0), sigma) for sigma in (2.0, 4.0)]   # sigma 4 and 8 at full size
    dark = light = 0.0
    for fine, wide in ((blurred[0], blurred[1]), (blurred[1], blurred[2]), (coarse[0], coarse[1])):
        dog = (fine - wide).ravel()
        top = max(1, dog.size // 1000)   # the strongest 0.1% of responses
        dark -= float(np.partition(dog, top)[top])
        light += float(np.partition(dog, dog.size - top - 1)[dog.size - top - 1])
    if dark > config.dark_line_ratio * light:
        return True
    return _border_says_dark_ink(gray)


def remove_background(ink: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """Ink bright on dark: subtract the paper's slow shading (shadows, uneven
    light), estimated by a grey opening far wider than any stroke (a third
    of the image), computed on a small copy so it costs little."""
    height, width = ink.shape
    if max(height, width) <= config.background_side:
        return cv2.subtract(ink, int(histogram_percentile(histogram(ink), 50)))
    small = _resize_long_side(ink, config.background_side)
    side = config.background_side * 5 // 16 | 1   # 15 at 48: odd, about a third
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    small_bg = cv2.blur(cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE), (5, 5))
    return cv2.subtract(ink, cv2.resize(small_bg, (width, height), interpolation=cv2.INTER_LINEAR))


# ---------------------------------------------------------- the digit itself

def threshold_ink(ink: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray | None:
    """Binary mask of the ink, or None when the image has no ink worth the
    name (a blank page, a flat colour).

    Otsu splits ink from paper when both are plentiful; when the digit is a
    small part of a big page, Otsu splits the paper's own noise, so the
    threshold is also kept above the noise and at least 40% of the way to
    the ink's peak contrast."""
    smooth = cv2.GaussianBlur(ink, (3, 3), 0)
    hist = histogram(smooth)
    median, peak = histogram_percentile(hist, 50), histogram_percentile(hist, 99.95)
    if peak - median < config.min_contrast:
        return None
    otsu, _ = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper = hist[: int(otsu) + 1]
    paper_level = histogram_percentile(paper, 50)
    deviations = np.bincount(np.abs(np.arange(len(paper)) - int(paper_level)), weights=paper, minlength=256)
    noise = 1.4826 * histogram_percentile(deviations, 50)
    threshold = max(otsu, paper_level + 6 * noise, median + 0.4 * (peak - median),
                    paper_level + config.min_contrast / 2)
    _, mask = cv2.threshold(smooth, threshold, 255, cv2.THRESH_BINARY)
    return mask


def _is_line_or_edge(box: Box, area: int, shape: tuple[int, int], margin: int) -> bool:
    """Paper edges, ruled lines and frames: thin, long, or hugging the border."""
    x, y, w, h = box
    height, width = shape
    touches = (x <= margin) + (y <= margin) + (x + w >= width - margin) + (y + h >= height - margin)
    long_thin = (w > 0.6 * width and h < 0.08 * height) or (h > 0.6 * height and w < 0.08 * width
                                                            and touches >= 2)
    hollow_frame = touches >= 2 and area < 0.15 * w * h and max(w / width, h / height) > 0.8
    return bool(long_thin or hollow_frame)


def select_digit(mask: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray | None:
    """Keep the components that make the digit: the largest plausible one and
    the strokes near it (a 5's flag, a 7's bar); drop specks, edges, lines.
    Returns a mask of the kept pixels, or None when nothing digit-like is left."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    height, width = mask.shape
    min_area = max(4, config.min_component_fraction * height * width)
    margin = max(1, round(config.border_margin_fraction * max(height, width)))
    candidates = []
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if area < min_area:
            continue
        candidates.append((index, (x, y, w, h), area, _is_line_or_edge((x, y, w, h), area, mask.shape, margin)))
    plausible = [c for c in candidates if not c[3]] or candidates
    if not plausible:
        return None
    main = max(plausible, key=lambda c: c[2])
    x0, y0, w0, h0 = main[1]
    keep = [main[0]]
    reach = config.merge_distance_fraction * max(height, width) + 0.25 * max(w0, h0)
    left, top, right, bottom = x0, y0, x0 + w0, y0 + h0
    pending = [c for c in plausible if c[0] != main[0] and not c[3] and c[2] >= 0.04 * main[2]]
    merged = True
    while merged:  # until no stroke is near the digit: pieces may bridge to further pieces
        merged = False
        for candidate in list(pending):
            index, (x, y, w, h), _, _ = candidate
            gap_x = max(0, left - (x + w), x - right)
            gap_y = max(0, top - (y + h), y - bottom)
            if max(gap_x, gap_y) <= reach:
                keep.append(index)
                pending.remove(candidate)
                left, top = min(left, x), min(top, y)
                right, bottom = max(right, x + w), max(bottom, y + h)
                merged = True
    if max(right - left, bottom - top) < max(6, 0.03 * max(height, width)):
        return None
    lookup = np.zeros(count, np.uint8)
    lookup[keep] = 255
    return lookup[labels]


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary shape: 2 * area / perimeter, which holds
    for long strokes of any shape."""
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(np.count_nonzero(mask)) / max(perimeter, 1.0)


def normalise_stroke(crop: np.ndarray, image: ImageConvention = SETTINGS.image) -> np.ndarray:
    """Thicken hair-thin strokes so that, in the 20x20 box, they are about as
    wide as MNIST's pen (about 2 pixels); thick strokes are left alone."""
    scale = image.box / max(crop.shape)
    width = stroke_width(crop) * scale
    if width >= 1.6:
        return crop
    grow = round((2.0 - width) / scale / 2)
    if grow < 1:
        return crop
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    padded = cv2.copyMakeBorder(crop, grow, grow, grow, grow, cv2.BORDER_CONSTANT, value=0)
    return cv2.dilate(padded, kernel)


def crop_to_box(mask: np.ndarray) -> tuple[np.ndarray, Box]:
    """The tight bounding box of the nonzero pixels, and the crop."""
    x, y, w, h = cv2.boundingRect(mask)
    return mask[y:y + h, x:x + w], (x, y, w, h)


def fit_in_box(crop: np.ndarray, image: ImageConvention = SETTINGS.image) -> np.ndarray:
    """Pad to square, then resize into the 20x20 box with anti-aliasing, as
    NIST's binary digits were resized to make MNIST. Returns float32 in [0, 1]."""
    h, w = crop.shape
    side = max(h, w)
    square = np.zeros((side, side), np.uint8)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = crop
    interpolation = cv2.INTER_AREA if side > image.box else cv2.INTER_LINEAR
    boxed = cv2.resize(square, (image.box, image.box), interpolation=interpolation)
    return boxed.astype(np.float32) / 255.0


def centre_by_mass(boxed: np.ndarray, image: ImageConvention = SETTINGS.image) -> np.ndarray:
    """Place the 20x20 digit in 28x28 so its centre of mass is at the centre."""
    out = np.zeros((image.size, image.size), np.float32)
    offset = (image.size - boxed.shape[0]) // 2
    out[offset:offset + boxed.shape[0], offset:offset + boxed.shape[1]] = boxed
    moments = cv2.moments(out)
    if moments["m00"] <= 0:
        return out
    shift_x = (image.size - 1) / 2 - moments["m10"] / moments["m00"]
    shift_y = (image.size - 1) / 2 - moments["m01"] / moments["m00"]
    matrix = np.float32([[1, 0, shift_x], [0, 1, shift_y]])
    return cv2.warpAffine(out, matrix, (image.size, image.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


# --------------------------------------------------------------- end to end

def prepare_array(image: np.ndarray, original_size: tuple[int, int] | None = None,
                  config: PipelineConfig = SETTINGS.pipeline,
                  convention: ImageConvention = SETTINGS.image) -> Prepared:
    """A decoded image (gray or BGR, uint8) -> the model's 28x28 input."""
    image = to_uint8_bgr_or_gray(np.asarray(image))
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise ImageError(f"unsupported image shape {image.shape}")
    size = original_size or (image.shape[1], image.shape[0])
    gray = to_working_size(ink_channel(image), config)
    # The working copy may also have been decoded at reduced size.
    scale_to_original = size[0] / gray.shape[1]
    inverted = ink_is_dark(gray, config)
    ink = cv2.bitwise_not(gray) if inverted else gray
    if max(image.shape[:2]) > config.small_image_side:   # a tiny crop has no shading to remove
        ink = remove_background(ink, config)
    mask = threshold_ink(ink, config)
    digit_mask = select_digit(mask, config) if mask is not None else None
    if digit_mask is None:
        return Prepared(None, STATUS_NO_DIGIT, None, size, inverted)
    crop, (x, y, w, h) = crop_to_box(digit_mask)
    boxed = fit_in_box(normalise_stroke(crop, convention), convention)
    digit = centre_by_mass(boxed, convention)
    box = (round(x * scale_to_original), round(y * scale_to_original),
           max(1, round(w * scale_to_original)), max(1, round(h * scale_to_original)))
    return Prepared(digit, STATUS_OK, box, size, inverted)


def prepare_bytes(data: bytes, config: PipelineConfig = SETTINGS.pipeline) -> Prepared:
    """Encoded image bytes -> the model's 28x28 input (or an ImageError)."""
    image, size = decode_image(data, config)
    return prepare_array(image, size, config)
