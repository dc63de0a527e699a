"""Command-line interface: parse arguments, call the command's module
(commands/), map errors to exit codes. Heavy imports (TensorFlow, OpenCV,
onnxruntime) happen inside the commands that need them, so `--help` is fast
and `predict` never loads TensorFlow."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import signal
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from . import __version__
from .config import DATA_ENV_VAR, MODEL_ENV_VAR, SETTINGS
from .errors import EXIT_CODES_HELP, DigitcliError, ExitCode
from .reading.writers import WRITERS

app = typer.Typer(
    name="digitcli",
    help="Read handwritten digits and numbers from image files.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True, soft_wrap=True)   # one line per message, whatever the width: logs are grepped


RowFormat = Enum("RowFormat", {name: name for name in WRITERS}, type=str)
"""--format's choices: the writers' registry."""


class Engine(str, Enum):
    auto = "auto"
    threads = "threads"
    processes = "processes"
    ray = "ray"


def _shard(text: str | None) -> tuple[int, int] | None:
    """'I/N' -> (I, N), with 0 <= I < N."""
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected I/N, e.g. 0/4", param_hint="--shard") from None
    if not 0 <= index < count:
        raise typer.BadParameter(f"{text!r}: I must be from 0 to N-1", param_hint="--shard")
    return index, count


class ReportFormat(str, Enum):
    table = "table"
    json = "json"


@dataclasses.dataclass
class _State:
    debug: bool = False


STATE = _State()

DataOption = Annotated[Path | None, typer.Option(
    "--data", help=f"MNIST: Keras' mnist.npz or a folder of the four IDX files (.gz or not). "
                   f"Default: ${DATA_ENV_VAR}, then the Keras cache (~/.keras/datasets/mnist.npz).",
    show_default=False)]


def _version(value: bool) -> None:
    if value:
        print(f"digitcli {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks of errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    STATE.debug = debug
    if debug:
        os.environ["OPENCV_LOG_LEVEL"] = "INFO"   # read when OpenCV is first imported, later


def friendly_errors(command: Callable) -> Callable:
    """Known errors become a one-line message and their exit status; Ctrl-C
    exits 130; anything unexpected is one line too, unless --debug."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DigitcliError as exc:
            if STATE.debug:
                raise
            stderr.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            stderr.print("interrupted")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except Exception as exc:
            if STATE.debug:
                raise
            stderr.print(f"[red]internal error:[/red] {exc.__class__.__name__}: {escape(str(exc))} "
                         "(a bug in digitcli: run with --debug for details, and please report it)", highlight=False)
            raise typer.Exit(ExitCode.INTERNAL) from None

    return wrapper


class TrainedModel(str, Enum):
    digits = "digits"
    lines = "lines"


