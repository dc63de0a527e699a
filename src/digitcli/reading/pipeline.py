"""The vision pipeline: an image of one handwritten digit -> a 28x28 MNIST digit.

Pure numpy and OpenCV (no TensorFlow). Each stage is a small function over
arrays, so each can be tested on images drawn by the tests, and each takes
its numbers (and its on/off switch) from `PipelineConfig`:

    ink channel -> scale to working size -> polarity (ink bright)
    -> shading removal -> threshold -> pick the digit's components
    -> stroke width -> 20x20 box -> 28x28 by centre of mass

Decoding bytes into an image is decode.py's job.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import combinations, pairwise

import cv2
import numpy as np

from ..config import SETTINGS, ImageConvention, PipelineConfig
from ..errors import ImageError
from .decode import decode_image, to_uint8_bgr_or_gray

Box = tuple[int, int, int, int]  # x, y, width, height


@dataclass(frozen=True)
class Prepared:
    """What the pipeline made of one image."""

    digit: np.ndarray | None  # (28, 28) float32 in [0, 1], white on black; None if no digit
    box: Box | None           # the digit's bounding box in the original image
    size: tuple[int, int]     # the original image's (width, height)
    inverted: bool            # True when the ink was dark on light paper
    # For number reading: numbers.Segment, line by line, left to right (or,
    # until runner.classify decides, one numbers.LoneShape, not cut yet).
    segments: tuple = ()
    ink_share: float = 0.0    # the share of the image's ink that the one digit's crop holds
    damage: str | None = None # the decoder's warning: the pixels may be wrong (decode.Decoded)

    @property
    def found(self) -> bool:
        return self.digit is not None


def as_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (MNIST's 0-255) -> float32 in [0, 1], the model's scale."""
    return np.asarray(images, np.float32) / 255.0


def to_uint8(digits: np.ndarray) -> np.ndarray:
    """The model's float32 in [0, 1] -> uint8 0-255 (for PNG files)."""
    return np.clip(np.asarray(digits) * 255.0 + 0.5, 0, 255).astype(np.uint8)


# ------------------------------------------------------------ ink and paper

def histogram(image: np.ndarray) -> np.ndarray:
    """The 256-bin histogram of a uint8 image (cheaper than sorting pixels)."""
    return np.bincount(image.ravel(), minlength=256)


def histogram_percentile(hist: np.ndarray, q: float) -> float:
    """The q-th percentile (0-100) of the values a histogram counts."""
    cumulative = np.cumsum(hist)
    return float(np.searchsorted(cumulative, q / 100.0 * (cumulative[-1] - 1), side="right"))


def ink_channel(image: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """The gray view with the most ink/paper contrast: luminance, or one
    colour channel (red ink on green paper can have equal luminance)."""
    if image.ndim == 2:
        return image
    side = config.ink_channel_side
    small = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA) if max(image.shape[:2]) > side else image
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


