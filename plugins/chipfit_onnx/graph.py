"""Building ONNX graphs layer by layer, with weights that are either shapes only or random numbers.

``weights="shapes"`` writes each initializer's shape with its data marked external and absent: the
graph counts (and passes shape inference) without a byte of weights, so a 70B decoder builds in
milliseconds. ``weights="random"`` fills them with seeded random numbers, so ONNX Runtime can run it.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper

OPSET = 17


class GraphBuilder:
    """Accumulates nodes, initializers, inputs and outputs; names tensors uniquely."""

    def __init__(self, name: str, *, weights: str = "shapes", seed: int = 0, dtype: int = TensorProto.FLOAT) -> None:
        if weights not in ("shapes", "random"):
            raise ValueError(f"weights must be 'shapes' or 'random', got {weights!r}")
        self.name = name
        self.weights = weights
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._rng = np.random.default_rng(seed)
        self._names: dict[str, int] = {}

    def fresh(self, stem: str) -> str:
        """A tensor or node name not used before."""
        count = self._names.get(stem, 0)
        self._names[stem] = count + 1
        return stem if count == 0 else f"{stem}_{count}"

    def input(self, name: str, shape: list[int | str], dtype: int | None = None) -> str:
        """Declare a graph input (a string dimension is symbolic, e.g. ``"batch"``)."""
        self.inputs.append(helper.make_tensor_value_info(name, dtype or self.dtype, shape))
        return name

    def output(self, name: str, dtype: int | None = None) -> None:
        """Declare a graph output (its shape is left to inference)."""
        self.outputs.append(helper.make_tensor_value_info(name, dtype or self.dtype, None))

    def weight(self, stem: str, shape: list[int], *, fill: float | None = None, scale: float | None = None) -> str:
        """An initializer: only its shape, or (``weights="random"``) ``fill`` or fan-in scaled noise."""
        name = self.fresh(stem)
        if self.weights == "shapes":
            tensor = TensorProto(name=name, data_type=self.dtype, dims=shape)
            tensor.data_location = TensorProto.EXTERNAL
            entry = tensor.external_data.add()
            entry.key, entry.value = "location", "weights-not-materialised.bin"
        else:
            np_type = helper.tensor_dtype_to_np_dtype(self.dtype)
            if fill is not None:
                values = np.full(shape, fill, dtype=np_type)
            else:
                fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
                std = scale if scale is not None else 1.0 / math.sqrt(max(fan_in, 1))
                values = (self._rng.standard_normal(shape) * std).astype(np_type)
            tensor = onnx.numpy_helper.from_array(values, name)
        self.initializers.append(tensor)
        return name

    def constant(self, stem: str, values: list[int] | list[float], dtype: int = TensorProto.INT64) -> str:
        """A small constant (shapes, axes, scales): always stored inline."""
        name = self.fresh(stem)
        np_type = helper.tensor_dtype_to_np_dtype(dtype)
        self.initializers.append(onnx.numpy_helper.from_array(np.array(values, dtype=np_type), name))
        return name

    def node(self, op_type: str, inputs: list[str], *, outputs: int = 1, name: str | None = None, **attributes) -> str | list[str]:
        """Append a node; return its output name (or names when ``outputs`` > 1)."""
        node_name = self.fresh(name or op_type.lower())
        out = [node_name if outputs == 1 else f"{node_name}:{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, out, name=node_name, **attributes))
        return out[0] if outputs == 1 else out

    def model(self) -> onnx.ModelProto:
        """The finished model (opset 17)."""
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="chipfit")
        model.ir_version = 8
        return model

    # --- layers shared by several reference models ------------------------------------------

    def conv(self, x: str, c_in: int, c_out: int, kernel: int, stride: int = 1, *, groups: int = 1,
             bias: bool = False, name: str = "conv") -> str:
        """A 2-D convolution with "same" padding."""
        weight = self.weight(f"{name}.weight", [c_out, c_in // groups, kernel, kernel])
        inputs = [x, weight]
        if bias:
            inputs.append(self.weight(f"{name}.bias", [c_out], fill=0.0))
        pad = kernel // 2
        return self.node("Conv", inputs, name=name, kernel_shape=[kernel, kernel], strides=[stride, stride],
                         pads=[pad] * 4, group=groups)

    def batch_norm(self, x: str, channels: int, name: str = "bn") -> str:
        """Inference batch normalisation (scale, shift, mean, variance)."""
        scale = self.weight(f"{name}.scale", [channels], fill=1.0)
        shift = self.weight(f"{name}.shift", [channels], fill=0.0)
        mean = self.weight(f"{name}.mean", [channels], fill=0.0)
        var = self.weight(f"{name}.var", [channels], fill=1.0)
        return self.node("BatchNormalization", [x, scale, shift, mean, var], name=name, epsilon=1e-5)

    def linear(self, x: str, d_in: int, d_out: int, *, bias: bool = True, name: str = "linear") -> str:
        """x @ W (+ b) over the last dimension (MatMul, so batched inputs work)."""
        y = self.node("MatMul", [x, self.weight(f"{name}.weight", [d_in, d_out])], name=name)
        if bias:
            y = self.node("Add", [y, self.weight(f"{name}.bias", [d_out], fill=0.0)], name=f"{name}.bias_add")
        return y

    def layer_norm(self, x: str, width: int, name: str = "ln") -> str:
        """LayerNormalization over the last dimension."""
        scale = self.weight(f"{name}.scale", [width], fill=1.0)
        shift = self.weight(f"{name}.shift", [width], fill=0.0)
        return self.node("LayerNormalization", [x, scale, shift], name=name, axis=-1, epsilon=1e-5)