@app.command()
@friendly_errors
def train(
    which: Annotated[TrainedModel, typer.Argument(
        metavar="[digits|lines]", help="digits: the classifier (digitcli.*). lines: the line reader for touching digits "
             "(digitcli-lines.*).", show_default=True)] = TrainedModel.digits,
    data: DataOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the model files.")] = Path("models"),
    epochs: Annotated[int | None, typer.Option(
        min=1, show_default=False,
        help=f"Training epochs. Default: {SETTINGS.train.epochs} (digits), {SETTINGS.train_lines.epochs} (lines).")]
        = None,
    batch_size: Annotated[int | None, typer.Option(
        min=1, show_default=False, help=f"Images per training step. Default: {SETTINGS.train.batch_size} "
                                        f"(digits), {SETTINGS.train_lines.batch_size} (lines).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (split, shuffling, augmentation, weights).")]
        = SETTINGS.train.seed,
    validation_size: Annotated[int, typer.Option(
        min=0, help="Training images held out to pick the best epoch (digits).")] = SETTINGS.train.validation_size,
    members: Annotated[int, typer.Option(
        min=1, help="Networks in the classifier, from seeds SEED, SEED+1, ...; their mean is the model, in one "
                    "file (digits). Each takes as long to train.")] = SETTINGS.train.members,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in OUTPUT (digits).")]
        = False,
) -> None:
    """Train a model on MNIST and write its files (atomically).

    `digits` (the default) is the CNN that reads each digit: digitcli.keras,
    .onnx and .json. `lines` is the line reader that predict consults on
    touching digits: digitcli-lines.keras, .onnx and .json, beside it.
    Progress goes to stderr. Ctrl-C stops cleanly: the model in OUTPUT is left
    as it was, and `--resume` continues the digits model from the last
    finished epoch. Needs TensorFlow: pip install "digitcli[train]".

    Examples:

    \b
      digitcli train --data ../shared/data/mnist.npz              # the shipped classifier, into models/
      digitcli train lines --data ../shared/data/mnist.npz        # the shipped line reader, into models/
      digitcli train --data mnist.npz --epochs 3 --output /tmp/try
      digitcli train --data mnist.npz --resume                    # continue after Ctrl-C
    """
    from .commands.train import run, run_lines

    if which is TrainedModel.lines:
        if resume:
            raise typer.BadParameter("the line reader trains in one go (about 45 minutes on 2 cores); run it again",
                                     param_hint="--resume")
        config = dataclasses.replace(SETTINGS.train_lines, seed=seed, epochs=epochs or SETTINGS.train_lines.epochs,
                                     batch_size=batch_size or SETTINGS.train_lines.batch_size)
        raise typer.Exit(run_lines(data, output, config, stderr))
    config = dataclasses.replace(SETTINGS.train, epochs=epochs or SETTINGS.train.epochs,
                                 batch_size=batch_size or SETTINGS.train.batch_size, seed=seed,
                                 validation_size=validation_size, members=members)
    raise typer.Exit(run(data, output, config, resume, stderr))


ModelOption = Annotated[Path | None, typer.Option(
    "--model", "-m", help=f"Model file: ONNX (or .keras, with TensorFlow installed), or its folder. "
                          f"Default: the shipped model, or ${MODEL_ENV_VAR}.",
    show_default=False)]


def _a_number(value: float) -> float:
    if math.isnan(value):   # NaN passes every range check
        raise typer.BadParameter("must be a number from 0 to 1, not NaN")
    return value


MinConfidenceOption = Annotated[float, typer.Option(
    min=0.0, max=1.0, callback=_a_number, help="Answers below this confidence get status 'low confidence' "
    "(a non-digit usually does).")]


