"""Export the Keras CNN to ONNX, for the TensorFlow-free predict path.

The network is a plain chain of a few layer kinds, so it is written straight
into an ONNX graph with `onnx.helper`: BatchNorm is folded into the preceding
convolution, Dropout disappears, and the result is checked against Keras by
the tests. This avoids a converter that lags behind TensorFlow releases.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"


class _Graph:
    """Accumulates nodes and initializers, naming tensors as it goes."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.current = INPUT_NAME
        self.prefix = ""   # an ensemble member's, so that its names are its own

    def constant(self, name: str, array: np.ndarray) -> str:
        name = self.prefix + name
        self.initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def add(self, op: str, name: str, extra_inputs: tuple[str, ...] = (), output: str | None = None,
            **attrs) -> None:
        name = self.prefix + name
        output = output or f"{name}_out"
        self.nodes.append(helper.make_node(op, [self.current, *extra_inputs], [output], name=name, **attrs))
        self.current = output


def _fold_batchnorm(kernel: np.ndarray, bias: np.ndarray, bn) -> tuple[np.ndarray, np.ndarray]:
    """Fold y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta into the conv."""
    gamma, beta, mean, var = (np.asarray(w) for w in bn.get_weights())
    factor = gamma / np.sqrt(var + bn.epsilon)
    return kernel * factor, (bias - mean) * factor + beta


def _same_pads(kernel_size: tuple[int, int]) -> list[int]:
    kh, kw = kernel_size
    return [(kh - 1) // 2, (kw - 1) // 2, kh // 2, kw // 2]


def _pool_same_pads(size: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int]) -> list[int]:
    """TensorFlow's 'same' padding: the extra pixel goes at the end."""
    begin, end = [], []
    for n, k, s in zip(size, kernel, strides):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


def _kernel_and_bias(layer, following) -> tuple[np.ndarray, np.ndarray, bool]:
    """A Conv2D's or Dense's weights, with a following BatchNorm folded in;
    the flag says whether it was (and so is to be skipped)."""
    weights = layer.get_weights()
    kernel = np.asarray(weights[0])
    bias = np.asarray(weights[1]) if layer.use_bias else np.zeros(kernel.shape[-1], np.float32)
    if following is not None and following.__class__.__name__ == "BatchNormalization":
        return (*_fold_batchnorm(kernel, bias, following), True)
    return kernel, bias, False


def _add_activation(graph: _Graph, layer) -> None:
    activation = layer.activation.__name__
    if activation == "relu":
        graph.add("Relu", f"{layer.name}_relu")
    elif activation == "softmax":
        graph.add("Softmax", f"{layer.name}_softmax", axis=1)
    elif activation != "linear":
        raise ValueError(f"{layer.name}: activation {activation} is not supported")


def _add_chain(graph: _Graph, model) -> None:
    """A chain of Conv2D/BatchNorm/ReLU/MaxPool/GAP/Flatten/Dropout/Dense
    layers, from the graph's current tensor (NCHW)."""
    layers = [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]
    index = 0
    while index < len(layers):
        layer = layers[index]
        kind = layer.__class__.__name__
        following = layers[index + 1] if index + 1 < len(layers) else None
        if kind == "Conv2D":
            if layer.padding == "same" and tuple(layer.strides) != (1, 1):
                raise ValueError(f"{layer.name}: strided 'same' convolution is not supported")
            kernel, bias, folded = _kernel_and_bias(layer, following)
            index += folded
            pads = _same_pads(layer.kernel_size) if layer.padding == "same" else [0, 0, 0, 0]
            graph.add("Conv", layer.name,
                      (graph.constant(f"{layer.name}_W", kernel.transpose(3, 2, 0, 1)),
                       graph.constant(f"{layer.name}_B", bias)),
                      kernel_shape=list(layer.kernel_size), strides=list(layer.strides), pads=pads)
            _add_activation(graph, layer)
        elif kind == "Dense":
            kernel, bias, folded = _kernel_and_bias(layer, following)
            index += folded
            graph.add("Gemm", layer.name,
                      (graph.constant(f"{layer.name}_W", kernel), graph.constant(f"{layer.name}_B", bias)))
            _add_activation(graph, layer)
        elif kind == "ReLU":
            graph.add("Relu", layer.name)
        elif kind == "MaxPooling2D":
            pads = [0, 0, 0, 0]
            if layer.padding == "same":
                pads = _pool_same_pads(tuple(layer.input.shape[1:3]), layer.pool_size, layer.strides)
            graph.add("MaxPool", layer.name, kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                      pads=pads)
        elif kind == "GlobalAveragePooling2D":
            graph.add("GlobalAveragePool", layer.name)
            graph.add("Flatten", f"{layer.name}_flatten", axis=1)
        elif kind == "Flatten":
            # Keras flattens NHWC; go back to that order first.
            graph.add("Transpose", f"{layer.name}_to_nhwc", perm=[0, 2, 3, 1])
            graph.add("Flatten", layer.name, axis=1)
        elif kind != "Dropout":  # Dropout is the identity at inference
            raise ValueError(f"layer {layer.name} of kind {kind} cannot be exported to ONNX")
        index += 1


