"""Reading numbers: every digit in an image, touching digits too.

Recognition-guided segmentation. A sloping line of ink is levelled first
(tilt). The ink's connected components are grouped into segments (pieces
that overlap horizontally belong to one digit: a 5's flag, a 7's bar, a
broken stroke); a form's column rule, a table's corner and lines of small
print are not digits; dots, commas and dashes, shorter than the line's
digits, are separators and dropped; segments on one line are read
left to right, lines top to bottom. Each segment is a lattice: its nodes
are the places it may be cut (between its pieces, and at the valleys of a
wide piece's column profile, where touching digits meet), and every span
between two nodes that could be one digit is a candidate glyph. The
classifier, trained to spread its probability over touching pairs and wrong
cuts (outlier exposure), scores every candidate in one batch, and the path
through the lattice with the most probable reading wins (runner.py). A
segment cut through ink also keeps its ink as a line, which the line reader
(lines.py) reads whole: its count of digits, and its digits where the cuts
read others, win (runner.py). Pure numpy and OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import cv2
import numpy as np

from ..config import SETTINGS, ImageConvention, NumberConfig, PipelineConfig
from .lines import line_image
from .pipeline import Box, BoxMap, InkMask, digit_image, frame_contact


@dataclass(frozen=True)
class Glyph:
    """One candidate digit: the 28x28 the model reads, and its box in the
    original image."""

    digit: np.ndarray
    box: Box


@dataclass(frozen=True)
class Segment:
    """Ink on one line that holds one digit or several touching ones: a
    lattice whose `glyphs[(i, j)]` is the candidate digit between cut nodes
    i < j (node 0 is the left end, node `nodes - 1` the right end).
    `space_before` says that a wide gap or a new line separates it from the
    segment before; `cuts` are the nodes that cut through ink (a valley or
    a step inside a piece, not a gap between pieces)."""

    glyphs: dict[tuple[int, int], Glyph]
    nodes: int
    space_before: bool
    cuts: frozenset[int] = frozenset()
    line: np.ndarray | None = None   # where it is cut through ink: its ink as the line reader's input


@dataclass(frozen=True)
class LoneShape:
    """One shape alone in the image, wide enough to hold touching digits
    (or one wide digit: a 0 stretched to fill its box). Cutting it makes
    dozens of candidate digits for the model, and a confident one-digit
    reading of the same ink outweighs every reading they can make
    (runner.choose_digits), so it is cut only when needed: `cut()` gives
    its segment. A `narrow` one, no wider than a digit, is digits that
    overlap only when the one-digit reading does not read it as a digit.
    It keeps only the shape's own mask, not the image's."""

    mask: np.ndarray         # the shape's ink, bool, in its box at working size
    origin: tuple[int, int]  # the box's corner in working pixels
    to_original: BoxMap      # working pixels -> original pixels
    numbers: NumberConfig
    config: PipelineConfig
    convention: ImageConvention

    @property
    def box(self) -> Box:
        """The shape's box in the original image's pixels."""
        height, width = self.mask.shape
        return self.to_original((*self.origin, width, height))

    @property
    def narrow(self) -> bool:
        """No wider than a digit (`lone_split_aspect`)."""
        height, width = self.mask.shape
        return width <= self.numbers.lone_split_aspect * height

    def cut(self) -> tuple[Segment, ...]:
        height, width = self.mask.shape
        split_aspect = self.numbers.lone_read_aspect if self.narrow else self.numbers.lone_split_aspect
        glyphs, nodes = _lattice([self.mask], [(0, width)], height, self.origin, self.to_original, self.numbers,
                                 self.config, self.convention, split_aspect)
        return (_segment(glyphs, nodes, False, [self.mask]),) if glyphs else ()


@dataclass
class _Piece:
    labels: list[int]   # component labels
    x: int
    y: int
    w: int
    h: int
    corner: bool = False   # hollow lines meeting two of the image's edges: maybe a table's corner (_drop_rules)

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def merge(self, other: _Piece) -> None:
        x, y = min(self.x, other.x), min(self.y, other.y)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        self.labels += other.labels
        self.x, self.y, self.w, self.h = x, y, right - x, bottom - y


def _components(ink: InkMask, config: PipelineConfig, numbers: NumberConfig) -> tuple[np.ndarray, list[_Piece]]:
    """The ink's components, less specks, ruled lines, frames and background."""
    components = ink.components(config)
    labels, margin = components.labels, components.margin
    height, width = ink.mask.shape
    pieces = []
    for index, (x, y, w, h), area, paper in components.found:
        if paper:
            continue
        contact = frame_contact((x, y, w, h), (height, width), margin, config)
        if contact.touches >= 2 and area >= numbers.background_area * height * width:
            continue   # a scanner's black margin, a table's edge
        if contact.top_to_bottom and w < config.line_thin_fraction * width * 1.5:
            continue   # a ruled column line from top to bottom
        hollow = area < config.frame_fill_fraction * w * h
        pieces.append(_Piece([index], x, y, w, h, corner=contact.touches >= 2 and hollow))
    return labels, pieces