@app.command()
@friendly_errors
def predict(
    inputs: Annotated[list[str] | None, typer.Argument(
        metavar="IMAGE...", help="Image files, folders, globs, or - to read paths from stdin (one a line).",
        show_default=False)] = None,
    fmt: Annotated[RowFormat | None, typer.Option(
        "--format", "-f", help="Output format. Default: table on a terminal, jsonl otherwise.",
        show_default=False)] = None,
    model: ModelOption = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Read folders recursively.")] = False,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=10, help="Also list the K likeliest digits "
                                       "(of a one-digit image; with --boxes, of each digit of a number).")]
        = SETTINGS.predict.top_k,
    min_confidence: MinConfidenceOption = SETTINGS.predict.min_confidence,
    save_crops: Annotated[Path | None, typer.Option(
        help="Write each digit's 28x28, as the model saw it, as a PNG into this folder (named after the input; "
        "field 'crops').", show_default=False)] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes (or threads) that decode and prepare images.")]
        = SETTINGS.predict.workers,
    digits: Annotated[int | None, typer.Option(
        "--digits", "-d", min=1, max=32, help="Read exactly N digits (a form box of known length, a 6-digit meter); "
        "1 reads one digit an image. Default: however many there are.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the rows to FILE (format from --format, else its suffix), each flushed as "
        "it is read.", show_default=False)] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="With --output: skip the inputs whose rows FILE already holds, and append the rest "
        "(run the same command again after a crash).")] = False,
    shard: Annotated[str | None, typer.Option(
        "--shard", metavar="I/N", help="Read only every N-th input, starting at the I-th (0-based): "
        "--shard 0/4 ... --shard 3/4 split a job in four.", show_default=False)] = None,
    engine: Annotated[Engine, typer.Option(
        help="Who prepares the images: worker processes once the input is long (auto), threads, processes, "
        "or a Ray cluster (ray).")] = Engine.auto,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="With --engine ray: the cluster to join (default: start a local one).",
        show_default=False)] = None,
    null: Annotated[bool, typer.Option(
        "--null", "-0", help="Paths on stdin are NUL-separated (find -print0, fd -0).")] = False,
    boxes: Annotated[bool, typer.Option(
        "--boxes", help="Add each digit with its confidence and its box [x, y, width, height] in the "
        "original image's pixels (field 'digits').")] = False,
    only_flagged: Annotated[bool, typer.Option(
        "--only-flagged", help="Write only the rows that need a look: low confidence, no digit, or an error "
        "(the summary still counts every input).")] = False,
) -> None:
    """Read the handwritten digits or numbers in each image; one row per input.

    A photo, a scan or a drawing, dark ink on light paper or light on dark:
    one digit, or a number (a meter reading, an amount, a mark). Rows carry
    path, digit (when the image holds exactly one), confidence (of the whole
    reading), status (ok, low confidence, no digit, error), error and number
    (the digits left to right; a space between separate numbers). Data goes
    to stdout, messages to stderr.

    Examples:

    \b
      digitcli predict samples/*                        # a table on a terminal
      digitcli predict photos/ --recursive              # every image under a folder
      find . -name '*.jpg' -print0 | digitcli predict - -0
      digitcli predict scans/*.png -f csv > digits.csv  # CSV for a spreadsheet
      digitcli predict meter.jpg --digits 6 --boxes     # a 6-digit meter, each digit's box
      digitcli predict form.jpg --top-k 3               # the three likeliest digits
      digitcli predict scans/ -r --only-flagged         # only what needs a person's look

    Exit status: 0 when every input was read (a blank page counts as read,
    with status 'no digit'); 1 when any input could not be read; 2 usage
    error; 3 model missing or corrupt; 70 internal error.
    """
    if not inputs:
        raise typer.BadParameter("give image files, folders or globs, or - to read paths from stdin",
                                 param_hint="IMAGE...")
    from .commands.predict import run

    config = dataclasses.replace(SETTINGS.predict, top_k=top_k, min_confidence=min_confidence, workers=workers,
                                 digits=digits, engine=engine.value)
    if engine is Engine.ray:
        unsupported = [name for name, value in (("--output", output), ("--resume", resume), ("--shard", shard),
                                                ("--save-crops", save_crops), ("--only-flagged", only_flagged))
                       if value]
        if unsupported:
            raise typer.BadParameter(f"{', '.join(unsupported)} cannot be combined with --engine ray yet "
                                     "(Ray Data writes in order to stdout)", param_hint="--engine")
        from .commands.ray_predict import run as run_on_ray  # the [ray] extra

        raise typer.Exit(run_on_ray(inputs, fmt.value if fmt else None, model, recursive, config, boxes, null,
                                    ray_address, stderr))
    if only_flagged and resume:
        raise typer.BadParameter("cannot be combined with --resume, which counts the rows already written",
                                 param_hint="--only-flagged")
    raise typer.Exit(run(inputs, fmt.value if fmt else None, model, recursive, config, save_crops, boxes, null,
                         stderr, output, resume, _shard(shard), only_flagged))


