"""All of digitcli's tunable settings, in one place.

Every module takes its numbers from these dataclasses instead of keeping
constants of its own, so that a change of convention (say, the size of the
digit box) is made once and seen everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DATA_ENV_VAR = "DIGITCLI_DATA"
MODEL_ENV_VAR = "DIGITCLI_MODEL"


def _package_models_dir() -> Path:
    """Where the shipped model lives: `digitcli/models/`, in an installed
    wheel a copy of the top-level models/, in a checkout a link to it."""
    return Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class ImageConvention:
    """The model's input, as MNIST was made: a white digit on black, fitted
    into a 20x20 box and placed in a 28x28 frame by its centre of mass."""

    size: int = 28
    box: int = 20
    num_classes: int = 10


@dataclass(frozen=True)
class TrainConfig:
    """Defaults of `digitcli train`; the shipped model uses exactly these."""

    epochs: int = 24
    batch_size: int = 128
    seed: int = 1
    validation_size: int = 5000
    learning_rate: float = 3e-3
    warmup_epochs: int = 1
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    # Augmentation: geometric jitter like a different writer, and stroke
    # thickness like a different pen.
    rotation_degrees: float = 12.0
    zoom: float = 0.12
    shift: float = 0.10
    shear: float = 0.15
    stroke_probability: float = 0.5
    # Share of training digits shown as the photo pipeline makes them
    # (threshold, crop, 20x20 box, centre of mass), so that the model knows
    # what predict will feed it.
    pipeline_fraction: float = 0.3
    # Share shown in a writing style MNIST barely has (digit_styles.py:
    # European 1s and 7s, felt-tip, faint and broken strokes, stretched to
    # fill a box, binarised at low resolution, shaky), through the pipeline.
    style_fraction: float = 0.25
    # Share of each batch that is drawings of non-digits (letters, symbols,
    # shapes; outliers.py) with a uniform target, so that predict's
    # confidence drops on things that are not digits (outlier exposure).
    outlier_fraction: float = 0.15
    outlier_count: int = 30_000     # at most half the training digits
    # Share of those that are wrong segmentations of numbers (touching
    # digits taken as one, a digit cut with part of its neighbour), so that
    # number reading can tell a whole digit from a piece.
    number_piece_share: float = 0.3
    pipeline_workers: int = 4        # threads that run the pipeline over training images
    rejection_samples: int = 2000    # drawings per family for the card's rejection figures
    inference_batch_size: int = 1024
    # The model is the average of the last epochs' weights (stochastic
    # weight averaging) when that beats the best single epoch on validation.
    average_last_epochs: int = 5
    # Networks trained from seeds seed, seed + 1, ... on the same split; the
    # model is the mean of their probabilities, in one file (model.ensemble_model).
    members: int = 1


@dataclass(frozen=True)
class LineConvention:
    """The line reader's input (reading/lines.py): a line of digits'
    binary ink, cropped, scaled to `ink_height` rows and framed by
    `margin` blank pixels, `height` rows in all; its width follows the ink
    and is padded to a multiple of `stride`, the columns per output step."""

    height: int = 32
    ink_height: int = 24
    margin: int = 4
    stride: int = 4
    num_classes: int = 11            # the CTC blank (0), then the digits 0-9 (1-10)


@dataclass(frozen=True)
class LineTrainConfig:
    """Defaults of `digitcli train lines`; the shipped line reader uses
    exactly these. Synthetic lines of 1 to `max_digits` MNIST training
    digits (touching, overlapping or spaced; slanted; thicker or thinner
    pens), made afresh from the seed."""

    epochs: int = 6
    batch_size: int = 64
    samples: int = 160_000           # lines per epoch (the same lines each epoch)
    validation_samples: int = 3000   # lines of MNIST test digits, for the card's exact-match figure
    max_digits: int = 7
    mark_share: float = 0.35         # lines with a dot, comma, dash, slash or underline that is not a digit
    small_share: float = 0.0         # lines whose last digits are written smaller (cents, a cheque's zeros)
    ligature_share: float = 0.0      # lines whose digits are joined as in cursive writing
    # The shipped reader is an ensemble of one network per member, each
    # trained on lines with its (small_share, ligature_share), their step
    # probabilities averaged in the one model file (train/lines.py).
    members: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.15, 0.2))
    max_width: int = 192             # a longer line is squeezed to this width for training
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 1
    workers: int = 4                 # threads that draw the lines


@dataclass(frozen=True)
class PipelineConfig:
    """Knobs of the photo pipeline (reading/pipeline.py). The switches turn
    a stage off (for benchmarks that measure what each stage gains)."""

    working_side: int = 512          # photos are scaled so the long side is at most this
    min_working_side: int = 128      # ...and tiny crops up to at least this
    polarity_side: int = 128         # size at which dark and light lines are compared
    dark_line_ratio: float = 1.3     # this much more dark line detail means dark ink...
    dark_ground_levels: int = 8      # ...unless the border and most of the image are this close to its darkest grey
    background_side: int = 48        # size at which the paper's shading is estimated
    # A shadow across the sheet (a hand's, a phone's): paper whose darkest
    # twentieth is below `shading_uneven` of its brightest is shaded, unless
    # it is below `shadow_darkest` (a scanner's margin, a table, not paper).
    # Shaded paper is then estimated more finely and its ink's contrast
    # restored (divided by the light that fell on it).
    shading_uneven: float = 0.75
    shadow_darkest: float = 0.3
    shadow_max_aspect: int = 6        # shaded paper is estimated on a copy at most this many times as long as high
    shading_median_fraction: int = 3  # polarity: shading is a median over a third of the short side
    min_component_fraction: float = 0.0002  # specks smaller than this share of the area go
    border_margin_fraction: float = 0.01    # components touching the frame this close are edges
    merge_distance_fraction: float = 0.12   # strokes this close to the main one join it
    min_contrast: float = 18.0       # below this ink/paper difference the page is blank
    # A binarised digit stretched to fill its cell can cover more of it than
    # the paper does: in a two-toned image (Otsu's split explains this share
    # of the grey levels' variance; noise: about 0.64) the paper is then the
    # tone below the split, not the median.
    two_tone_separation: float = 0.85
    # ...and a tiny crop whose split explains less than this is one tone,
    # noise: a blank cell (digits in tiny crops give 0.78 or more).
    one_tone_separation: float = 0.70
    small_image_side: int = 64       # images this small are crops: no shading correction
    binarised_share: float = 0.98    # a crop with this share of its pixels in two tones is binarised
    ink_channel_side: int = 64       # size at which colour channels are compared for contrast
    # Thresholding ink: the threshold stays this many noise deviations above
    # the paper, and this share of the way from the median to the ink's peak.
    noise_sigmas: float = 6.0
    peak_fraction: float = 0.4
    # ...and follows fainter ink, down to this share of the way, where it
    # joins ink above that threshold (hysteresis: a pen running dry, a light scan).
    faint_peak_fraction: float = 0.3
    # Paper edges, ruled lines and frames: a component spanning this share
    # of the image and this thin, or a frame this empty and this wide.
    line_span_fraction: float = 0.6
    line_thin_fraction: float = 0.08
    frame_fill_fraction: float = 0.15
    frame_span_fraction: float = 0.8
    closed_frame_fill: float = 0.3      # a closed outline filling less of its box...
    frame_clearance: float = 0.07       # ...with ink in its holes this far from it (share of the ink's size)...
    frame_held_height: float = 0.35     # ...and this share of its height at least: a frame
    # A shape running from one side of a page to the other, narrower than this
    # share of it, is a band (shadow edge, gutter, fold), not a digit; in an
    # image under page_min_side working pixels (a crop of one digit, scaled up
    # to min_working_side), it may be a 1.
    band_fraction: float = 0.3
    page_min_side: int = 200
    strip_fill_fraction: float = 0.85   # a band this solid along a side is a margin on any image...
    margin_edge_fraction: float = 0.05  # ...taken out, with this share of the short side around it, before thresholding again
    # A form's printed box round a crop of a cell (at most `box_max_side`
    # working pixels): on three or four sides a dark line within
    # `box_band_fraction` of the side, across `box_line_cover` of it (a tilt
    # of `box_tilt` of the side allowed), no thicker than `box_line_thickest`
    # of the crop's short side.
    box_max_side: int = 320
    box_band_fraction: float = 0.2
    box_line_cover: float = 0.7
    box_tilt: float = 0.035
    box_line_thickest: float = 0.08
    box_corner_dark: float = 0.05   # where two of its lines meet, this share is dark at least
    box_inside_dark: float = 0.4    # inside it, this share at most (thick strokes of a bold digit: 0.37)
    # A four-cornered shape this large both ways on a page is paper: a sheet
    # on a darker table, or an empty box of a form, when this solid or this
    # much of it lies along its outline.
    quad_span_fraction: float = 0.25
    quad_corner_tolerance: float = 0.02   # of the hull's perimeter: corners closer to a line than this merge
    quad_fit: float = 0.95                # the four corners' area covers this share of the hull's
    quad_solidity: float = 0.85
    quad_outline_share: float = 0.75
    quad_outline_band: float = 0.06       # of the shape's short side: how near its outline "along" is
    quad_side_cover: float = 0.8          # an outline has ink along this share of each of its four sides
    # A sheet on a table: its light four-cornered part covers at least this
    # share of the photo (and leaves as much), around it the table's grey varies less than this.
    sheet_min_share: float = 0.15
    table_max_spread: float = 25.0
    # A shape on a page this round and this solid is a blot (a punched hole, a stain).
    blot_aspect: float = 1.6
    blot_solidity: float = 0.9
    # Ruled or squared paper: rows (columns) whose ink covers this share of
    # the width (height) are a line; this many separate lines in one direction
    # are a ruling, and are taken out of the ink. One digit has at most two.
    ruling_coverage: float = 0.6
    ruling_min_lines: int = 3
    ruling_gap_ratio: float = 2.5
    ruling_edge: int = 1             # rows either side of a ruled line that are cleared with it
    # In a crop this much wider than tall (a field), a thin line across this
    # share of its width is the field's line, even alone.
    underline_aspect: float = 1.5
    underline_coverage: float = 0.95
    # A form's field of printed boxes, one digit each: lines across
    # `field_line_cover` of the crop (in ink `field_faint` of the way from
    # the paper to the writing; a tilt of `field_tilt` of its width allowed),
    # and at least `comb_min_walls` walls between them over `field_wall_cover`
    # of their height; or as many of a comb's ticks standing on its baseline,
    # each within `comb_regularity` of a step from the next, their heights
    # within as much of their median.
    field_line_cover: float = 0.7
    field_faint: float = 0.3
    field_tilt: float = 0.03
    field_wall_cover: float = 0.9
    field_ink_outside: float = 0.05   # of the ink within the walls, at most beyond them
    comb_min_walls: int = 3
    comb_regularity: float = 0.25
    stroke_keep_fraction: float = 0.04   # strokes this small beside the main one are specks
    reach_digit_fraction: float = 0.25   # ...and join it within this share of its size
    min_digit_pixels: int = 6            # a digit is at least this tall or wide...
    min_digit_fraction: float = 0.03     # ...and this share of the image's long side
    thin_stroke_width: float = 1.6       # strokes thinner than this in the 20x20 box are thickened
    target_stroke_width: float = 2.0     # ...to about MNIST's pen width
    # An image already made the MNIST way (28x28, white on black or black on
    # white, the ink within the 20x20 box, centred by mass) is read as it
    # is: preparing it again only loses MNIST's grey edges. So is one
    # enlarged by whole pixels: its blocks differ from flat by this little.
    mnist_paper_level: int = 32          # darker than this is paper (a JPEG copy rings a little)...
    mnist_centre_slack: float = 1.0      # ...and the ink's centre of mass this close (pixels) to the middle
    mnist_block_tolerance: float = 3.0   # mean grey levels: blocks as quality-50 JPEGs 0.1-3.3, smooth 2-11 (median 6)
    max_pixels: int = 200_000_000    # refuse to decode more than this...
    max_decoded_bytes: int = 800 * 1024 * 1024   # ...or an image that would take more memory decoded
    max_file_bytes: int = 256 * 1024 * 1024   # refuse to read a file larger than this
    # Decoding a 100-megapixel image takes some 300 MB: one image larger than
    # this is decoded at a time, so memory stays bounded whatever the threads.
    large_image_pixels: int = 16_000_000
    # Stages that can be switched off (all on in predict).
    line_polarity: bool = True       # off: the border alone says which way round the ink is
    remove_shading: bool = True
    merge_strokes: bool = True       # off: the largest component only
    normalise_stroke: bool = True
    anti_alias: bool = True          # off: the 28x28 is binarised
    centre_by_mass: bool = True      # off: the box is centred
    paper_shapes: bool = True        # off: bands across a page are ink, and paper shapes are read when nothing else is
    remove_ruling: bool = True       # off: ruled and squared paper's lines stay in the ink
    keep_mnist_format: bool = True   # off: an MNIST-made 28x28 is prepared again like any image


@dataclass(frozen=True)
class NumberConfig:
    """Reading numbers (reading/numbers.py): how ink is grouped into digits,
    which marks are separators, and where touching digits may be cut. Sizes
    are shares of the line's typical digit height."""

    overlap_to_merge: float = 0.5     # pieces overlapping this share of the narrower one's width are one digit...
    stack_gap: float = 0.3            # ...unless one is this far below the other (share of the taller)
    dot_size: float = 0.35            # smaller than this both ways: a dot or a comma
    mark_height: float = 0.45         # flatter than this: a dash, or (near a digit's top) a 7's or 5's bar
    bar_zone: float = 0.4             # a flat piece in this top share of the line may be a digit's bar
    touch_gap: float = 0.15           # pieces closer than this may be one digit, or touching digits
    space_gap: float = 1.2            # a horizontal gap this wide separates two numbers
    line_overlap: float = 0.3         # segments sharing this share of their height are on one line
    small_print: float = 0.6          # a line under this share of the tallest line's height is print or noise
    split_aspect: float = 0.7         # a piece this much wider than tall, beside others, may be touching digits
    lone_split_aspect: float = 1.0    # ...and a piece alone in the image, this much wider
    lone_read_aspect: float = 0.5     # a narrower lone piece that is not a digit may be digits overlapping
    max_cuts: int = 8                 # at most this many valley cuts in one piece...
    cut_step: float = 0.2             # ...and cuts at every this share of the height between them
    min_width: float = 0.12           # a cut leaves at least this much on either side
    max_width: float = 1.4            # a candidate digit is at most this wide...
    min_cut_height: float = 0.5       # ...and, where a cut bounds it, at least this tall
    background_area: float = 0.15     # a shape touching two borders and this share of the image is background
    # A small, square image whose ink reaches all four edges is one digit
    # stretched to fill its cell (binarised digit datasets, form readers):
    # read whole, never cut, though a filled 1 is a wide blob; so is an
    # image made the MNIST way (PipelineConfig.keep_mnist_format). Not when
    # --digits says the image holds more than one.
    cells_whole: bool = True
    cell_squareness: float = 0.8      # its short side is at least this share of its long side...
    cell_edge: int = 2                # ...and its ink comes this close (pixels) to every edge
    rule_length: float = 3.0          # a thin upright piece this many times taller than the other pieces...
    rule_thin: float = 0.25           # ...and at most this share of its height wide is a ruled line
    rule_speck: float = 0.05          # (pieces smaller than this share of its height do not count)
    # A line of digits that slopes (written uphill, photographed askew) is
    # levelled before it is cut: the cuts are upright, and so are the line
    # reader's lines. Levelled when it slopes this many degrees at least...
    tilt_min_degrees: float = 4.0
    tilt_max_degrees: int = 30        # ...and at most, if its ink is...
    tilt_min_aspect: float = 1.0      # ...this many times as wide as tall...
    tilt_min_length: float = 2.0      # ...levelled, this many times as long as its band of ink is high...
    tilt_band: float = 0.85           # ...and levelled, its band of ink is at most this share of what it was


