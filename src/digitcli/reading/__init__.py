"""The reading library: image bytes in, digits out. Never imports TensorFlow
(an import-linter contract in pyproject.toml checks it).

decode.py      bytes -> an upright 8-bit image
pipeline.py    image -> the 28x28 digit the model reads (stages configurable)
numbers.py     ink -> a number's segments and candidate digits
lines.py       the line reader: touching digits read whole (CTC)
classifier.py  one interface for every model file (ONNX by onnxruntime; .keras lazily)
runner.py      many inputs -> results in order, threads ahead of batched inference
result.py      the output contract: Status and Result
writers.py     table, JSON lines, JSON, CSV, TSV, from one registry
inputs.py      command-line arguments -> image paths
reader.py      Reader, the public Python API
"""

import os

# OpenCV's decoders write their own warnings to stderr ("Corrupt JPEG data"):
# quiet, unless the user asks (OPENCV_LOG_LEVEL=INFO, or digitcli --debug).
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
