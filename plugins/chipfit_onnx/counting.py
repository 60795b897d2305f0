"""Counting an ONNX graph: per-node ops, weight bytes and activation bytes, per sample.

Weights are never loaded: tensor shapes are enough, so a model with external data (or a 70B
decoder) counts in milliseconds. The batch dimension (the first dimension of each graph input,
when it is symbolic) is bound to 1, so activation bytes are per sample; any other symbolic
dimension must be bound by the caller (``--dim name=value``).
"""

from __future__ import annotations

import collections
import re
from collections.abc import Mapping
from pathlib import Path

import attrs
import onnx
from onnx import TensorProto, helper

from chipfit.errors import ChipfitError
from chipfit.records import Operator, Precision, Workload, graph_locator
from chipfit_onnx.costs import VIEW, NodeShapes, elements, formula

#: ONNX element types and chipfit precisions.
_PRECISION = {
    TensorProto.DOUBLE: Precision.FP64,
    TensorProto.FLOAT: Precision.FP32,
    TensorProto.FLOAT16: Precision.FP16,
    TensorProto.BFLOAT16: Precision.BF16,
    TensorProto.FLOAT8E4M3FN: Precision.FP8,
    TensorProto.FLOAT8E5M2: Precision.FP8,
    TensorProto.INT8: Precision.INT8,
    TensorProto.UINT8: Precision.INT8,
    TensorProto.INT4: Precision.INT4,
    TensorProto.UINT4: Precision.INT4,
}

#: Element types whose tensors can be learned parameters (INT64 tensors are shapes and indices).
_PARAMETER_TYPES = set(_PRECISION) | {TensorProto.INT32}

#: Inputs that are not learned parameters: BatchNormalization's running statistics, resize scales.
_NOT_PARAMETERS = {"BatchNormalization": (3, 4), "Resize": (1, 2, 3), "Upsample": (1,)}


@attrs.frozen
class NodeCost:
    """The cost of one node for one sample."""

    name: str
    op_type: str
    ops: float
    weight_bytes: float
    activation_bytes: float
    costed: bool
    op_class: str = ""


@attrs.frozen
class GraphCount:
    """A whole graph's count: each node's cost, parameters, precision and what could not be costed."""

    name: str
    nodes: tuple[NodeCost, ...]
    parameters: int
    precision: Precision
    batch_dimension: str | None
    uncosted: dict[str, int]

    @property
    def ops(self) -> float:
        """Ops for one sample."""
        return sum(node.ops for node in self.nodes)

    @property
    def weight_bytes(self) -> float:
        """Bytes of weights."""
        return sum(node.weight_bytes for node in self.nodes)

    def by_op_type(self) -> dict[str, dict[str, float]]:
        """Totals per operator type: count, ops, weight bytes, activation bytes."""
        table: dict[str, dict[str, float]] = {}
        for node in self.nodes:
            row = table.setdefault(node.op_type, {"count": 0, "ops": 0.0, "weight_bytes": 0.0,
                                                  "activation_bytes": 0.0, "costed": node.costed})
            row["count"] += 1
            row["ops"] += node.ops
            row["weight_bytes"] += node.weight_bytes
            row["activation_bytes"] += node.activation_bytes
        return table

    def to_workload(self, ident: str, name: str, **fields) -> Workload:
        """A chipfit workload with one operator per node (view operators, which cost nothing, left out)."""
        operators = tuple(
            Operator(node.op_type, node.ops, node.weight_bytes, node.activation_bytes, name=node.name,
                     op_class=node.op_class)
            for node in self.nodes
            if node.ops or node.weight_bytes or node.activation_bytes
        ) or (Operator("empty", 0.0, name="empty graph"),)
        return Workload(id=ident, name=name, operators=operators, parameters=float(self.parameters),
                        precision=self.precision, uncosted=self.uncosted, **fields)


