"""Cost formulas per ONNX operator: arithmetic ops for one node, given its tensors' shapes.

Conventions (stated once, used everywhere):

- a multiply-add is 2 ops (as darknet, the MLPerf and most papers' FLOP counts do); a paper that
  counts multiply-adds ("4.1 GMACs") is doubled before comparing;
- an elementwise operator costs a fixed number of ops per output element, from :data:`ELEMENTWISE`
  (a bias add or ReLU is 1, a sigmoid 4, an erf-based GELU 8 …): rough, and small next to
  convolutions and matrix products;
- layout operators (Concat, Transpose, Slice, Gather, Pad …) do no arithmetic but move bytes;
  view operators (Reshape, Flatten, Squeeze, Unsqueeze, Identity …) move nothing.

Bytes are counted by the caller (:mod:`chipfit_onnx.counting`), which knows which inputs are weights.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import attrs

Shape = tuple[int, ...]


@attrs.frozen
class NodeShapes:
    """What a cost formula sees of a node: input and output shapes, attributes, weight inputs."""

    op_type: str
    inputs: tuple[Shape | None, ...]
    outputs: tuple[Shape | None, ...]
    attributes: dict

    def input(self, index: int) -> Shape:
        """The shape of input ``index`` (an error if absent or unknown)."""
        if index >= len(self.inputs) or self.inputs[index] is None:
            raise KeyError(f"input {index} has no known shape")
        return self.inputs[index]

    def output(self, index: int = 0) -> Shape:
        """The shape of output ``index``."""
        if index >= len(self.outputs) or self.outputs[index] is None:
            raise KeyError(f"output {index} has no known shape")
        return self.outputs[index]


def elements(shape: Sequence[int] | None) -> int:
    """Number of elements of a tensor shape (a scalar has one)."""
    return math.prod(shape) if shape is not None else 0


#: Ops per output element of elementwise and activation operators.
ELEMENTWISE = {
    **dict.fromkeys(["Add", "Sub", "Mul", "Div", "Neg", "Abs", "Relu", "Max", "Min", "Sum", "Mean",
                     "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Not", "Xor",
                     "Where", "Sign", "Floor", "Ceil", "Round", "Clip", "LeakyRelu", "PRelu", "ThresholdedRelu",
                     "Reciprocal", "Mod", "BitShift", "IsNaN", "IsInf"], 1),
    **dict.fromkeys(["Sqrt", "Pow", "Exp", "Log", "HardSigmoid", "Relu6", "Elu", "Selu", "Celu", "Softsign",
                     "Cast", "CastLike", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"], 2),
    **dict.fromkeys(["HardSwish", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Erf"], 3),
    **dict.fromkeys(["Sigmoid", "Tanh", "Softplus", "Mish"], 4),
    "Gelu": 8,
    "FastGelu": 8,
}

#: Operators that move bytes but do no arithmetic.
LAYOUT = {"Concat", "Transpose", "Slice", "Gather", "GatherElements", "GatherND", "Split", "Pad", "Tile",
          "Expand", "ScatterND", "ScatterElements", "DepthToSpace", "SpaceToDepth", "Compress", "ReverseSequence",
          "Trilu", "OneHot", "NonZero", "TopK", "Range", "ConstantOfShape"}

#: Operators that are views or metadata: no ops and no bytes.
VIEW = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Shape", "Size", "Constant", "Dropout"}

#: Ops per element of normalisations and softmax (mean, variance, subtract, divide, scale, shift …).
PER_ELEMENT = {
    "BatchNormalization": 2,  # folded to one scale and one shift at inference
    "InstanceNormalization": 8,
    "LayerNormalization": 8,
    "SimplifiedLayerNormalization": 6,
    "RMSNormalization": 6,
    "GroupNormalization": 8,
    "LpNormalization": 3,
    "Softmax": 5,  # max, subtract, exp, sum, divide
    "LogSoftmax": 6,
    "Hardmax": 2,
}


def _kernel(node: NodeShapes, weight: Shape) -> int:
    return math.prod(weight[2:]) if len(weight) > 2 else 1


def conv(node: NodeShapes) -> float:
    """Conv / QLinearConv / ConvInteger: 2 x output elements x (input channels / group) x kernel."""
    weight_index = 3 if node.op_type == "QLinearConv" else 1
    weight = node.input(weight_index)
    out = node.output()
    channels_per_group = weight[1]  # weight is (M, C/group, k...)
    return 2.0 * elements(out) * channels_per_group * _kernel(node, weight)


def conv_transpose(node: NodeShapes) -> float:
    """ConvTranspose: every input element is scattered through the kernel to M/group outputs."""
    data, weight = node.input(0), node.input(1)
    out_per_group = weight[1]  # weight is (C, M/group, k...): input channel c feeds M/group outputs
    return 2.0 * elements(data) * out_per_group * _kernel(node, weight)


def gemm(node: NodeShapes) -> float:
    """Gemm: 2 M K N, plus M N for the C term when present."""
    a = node.input(0)
    trans_a = node.attributes.get("transA", 0)
    k = a[0] if trans_a else a[-1]
    out = node.output()
    bias = elements(out) if len(node.inputs) > 2 and node.inputs[2] is not None else 0
    return 2.0 * elements(out) * k + bias


def matmul(node: NodeShapes) -> float:
    """MatMul and its quantised forms: 2 x output elements x the contracted dimension (batched)."""
    a_index = 0
    a = node.input(a_index)
    k = a[-1] if len(a) >= 1 else 1
    return 2.0 * elements(node.output()) * k


def pool(node: NodeShapes) -> float:
    """MaxPool / AveragePool / LpPool: one op per output element per kernel position."""
    kernel = node.attributes.get("kernel_shape", [1])
    return float(elements(node.output()) * math.prod(kernel))


def global_pool(node: NodeShapes) -> float:
    """GlobalAveragePool / GlobalMaxPool / Reduce*: one op per input element."""
    return float(elements(node.input(0)))


def resize(node: NodeShapes) -> float:
    """Resize / Upsample: nearest copies (no ops); linear interpolation ~4 ops per output element."""
    mode = node.attributes.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    return 0.0 if mode == "nearest" else 4.0 * elements(node.output())


def einsum(node: NodeShapes) -> float:
    """Einsum: 2 x output elements x the sizes of the contracted indices (those absent from the output).

    Handles ``...`` (broadcast dimensions, which appear in the output); an equation without ``->``
    is left uncosted.
    """
    equation = node.attributes.get("equation", b"")
    equation = (equation.decode() if isinstance(equation, bytes) else str(equation)).replace(" ", "")
    if "->" not in equation:
        raise KeyError("einsum without an explicit output")
    left, right = equation.split("->")
    sizes: dict[str, int] = {}
    for term, shape in zip(left.split(","), node.inputs):
        if shape is None:
            raise KeyError("einsum input shape unknown")
        head, _, tail = term.partition("...")
        for letter, size in zip(head, shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
        for letter, size in zip(tail, shape[len(shape) - len(tail):] if tail else ()):
            sizes[letter] = max(sizes.get(letter, 1), size)
    contracted = math.prod(size for letter, size in sizes.items() if letter not in right)
    return 2.0 * elements(node.output()) * contracted


def attention(node: NodeShapes) -> float:
    """Attention (opset 23, or com.microsoft MultiHeadAttention with Q, K, V inputs).

    ops = 2 x (Q K^T) + 2 x (P V) + softmax over the scores: with Q (B, Sq, Hq·D) or (B, H, Sq, D)
    and K (…, Skv, …): 4 B Sq Skv (H D) + 5 B H Sq Skv.
    """
    query, key = node.input(0), node.input(1)
    heads = node.attributes.get("q_num_heads") or node.attributes.get("num_heads")
    if len(query) == 4:  # (B, H, S, D)
        batch, heads, seq_q, head_dim = query
        seq_kv = key[2]
        width = heads * head_dim
    else:  # (B, S, H*D)
        batch, seq_q, width = query
        seq_kv = key[1]
        heads = heads or 1
    return 4.0 * batch * seq_q * seq_kv * width + 5.0 * batch * heads * seq_q * seq_kv


def _per_element(factor: float) -> Callable[[NodeShapes], float]:
    def cost(node: NodeShapes) -> float:
        # the output's shape, else the first input's (elementwise: the same, bar broadcasting)
        known = node.outputs[0] if node.outputs and node.outputs[0] is not None else node.input(0)
        return factor * elements(known)

    return cost


def _zero(node: NodeShapes) -> float:
    return 0.0


def formula(op_type: str) -> Callable[[NodeShapes], float] | None:
    """The cost formula for an operator type, or None if chipfit cannot cost it."""
    if op_type in FORMULAS:
        return FORMULAS[op_type]
    if op_type in ELEMENTWISE:
        return _per_element(ELEMENTWISE[op_type])
    if op_type in PER_ELEMENT:
        return _per_element(PER_ELEMENT[op_type])
    if op_type in LAYOUT or op_type in VIEW:
        return _zero
    if re.fullmatch(r"Reduce\w+|ArgMax|ArgMin|CumSum", op_type):
        return global_pool
    return None


FORMULAS: dict[str, Callable[[NodeShapes], float]] = {
    "Conv": conv,
    "ConvInteger": conv,
    "QLinearConv": conv,
    "ConvTranspose": conv_transpose,
    "Gemm": gemm,
    "MatMul": matmul,
    "MatMulInteger": matmul,
    "QLinearMatMul": matmul,
    "MaxPool": pool,
    "AveragePool": pool,
    "LpPool": pool,
    "GlobalAveragePool": global_pool,
    "GlobalMaxPool": global_pool,
    "GlobalLpPool": global_pool,
    "Resize": resize,
    "Upsample": resize,
    "Einsum": einsum,
    "Attention": attention,
    "MultiHeadAttention": attention,
}