def _overlap(a: _Piece, b: _Piece) -> int:
    """Horizontal overlap in pixels (negative: the gap between them)."""
    return min(a.right, b.right) - max(a.x, b.x)


def _drop_rules(pieces: list[_Piece], numbers: NumberConfig) -> list[_Piece]:
    """A register's or a form's column rule beside the number is ink but not
    a digit: thin upright pieces in one column (a scanned rule breaks into
    dashes) that span several times the height of the tallest other piece
    (specks aside); and a table's corner, hollow lines meeting the crop's
    edges, as many times their height. Left in, a rule would merge with the
    digits beside it and set the line's height, so that the digits pass for
    dots; a corner would merge with the digits below it and read as a 7."""
    chains: list[list[_Piece]] = []
    for piece in sorted((p for p in pieces if p.w <= numbers.rule_thin * p.h), key=lambda p: p.y):
        for chain in chains:
            if _overlap(chain[-1], piece) >= 0.5 * min(chain[-1].w, piece.w):
                chain.append(piece)
                break
        else:
            chains.append([piece])

    def dwarfs_the_rest(members: set[int], span: int) -> bool:
        others = [p.h for p in pieces if id(p) not in members and max(p.w, p.h) >= numbers.rule_speck * span]
        return bool(others) and span >= numbers.rule_length * max(others)

    rules: set[int] = set()
    for chain in chains:
        members = {id(p) for p in chain}
        if dwarfs_the_rest(members, max(p.bottom for p in chain) - min(p.y for p in chain)):
            rules |= members
    for corner in (p for p in pieces if p.corner):
        if dwarfs_the_rest({id(corner)}, max(corner.w, corner.h)):
            rules.add(id(corner))
    return [piece for piece in pieces if id(piece) not in rules]


def _merge_overlapping(pieces: list[_Piece], numbers: NumberConfig) -> list[_Piece]:
    """Pieces that overlap horizontally by enough of the narrower one's width,
    and are not far apart vertically, are one digit's strokes (a 5's flag, a
    broken loop; not the marks of the next line): merge them, until nothing
    more merges."""
    pieces = sorted(pieces, key=lambda p: p.x)
    merged = True
    while merged:
        merged = False
        for a, b in combinations(range(len(pieces)), 2):
            first, second = pieces[a], pieces[b]
            gap_y = max(first.y, second.y) - min(first.bottom, second.bottom)   # negative: they overlap
            upper, lower = sorted((first, second), key=lambda p: p.y)
            # A 5's flag, a 7's bar, high above, but not a mark of another line:
            bar_above = upper.h < numbers.mark_height * lower.h and gap_y <= lower.h
            if (_overlap(first, second) >= numbers.overlap_to_merge * min(first.w, second.w)
                    and (gap_y <= numbers.stack_gap * max(first.h, second.h) or bar_above)):
                pieces[a].merge(pieces[b])
                del pieces[b]
                merged = True
                break
    return pieces