@app.command()
@friendly_errors
def evaluate(
    model: ModelOption = None,
    data: DataOption = None,
    labelled: Annotated[Path | None, typer.Option(
        "--labelled", "-l", help="Instead of MNIST: a folder of labelled images (<label>/<file> or "
        "<source>/<label>/<file>; a not-a-digit/ folder for images that are none) or a manifest TSV/CSV "
        "with path, label and optionally kind. They go through the same pipeline as predict.",
        show_default=False)] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")] = ReportFormat.table,
    report: Annotated[Path | None, typer.Option(
        help="Folder for pictures: confusion.png, mistakes.png (each mistake with what the model saw), "
        "samples.png (test images with what was read) and curves.png (the model's training curves).",
        show_default=False)] = None,
    min_confidence: MinConfidenceOption = SETTINGS.predict.min_confidence,
    by_source: Annotated[bool, typer.Option(
        "--by-source", help="Group a manifest's images by their first folder (the source), not by kind.")]
        = False,
    digits: Annotated[int | None, typer.Option(
        "--digits", "-d", min=1, max=32, help="Read as predict --digits N does (1: one digit an image).",
        show_default=False)] = None,
) -> None:
    """Measure a model: accuracy, per-digit precision/recall/F1, confusion matrix.

    By default on the MNIST test set; with --labelled on your own labelled
    images, reported per kind (from the manifest) or per source folder, with
    the share of answers below predict's --min-confidence and the expected
    calibration error (0: a confidence of 0.9 is right nine times in ten).
    Images labelled not-a-digit count as right when predict flags them;
    labels of several digits are numbers, scored by exact match and digit
    error rate.

    Examples:

    \b
      digitcli evaluate --data ../shared/data/mnist.npz             # the MNIST test set
      digitcli evaluate --labelled ../shared/data/realworld-dev --report report/
      digitcli evaluate --labelled ../shared/data/numbers-dev -f json
    """
    from .commands.evaluate import run_labelled, run_mnist

    stdout = Console()
    config = dataclasses.replace(SETTINGS.predict, min_confidence=min_confidence, digits=digits)
    if labelled is not None:
        raise typer.Exit(run_labelled(labelled, model, fmt.value, report, config, stdout, stderr, by_source))
    raise typer.Exit(run_mnist(model, data, fmt.value, report, config, stdout, stderr))


@app.command()
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on: 0.0.0.0 lets other machines in (no "
                                      "authentication: put it behind your proxy).")] = SETTINGS.serve.host,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one, printed).")]
        = SETTINGS.serve.port,
    model: ModelOption = None,
    min_confidence: MinConfidenceOption = SETTINGS.predict.min_confidence,
    max_bytes: Annotated[int, typer.Option("--max-bytes", min=1, help="Request bodies larger than this get 413.")]
        = SETTINGS.serve.max_bytes,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes that read images, one reading each at "
                                         "a time; further requests wait their turn. 1: in the server process.")]
        = SETTINGS.serve.workers,
) -> None:
    """Serve a page to draw digits on, and an HTTP API that reads images.

    GET / is the page: draw a digit or a number with a mouse, pen or finger,
    or drop a photo. POST /api/read takes image bytes (or a multipart form
    with a 'file' field) and answers with predict's JSON record; query
    parameters digits=N, top_k=K, boxes=1 and crops=1 are predict's options.
    GET /api/health and GET /api/model are for load balancers and clients.
    One log line per request goes to stderr. Needs the [serve] extra:
    pip install "digitcli[serve]".

    Examples:

    \b
      digitcli serve                                  # then open http://127.0.0.1:8000
      curl --data-binary @samples/n17_exam_mark_red_pen.jpg http://127.0.0.1:8000/api/read
      curl -F file=@photo.jpg 'http://127.0.0.1:8000/api/read?boxes=1&top_k=3'
      digitcli serve --host 0.0.0.0 --port 8080 --workers 4
    """
    from .commands.serve import run

    config = dataclasses.replace(SETTINGS.serve, host=host, port=port, max_bytes=max_bytes, workers=workers)
    raise typer.Exit(run(model, config, dataclasses.replace(SETTINGS.predict, min_confidence=min_confidence),
                         stderr))


def main() -> None:
    """Console-script entry point. A closed pipe (`digitcli predict ... | head`)
    ends the process quietly, as it does `cat`, instead of a BrokenPipeError."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()
