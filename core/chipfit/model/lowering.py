"""Lowering: a counted graph's operators become the kernels a runtime would execute.

A graph as counted (``Workload.operators``, in the graph's topological order) charges every node for
its inputs and outputs in device memory and for a launch. Inference runtimes (TensorRT, MIGraphX,
OpenVINO, ONNX Runtime's graph optimiser, vendors' NPU compilers) do not run graphs that way:

- **fold-batch-norm**: a BatchNormalization after a convolution (or a Gemm/MatMul) is folded into its
  weights and bias at build time: no kernel, no ops, no bytes. Without it (training, which computes
  the batch's statistics), a BatchNormalization is a kernel of its own that reads its producer's
  output, with the activations and adds after it as its epilogue.
- **epilogue**: pointwise operators (activations, bias and residual adds, scales, quantize and
  dequantize) run inside the kernel that produces their input, as its epilogue: their ops join that
  kernel, they cost no launch, and the only bytes they add are an extra input read from memory (the
  residual of an ``Add`` of two tensors). Chains of pointwise operators after a normalisation or a
  pool fuse into it the same way.
- **layout**: reshapes, transposes, flattens, squeezes and concatenations are free (folded into the
  neighbouring kernels' addressing, or written in place).
- **attention**: ``MatMul(Q, K^T)``, its scale and mask, ``Softmax`` and ``MatMul(P, V)`` are one fused
  attention kernel (flash attention) that reads Q, K and V and writes the output once; the score
  matrix never reaches memory.

Which of these apply is a property of the device's runtime: :func:`fusions_for` gives the device's
own ``Device.fusions`` when a device plugin declares them, else :data:`DEFAULT_FUSIONS` (all four:
every current inference runtime of the catalogue's devices performs them). ``Device.fusions`` empty
means none: the graph runs node by node. The operators are matched by their ONNX type; an operator
of any other type (a plugin's own counted operators) is a kernel of its own, as before.

Each kernel keeps the names of the graph nodes it came from (``chipfit inspect`` shows them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from chipfit.records import Device, Operator, Workload

#: Every fusion chipfit knows (see the module's docstring).
FUSIONS = frozenset({"fold-batch-norm", "epilogue", "layout", "attention"})
#: The fusions a device's runtime performs unless its plugin says otherwise (``Device.fusions``).
DEFAULT_FUSIONS = FUSIONS

#: Operators a runtime makes free (layout only; no arithmetic).
LAYOUT = frozenset({"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Shape", "Concat",
                    "Expand", "Cast", "Split", "Slice"})
#: Pointwise operators that run as an epilogue of their producer.
POINTWISE = frozenset({"Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Gelu", "FastGelu", "HardSigmoid",
                       "HardSwish", "Elu", "Selu", "PRelu", "Softplus", "Mish", "Neg", "Sqrt", "Reciprocal", "Abs",
                       "Add", "Sub", "Mul", "Div", "Pow", "Where", "BiasGelu", "QuantizeLinear",
                       "DequantizeLinear", "BatchNormalization"})
#: Pointwise operators with two tensor inputs (an extra input to read when fused, unless it is a constant).
BINARY = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Where", "PRelu"})
#: Operators that produce a tensor pointwise operators can fuse into (besides matmuls and convolutions).
PRODUCERS = frozenset({"LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
                       "Softmax", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Resize",
                       "Gather", "ReduceMean", "InstanceNormalization", "GroupNormalization",
                       "BatchNormalization"})
_ANCHORS = frozenset({"Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "MatMul", "Gemm", "MatMulInteger",
                      "QLinearMatMul", "Einsum"})


@attrs.frozen
class Kernel:
    """One kernel a runtime executes: the graph nodes it runs, their ops and what it moves.

    ``weight_bytes`` and ``activation_bytes`` are per batch and per sample as on :class:`Operator`
    (so the roofline treats a kernel exactly as it treated an operator); ``op_type`` is the type of
    the node that leads it (``Attention`` for a fused attention).
    """

    op_type: str
    ops: float
    weight_bytes: float = 0.0
    activation_bytes: float = 0.0
    name: str = ""
    repeat: int = 1
    op_class: str = ""
    nodes: tuple[str, ...] = ()


def fusions_for(device: Device) -> frozenset[str]:
    """The fusions the device's runtime performs: the device plugin's ``Device.fusions``, else the defaults."""
    declared = getattr(device, "fusions", None)
    return DEFAULT_FUSIONS if declared is None else frozenset(declared)


def _kernel(op: Operator) -> Kernel:
    return Kernel(op.op_type, op.ops, op.weight_bytes, op.activation_bytes, op.name, op.repeat, op.op_class,
                  (op.name or op.op_type,))


def _node(op: Operator) -> str:
    return op.name or op.op_type


def _attention_end(ops: Sequence[Operator], start: int) -> int | None:
    """The index of the ``MatMul(P, V)`` closing an attention that opens at ``start``, or None."""
    first = ops[start]
    if first.op_type != "MatMul" or first.weight_bytes:
        return None
    index, softmax = start + 1, None
    while index < len(ops) and ops[index].repeat == first.repeat:
        op = ops[index]
        if op.op_type == "Softmax" and softmax is None:
            softmax = index
        elif op.op_type == "MatMul" and not op.weight_bytes and softmax is not None:
            return index
        elif not (op.op_type in POINTWISE or op.op_type in LAYOUT):
            return None
        index += 1
    return None


def _fused_attention(ops: Sequence[Operator]) -> Kernel:
    """Scores, scale/mask, softmax and context as one kernel: reads Q, K, V and writes the output.

    The scores MatMul moves Q + K + S and the context MatMul P + V + O, where S = P is the score
    matrix; Softmax moves S + P. So Q + K + V + O = scores + context - softmax (per sample)."""
    scores, context = ops[0], ops[-1]
    softmax = next(op for op in ops if op.op_type == "Softmax")
    moved = max(scores.activation_bytes + context.activation_bytes - softmax.activation_bytes, 0.0)
    return Kernel("Attention", sum(op.ops for op in ops), sum(op.weight_bytes for op in ops), moved,
                  scores.name.rsplit(".", 1)[0] if "." in scores.name else scores.name or "attention",
                  scores.repeat, "attention", tuple(_node(op) for op in ops))


def _epilogue(kernel: Kernel, op: Operator) -> Kernel:
    """``op`` run as the epilogue of ``kernel``: its ops join, and the bytes of an extra tensor input."""
    extra = op.activation_bytes / 3 if op.op_type in BINARY and not op.weight_bytes else 0.0
    return attrs.evolve(kernel, ops=kernel.ops + op.ops, weight_bytes=kernel.weight_bytes + op.weight_bytes,
                        activation_bytes=kernel.activation_bytes + extra, nodes=(*kernel.nodes, _node(op)))


def _fusable_into(kernel: Kernel | None, op: Operator) -> bool:
    return kernel is not None and kernel.repeat == op.repeat and (
        kernel.op_type in _ANCHORS or kernel.op_type in PRODUCERS or kernel.op_type in POINTWISE
        or kernel.op_type == "Attention")


def lower(operators: Iterable[Operator], fusions: frozenset[str] = DEFAULT_FUSIONS) -> tuple[Kernel, ...]:
    """The kernels a runtime performing ``fusions`` runs for these operators (graph order)."""
    ops = list(operators)
    kernels: list[Kernel] = []
    index = 0
    while index < len(ops):
        op = ops[index]
        last = kernels[-1] if kernels else None
        end = _attention_end(ops, index) if "attention" in fusions else None
        if end is not None:
            kernels.append(_fused_attention(ops[index:end + 1]))
            index = end + 1
            continue
        if "layout" in fusions and op.op_type in LAYOUT:
            if last is not None:  # free: remembered in the kernel before it
                kernels[-1] = attrs.evolve(last, nodes=(*last.nodes, _node(op)))
            index += 1
            continue
        if op.op_type == "BatchNormalization" and "fold-batch-norm" in fusions and last is not None \
                and last.op_type in _ANCHORS and len(last.nodes) == 1 and last.repeat == op.repeat:
            kernels[-1] = attrs.evolve(last, nodes=(*last.nodes, _node(op)))  # folded into the weights
        elif op.op_type == "BatchNormalization" and "fold-batch-norm" not in fusions:
            kernels.append(_kernel(op))  # the statistics need a pass of their own
        elif op.op_type in POINTWISE and "epilogue" in fusions and _fusable_into(last, op):
            kernels[-1] = _epilogue(last, op)
        else:
            kernels.append(_kernel(op))
        index += 1
    return tuple(kernels)


def workload_kernels(device: Device, workload: Workload) -> tuple[Kernel, ...]:
    """The kernels ``device``'s runtime runs for ``workload``."""
    return lower(workload.operators, fusions_for(device))