def _lines(pieces: list[_Piece], numbers: NumberConfig) -> list[list[_Piece]]:
    """Pieces on one line share enough of their height; lines top to bottom,
    pieces left to right."""
    lines: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: p.h, reverse=True):   # tall pieces found the lines
        for line in lines:
            top, bottom = min(p.y for p in line), max(p.bottom for p in line)
            if min(bottom, piece.bottom) - max(top, piece.y) >= numbers.line_overlap * min(piece.h, bottom - top):
                line.append(piece)
                break
        else:
            lines.append([piece])
    lines.sort(key=lambda line: min(p.y for p in line))
    return [sorted(line, key=lambda p: p.x) for line in lines]


def _typical_height(pieces: list[_Piece]) -> float:
    """The height of the line's digits: the median of the taller pieces
    (marks and specks are short)."""
    heights = sorted((p.h for p in pieces), reverse=True)
    tall = [h for h in heights if h >= 0.5 * heights[0]]
    return float(np.median(tall))


@dataclass
class _Segment:
    groups: list[_Piece]   # left to right; a digit never spans two groups

    @property
    def box(self) -> _Piece:
        whole = _Piece([], self.groups[0].x, self.groups[0].y, self.groups[0].w, self.groups[0].h)
        for group in self.groups[1:]:
            whole.merge(_Piece([], group.x, group.y, group.w, group.h))
        return whole

    @property
    def labels(self) -> list[int]:
        return [label for group in self.groups for label in group.labels]


def _segments_of_line(line: list[_Piece], typical: float, numbers: NumberConfig) -> list[_Segment]:
    """Drop dots, commas and dashes; attach a flat piece at the line's top (a
    7's bar, a 5's flag) to the digit it nearly touches; join digits closer
    than `touch_gap` into one segment (they may be one digit's broken
    strokes, or touching digits: the classifier decides)."""
    top = min(p.y for p in line)
    span = max(p.bottom for p in line) - top
    tall, flat = [], []
    for piece in line:
        if max(piece.w, piece.h) < numbers.dot_size * typical:
            continue
        (flat if piece.h < numbers.mark_height * typical else tall).append(piece)
    for piece in flat:
        if piece.y + piece.h / 2 > top + numbers.bar_zone * span or not tall:
            continue   # a dash or an underline
        nearest = max(tall, key=lambda t: _overlap(t, piece))
        if _overlap(nearest, piece) > -numbers.touch_gap * typical:
            nearest.merge(piece)
    segments: list[_Segment] = []
    for piece in sorted(tall, key=lambda p: p.x):
        if segments and _overlap(segments[-1].box, piece) > -numbers.touch_gap * typical:
            segments[-1].groups.append(piece)
        else:
            segments.append(_Segment([piece]))
    return segments