def _add_members(graph: _Graph, model) -> list[tuple[str, str]]:
    """Each member network's chain from the same input: (its name, its
    output tensor), its nodes prefixed with its name."""
    start, outputs = graph.current, []
    for member in (layer for layer in model.layers if layer.__class__.__name__ == "Functional"):
        graph.current, graph.prefix = start, f"{member.name}_"
        _add_chain(graph, member)
        outputs.append((member.name, graph.current))
    graph.prefix = ""
    return outputs


def _add_ensemble(graph: _Graph, model) -> None:
    """train/lines.ensemble_line_model: the members' chains, and the log of
    their summed probabilities (log-softmax over the classes, axis 1 in
    NCHW; log p + softplus(log q - log p))."""
    log_sum = None
    for name, output in _add_members(graph, model):
        graph.current, graph.prefix = output, f"{name}_"
        graph.add("LogSoftmax", "log_p", axis=1)
        if log_sum is not None:
            graph.add("Sub", "gap", (log_sum,))
            graph.add("Softplus", "softplus")
            graph.add("Add", "log_sum", (log_sum,))
        log_sum = graph.current
    graph.prefix = ""


def _add_average(graph: _Graph, model) -> None:
    """model.ensemble_model: the members' chains, and the mean of their
    probabilities."""
    outputs = [output for _, output in _add_members(graph, model)]
    graph.current = outputs[0]
    graph.add("Sum", "sum", tuple(outputs[1:]))
    graph.add("Mul", "mean", (graph.constant("mean_weight", np.array(1.0 / len(outputs))),))


def keras_to_onnx(model) -> onnx.ModelProto:
    """Translate a chain of Conv2D/BatchNorm/ReLU/MaxPool/GAP/Flatten/Dropout/Dense
    layers (or an ensemble of such chains: model.ensemble_model,
    train/lines.ensemble_line_model) into an ONNX model with Keras' NHWC
    input ((N, 28, 28, 1) for the classifier; a free width for the line
    reader). A chain that ends in a convolution outputs its NCHW feature map."""
    graph = _Graph()
    graph.add("Transpose", "to_nchw", perm=[0, 3, 1, 2])
    if model.layers[-1].__class__.__name__ == "Average":
        _add_average(graph, model)
    elif any(layer.__class__.__name__ == "Functional" for layer in model.layers):
        _add_ensemble(graph, model)
    else:
        _add_chain(graph, model)
    graph.nodes[-1].output[0] = OUTPUT_NAME
    input_shape = ["N", *(size if size is not None else f"in{axis}"
                          for axis, size in enumerate(model.input_shape[1:], start=1))]
    output_shape = ["N", int(model.output_shape[-1])]
    if len(model.output_shape) == 4:   # NHWC in Keras, NCHW here
        output_shape += [size if size is not None else f"out{axis}"
                         for axis, size in enumerate(model.output_shape[1:3], start=2)]
    graph_proto = helper.make_graph(
        graph.nodes, model.name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, output_shape)],
        graph.initializers,
    )
    onnx_model = helper.make_model(graph_proto, producer_name="digitcli",
                                   opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    return onnx_model