def load(path: str | Path) -> onnx.ModelProto:
    """Read an ONNX file's graph without its weight data.

    :raises ChipfitError: naming the file, if it is missing or is not an ONNX model.
    """
    path = Path(path)
    if not path.is_file():
        raise ChipfitError(f"{path}: no such file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises DecodeError, RuntimeWarning-like errors, OSError
        raise ChipfitError(f"{path}: not a readable ONNX model ({type(error).__name__}: {error})") from None
    if not model.graph.node:
        raise ChipfitError(f"{path}: not an ONNX model (no graph nodes; is the file truncated or another format?)")
    return model


def bind_dimensions(model: onnx.ModelProto, dims: Mapping[str, int], where: str) -> tuple[onnx.ModelProto, str | None]:
    """A copy of the model with the batch dimension set to 1 and named dimensions bound.

    :raises ChipfitError: listing every symbolic dimension other than the batch that is not bound.
    """
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    initializers = {tensor.name for tensor in bound.graph.initializer}
    batch_name, unbound = None, []
    for graph_input in bound.graph.input:
        if graph_input.name in initializers or not graph_input.type.HasField("tensor_type"):
            continue
        for index, dim in enumerate(graph_input.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            label = dim.dim_param or f"{graph_input.name}[{index}]"
            if index == 0 and label in dims:
                raise ChipfitError(f"{where}: {label!r} is the batch dimension: chipfit costs one sample and "
                                   "batches in the scenario (--batch), so it cannot be bound with --dim")
            if label in dims:
                dim.dim_value = int(dims[label])
            elif index == 0:
                batch_name = batch_name or label
                dim.dim_value = 1
            else:
                unbound.append(label)
    if unbound:
        names = ", ".join(sorted(set(unbound)))
        raise ChipfitError(
            f"{where}: dynamic dimension(s) {names} must be bound, e.g. --dim {sorted(set(unbound))[0]}=128"
        )
    unknown = set(dims) - _dimension_names(model)
    if unknown:
        raise ChipfitError(f"{where}: --dim names no dimension of the model: {', '.join(sorted(unknown))}")
    # declared intermediate shapes may still carry the symbols: let inference recompute them
    del bound.graph.value_info[:]
    return bound, batch_name


def _dimension_names(model: onnx.ModelProto) -> set[str]:
    names = set()
    for graph_input in model.graph.input:
        for index, dim in enumerate(graph_input.type.tensor_type.shape.dim):
            names.add(dim.dim_param or f"{graph_input.name}[{index}]")
    return names


def infer_shapes(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """ONNX shape inference, strict: a graph whose shapes cannot be inferred is an error naming why."""
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ChipfitError(f"{where}: shapes cannot be inferred: {message}") from None


def _tensor_types(model: onnx.ModelProto) -> dict[str, tuple[tuple[int, ...] | None, int]]:
    known: dict[str, tuple[tuple[int, ...] | None, int]] = {}
    for tensor in model.graph.initializer:
        known[tensor.name] = (tuple(tensor.dims), tensor.data_type)
    for value in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        tensor_type = value.type.tensor_type
        if not value.type.HasField("tensor_type"):
            continue
        dims = tensor_type.shape.dim if tensor_type.HasField("shape") else None
        shape = None
        if dims is not None and all(d.HasField("dim_value") for d in dims):
            shape = tuple(d.dim_value for d in dims)
        if value.name not in known or known[value.name][0] is None:
            known[value.name] = (shape, tensor_type.elem_type)
    return known


def _itemsize(elem_type: int) -> float:
    if elem_type in (TensorProto.INT4, TensorProto.UINT4):
        return 0.5
    try:
        return float(helper.tensor_dtype_to_np_dtype(elem_type).itemsize)
    except Exception:
        return 0.0


def count_graph(model: onnx.ModelProto, *, dims: Mapping[str, int] | None = None, where: str = "model") -> GraphCount:
    """Count every node of a model, per sample (batch bound to 1).

    :raises ChipfitError: an unbound dynamic dimension, shapes that cannot be inferred, or a costed
        node whose tensors have no known shape (naming the node).
    """
    check_order(model.graph, where)
    bound, batch_name = bind_dimensions(model, dims or {}, where)
    inferred = infer_shapes(bound, where)
    types = _tensor_types(inferred)
    weights = {tensor.name for tensor in inferred.graph.initializer}
    weights |= {out for node in inferred.graph.node if node.op_type == "Constant" for out in node.output}
    not_parameters = set()
    for node in inferred.graph.node:
        for index in _NOT_PARAMETERS.get(node.op_type, ()):
            if index < len(node.input):
                not_parameters.add(node.input[index])
    uncosted: collections.Counter[str] = collections.Counter()
    nodes = []
    for index, node in enumerate(inferred.graph.node):
        name = node.name or f"{node.op_type}_{index}"
        shapes = NodeShapes(
            node.op_type,
            tuple(types.get(i, (None, 0))[0] if i else None for i in node.input),
            tuple(types.get(o, (None, 0))[0] for o in node.output),
            {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute},
        )
        cost = formula(node.op_type) if node.domain in ("", "ai.onnx", "com.microsoft") else None
        if node.op_type in VIEW:
            _check_view(shapes, name, where)
            nodes.append(NodeCost(name, node.op_type, 0.0, 0.0, 0.0, True))
            continue
        weight_bytes = sum(_bytes(types, i) for i in node.input if i in weights)
        activation_bytes = sum(_bytes(types, i) for i in node.input if i and i not in weights)
        activation_bytes += sum(_bytes(types, o) for o in node.output if o)
        label = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
        if cost is None:
            uncosted[label] += 1
            nodes.append(NodeCost(name, node.op_type, 0.0, weight_bytes, activation_bytes, False))
            continue
        try:
            ops = cost(shapes)
        except (KeyError, IndexError, TypeError, ValueError):
            # shapes unknown past a custom operator, or a form the formula does not cover (einsum with
            # "..."): listed as not costed rather than guessed
            uncosted[label] += 1
            nodes.append(NodeCost(name, node.op_type, 0.0, weight_bytes, activation_bytes, False))
            continue
        nodes.append(NodeCost(name, node.op_type, ops, weight_bytes, activation_bytes, True, _conv_class(shapes)))
    # scalars (epsilons, scales, clip bounds) are constants of the graph, not learned parameters;
    # weights may also sit in Constant nodes, and a quantised layer's bias is INT32
    tensors = list(inferred.graph.initializer) + [
        attribute.t for node in inferred.graph.node if node.op_type == "Constant"
        for attribute in node.attribute if attribute.name == "value"
    ]
    parameters = sum(
        elements(tensor.dims) for tensor in tensors
        if tensor.name not in not_parameters and tensor.data_type in _PARAMETER_TYPES and elements(tensor.dims) > 1
    )
    return GraphCount(
        name=model.graph.name or "model",
        nodes=tuple(nodes),
        parameters=parameters,
        precision=_precision(inferred),
        batch_dimension=batch_name,
        uncosted=dict(uncosted),
    )


def check_order(graph: onnx.GraphProto, where: str) -> None:
    """Every node must read only graph inputs, weights and outputs of nodes before it (ONNX's topological
    order); a node reading a later node's output (a cycle, or nodes out of order) is refused, named.

    :raises ChipfitError: naming the node, the tensor and the node that makes it.
    """
    available = {value.name for value in graph.input} | {tensor.name for tensor in graph.initializer} | {""}
    makers = {output: node.name or f"{node.op_type}_{index}" for index, node in enumerate(graph.node)
              for output in node.output}
    for index, node in enumerate(graph.node):
        for tensor in node.input:
            if tensor not in available and tensor in makers:
                name = node.name or f"{node.op_type}_{index}"
                raise ChipfitError(f"{where}: node {name!r} reads {tensor!r}, which node {makers[tensor]!r} makes "
                                   f"later: the graph has a cycle or is not in topological order (ONNX requires "
                                   f"it); it cannot be counted")
        available.update(node.output)


def _conv_class(shapes: NodeShapes) -> str:
    """``depthwise-conv`` (one input channel per group) and ``group-conv`` run unlike dense convolutions."""
    group = shapes.attributes.get("group", 1)
    if shapes.op_type not in ("Conv", "ConvInteger", "QLinearConv") or group <= 1:
        return ""
    weight = shapes.inputs[3 if shapes.op_type == "QLinearConv" else 1]
    return "depthwise-conv" if weight is not None and weight[1] == 1 else "group-conv"


def _check_view(shapes: NodeShapes, name: str, where: str) -> None:
    """A Reshape-like node must keep its element count (ONNX shape inference does not always check)."""
    if shapes.op_type not in ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity") or not shapes.inputs:
        return
    source, target = shapes.inputs[0], shapes.outputs[0] if shapes.outputs else None
    if source is not None and target is not None and elements(source) != elements(target):
        raise ChipfitError(f"{where}: shapes cannot be inferred: node {name!r} ({shapes.op_type}) turns "
                           f"{elements(source)} elements {list(source)} into {elements(target)} {list(target)}")


def _bytes(types, name: str) -> float:
    shape, elem_type = types.get(name, (None, 0))
    return elements(shape) * _itemsize(elem_type) if shape is not None else 0.0


def _precision(model: onnx.ModelProto) -> Precision:
    """The precision most weight bytes are in (the first input's, for a graph without weights)."""
    by_type: collections.Counter[int] = collections.Counter()
    for tensor in model.graph.initializer:
        if tensor.data_type in _PRECISION:
            by_type[tensor.data_type] += elements(tensor.dims) * _itemsize(tensor.data_type)
    if by_type:
        return _PRECISION[by_type.most_common(1)[0][0]]
    for graph_input in model.graph.input:
        precision = _PRECISION.get(graph_input.type.tensor_type.elem_type)
        if precision:
            return precision
    return Precision.FP32


def workload_id(path: str | Path) -> str:
    """A kebab-case workload id from a file name: ``ResNet50_v1.onnx`` -> ``resnet50-v1``."""
    name = Path(path).name
    stem = name[: -len(".onnx")] if name.lower().endswith(".onnx") else name
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "model"


def load_workload(source: str, dims: Mapping[str, int] | None = None) -> Workload:
    """A workload from an ONNX file (the ``chipfit_load_workload`` answer for ``.onnx``)."""
    count = count_graph(load(source), dims=dims, where=source)
    return count.to_workload(
        workload_id(source), Path(source).name, domain="onnx model", phase="inference", graph=graph_locator(str(Path(source).resolve()), dims),
        sources={"operators": f"counted from {source} by chipfit_onnx"},
    )
