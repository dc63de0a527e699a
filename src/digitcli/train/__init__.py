"""Training: the only package that imports TensorFlow and Keras (an
import-linter contract in pyproject.toml checks that nothing else does).
This file imports no TensorFlow, so `digitcli.train.outliers` and
`digitcli.train.styles` (numpy and OpenCV only) stay cheap to import; it
quiets TensorFlow's start-up chatter before any module here loads it.

model.py             the CNN, its training metric, batched inference
styles.py            writing styles MNIST lacks, applied to MNIST digits (numpy)
outliers.py          non-digits and wrong number segmentations for outlier exposure (numpy)
augment.py           batched random warps and pen widths (TensorFlow ops)
dataset.py           the validation split and the augmented tf.data stream
callbacks.py         progress bars; best epoch, weight average and checkpoints
loop.py              the training run: fit, average, calibrate, write
card.py              the model card and the model files
export.py            Keras to ONNX
keras_classifier.py  a .keras file behind the reading library's Classifier
line_data.py         lines of MNIST digits for the line reader (numpy)
lines.py             the line reader: its network, CTC training, model files
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
