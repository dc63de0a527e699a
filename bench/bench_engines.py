"""Which engine runs the ONNX model? OpenCV's DNN module against onnxruntime
(predict's engine), side by side on the same batches of real 28x28 digits
from the real-world dev set, on one thread each (the batch runner brings the
parallelism): images per second, agreement, and import time.

    python bench/bench_engines.py [--model models/digitcli.onnx] [--labelled DIR]
"""

from __future__ import annotations

import subprocess
import sys
import time

import cv2
import numpy as np
import onnxruntime
from benchlib import labelled_digits, labelled_set_arguments, prepared_digits

from digitcli import Reader


def images_per_second(run, batches: list[np.ndarray], rounds: int) -> tuple[float, np.ndarray]:
    run(batches[0])   # warm up
    start = time.perf_counter()
    for _ in range(rounds):
        outputs = [run(batch) for batch in batches]
    return rounds * sum(len(b) for b in batches) / (time.perf_counter() - start), np.concatenate(outputs)


def import_seconds(module: str) -> float:
    code = f"import time, numpy; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(5))


def main() -> None:
    args = labelled_set_arguments(__doc__)
    digits, _, _ = prepared_digits(Reader(args.model), labelled_digits(args.labelled))
    batches = [digits[i:i + 256, :, :, None].astype(np.float32) for i in range(0, len(digits), 256)]
    cv2.setNumThreads(1)
    net = cv2.dnn.readNetFromONNX(str(args.model))

    def opencv(batch):
        net.setInput(batch)
        return net.forward().copy()

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(args.model), options, providers=["CPUExecutionProvider"])

    def ort(batch):
        return session.run(None, {session.get_inputs()[0].name: batch})[0]

    rounds = 20
    cv_rate, cv_out = images_per_second(opencv, batches, rounds)
    ort_rate, ort_out = images_per_second(ort, batches, rounds)
    print(f"{len(digits)} real digits in batches of 256, one thread, {rounds} rounds")
    print(f"  OpenCV DNN   {cv_rate:8.0f} images/s   import cv2 {import_seconds('cv2'):.3f} s")
    print(f"  onnxruntime  {ort_rate:8.0f} images/s   import onnxruntime {import_seconds('onnxruntime'):.3f} s "
          "(on top of numpy)")
    print(f"  ratio {ort_rate / cv_rate:.1f}x; largest difference in probability {np.abs(cv_out - ort_out).max():.1e}; "
          f"same digit for {np.mean(cv_out.argmax(1) == ort_out.argmax(1)):.2%}")


if __name__ == "__main__":
    main()