@dataclass(frozen=True)
class PredictConfig:
    """Defaults of `digitcli predict`."""

    batch_size: int = 256
    model_batch: int = 128           # images a call to onnxruntime at most (its memory grows to the largest)
    workers: int = field(default_factory=lambda: max(1, min(8, os.cpu_count() or 1)))
    min_confidence: float = 0.5
    top_k: int = 1
    digits: int | None = None        # read exactly this many digits; None: however many there are
    split_penalty: float = 0.5       # log-probability each digit of a number's reading costs: a cut must earn its keep
    one_digit_ink: float = 0.85      # a one-digit reading holding this share of the ink may outweigh a number
    same_ink: float = 0.5            # ...if its box and the number's overlap this much (intersection over union)
    # A digit read with less than this is read again zoomed in and out, and
    # the three readings averaged: a digit reads the same, a letter that
    # only resembles one often does not (runner.second_look).
    second_look_below: float = 0.99
    second_look_zooms: tuple[float, ...] = (0.9, 1.1)
    # The line reader (reading/lines.py) reads each segment cut through ink
    # whole: the cuts then read as many digits as it did, and its digits
    # where they read others (`line_min_digits`: it is heeded where it reads
    # at least that many; a lone digit is the classifier's).
    line_reader: bool = True
    line_min_digits: int = 2
    # A number's confidence takes `cut_confidence` for each cut through
    # touching digits (each digit's confidence cannot show that the cut
    # between them was wrong) and `line_disagreement` for each segment where
    # the line reader and the cuts read differently. Fitted on numbers
    # composed from MNIST test digits by `python scripts/fit_cut_confidence.py`
    # (refit after a retraining of either model; with the line reader's count
    # the cuts need no factor of their own).
    cut_confidence: float = 1.0
    line_disagreement: float = 0.95
    # A lone shape no wider than a digit that the classifier does not read
    # as one (or does, below), and the line reader reads as several digits:
    # digits written into each other, or a letter (the line reader has never
    # seen one, and reads a B as "13"). Its reading takes this factor, which
    # flags it.
    refused_shape: float = 0.45
    # A narrow lone shape that the classifier reads as one digit is read by
    # the line reader too where it is at least this many pixels tall (the
    # line reader's own height: smaller, a digit cell of a scanned form has
    # too few pixels to show two strokes apart). Where it reads several
    # digits and the cuts read the same, that reading stands, flagged.
    narrow_line_height: int = 24
    # Each segment the line reader reads as several digits is read again in
    # `line_view_heights` x `line_view_shifts` views (lines.line_views): a
    # little smaller or larger, a column or more to the right. Where fewer
    # than `steady_share` of them read the same digits, the number's
    # confidence takes `unsteady_line` (fitted with the two factors above).
    line_view_heights: tuple[int, ...] = (20, 22, 24)
    line_view_shifts: int = 4
    steady_share: float = 0.6
    unsteady_line: float = 0.7
    # Worker processes for decoding and the pipeline ("auto": once the input
    # holds more than process_after images; "threads" for the old engine).
    engine: str = "auto"
    process_after: int = 64
    streaming: bool = False          # the input trickles in (stdin): do not wait for process_after images
    chunk_size: int = 64             # images handed to a worker process at a time...
    chunk_bytes: int = 1 << 20       # ...or fewer, once they hold this many bytes: large photos spread over the workers
    keep_images: bool = True         # results keep the 28x28s the model saw (crops, reports)
    flush_seconds: float = 0.05      # a partial chunk goes out when the input pauses this long
    progress_after: int = 50         # images; shorter batches finish before a bar helps