def _valleys(profile: np.ndarray, height: int, numbers: NumberConfig) -> list[int]:
    """Columns where touching digits may meet: the low points of the ink's
    column profile, at least a narrow digit's width from either end and
    from each other, the lowest first."""
    width = len(profile)
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    margin = max(2, round(numbers.min_width * height))
    candidates = [x for x in range(margin, width - margin)
                  if smooth[x] <= smooth[x - 1] and smooth[x] <= smooth[x + 1]]
    chosen: list[int] = []
    for x in sorted(candidates, key=lambda c: smooth[c]):
        if all(abs(x - c) >= margin for c in chosen):
            chosen.append(x)
        if len(chosen) == numbers.max_cuts:
            break
    # Digits that overlap leave no valley between them: also cut at even steps.
    step = max(2, round(numbers.cut_step * height))
    for x in range(margin, width - margin + 1, step):
        if all(abs(x - c) >= margin // 2 for c in chosen):
            chosen.append(x)
    return sorted(chosen)


Nodes = list[tuple[int, int | None]]   # where a digit may end: (group, column in the box), None at a group's end


def _lattice(masks: list[np.ndarray], spans: list[tuple[int, int]], typical: int, origin: tuple[int, int],
             to_original: BoxMap, numbers: NumberConfig, config: PipelineConfig, convention: ImageConvention,
             split_aspect: float, line_height: float | None = None) -> tuple[dict[tuple[int, int], Glyph], Nodes]:
    """A segment's cut nodes (between its groups; at the valleys of a wide
    group) and a glyph for every span between two nodes that could be one
    digit. The groups are given as masks over the segment's box (at
    `origin` in working pixels) and the columns (left, width) they span;
    a span a cut bounds is measured against `line_height` (the line's
    digits' height; default the segment's, `typical`).
    Returns the glyphs by (from node, to node) and the nodes: (group,
    column in the box), the column None at a group's end."""
    # Nodes, left to right: (group, column in the window) where a digit may
    # end; a column of None is the end of that group (a cut between groups).
    nodes: Nodes = [(-1, None)]
    for index, (mask, (left, width)) in enumerate(zip(masks, spans)):
        if width > split_aspect * typical:
            columns = np.count_nonzero(mask[:, left:left + width], axis=0).astype(np.float32)
            nodes += [(index, left + x) for x in _valleys(columns, typical, numbers)]
        nodes.append((index, None))
    ink_total = sum(int(np.count_nonzero(m)) for m in masks)
    shape = masks[0].shape

    def span_mask(start: tuple[int, int | None], end: tuple[int, int | None]) -> np.ndarray:
        first = start[0] + 1 if start[1] is None else start[0]
        sub = np.zeros(shape, bool)
        for index in range(first, end[0] + 1):
            part = masks[index]
            if (index == start[0] and start[1] is not None) or (index == end[0] and end[1] is not None):
                part = part.copy()
                if index == start[0] and start[1] is not None:
                    part[:, :start[1]] = False
                if index == end[0] and end[1] is not None:
                    part[:, end[1]:] = False
            sub |= part
        return sub

    glyphs = {}
    last = len(nodes) - 1
    for i, j in combinations(range(len(nodes)), 2):
        sub = span_mask(nodes[i], nodes[j])
        if np.count_nonzero(sub) < 0.04 * ink_total:
            continue
        x, y, w, h = cv2.boundingRect(sub.astype(np.uint8))
        if w > numbers.max_width * typical and (i, j) != (0, last):
            continue
        if h < numbers.min_cut_height * (line_height or typical) and (
                nodes[i][1] is not None or nodes[j][1] is not None):
            continue   # a stroke cut off a shape (a tick's short arm) is no digit, though it reads as a 1
        digit, (x, y, w, h) = digit_image(sub.astype(np.uint8) * 255, config, convention)
        glyphs[(i, j)] = Glyph(digit, to_original((origin[0] + x, origin[1] + y, w, h)))
    return glyphs, nodes


def _cut_nodes(nodes: Nodes) -> frozenset[int]:
    """The nodes that cut through ink (a column inside a group)."""
    return frozenset(i for i, (_, column) in enumerate(nodes) if column is not None)


def _segment(glyphs: dict[tuple[int, int], Glyph], nodes: Nodes, space_before: bool,
             masks: list[np.ndarray]) -> Segment:
    """A segment from its lattice; one cut through ink (touching digits)
    also keeps its ink as a line, for the line reader."""
    cuts = _cut_nodes(nodes)
    line = line_image(np.logical_or.reduce(masks)) if cuts else None
    return Segment(glyphs, len(nodes), space_before, cuts, line)


def _segment_lattice(labels: np.ndarray, segment: _Segment, numbers: NumberConfig, config: PipelineConfig,
                     convention: ImageConvention, ink: InkMask,
                     split_aspect: float, space_before: bool, line_height: float) -> Segment | None:
    """_lattice over a segment's groups, from the image's component labels
    (`line_height`: its line's digits' height); None when no span of it
    could be a digit."""
    box = segment.box
    window = labels[box.y:box.bottom, box.x:box.right]
    masks = [np.isin(window, group.labels) for group in segment.groups]
    spans = [(group.x - box.x, group.w) for group in segment.groups]
    glyphs, nodes = _lattice(masks, spans, box.h, (box.x, box.y), ink.to_original, numbers, config,
                             convention, split_aspect, line_height)
    return _segment(glyphs, nodes, space_before, masks) if glyphs else None


def tilt(labels: np.ndarray, pieces: list[_Piece], numbers: NumberConfig) -> float | None:
    """The angle in degrees (counter-clockwise) to turn the pieces by to
    level them, when they are a line of digits that slopes enough to
    matter; else None. Digits share a height, so a line of them is level
    where its band of ink is thinnest: the angle (in whole degrees) whose
    band, between the 2nd and 98th percentiles across it, is least, over
    the pieces at least half the tallest one's height (dots and dashes
    aside). Ink that is not wider than tall (one digit, a letter, whose
    strokes are thinnest turned on their side), that levelled is not a
    line, or that levelling thins too little, is left as it is."""
    tallest = max(p.h for p in pieces)
    ys, xs = np.nonzero(np.isin(labels, [label for p in pieces if 2 * p.h >= tallest for label in p.labels]))
    if xs.max() - xs.min() < numbers.tilt_min_aspect * (ys.max() - ys.min()):
        return None
    step = max(1, len(xs) // 1500)   # a sample is enough to place percentiles
    ys, xs = ys[::step].astype(np.float32), xs[::step].astype(np.float32)
    low, high = round(0.02 * (len(xs) - 1)), round(0.98 * (len(xs) - 1))

    def bands(angles: np.ndarray) -> np.ndarray:
        turns = np.radians(angles)[:, None]
        across = np.cos(turns) * ys - np.sin(turns) * xs   # each point's height once turned (as cv2 turns)
        ranked = np.partition(across, (low, high), axis=1)
        return ranked[:, high] - ranked[:, low] + 1

    coarse = np.arange(-numbers.tilt_max_degrees, numbers.tilt_max_degrees + 1, 3)
    near = coarse[int(np.argmin(bands(coarse)))]
    fine = np.arange(near - 2, near + 3)
    fine_bands = bands(fine)
    angle, band = float(fine[int(np.argmin(fine_bands))]), float(fine_bands.min())
    turn = np.radians(angle)
    along = np.cos(turn) * xs + np.sin(turn) * ys
    is_line = float(along.max() - along.min()) >= numbers.tilt_min_length * band
    thinner = band <= numbers.tilt_band * float(bands(np.zeros(1))[0])
    return angle if abs(angle) >= numbers.tilt_min_degrees and is_line and thinner else None


def turning(shape: tuple[int, ...], degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine matrix (cv2's) that turns an image of `shape` by `degrees`
    counter-clockwise about its centre onto a canvas that holds it all, and
    that canvas's (width, height)."""
    height, width = shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(rotation[0, 0]), abs(rotation[0, 1])
    size = (int(np.ceil(height * sin + width * cos)), int(np.ceil(height * cos + width * sin)))
    rotation[:, 2] += (size[0] - width) / 2, (size[1] - height) / 2
    return rotation, size


def levelled(ink: InkMask, labels: np.ndarray, pieces: list[_Piece], angle: float) -> InkMask:
    """The pieces' ink turned by `angle` degrees (counter-clockwise) on a
    canvas that holds it all, as an InkMask whose boxes map back to the
    original image."""
    kept = np.isin(labels, [label for p in pieces for label in p.labels]).astype(np.uint8) * 255
    rotation, size = turning(kept.shape, angle)
    level = cv2.warpAffine(kept, rotation, size, flags=cv2.INTER_LINEAR)
    back = cv2.invertAffineTransform(rotation)
    return InkMask(np.where(level >= 128, 255, 0).astype(np.uint8), ink.size, ink.scale_to_original, ink.inverted,
                   tuple(float(v) for v in back.ravel()), ink.form_field)


def fills_its_cell(ink: InkMask, config: PipelineConfig = SETTINGS.pipeline,
                   numbers: NumberConfig = SETTINGS.numbers) -> bool:
    """Whether the image is one digit's cell, the digit stretched to fill it:
    small and square, its ink from edge to edge both ways (within
    `cell_edge` of the original image's pixels: binarising a stretched
    digit can leave a faint outer column blank). Cutting such a digit only
    finds pieces of it."""
    width, height = ink.size
    long_side, short_side = max(width, height), min(width, height)
    if (not numbers.cells_whole or long_side > config.small_image_side
            or short_side < numbers.cell_squareness * long_side):
        return False
    x, y, w, h = cv2.boundingRect(ink.mask)
    mask_height, mask_width = ink.mask.shape
    slack = (numbers.cell_edge + 0.5) / ink.scale_to_original   # in working pixels, with rounding
    return x <= slack and y <= slack and mask_width - (x + w) <= slack and mask_height - (y + h) <= slack


def segment_number(ink: InkMask, config: PipelineConfig = SETTINGS.pipeline,
                   numbers: NumberConfig = SETTINGS.numbers,
                   convention: ImageConvention = SETTINGS.image,
                   defer_lone: bool = False, level: bool = True) -> tuple[Segment, ...] | tuple[LoneShape]:
    """An image's ink -> its segments, line by line, left to right. With
    `defer_lone`, a lone shape at least `lone_read_aspect` as wide as tall
    comes back uncut, as a LoneShape (whose `cut()` gives its segments).
    With `level`, a sloping line of digits is levelled first (tilt)."""
    if ink.mask is None or fills_its_cell(ink, config, numbers):
        return ()
    labels, pieces = _components(ink, config, numbers)
    pieces = _drop_rules(pieces, numbers)
    if not pieces:
        return ()
    if level and (angle := tilt(labels, pieces, numbers)) is not None:
        return segment_number(levelled(ink, labels, pieces, angle), config, numbers, convention, defer_lone,
                              level=False)
    lines = [(line, _typical_height(line)) for line in _lines(_merge_overlapping(pieces, numbers), numbers)]
    tallest = max(typical for _, typical in lines)
    lines = [(line, typical) for line, typical in lines if typical >= numbers.small_print * tallest]
    found_segments = [_segments_of_line(line, typical, numbers) for line, typical in lines]
    # A lone shape is cut at once only when it is clearly wider than a
    # digit: a letter cut anywhere has pieces that look like digits. Beside
    # other pieces (a number, evidently), narrower groups are cut too.
    # Deferred, a lone shape down to `lone_read_aspect` comes back as a
    # narrow LoneShape: digits written into each other, if the classifier
    # does not read it as one (runner.classify decides).
    all_segments = [s for line in found_segments for s in line]
    lone = len(all_segments) == 1 and len(all_segments[0].groups) == 1
    aspect = all_segments[0].box.w / all_segments[0].box.h if lone else 0.0
    narrow = aspect <= numbers.lone_split_aspect
    if lone and narrow and (not defer_lone or aspect < numbers.lone_read_aspect):
        return ()   # one digit, nothing to cut: the one-digit reading is the reading
    if lone and defer_lone:
        (group,) = all_segments[0].groups
        window = labels[group.y:group.bottom, group.x:group.right]
        return (LoneShape(np.isin(window, group.labels), (group.x, group.y), ink.to_original, numbers, config,
                          convention),)
    split_aspect = numbers.lone_split_aspect if lone else numbers.split_aspect
    segments: list[Segment] = []
    for (line, typical), line_segments in zip(lines, found_segments):
        previous: _Piece | None = None
        for found in line_segments:
            box = found.box
            space = previous is None and bool(segments) or (
                previous is not None and not ink.form_field and box.x - previous.right > numbers.space_gap * typical)
            segment = _segment_lattice(labels, found, numbers, config, convention, ink, split_aspect, space,
                                       typical)
            if segment is None:
                continue
            segments.append(segment)
            previous = box
    return tuple(segments)
