"""`digitcli train lines`: the line reader, a fully convolutional network
with a CTC head, fitted on synthetic lines of MNIST training digits
(line_data.py) and written as `digitcli-lines.keras`, `.onnx` and `.json`
beside the classifier, atomically. Ctrl-C and SIGTERM stop cleanly."""

from __future__ import annotations

import signal
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np
from keras import layers
from rich.console import Console

from ..config import SETTINGS, LineConvention, LineTrainConfig
from ..mnist import Mnist
from ..modelfiles import ModelFiles
from ..reading.lines import LINES_STEM, greedy_decode, softmax
from .callbacks import RichProgress
from .card import card_header, write_model_files
from .dataset import threaded_map
from .line_data import line_samples
from .loop import stop_cleanly_on_signals
from .model import conv_bn_relu

BUCKET = 32   # lines are batched with others of about their width (a multiple of this)


def build_line_model(convention: LineConvention = SETTINGS.lines) -> keras.Model:
    """Two conv-pool stages take the line to a quarter of its height and
    width (one output step per `stride` = 4 columns, about six per digit),
    two more convolutions and a height pooling see a digit and its
    neighbours, a (4, 1) convolution folds the height away, a (1, 5) one
    adds context along the line, and a 1x1 convolution scores the blank and
    the ten digits at every step. Twice as wide as the first line reader
    (16-32-48-96 filters): 92.0% to 93.0% of MNIST test lines read exactly.

    Input: (32, width, 1) float32 in [0, 1], white ink on black.
    Output: (1, width / 4, 11) logits."""
    inputs = keras.Input(shape=(convention.height, None, 1), name="line")
    x = conv_bn_relu(inputs, 32, name="s1")
    x = layers.MaxPooling2D(2, name="s1_pool")(x)
    x = conv_bn_relu(x, 64, name="s2")
    x = layers.MaxPooling2D(2, name="s2_pool")(x)
    x = conv_bn_relu(x, 96, name="s3a")
    x = conv_bn_relu(x, 96, name="s3b")
    x = layers.MaxPooling2D((2, 1), name="s3_pool")(x)
    x = conv_bn_relu(x, 160, kernel=(convention.height // 8, 1), padding="valid", name="fold")
    x = conv_bn_relu(x, 160, kernel=(1, 5), name="context")
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Conv2D(convention.num_classes, 1, name="logits")(x)
    return keras.Model(inputs, outputs, name="digitcli_lines")


class LineBatches(keras.utils.PyDataset):
    """Batches of lines of about one width (cropped to the widest in the
    bucket), in a new order each epoch; targets are CTC's classes (digit + 1),
    padded with the blank (0)."""

    def __init__(self, x: np.ndarray, widths: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.buckets = -(-widths // BUCKET) * BUCKET
        self.rng = np.random.default_rng(seed)
        self.batches: list[np.ndarray] = []
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        batches = []
        for width in np.unique(self.buckets):
            members = self.rng.permutation(np.flatnonzero(self.buckets == width))
            batches += [np.sort(members[i:i + self.batch_size])
                        for i in range(0, len(members) - self.batch_size + 1, self.batch_size)]
        self.batches = [batches[i] for i in self.rng.permutation(len(batches))]

    @property
    def num_batches(self) -> int:
        return len(self.batches)

    def __len__(self) -> int:
        return self.num_batches

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        members = self.batches[index]
        width = int(self.buckets[members[0]])
        images = self.x[members, :, :width].astype(np.float32)[..., None]
        return images, (self.y[members] + 1).astype(np.int32)


def read_lines(model: keras.Model, x: np.ndarray) -> list[str]:
    """Greedy CTC readings of (N, height, width) lines."""
    logits = model.predict(x.astype(np.float32)[..., None], batch_size=256, verbose=0)[:, 0]
    return [greedy_decode(softmax(steps)).digits for steps in logits]


def exact_share(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    truth = ["".join(str(d) for d in row[row >= 0]) for row in y]
    return float(np.mean([read == true for read, true in zip(read_lines(model, x), truth)]))


class ExactMatch(keras.callbacks.Callback):
    """Each epoch's share of validation lines read exactly, logged as
    `val_accuracy` (the progress bar shows it)."""

    def __init__(self, line_model: keras.Model, x: np.ndarray, y: np.ndarray):
        super().__init__()
        self.line_model, self.x, self.y = line_model, x, y
        self.history: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_accuracy"] = exact_share(self.line_model, self.x, self.y)
            self.history.append({"epoch": epoch + 1, "loss": round(float(logs.get("loss", 0)), 5),
                                 "val_exact": round(logs["val_accuracy"], 5)})


@dataclass
class LineTrainResult:
    files: ModelFiles | None    # None when interrupted: nothing was written
    exact: float | None
    seconds: float
    interrupted: bool


def ensemble_line_model(members: list[keras.Model]) -> keras.Model:
    """One model whose output is the log of the members' summed step
    probabilities (log p_a + softplus(log p_b - log p_a) = log(p_a + p_b)):
    the runtime's softmax of it is their average, so the ensemble is one
    ONNX file read like a single network, from standard layers only."""
    inputs = keras.Input(shape=members[0].input_shape[1:], name="line")
    log_sum = None
    for index, member in enumerate(members):
        # One output (a loaded model's are a list), named after its place.
        single = keras.Model(member.inputs, member.outputs[0], name=f"member_{index + 1}")
        log_p = layers.Activation("log_softmax", name=f"log_p_{index + 1}")(single(inputs))
        if log_sum is None:
            log_sum = log_p
        else:
            gap = layers.Subtract(name=f"gap_{index + 1}")([log_p, log_sum])
            log_sum = layers.Add(name=f"log_sum_{index + 1}")(
                [log_sum, layers.Activation("softplus", name=f"softplus_{index + 1}")(gap)])
    return keras.Model(inputs, log_sum, name="digitcli_lines")


def train_member(mnist: Mnist, config: LineTrainConfig, console: Console) -> tuple[keras.Model, list[dict]]:
    """One network, on lines drawn with `config`'s style, from the seed (as
    if trained alone). Raises KeyboardInterrupt when stopped."""
    keras.utils.set_random_seed(config.seed)
    console.log(f"drawing {config.samples:,} training lines and {config.validation_samples:,} "
                f"validation lines (MNIST test digits); smaller last digits in {config.small_share:.0%}, "
                f"cursive joins in {config.ligature_share:.0%}")
    x, widths, y = line_samples(mnist.x_train, mnist.y_train, config.samples, config.seed, config,
                                map_fn=lambda f, items: threaded_map(f, items, config.workers))
    x_val, _, y_val = line_samples(mnist.x_test, mnist.y_test, config.validation_samples, config.seed + 1,
                                   config, map_fn=lambda f, items: threaded_map(f, items, config.workers))
    batches = LineBatches(x, widths, y, config.batch_size, config.seed)
    model = build_line_model()
    steps = config.epochs * len(batches)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate / 30, max(1, steps - steps // 10), alpha=0.02,
        warmup_target=config.learning_rate, warmup_steps=steps // 10)
    trainable = keras.Model(model.inputs, layers.Reshape((-1, SETTINGS.lines.num_classes))(model.outputs[0]))
    trainable.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay),
                      loss=keras.losses.CTC())
    console.log(f"training the line reader: {model.count_params():,} parameters, {config.epochs} epochs "
                f"of {len(batches)} batches")
    exact = ExactMatch(model, x_val, y_val)
    trainable.fit(batches, epochs=config.epochs, verbose=0,
                  callbacks=[exact, RichProgress(console, config.epochs, len(batches))])
    return model, exact.history


def train_lines(mnist: Mnist, output: Path, config: LineTrainConfig, console: Console) -> LineTrainResult:
    """Train each member (config.members), fold them into one model, export,
    and write the model files atomically."""
    started = time.monotonic()
    members, histories = [], []
    previous_handlers = stop_cleanly_on_signals()
    try:
        for index, (small, ligatures) in enumerate(config.members):
            console.log(f"member {index + 1} of {len(config.members)}")
            member, history = train_member(mnist, replace(config, small_share=small, ligature_share=ligatures),
                                           console)
            members.append(member)
            histories.append(history)
    except KeyboardInterrupt:
        console.log(f"interrupted; nothing was written to {output}")
        return LineTrainResult(None, None, time.monotonic() - started, True)
    finally:
        for sig, previous in previous_handlers.items():
            signal.signal(sig, previous)
    files, share = write_line_reader(members, histories, mnist, config, time.monotonic() - started, output)
    console.log(f"line reader: {share:.2%} of validation lines read exactly; wrote {files.onnx}, "
                f"{files.keras}, {files.card}")
    return LineTrainResult(files, share, time.monotonic() - started, False)


def write_line_reader(members: list[keras.Model], histories: list[list[dict]], mnist: Mnist,
                      config: LineTrainConfig, seconds: float, output: Path) -> tuple[ModelFiles, float]:
    """The members folded into one model (one member: itself), its share of
    plain validation lines read exactly, and its files."""
    model = ensemble_line_model(members) if len(members) > 1 else members[0]
    plain = replace(config, small_share=0.0, ligature_share=0.0)
    x_val, _, y_val = line_samples(mnist.x_test, mnist.y_test, config.validation_samples, config.seed + 1, plain,
                                   map_fn=lambda f, items: threaded_map(f, items, config.workers))
    share = exact_share(model, x_val, y_val)
    card = line_card(model, mnist, config, histories, share, seconds)
    return write_model_files(model, card, output, LINES_STEM), share


def line_card(model: keras.Model, mnist: Mnist, config: LineTrainConfig, histories: list[list[dict]],
              exact: float, seconds: float) -> dict:
    """The line reader's model card."""
    convention = SETTINGS.lines
    return {
        **card_header(model),
        "input": {"shape": [convention.height, "width", 1], "dtype": "float32", "range": [0.0, 1.0],
                  "convention": f"a line of binary ink, white on black, {convention.ink_height} rows high "
                                f"in a {convention.margin}-pixel margin; width a multiple of {convention.stride}"},
        "output": {"shape": [convention.num_classes, 1, f"width/{convention.stride}"],
                   "meaning": "CTC logits per step (softmax: the members' average probabilities): "
                              "blank (0), then digits 0-9 (1-10)"},
        "training": {**asdict(config), "seconds": round(seconds, 1), "history": histories},
        "data": {"source": Path(mnist.source).name, "sha256": mnist.sha256},
        "metrics": {"validation_lines_exact": round(exact, 5)},
    }