@dataclass(frozen=True)
class ServeConfig:
    """Defaults of `digitcli serve`."""

    host: str = "127.0.0.1"          # this machine only, unless told otherwise
    port: int = 8000
    max_bytes: int = 10 * 1024 * 1024   # a request body over this gets 413
    # Readings at a time, each in its own worker process (1: in the server's);
    # more requests wait their turn.
    workers: int = field(default_factory=lambda: max(1, min(8, os.cpu_count() or 1)))
    max_connections: int = 200       # beyond this uvicorn answers 503 at once
    shutdown_seconds: int = 3        # SIGTERM/Ctrl-C: requests in flight get this long to finish


@dataclass(frozen=True)
class ReportConfig:
    """`evaluate --report` pictures."""

    max_tiles: int = 400             # a grid past this is not looked at; the JSON output has every row
    mistakes_columns: int = 4
    mnist_columns: int = 12
    samples: int = 60                # samples.png: this many test images, drawn at random...
    samples_per_group: int = 12      # ...or, of labelled images, this many of each kind
    sample_seed: int = 0             # the same images on every run, to compare models


@dataclass(frozen=True)
class Settings:
    image: ImageConvention = field(default_factory=ImageConvention)
    train: TrainConfig = field(default_factory=TrainConfig)
    lines: LineConvention = field(default_factory=LineConvention)
    train_lines: LineTrainConfig = field(default_factory=LineTrainConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    numbers: NumberConfig = field(default_factory=NumberConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    models_dir: Path = field(default_factory=_package_models_dir)

    @property
    def default_model(self) -> Path:
        """The model predict and evaluate use unless told otherwise."""
        override = os.environ.get(MODEL_ENV_VAR)
        return Path(override) if override else self.models_dir / "digitcli.onnx"


SETTINGS = Settings()