def _border_says_dark_ink(gray: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """Paper is what the border of the picture mostly shows: what three or
    four of its sides show (a scanner's black margin down one long side is
    half the border of a narrow crop, but one side of four), or, two sides
    against two, what the border shows beyond a solid dark margin along one
    side (a margin as wide as half the crop darkens the two sides across it
    too), else what most of the border shows."""
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light_sides = _light_sides(gray, threshold)
    if light_sides == 2:
        beyond = _beyond_dark_margin(gray, threshold, config)
        light_sides = 2 if beyond is None else _light_sides(beyond, threshold)
    if light_sides != 2:
        return light_sides > 2
    return histogram_percentile(histogram(np.concatenate(_border_sides(gray))), 50) > threshold


def _border_sides(gray: np.ndarray) -> list[np.ndarray]:
    """The four sides' rings, a twentieth of the short side deep: top, bottom, left, right."""
    ring = max(1, min(gray.shape) // 20)
    return [gray[:ring].ravel(), gray[-ring:].ravel(), gray[:, :ring].ravel(), gray[:, -ring:].ravel()]


def _light_sides(gray: np.ndarray, threshold: float) -> int:
    """How many of the four sides' rings are mostly light."""
    return sum(histogram_percentile(histogram(side), 50) > threshold for side in _border_sides(gray))


def _beyond_dark_margin(gray: np.ndarray, threshold: float, config: PipelineConfig) -> np.ndarray | None:
    """The image less a solid dark strip along one side (a scanner's black
    margin, dark along `strip_fill_fraction` of each of its lines), when one
    side has one and more of the image lies beyond it (wider, it is the
    dark paper of light ink)."""
    dark = gray <= threshold
    for turns in range(4):   # each side in turn brought to the left
        columns = np.rot90(dark, turns).mean(axis=0) >= config.strip_fill_fraction
        width = int(np.argmin(columns)) if not columns.all() else columns.size
        if width and columns.size - width > width:
            return np.rot90(np.rot90(gray, turns)[:, width:], -turns)
    return None


def without_shading(gray: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """A small copy of the image less its median over a third of its short
    side, lifted to a light grey: a shadow's edge and light falling off
    (steps and slopes, which a wide median follows) are flattened away,
    while thin strokes, dark or light, stay. So a border half in shadow
    shows one paper, not a dark side that looks like a dark ground."""
    small = _resize_long_side(gray, config.polarity_side)
    side = max(3, min(small.shape) // config.shading_median_fraction | 1)
    flat = small.astype(np.int16) - cv2.medianBlur(small, side) + 160
    return np.clip(flat, 0, 255).astype(np.uint8)


def ink_is_dark(gray: np.ndarray, config: PipelineConfig = SETTINGS.pipeline, shaded: bool = True) -> bool:
    """Decide polarity. Ink strokes are thin lines; a difference of Gaussians
    answers a dark line with a strong negative centre and a light line with a
    positive one, while shading and shadow edges (steps, not lines) answer
    both ways alike. Clearly dark lines mean dark ink; otherwise (light ink,
    or a digit filling the frame) the border, mostly paper, decides, with
    the shading taken out where there may be some (`shaded`: not a tiny
    crop, whose digit fills it). So it does, as it is, on a dark ground (a
    screen's black, an enlarged MNIST digit's), where the holes of a bold
    light digit, not its strokes, answer as dark lines."""
    if not config.line_polarity or _dark_ground(gray, config):
        return _border_says_dark_ink(gray, config)
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
    return _border_says_dark_ink(without_shading(gray, config) if shaded else gray, config)


def is_binarised(gray: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """Whether nearly all the pixels fall in two bands of 16 grey levels: a
    binarised image (a digit dataset's cell), not a grey scan (USPS's
    digits: at most 95%)."""
    bands = np.bincount(gray.ravel() // 16, minlength=16)
    return np.sort(bands)[-2:].sum() >= config.binarised_share * gray.size


def _ring_says_dark_ink(gray: np.ndarray) -> bool:
    """A binarised cell's polarity: the paper is the tone its outermost
    ring of pixels mostly shows. Unlike `ink_is_dark`, this leans to
    neither tone: there the gaps between a white digit's thick strokes
    answer as dark lines, and a quarter of such cells at 32x32 were read
    the wrong way round."""
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ring = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    return np.count_nonzero(ring > threshold) * 2 > ring.size


def _dark_ground(gray: np.ndarray, config: PipelineConfig) -> bool:
    """Whether the image's darkest tone (within `dark_ground_levels` of its
    darkest 1%) covers 95% of its border ring and most of the image: a dark
    ground, not a dark frame around light paper."""
    hist = histogram(gray)
    darkest = histogram_percentile(hist, 1) + config.dark_ground_levels
    ring = np.concatenate(_border_sides(gray))
    return histogram_percentile(histogram(ring), 95) <= darkest and histogram_percentile(hist, 50) <= darkest


def sheet_on_table(gray: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """A photo of a sheet lying on a darker table: the table, all round the
    sheet, is painted the sheet's paper colour, so that the sheet's ink is
    what is read (else the light sheet is taken for light ink on a dark
    ground). Only when the light part is one large four-cornered shape
    touching at most two sides of the photo, mostly paper inside, and what
    lies around it is dark and plain: a page's shaded part, which three
    sides of the photo hold, or which holds ink, is left alone."""
    small = _resize_long_side(gray, config.background_side * 2)
    threshold, light = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(light, connectivity=4)
    if count < 2:
        return gray
    index = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    hull = _hull((labels == index).astype(np.uint8) * 255)
    sheet = cv2.fillConvexPoly(np.zeros_like(small), hull, 255) > 0
    outside = ~sheet
    x, y, w, h = cv2.boundingRect(hull)
    touches = (x <= 1) + (y <= 1) + (x + w >= small.shape[1] - 1) + (y + h >= small.shape[0] - 1)
    if four_corners(hull, config) is None or touches > 2 \
            or not config.sheet_min_share <= sheet.mean() <= 1 - config.sheet_min_share:
        return gray
    paper = float(np.median(small[sheet]))
    table = small[outside]
    if paper <= threshold or float(np.median(table)) >= threshold or float(table.std()) > config.table_max_spread:
        return gray
    scale = gray.shape[1] / small.shape[1]
    big_hull = np.round(hull.astype(np.float32) * scale).astype(np.int32)
    full_sheet = cv2.fillConvexPoly(np.zeros_like(gray), big_hull, 255)
    edge = 2 * int(np.ceil(scale)) + 1
    full_sheet = cv2.erode(full_sheet, np.ones((edge, edge), np.uint8))   # the sheet's dark edge goes with the table
    out = gray.copy()
    out[full_sheet == 0] = round(paper)
    return out


def printed_box(gray: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> Box | None:
    """The inside (x, y, width, height) of a form's printed box round a
    crop of a cell (at most `box_max_side` working pixels), when its four
    sides are there, or all but the top (a comb's cell, open to paper): on
    each, a thin dark line near the side, across most of it (_line_rows),
    the lines meeting in corners, with light paper inside. Such a box
    fooled the polarity test (its edges outweigh the digit's strokes, and
    the border it fills looks dark) and was read as 1s either side of the
    digit ("107" for a 0)."""
    height, width = gray.shape
    if not config.paper_shapes or max(height, width) > config.box_max_side:
        return None
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = (gray <= threshold).astype(np.uint8)
    wander = max(2, round(config.box_tilt * max(height, width)))   # rows a scan's tilted line runs across
    thickest = max(2.0, config.box_line_thickest * min(height, width))
    rows = _share_per_row(dark)
    tilted_rows = _share_per_row(cv2.dilate(dark, np.ones((wander + 1, 1), np.uint8)))
    bottom = _line_rows(tilted_rows[::-1], rows[::-1], wander, thickest, config)
    if bottom is None:   # (most images: the columns are not looked at)
        return None
    columns = _share_per_row(dark.T)
    tilted_columns = _share_per_row(cv2.dilate(dark, np.ones((1, wander + 1), np.uint8)).T)
    top, left, right = (_line_rows(tilted, plain, wander, thickest, config) for tilted, plain in
                        ((tilted_rows, rows), (tilted_columns, columns), (tilted_columns[::-1], columns[::-1])))
    open_top = rows[:max(2, round(config.box_band_fraction * height))].mean() <= 1 - config.box_line_cover
    if not (left and right and (top or open_top)):
        return None   # (a comb's cell is open at the top, to paper; a 3 is open at the left)
    # ...and the lines meet in corners: a 0 filling its crop is round
    corners = [(across, down) for across in (top, _from_end(bottom, height)) if across
               for down in (left, _from_end(right, width))]
    if any(dark[slice(*across), slice(*down)].mean() < config.box_corner_dark for across, down in corners):
        return None
    top, bottom, left, right = (line[1] if line else 0 for line in (top, bottom, left, right))
    box = (left, top, width - right - left, height - bottom - top)   # (each line within a fifth of the side)
    inside = dark[top:height - bottom, left:width - right]
    return box if inside.mean() <= config.box_inside_dark else None   # (not a light digit on a dark cell)


def _share_per_row(mask: np.ndarray) -> np.ndarray:
    """Each row's share of set pixels in a 0/1 uint8 mask: numpy's
    mean(axis=1), in a third of its time."""
    sums = cv2.reduce(np.ascontiguousarray(mask), 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
    return sums.ravel() / mask.shape[1]


def _from_end(line: tuple[int, int], size: int) -> tuple[int, int]:
    """A line's rows counted from the far side -> from index 0."""
    return size - line[1], size - line[0]


def _line_rows(tilted: np.ndarray, plain: np.ndarray, wander: int, thickest: float,
               config: PipelineConfig) -> tuple[int, int] | None:
    """The rows (start, end), counted from the side (index 0), of the first
    printed line along it, or None: rows dark across `box_line_cover` of
    the side, measured with a tilt allowed (`tilted`: a line `wander` rows
    out of true), or, where that merges it with a stroke beside it (a 1
    written against the box), without (`plain`). The line ends within
    `box_band_fraction` of the side, and it and what lies outside it hold
    no more dark than a line `thickest` rows thick: not a thick stroke
    filling a cell (a USPS 0), nor a scanner's margin."""
    band = max(2, round(config.box_band_fraction * tilted.size))
    for cover, slack in ((tilted, wander), (plain, 0)):
        line = cover[:band] >= config.box_line_cover
        if not line.any():
            continue
        start = int(np.argmax(line))
        if line[start:].all():
            continue
        end = start + int(np.argmin(line[start:]))
        if end - start <= thickest + slack and plain[:end].sum() <= thickest:
            return start, end
    return None


def paint_outside(gray: np.ndarray, box: Box) -> np.ndarray:
    """The image with everything outside `box` painted the paper's tone
    (the median inside): a printed box's lines are not ink."""
    x, y, w, h = box
    out = np.full_like(gray, round(float(np.median(gray[y:y + h, x:x + w]))))
    out[y:y + h, x:x + w] = gray[y:y + h, x:x + w]
    return out


def remove_background(ink: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """Ink bright on dark: subtract the paper's slow shading (uneven light),
    estimated by a grey opening far wider than any stroke (a third of the
    image), computed on a small copy so it costs little. Under a shadow
    (see `is_shadowed`) the paper is estimated more finely and the ink's
    contrast restored."""
    height, width = ink.shape
    if max(height, width) <= config.background_side:
        return cv2.subtract(ink, int(histogram_percentile(histogram(ink), 50)))
    small_paper = cv2.blur(_opened(_resize_long_side(ink, config.background_side), config), (5, 5))
    if not is_shadowed(small_paper, config):
        return cv2.subtract(ink, cv2.resize(small_paper, (width, height), interpolation=cv2.INTER_LINEAR))
    return remove_shadow(ink, config)


def _opened(small: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """Grey opening of bright ink on dark paper by a square a third of
    `background_side` (15 at 48): what is left is the paper."""
    side = config.background_side * 5 // 16 | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    return cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)


def is_shadowed(paper: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """Whether the paper (its estimate, inverted: bright is dark paper) lies
    partly in shadow: its darkest twentieth is below `shading_uneven` of its
    brightest, but above `shadow_darkest` (darker is a scanner's margin, a
    table or a frame, not paper)."""
    light = 255 - paper
    brightest, darkest = float(light.max()), histogram_percentile(histogram(light), 5)
    return config.shadow_darkest * brightest <= darkest < config.shading_uneven * brightest


def remove_shadow(ink: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """Ink bright on dark, under a shadow: the paper estimated on a copy
    whose short side (the line's height, in a number) is `background_side`,
    unsmoothed, so that it follows a shadow's edge across the line, and the
    ink left divided by the light that fell on it, as a flat-field
    correction (at most by 1 / `shadow_darkest`), so that ink in the shadow
    is as strong as ink in the light."""
    height, width = ink.shape
    scale = min(1.0, config.background_side / min(height, width),
                config.background_side * config.shadow_max_aspect / max(height, width))
    small = cv2.resize(ink, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    paper = cv2.resize(_opened(small, config), (width, height), interpolation=cv2.INTER_LINEAR)
    light = 255 - cv2.GaussianBlur(paper, (0, 0), 2).astype(np.float32)
    brightest = float(light.max())
    gain = brightest / np.maximum(light, config.shadow_darkest * brightest)
    return np.clip(cv2.subtract(ink, paper).astype(np.float32) * gain, 0, 255).astype(np.uint8)


# ---------------------------------------------------------- the digit itself

def threshold_ink(ink: np.ndarray, config: PipelineConfig = SETTINGS.pipeline,
                  follow_faint: bool = False, one_tone_is_blank: bool = False) -> np.ndarray | None:
    """Binary mask of the ink, or None when the image has no ink worth the
    name (a blank page, a flat colour).

    Otsu splits ink from paper when both are plentiful; when the digit is a
    small part of a big page, Otsu splits the paper's own noise, so the
    threshold is also kept above the noise and at least 40% of the way to
    the ink's peak contrast from the paper's tone, the median. A binarised
    digit stretched to fill its cell may cover more of the image than the
    paper: in a two-toned image whose median is ink, the paper's tone is the
    one below Otsu's split. With `follow_faint` (not for tiny crops, whose
    grey edges are upscaling, not ink), fainter ink joined to that is kept.
    With `one_tone_is_blank` (for tiny crops, whose digit fills enough of
    them to make two tones; a small digit on a large page does not), an
    image of one tone, noise that no split explains, is blank."""
    smooth = cv2.GaussianBlur(ink, (3, 3), 0)
    hist = histogram(smooth)
    otsu, _ = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if one_tone_is_blank and otsu_separation(hist, otsu) < config.one_tone_separation:
        return None
    paper_tone, peak = histogram_percentile(hist, 50), histogram_percentile(hist, 99.95)
    paper = hist[: int(otsu) + 1]
    paper_level = histogram_percentile(paper, 50)
    if (paper_tone > otsu and peak - paper_tone < config.min_contrast
            and otsu_separation(hist, otsu) >= config.two_tone_separation):
        paper_tone = paper_level   # more ink than paper: a binarised digit filling its cell
    if peak - paper_tone < config.min_contrast:
        return None
    deviations = np.bincount(np.abs(np.arange(len(paper)) - int(paper_level)), weights=paper, minlength=256)
    noise = 1.4826 * histogram_percentile(deviations, 50)
    floor = max(otsu, paper_level + config.noise_sigmas * noise, paper_level + config.min_contrast / 2)

    def toward_peak(fraction: float) -> float:
        return max(floor, paper_tone + fraction * (peak - paper_tone))

    _, mask = cv2.threshold(smooth, toward_peak(config.peak_fraction), 255, cv2.THRESH_BINARY)
    if follow_faint and config.faint_peak_fraction < config.peak_fraction:
        mask = with_faint_ink(smooth, mask, toward_peak(config.faint_peak_fraction))
    return mask


def otsu_separation(hist: np.ndarray, threshold: float) -> float:
    """The share of the grey levels' variance that splitting them at
    `threshold` explains (Otsu's effectiveness): near 1 for a two-toned,
    binarised image, about 0.64 for noise, which has one tone."""
    levels = np.arange(hist.size, dtype=np.float64)
    weights = hist / max(1, hist.sum())
    below = levels <= threshold
    share = weights[below].sum()
    if not 0 < share < 1:
        return 0.0
    mean = weights @ levels
    variance = weights @ (levels - mean) ** 2
    dark = weights[below] @ levels[below] / share
    light = weights[~below] @ levels[~below] / (1 - share)
    return float(share * (1 - share) * (dark - light) ** 2 / variance)


def with_faint_ink(ink: np.ndarray, mask: np.ndarray, faint: float) -> np.ndarray:
    """Hysteresis, as Canny's edges: the ink above `faint` that is joined to
    the mask's ink (a pen running dry, a light scan's hairlines), never
    faint ink on its own, which is as likely the paper's grain."""
    _, weak = cv2.threshold(ink, faint, 255, cv2.THRESH_BINARY)
    count, labels = cv2.connectedComponents(weak, connectivity=8)
    joined = np.zeros(count, np.uint8)
    joined[np.unique(labels[mask > 0])] = 255
    joined[0] = 0
    return joined[labels]


@dataclass(frozen=True)
class FrameContact:
    """How a component's box meets the image's frame: how many sides it
    touches, and whether it is a band (narrower than `band_fraction`) from
    top to bottom or from side to side."""

    touches: int
    top_to_bottom: bool
    side_to_side: bool


def frame_contact(box: Box, shape: tuple[int, int], margin: int,
                  config: PipelineConfig = SETTINGS.pipeline) -> FrameContact:
    x, y, w, h = box
    height, width = shape
    touches = (x <= margin) + (y <= margin) + (x + w >= width - margin) + (y + h >= height - margin)
    return FrameContact(int(touches),
                        y <= margin and y + h >= height - margin and w < config.band_fraction * width,
                        x <= margin and x + w >= width - margin and h < config.band_fraction * height)


def frame_margin(shape: tuple[int, int], config: PipelineConfig = SETTINGS.pipeline) -> int:
    """Within this many pixels of the frame, a component touches it."""
    return max(1, round(config.border_margin_fraction * max(shape)))


def is_line_or_edge(box: Box, area: int, shape: tuple[int, int], margin: int,
                    config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """Paper edges, ruled lines, frames, and bands across a page (a shadow's
    edge, a book's gutter, a fold): thin, long, hugging the border, or
    running from one side of a page to the other."""
    _, _, w, h = box
    height, width = shape
    span, thin = config.line_span_fraction, config.line_thin_fraction
    contact = frame_contact(box, shape, margin, config)
    long_thin = (w > span * width and h < thin * height) or (h > span * height and w < thin * width
                                                             and contact.touches >= 2)
    hollow_frame = (contact.touches >= 2 and area < config.frame_fill_fraction * w * h
                    and max(w / width, h / height) > config.frame_span_fraction)
    # ...or a region that three sides of the page hold: the lit or the shaded part of a sheet
    band = (config.paper_shapes and min(height, width) >= config.page_min_side
            and (contact.top_to_bottom or contact.side_to_side or contact.touches >= 3))
    return bool(long_thin or hollow_frame or band or is_margin_strip(box, area, shape, margin, config))


def is_margin_strip(box: Box, area: int, shape: tuple[int, int], margin: int,
                    config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """In an image of any size, a solid strip along one side, from end to
    end: a scanner's black margin, a table's edge (a 1 cropped tightly spans
    the image too, but it is not this solid)."""
    contact = frame_contact(box, shape, margin, config)
    return bool(config.paper_shapes and (contact.top_to_bottom or contact.side_to_side) and contact.touches >= 3
                and area >= config.strip_fill_fraction * box[2] * box[3])


def margin_strips(mask: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray | None:
    """The mask's solid strips along a side (is_margin_strip), or None.
    Components are found only when a side is mostly ink: most images have
    no strip, and pay four slices for knowing it."""
    margin = frame_margin(mask.shape, config)
    sides = (mask[:, margin], mask[:, -1 - margin], mask[margin, :], mask[-1 - margin, :])
    if all(np.count_nonzero(side) < config.strip_fill_fraction * len(side) for side in sides):
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    strips = [index for index in range(1, count)
              if is_margin_strip(tuple(int(v) for v in stats[index, :4]), int(stats[index, 4]), mask.shape,
                                 margin, config)]
    return np.isin(labels, strips).astype(np.uint8) * 255 if strips else None


def threshold_without_margins(ink: np.ndarray, mask: np.ndarray, config: PipelineConfig = SETTINGS.pipeline,
                              follow_faint: bool = False) -> np.ndarray | None:
    """A scanner's black margin is the brightest ink of all, and sets the
    threshold far above faint writing beside it: threshold again with the
    margin, and its soft edge, taken out. Without one, the mask as it is."""
    strips = margin_strips(mask, config)
    if strips is None:
        return mask
    grow = max(3, round(config.margin_edge_fraction * min(mask.shape)))
    ink = ink.copy()
    ink[cv2.dilate(strips, np.ones((grow, grow), np.uint8)) > 0] = 0
    return threshold_ink(ink, config, follow_faint)


def is_paper_quad(component: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """A component (its pixels in its box, uint8) with four corners that is
    solid (a sheet lying on a darker table, its lit side seen as ink) or
    only a closed outline (the sheet's edge once its shading is removed, an
    empty box of a form). A written 0 is hollow too, but round; a 7 or a 4
    is four-cornered, but its strokes run along two or three sides only."""
    hull = _hull(component)
    hull_area = cv2.contourArea(hull)
    corners = four_corners(hull, config) if hull_area > 0 else None
    if corners is None:
        return False
    area = cv2.countNonZero(component)
    if area >= config.quad_solidity * hull_area:
        return True
    band = max(3, round(config.quad_outline_band * min(component.shape)))
    outline = cv2.polylines(np.zeros_like(component), [hull], True, 255, 2 * band + 1)
    if np.count_nonzero(cv2.bitwise_and(component, outline)) < config.quad_outline_share * area:
        return False
    near = cv2.dilate(component, np.ones((2 * band + 1, 2 * band + 1), np.uint8)) > 0
    for start, end in zip(corners, np.roll(corners, -1, axis=0)):
        points = np.linspace(start, end, 32).round().astype(int)
        if near[points[:, 1], points[:, 0]].mean() < config.quad_side_cover:
            return False   # a side with no ink along it: not a closed outline
    return True


Run = tuple[int, int]   # rows start:stop


def line_runs(mask: np.ndarray, coverage: float, thickest: float) -> list[Run]:
    """Runs of rows whose ink covers `coverage` of the width: lines across
    the image, each at most `thickest` rows thick."""
    long = np.count_nonzero(mask, axis=1) >= coverage * mask.shape[1]
    return [(start, stop) for start, stop in _runs(long) if stop - start <= thickest]


def ruling_runs(mask: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> list[Run]:
    """The horizontal lines of ruled or squared paper: thin lines across the
    image, enough of them, evenly spaced (no gap over ruling_gap_ratio
    times the usual one: a sheet's tilted edge is a few runs side by side,
    then a sheet's width); none unless all that holds."""
    runs = line_runs(mask, config.ruling_coverage, config.line_thin_fraction * mask.shape[0] / 2)
    if len(runs) < config.ruling_min_lines:
        return []
    gaps = np.diff([(start + stop) / 2 for start, stop in runs])
    return [] if gaps.max() > config.ruling_gap_ratio * np.median(gaps) else runs


def remove_ruling(mask: np.ndarray, ink: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """The ink mask without the lines of ruled or squared paper, found where
    the ink is faint as well (a fine grid, scaled down, is only its
    crossings in the mask), and their edges (grey where a line falls between
    the working copy's pixels or rings in a JPEG, so in the mask only here
    and there: dashes, read as 1s). Where a stroke crosses a line, the ink
    above and below it is kept, so a digit written on the lines stays whole."""
    faint = cv2.compare(ink, histogram_percentile(histogram(ink), 50) + config.min_contrast / 2, cv2.CMP_GT)
    faint = cv2.bitwise_or(faint, mask)
    rows = ruling_runs(thin_across(faint, config), config)
    columns = ruling_runs(thin_across(faint.T, config), config)
    if not rows and not columns:
        return mask
    mask = mask.copy()
    _clear_lines(mask, rows, config.ruling_edge)
    _clear_lines(mask.T, columns, config.ruling_edge)   # a view: clears mask's columns
    return mask


def thin_across(mask: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """The mask's ink that could be part of a horizontal line: less what
    lies in a vertical run thicker than a ruled line can be (a digit's
    stroke, a bright area: a meter's face round its dark windows, whose
    columns through a 1's stem would otherwise be ink most of the way
    down, like a rule)."""
    thickest = max(1, round(config.line_thin_fraction * mask.shape[0] / 2))
    tall = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((thickest + 1, 1), np.uint8))
    return cv2.bitwise_and(mask, cv2.bitwise_not(tall))


def remove_underline(mask: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """A field's line (a cheque's or a form's baseline) across the whole
    width of a wide crop, which the digits written on it touch: taken out,
    except where a stroke crosses it, so that the digits come apart."""
    runs = line_runs(mask, config.underline_coverage, config.line_thin_fraction * mask.shape[0])
    if not runs:
        return mask
    mask = mask.copy()
    _clear_lines(mask, runs)
    return mask


def remove_field_lines(mask: np.ndarray, ink: np.ndarray,
                       config: PipelineConfig = SETTINGS.pipeline) -> tuple[np.ndarray, bool]:
    """A form field's printed lines, taken out of a wide crop's ink: its top
    and bottom lines (or a baseline alone) and the walls of its boxes
    between them, or a comb's ticks standing on its baseline. Left in, each
    wall reads as a 1, and digits that touch a wall or a line are one shape
    with the whole field. A form's lines are often printed lighter than the
    writing, and are only here and there in the mask: they are found in ink
    darker than `field_faint` of the way from the paper to the writing. Where
    a stroke crosses a line, its ink is kept. The field may be askew by
    `field_tilt` of its width: the mask is levelled strip by strip, by whole
    rows, while its lines are taken out. Also whether it held boxes or a
    comb: a field, whose digits are one number however far apart the boxes
    set them."""
    height, width = mask.shape
    paper = histogram_percentile(histogram(ink), 50)
    writing = float(np.median(ink[mask > 0])) if np.any(mask) else paper
    faint = cv2.compare(ink, paper + max(config.min_contrast, config.field_faint * (writing - paper)), cv2.CMP_GT)
    faint = cv2.bitwise_or(faint, mask)
    drift = 2 * int(np.ceil(config.field_tilt * width)) + 1   # (most crops have no line below the writing: a quick look)
    lower = cv2.dilate(faint[height // 2:], np.ones((drift, 1), np.uint8))
    if np.count_nonzero(lower, axis=1).max() < config.field_line_cover * width:
        return mask, False
    strips = int(np.clip(width // 8, 1, 16))
    offsets, coverage = _field_tilt(faint, strips, config)
    thickest = max(1, round(config.line_thin_fraction * height))
    lines = [line for start, stop in _runs(coverage >= config.field_line_cover)
             if (line := _line_edges(coverage, start, stop))[1] - line[0] <= thickest + 2]
    outer = config.band_fraction * height   # a field's lines lie above and below the writing...
    if any(outer < (start + stop) / 2 < height - outer for start, stop in lines) \
            or not any(start >= height / 2 for start, _ in lines):
        return mask, False   # ...not across it (squared paper)
    pad = int(np.abs(offsets).max())
    edges = [round(i * width / strips) for i in range(strips + 1)]
    level, faint = np.pad(mask, ((pad, pad), (0, 0))), np.pad(faint, ((pad, pad), (0, 0)))
    for (left, right), offset in zip(pairwise(edges), offsets):
        level[:, left:right] = np.roll(level[:, left:right], -offset, axis=0)
        faint[:, left:right] = np.roll(faint[:, left:right], -offset, axis=0)
    lines = [(start + pad, stop + pad) for start, stop in lines]
    top = [line for line in lines if line[1] <= pad + height / 2]
    bottom = [line for line in lines if line[0] >= pad + height / 2]
    if top:
        walls, span = _box_walls(faint, top[-1][1], bottom[0][0], thickest, config), (top[-1][0], bottom[0][1])
    else:
        walls, span = _comb_ticks(faint, bottom[0][0], thickest, config)
    if len(walls) < config.comb_min_walls:
        return mask, False   # lines alone may be the digits' own strokes in a row (touching 7s' bars)
    _clear_lines(level, lines, config.ruling_edge)
    inside = np.count_nonzero(level[:, walls[0][0]:walls[-1][1]])
    if np.count_nonzero(level) - inside > config.field_ink_outside * inside:
        return mask, False   # the writing is not within the walls: digits' stems standing on a line
    _clear_lines(level[span[0]:span[1]].T, walls, config.ruling_edge)
    for (left, right), offset in zip(pairwise(edges), offsets):
        level[:, left:right] = np.roll(level[:, left:right], offset, axis=0)
    return np.ascontiguousarray(level[pad:pad + height]), True


def _field_tilt(mask: np.ndarray, strips: int, config: PipelineConfig) -> tuple[np.ndarray, np.ndarray]:
    """The rows each vertical strip is shifted by at the slope (up to
    `field_tilt`) that gathers the field's lines into the fewest rows, and
    the share of the width that the ink covers along each row at it."""
    height, width = mask.shape
    strip = width // strips
    counts = np.count_nonzero(mask[:, :strips * strip].reshape(height, strips, strip), axis=2)
    drift = int(np.ceil(config.field_tilt * width))
    position = (np.arange(strips) - (strips - 1) / 2) / max(1, strips - 1)
    offsets = np.rint(np.arange(-drift, drift + 1, 2)[:, None] * position[None, :]).astype(int)
    padded = np.pad(counts, ((drift, drift), (0, 0)))
    rows = drift + np.arange(height)[None, :, None] + offsets[:, None, :]
    profiles = padded[rows, np.arange(strips)].sum(axis=2) / (strips * strip)
    best = int(np.argmax(np.square(profiles).sum(axis=1)))   # its lines' ink in the fewest rows
    return offsets[best], profiles[best]


def _line_edges(coverage: np.ndarray, start: int, stop: int) -> Run:
    """A line's rows (start:stop, where it covers the field) widened to the
    rows either side that cover half as much: its edges, where the field's
    tilt is a row off the strips' levelling, or a JPEG's ringing."""
    half = coverage[start:stop].max() / 2
    while start > 0 and coverage[start - 1] >= half:
        start -= 1
    while stop < len(coverage) and coverage[stop] >= half:
        stop += 1
    return start, stop


def _runs(flags: np.ndarray) -> list[Run]:
    """Runs of True: (start, stop) each."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _upright_runs(cover: np.ndarray, least: float, thickest: int) -> list[Run]:
    """Runs of columns, at most `thickest` wide, whose `cover` (of a
    levelled field's rows) is at least `least`: upright lines."""
    return [(start, stop) for start, stop in _runs(cover >= least) if stop - start <= thickest]


def _box_walls(level: np.ndarray, top: int, bottom: int, thickest: int, config: PipelineConfig) -> list[Run]:
    """The walls of a row of boxes between a field's lines: thin upright
    lines over `field_wall_cover` of the rows between them."""
    if bottom - top < 2 * thickest:
        return []
    slack = 1 + 2 * int(np.ceil(config.field_tilt * (bottom - top)))
    band = cv2.dilate(level[top:bottom], np.ones((1, slack), np.uint8))
    cover = np.count_nonzero(band, axis=0) / (bottom - top)
    return _upright_runs(cover, config.field_wall_cover, thickest + slack)


def _comb_ticks(level: np.ndarray, baseline: int, thickest: int,
                config: PipelineConfig) -> tuple[list[Run], tuple[int, int]]:
    """A comb's ticks on a field's baseline, and the rows they span: thin
    upright lines standing on it at even steps (within `comb_regularity` of
    a step), at least `comb_min_walls` of them with none missing. A digit's
    stem that stands on the baseline too is off the comb's step."""
    slack = 1 + 2 * int(np.ceil(config.field_tilt * baseline))
    above = cv2.dilate(level[:baseline][::-1], np.ones((1, slack), np.uint8)) > 0
    standing = np.where(above.all(axis=0), baseline, np.argmin(above, axis=0))   # ink rows up from the baseline
    upright = _upright_runs(standing, max(4, 0.1 * level.shape[0]), thickest + slack)
    centres = np.array([(start + stop) / 2 for start, stop in upright])
    best: list[int] = []
    for first, second in combinations(range(len(upright)), 2):
        step = centres[second] - centres[first]
        if step < baseline / 4:
            continue   # cells are about as wide as they are tall
        places = (centres - centres[first]) / step
        off = np.abs(places - np.rint(places))
        slots: dict[int, int] = {}   # a step's place -> the upright line nearest it
        for index in np.flatnonzero(off <= config.comb_regularity):
            slot = int(np.rint(places[index]))
            if slot not in slots or off[index] < off[slots[slot]]:
                slots[slot] = int(index)
        if len(slots) == max(slots) - min(slots) + 1 and len(slots) > len(best):
            best = sorted(slots.values())
    if len(best) < config.comb_min_walls:
        return [], (0, 0)
    ticks = [upright[i] for i in best]
    heights = np.array([standing[start:stop].max() for start, stop in ticks])
    if np.abs(heights - np.median(heights)).max() > config.comb_regularity * np.median(heights):
        return [], (0, 0)   # a comb's ticks are as tall as each other; digits' stems are not
    return ticks, (baseline - int(heights.max()), baseline)


def _clear_lines(mask: np.ndarray, runs: list[Run], edge: int = 0) -> None:
    """Clear each run of rows, and `edge` rows either side of it, in place,
    except across it where ink goes on both above and below it (a stroke
    crossing the line)."""
    blank = np.zeros(mask.shape[1], mask.dtype)
    for start, stop in runs:
        start, stop = max(0, start - edge), min(mask.shape[0], stop + edge)
        above = mask[start - 1] if start > 0 else blank
        below = mask[stop] if stop < mask.shape[0] else blank
        mask[start:stop, ~((above > 0) & (below > 0))] = 0


@dataclass(frozen=True)
class Components:
    """The ink's connected components bigger than a speck: the label image,
    each one's (label, box, area, is paper), and the margin within which a
    component touches the frame."""

    labels: np.ndarray
    found: list[tuple[int, Box, int, bool]]
    margin: int


def ink_components(mask: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> Components:
    """The mask's components, each tested for paper (is_paper) once."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    height, width = mask.shape
    min_area = max(4, config.min_component_fraction * height * width)
    margin = frame_margin(mask.shape, config)
    found = []
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if area >= min_area:
            box = (x, y, w, h)
            found.append((index, box, area, is_paper(labels, index, box, area, margin, config)))
    if config.paper_shapes:
        found = [(index, box, area, paper or frames_ink(labels, index, box, area, found, config))
                 for index, box, area, paper in found]
    return Components(labels, found, margin)


def frames_ink(labels: np.ndarray, index: int, box: Box, area: int, found: list[tuple[int, Box, int, bool]],
               config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """Component `index` is a frame: a thin outline round ink of a digit's
    size that keeps clear of it: a form's box, a register's cell, a page's
    edge, a circle round an exam mark. Either its ink fills less than
    `frame_fill_fraction` of its box and the ink inside keeps half its own
    size clear, or it is a closed outline that holds the ink in its holes
    (closed_frame). A 0 is hollow too but holds no digit, and a 6 whose
    loop broke off holds its loop close to its stroke."""
    x, y, w, h = box
    least = max(config.min_digit_pixels, config.min_digit_fraction * max(labels.shape))
    if area >= config.closed_frame_fill * w * h or max(w, h) < 2 * least:
        return False   # (most components: one that holds no digit's room is looked at no further)
    hollow = area < config.frame_fill_fraction * w * h
    inner = []
    for other, (ix, iy, iw, ih), _, _ in found:
        inside = x < ix and y < iy and ix + iw < x + w and iy + ih < y + h
        if other == index or not inside or max(iw, ih) < least:
            continue
        if hollow:
            clear = max(2, round(max(iw, ih) / 2))
            around = labels[max(0, iy - clear):iy + ih + clear, max(0, ix - clear):ix + iw + clear]
            if not np.any(around == index):
                return True
        inner.append((other, (ix, iy, iw, ih)))
    return bool(inner) and closed_frame(labels, index, box, inner, least, config)


def closed_frame(labels: np.ndarray, index: int, box: Box, inner: list[tuple[int, Box]], least: float,
                 config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """Whether component `index`, a closed outline filling less than
    `closed_frame_fill` of its box (a small image's tight box has thick
    strokes for its size), frames the `inner` components: some lie each in
    one of its holes, `frame_clearance` of their size clear of it (a tight
    circle round "63", a row of boxes, a digit in each) and at least
    `frame_held_height` of its height (a smiley's eyes and mouth are not),
    and every other hole is a speck or at least as large as the ink held
    (an empty box of the row), not a digit's loop: digits that touch a
    circle are part of it, and the circle is not a frame then."""
    x, y, w, h = box
    outline = labels[y:y + h, x:x + w] == index
    paper = np.pad(~outline, 1, constant_values=True).astype(np.uint8)
    count, regions = cv2.connectedComponents(paper, connectivity=4)   # 4: a thin line's diagonal steps hold
    outside, regions = regions[0, 0], regions[1:-1, 1:-1]
    distance = cv2.distanceTransform((~outline).astype(np.uint8), cv2.DIST_L2, 3)
    held, largest = set(), 0
    for other, (ix, iy, iw, ih) in inner:
        ink = labels[iy:iy + ih, ix:ix + iw] == other
        holes = np.unique(regions[iy - y:iy - y + ih, ix - x:ix - x + iw][ink])
        clear = distance[iy - y:iy - y + ih, ix - x:ix - x + iw][ink].min()
        if len(holes) == 1 and holes[0] != outside and ih >= config.frame_held_height * h \
                and clear >= max(2.0, config.frame_clearance * max(iw, ih)):
            held.add(int(holes[0]))
            largest = max(largest, iw * ih)
    sizes = np.bincount(regions[~outline], minlength=count)
    speck = (least / 2) ** 2
    loops = [hole for hole in range(1, count) if hole != outside and hole not in held
             and speck <= sizes[hole] < largest]
    return bool(held) and not loops


def select_digit(ink: InkMask, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray | None:
    """Keep the components that make the digit: the largest plausible one and
    the strokes near it (a 5's flag, a 7's bar); drop specks, edges, lines.
    Returns a mask of the kept pixels, or None when nothing digit-like is left."""
    if ink.mask is None:
        return None
    components = ink.components(config)
    labels, candidates = components.labels, components.found
    count = int(labels.max()) + 1
    if count <= 1:
        return None
    height, width = ink.mask.shape
    plausible = [c for c in candidates if not c[3]] or ([] if config.paper_shapes else candidates)
    if not plausible:
        return None
    main = max(plausible, key=lambda c: c[2])
    x0, y0, w0, h0 = main[1]
    keep = [main[0]]
    reach = config.merge_distance_fraction * max(height, width) + config.reach_digit_fraction * max(w0, h0)
    left, top, right, bottom = x0, y0, x0 + w0, y0 + h0
    pending = [c for c in plausible if c[0] != main[0] and not c[3] and c[2] >= config.stroke_keep_fraction * main[2]]
    if not config.merge_strokes:
        pending = []
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
    if max(right - left, bottom - top) < max(config.min_digit_pixels, config.min_digit_fraction * max(height, width)):
        return None
    lookup = np.zeros(count, np.uint8)
    lookup[keep] = 255
    return lookup[labels]


def is_paper(labels: np.ndarray, index: int, box: Box, area: int, margin: int,
             config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """Component `index` of a label image is paper, not ink: a line or an
    edge; or, on a page, a solid round blot (a punched hole, a stain) or a
    large sheet or box (is_paper_quad). The shape tests are not cheap, so
    only shapes that could be such are tested."""
    if is_line_or_edge(box, area, labels.shape, margin, config):
        return True
    x, y, w, h = box
    height, width = labels.shape
    if not (config.paper_shapes and min(height, width) >= config.page_min_side):
        return False
    span = config.quad_span_fraction
    large = w >= span * width and h >= span * height
    round_ = 1 / config.blot_aspect <= w / h <= config.blot_aspect
    if not (large or round_):
        return False
    component = (labels[y:y + h, x:x + w] == index).astype(np.uint8) * 255
    if round_ and is_solid_blot(component, config):
        return True
    return large and is_paper_quad(component, config)


def is_solid_blot(component: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> bool:
    """A filled round shape (its pixels fill its convex hull): a punched
    hole, a stain, a dot. Every digit has a stroke, a hole or a tail."""
    hull_area = cv2.contourArea(_hull(component))
    return hull_area > 0 and cv2.countNonZero(component) >= config.blot_solidity * hull_area


def four_corners(hull: np.ndarray, config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray | None:
    """The four corners (4x2) that describe a convex hull closely (a sheet,
    a box, seen at any angle), whichever hull point the simplification
    starts from; None for a round digit (a 0, a 5), which four corners fit
    only loosely, and not from every start."""
    tolerance = config.quad_corner_tolerance * cv2.arcLength(hull, True)
    area = cv2.contourArea(hull)
    found = None
    for start in (0, len(hull) // 3, 2 * len(hull) // 3):
        corners = cv2.approxPolyDP(np.roll(hull, -start, axis=0), tolerance, True)
        if len(corners) != 4 or cv2.contourArea(corners) < config.quad_fit * area:
            return None
        found = corners[:, 0] if found is None else found
    return found


def _hull(component: np.ndarray) -> np.ndarray:
    """The convex hull of a shape, from its outline's points (far fewer
    than its pixels)."""
    outlines, _ = cv2.findContours(component, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return cv2.convexHull(np.vstack(outlines))


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary shape: 2 * area / perimeter, which holds
    for long strokes of any shape."""
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(np.count_nonzero(mask)) / max(perimeter, 1.0)


def normalise_stroke(crop: np.ndarray, image: ImageConvention = SETTINGS.image,
                     config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """Thicken hair-thin strokes so that, in the 20x20 box, they are about as
    wide as MNIST's pen (about 2 pixels); thick strokes are left alone."""
    scale = image.box / max(crop.shape)
    width = stroke_width(crop) * scale
    if not config.normalise_stroke or width >= config.thin_stroke_width:
        return crop
    grow = round((config.target_stroke_width - width) / scale / 2)
    if grow < 1:
        return crop
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    padded = cv2.copyMakeBorder(crop, grow, grow, grow, grow, cv2.BORDER_CONSTANT, value=0)
    return cv2.dilate(padded, kernel)


def crop_to_box(mask: np.ndarray) -> tuple[np.ndarray, Box]:
    """The tight bounding box of the nonzero pixels, and the crop."""
    x, y, w, h = cv2.boundingRect(mask)
    return mask[y:y + h, x:x + w], (x, y, w, h)


def fit_in_box(crop: np.ndarray, image: ImageConvention = SETTINGS.image,
               config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """Pad to square, then resize into the 20x20 box with anti-aliasing, as
    NIST's binary digits were resized to make MNIST. Returns float32 in [0, 1]."""
    h, w = crop.shape
    side = max(h, w)
    square = np.zeros((side, side), np.uint8)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = crop
    interpolation = cv2.INTER_AREA if side > image.box else cv2.INTER_LINEAR
    boxed = as_model_input(cv2.resize(square, (image.box, image.box), interpolation=interpolation))
    return boxed if config.anti_alias else (boxed > 0.5).astype(np.float32)


def centre_by_mass(boxed: np.ndarray, image: ImageConvention = SETTINGS.image,
                   config: PipelineConfig = SETTINGS.pipeline) -> np.ndarray:
    """Place the 20x20 digit in 28x28 so its centre of mass is at the centre."""
    out = np.zeros((image.size, image.size), np.float32)
    offset = (image.size - boxed.shape[0]) // 2
    out[offset:offset + boxed.shape[0], offset:offset + boxed.shape[1]] = boxed
    moments = cv2.moments(out)
    if not config.centre_by_mass or moments["m00"] <= 0:
        return out
    shift_x = (image.size - 1) / 2 - moments["m10"] / moments["m00"]
    shift_y = (image.size - 1) / 2 - moments["m01"] / moments["m00"]
    matrix = np.float32([[1, 0, shift_x], [0, 1, shift_y]])
    return cv2.warpAffine(out, matrix, (image.size, image.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


# --------------------------------------------------------------- end to end

@dataclass(frozen=True)
class BoxMap:
    """Boxes in working pixels -> in the original image's: undo a rotation
    (a number levelled, numbers.segment_number), then scale, within the image."""

    scale: float                                 # working pixels -> original pixels
    size: tuple[int, int]                        # the original image's (width, height)
    unrotate: tuple[float, ...] | None = None    # 2x3 affine, row by row: levelled -> working pixels

    def __call__(self, box: Box) -> Box:
        if self.unrotate is None:
            return scale_box(box, self.scale)
        x, y, w, h = box
        corners = np.float32([[[x, y], [x + w, y], [x, y + h], [x + w, y + h]]])
        back = cv2.transform(corners, np.float32(self.unrotate).reshape(2, 3))[0]
        left, top = np.maximum(back.min(axis=0) * self.scale, 0)
        right = min(float(back[:, 0].max()) * self.scale, self.size[0])
        bottom = min(float(back[:, 1].max()) * self.scale, self.size[1])
        return round(left), round(top), max(1, round(right - left)), max(1, round(bottom - top))


@dataclass(frozen=True)
class InkMask:
    """The binary ink of an image at working size, and how to map it back."""

    mask: np.ndarray | None       # uint8 0/255, ink white; None when the image holds no ink
    size: tuple[int, int]         # the original image's (width, height)
    scale_to_original: float      # working pixels -> original pixels
    inverted: bool                # True when the ink was dark on light paper
    unrotate: tuple[float, ...] | None = None   # a levelled number's ink: back to the working pixels (BoxMap)
    form_field: bool = False      # a form's field of boxes (or a comb): one number, however far apart its digits
    _components: dict = field(default_factory=dict, repr=False, compare=False)

    def components(self, config: PipelineConfig = SETTINGS.pipeline) -> Components:
        """The mask's components (ink_components), found once: the one-digit
        and the number readings both start from them."""
        if config not in self._components:
            self._components[config] = ink_components(self.mask, config)
        return self._components[config]

    @property
    def to_original(self) -> BoxMap:
        """Its boxes -> the original image's (a small value that travels to other processes)."""
        return BoxMap(self.scale_to_original, self.size, self.unrotate)


def scale_box(box: Box, scale: float) -> Box:
    """A box in working pixels -> in the original image's pixels."""
    x, y, w, h = box
    return round(x * scale), round(y * scale), max(1, round(w * scale)), max(1, round(h * scale))


def ink_mask(image: np.ndarray, original_size: tuple[int, int] | None = None,
             config: PipelineConfig = SETTINGS.pipeline) -> InkMask:
    """A decoded image (gray or BGR, any depth) -> its ink, white on black."""
    image = to_uint8_bgr_or_gray(np.asarray(image))
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise ImageError(f"unsupported image shape {image.shape}")
    size = original_size or (image.shape[1], image.shape[0])
    channel = ink_channel(image, config)
    gray = to_working_size(channel, config)
    # The working copy may also have been decoded at reduced size.
    scale_to_original = size[0] / gray.shape[1]
    if config.paper_shapes and min(gray.shape) >= config.page_min_side:
        gray = sheet_on_table(gray, config)
    tiny = max(image.shape[:2]) <= config.small_image_side
    binarised_cell = tiny and is_binarised(channel, config)   # (a dataset's 0 may fill it like a box)
    if binarised_cell:
        inverted = _ring_says_dark_ink(gray)
    elif (box := printed_box(gray, config)) is not None:
        # (round a field of several boxes, its lines stay for remove_field_lines, which finds the walls between)
        wide = gray.shape[1] >= config.underline_aspect * gray.shape[0]
        gray, inverted = (gray if wide else paint_outside(gray, box)), True
    else:
        inverted = ink_is_dark(gray, config, shaded=not tiny)
    ink = cv2.bitwise_not(gray) if inverted else gray
    if config.remove_shading and not tiny:   # a tiny crop has no shading
        ink = remove_background(ink, config)
    mask = threshold_ink(ink, config, follow_faint=not tiny, one_tone_is_blank=tiny)
    if mask is not None and config.paper_shapes:
        mask = threshold_without_margins(ink, mask, config, follow_faint=not tiny)
    form_field = False
    if mask is not None and config.remove_ruling:
        if min(mask.shape) >= config.page_min_side:
            mask = remove_ruling(mask, ink, config)
        elif mask.shape[1] >= config.underline_aspect * mask.shape[0]:
            mask, form_field = remove_field_lines(mask, ink, config)
            if not form_field:
                mask = remove_underline(mask, config)
    return InkMask(mask, size, scale_to_original, inverted, form_field=form_field)


def digit_image(mask: np.ndarray, config: PipelineConfig = SETTINGS.pipeline,
                convention: ImageConvention = SETTINGS.image) -> tuple[np.ndarray, Box]:
    """The kept ink of one digit -> the model's 28x28, and its box (working pixels)."""
    crop, box = crop_to_box(mask)
    boxed = fit_in_box(normalise_stroke(crop, convention, config), convention, config)
    return centre_by_mass(boxed, convention, config), box


def as_mnist_made(image: np.ndarray, config: PipelineConfig = SETTINGS.pipeline,
                  convention: ImageConvention = SETTINGS.image) -> Prepared | None:
    """The image itself as the model's input, when it was already made the
    MNIST way (28x28, its ink within the 20x20 box and centred by mass:
    MNIST's own PNGs, many draw-a-digit apps), white on black or, inverted
    for viewing, black on white; else None. Thresholding, cropping and
    fitting it again loses MNIST's grey edges: the pipeline reads 99.34% of
    MNIST's test digits, the model 99.75%. Such a 28x28 enlarged by whole
    pixels (a viewer's or a pixel-grid canvas's blocks) is that 28x28."""
    side = convention.size
    image = np.asarray(image)
    height, width = image.shape[:2]
    if not config.keep_mnist_format or height != width or height < side or height % side:
        return None
    image = to_uint8_bgr_or_gray(image)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    if height > side and (gray := enlarged_from(gray, side, config.mnist_block_tolerance)) is None:
        return None
    scale = height // side
    for inverted, digit in ((False, gray), (True, cv2.bitwise_not(gray))):
        if (box := _mnist_box(digit, config, convention)) is not None:
            box = tuple(scale * value for value in box)
            return Prepared(as_model_input(digit), box, (width, height), inverted, ink_share=1.0)
    return None


def enlarged_from(gray: np.ndarray, side: int, tolerance: float) -> np.ndarray | None:
    """The side x side image that `gray` enlarges by whole pixels (each
    pixel a block of equal grey), if it does within `tolerance` grey levels
    on average (a JPEG copy rings a little); else None. A smooth
    enlargement's blocks are not flat: it differs by 6 grey levels (median)."""
    small = cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA)
    blocks = cv2.resize(small, gray.shape[::-1], interpolation=cv2.INTER_NEAREST)
    return small if cv2.absdiff(blocks, gray).mean() <= tolerance else None


def _mnist_box(digit: np.ndarray, config: PipelineConfig, convention: ImageConvention) -> Box | None:
    """The ink's box, if a white-on-black 28x28 holds its ink as MNIST does."""
    ink = digit > config.mnist_paper_level
    if not ink.any():
        return None
    x, y, w, h = cv2.boundingRect(ink.astype(np.uint8))
    if max(w, h) > convention.box:
        return None
    moments = cv2.moments(digit)   # grey levels as mass; MNIST's centres lie at 14 +- 0.5
    centre = (moments["m10"] / moments["m00"], moments["m01"] / moments["m00"])
    if max(abs(c - convention.size / 2) for c in centre) > config.mnist_centre_slack:
        return None
    return x, y, w, h


def prepare_array(image: np.ndarray, original_size: tuple[int, int] | None = None,
                  config: PipelineConfig = SETTINGS.pipeline,
                  convention: ImageConvention = SETTINGS.image) -> Prepared:
    """A decoded image (gray or BGR, any depth) -> the model's 28x28 input."""
    ink = ink_mask(image, original_size, config)
    return prepare_digit(ink, config, convention)


def prepare_digit(ink: InkMask, config: PipelineConfig = SETTINGS.pipeline,
                  convention: ImageConvention = SETTINGS.image) -> Prepared:
    """One digit from an image's ink: the largest plausible shape and the
    strokes near it."""
    digit_mask = select_digit(ink, config)
    if digit_mask is None:
        return Prepared(None, None, ink.size, ink.inverted)
    digit, box = digit_image(digit_mask, config, convention)
    share = np.count_nonzero(digit_mask) / max(1, np.count_nonzero(ink.mask))
    return Prepared(digit, ink.to_original(box), ink.size, ink.inverted, ink_share=float(share))


def prepare_bytes(data: bytes, config: PipelineConfig = SETTINGS.pipeline,
                  convention: ImageConvention = SETTINGS.image) -> Prepared:
    """Encoded image bytes -> the model's 28x28 input (or an ImageError)."""
    decoded = decode_image(data, config)
    prepared = prepare_array(decoded.image, decoded.size, config, convention)
    return dataclasses.replace(prepared, damage=decoded.damage)


def variant(**switches) -> PipelineConfig:
    """The shipped pipeline with some settings changed, e.g.
    `variant(centre_by_mass=False)`: for benchmarks and experiments."""
    return dataclasses.replace(SETTINGS.pipeline, **switches)
