"""Counting ONNX graphs (chipfit_onnx.counting): hand-built graphs against hand-computed counts.

Conventions, as :mod:`chipfit_onnx.costs` states them:

- a multiply-add is 2 ops;
- an elementwise or normalisation operator costs ``costs.ELEMENTWISE`` / ``costs.PER_ELEMENT`` ops per
  output element; linear Resize 4 ops per output element;
- bytes: fp32 is 4 bytes, int8/uint8 1 byte; every initializer an operator reads is a weight byte, every
  other input and every output an activation byte; view operators (Reshape, Flatten …) cost nothing;
- counts are per sample: a symbolic first (batch) dimension is bound to 1.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from chipfit.errors import ChipfitError
from chipfit.records import Precision
from chipfit_onnx import costs
from chipfit_onnx.counting import count_graph, load_workload, workload_id

F32 = 4  # bytes per fp32 value


def _model(nodes, inputs, outputs, initializers=(), opsets=(("", 17),)) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "hand", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 8
    return model


def _f32(name, shape, fill=0.5):
    return numpy_helper.from_array(np.full(shape, fill, dtype=np.float32), name)


def _value(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def _out(name, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, None)


# --- a hand-built graph with most operator kinds -----------------------------------------------


def _hand_graph(batch="N") -> onnx.ModelProto:
    """x (B,4,16,16) -> conv/bn/relu/pool/deconv/resize/reshape/transpose/concat; y (B,4,8,16) -> matmul/
    softmax/layernorm/flatten/gemm; p (B,3,5), q (B,5,7) -> einsum."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["conv"], name="conv", group=2, strides=[2, 2],
                         pads=[1, 1, 1, 1], dilations=[1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["conv", "bn.s", "bn.b", "bn.mean", "bn.var"], ["bn"], name="bn"),
        helper.make_node("Relu", ["bn"], ["relu"], name="relu"),
        helper.make_node("MaxPool", ["relu"], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("ConvTranspose", ["pool", "deconv.w"], ["deconv"], name="deconv", strides=[2, 2]),
        helper.make_node("Resize", ["deconv", "", "scales"], ["resize"], name="resize", mode="linear"),
        helper.make_node("Reshape", ["resize", "shape"], ["reshape"], name="reshape"),
        helper.make_node("Transpose", ["reshape"], ["transpose"], name="transpose", perm=[0, 2, 1]),
        helper.make_node("Concat", ["transpose", "transpose"], ["cat"], name="concat", axis=1),
        helper.make_node("MatMul", ["y", "mm.w"], ["mm"], name="mm"),
        helper.make_node("Softmax", ["mm"], ["softmax"], name="softmax", axis=-1),
        helper.make_node("LayerNormalization", ["softmax", "ln.g", "ln.b"], ["ln"], name="ln", axis=-1),
        helper.make_node("Flatten", ["ln"], ["flat"], name="flat", axis=1),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["fc"], name="fc", transB=1),
        helper.make_node("Einsum", ["p", "q"], ["ein"], name="ein", equation="bij,bjk->bik"),
    ]
    initializers = [
        _f32("conv.w", (8, 2, 3, 3)), _f32("conv.b", (8,)),
        _f32("bn.s", (8,), 1.0), _f32("bn.b", (8,)), _f32("bn.mean", (8,)), _f32("bn.var", (8,), 1.0),
        _f32("deconv.w", (8, 4, 2, 2)),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
        numpy_helper.from_array(np.array([0, 64, 16], np.int64), "shape"),
        _f32("mm.w", (16, 32)),
        _f32("ln.g", (32,), 1.0), _f32("ln.b", (32,)),
        _f32("fc.w", (10, 1024)), _f32("fc.b", (10,)),
    ]
    inputs = [_value("x", [batch, 4, 16, 16]), _value("y", [batch, 4, 8, 16]),
              _value("p", [batch, 3, 5]), _value("q", [batch, 5, 7])]
    return _model(nodes, inputs, [_out("cat"), _out("fc"), _out("ein")], initializers)


def _hand_expected() -> dict[str, tuple[float, float, float]]:
    """(ops, weight bytes, activation bytes) per node, worked out by hand for batch 1."""
    conv_out = 8 * 8 * 8  # (16 + 2 - 3) // 2 + 1 = 8
    pool_out = 8 * 4 * 4
    deconv_out = 4 * 8 * 8  # (4 - 1) * 2 + 2 = 8
    resize_out = 4 * 16 * 16
    mm_out = 4 * 8 * 32
    relu = costs.ELEMENTWISE["Relu"]
    return {
        # 2 x outputs x (C_in / group = 2) x 3 x 3; weights 8x2x3x3 + bias 8
        "conv": (2 * conv_out * 2 * 9, (144 + 8) * F32, (4 * 16 * 16 + conv_out) * F32),
        # scale, shift, mean and variance are all read (4 x 8 values), 2 ops per element at inference
        "bn": (costs.PER_ELEMENT["BatchNormalization"] * conv_out, 4 * 8 * F32, 2 * conv_out * F32),
        "relu": (relu * conv_out, 0, 2 * conv_out * F32),
        # one op per output per kernel position
        "pool": (pool_out * 4, 0, (conv_out + pool_out) * F32),
        # every input element scattered through the 2x2 kernel to M/group = 4 outputs
        "deconv": (2 * pool_out * 4 * 4, 8 * 4 * 2 * 2 * F32, (pool_out + deconv_out) * F32),
        # linear interpolation, 4 ops per output; the 4 scales are read (weight bytes) but no parameters
        "resize": (4 * resize_out, 4 * F32, (deconv_out + resize_out) * F32),
        "reshape": (0, 0, 0),  # a view
        "transpose": (0, 0, 2 * resize_out * F32),  # layout: bytes, no ops
        "concat": (0, 0, 4 * resize_out * F32),
        # batched (1,4,8,16) x (16,32): 2 x outputs x K=16
        "mm": (2 * mm_out * 16, 16 * 32 * F32, (4 * 8 * 16 + mm_out) * F32),
        "softmax": (costs.PER_ELEMENT["Softmax"] * mm_out, 0, 2 * mm_out * F32),
        "ln": (costs.PER_ELEMENT["LayerNormalization"] * mm_out, 2 * 32 * F32, 2 * mm_out * F32),
        "flat": (0, 0, 0),
        # (1,1024) x (10,1024)^T: 2 M K N + M N for the bias
        "fc": (2 * 10 * 1024 + 10, (10 * 1024 + 10) * F32, (1024 + 10) * F32),
        # bij,bjk->bik: 2 x b i j k
        "ein": (2 * 1 * 3 * 5 * 7, 0, (3 * 5 + 5 * 7 + 3 * 7) * F32),
    }


#: Learned parameters: everything but BN running statistics, Resize scales and the int64 reshape target.
HAND_PARAMETERS = 8 * 2 * 9 + 8 + 8 + 8 + 8 * 4 * 2 * 2 + 16 * 32 + 32 + 32 + 10 * 1024 + 10


def _run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def test_the_hand_graph_is_a_valid_model():
    """ONNX Runtime runs it, and its outputs have the shapes the expected counts assume."""
    ones = lambda *shape: np.ones(shape, np.float32)  # noqa: E731
    cat, fc, ein = _run(_hand_graph(), {"x": ones(1, 4, 16, 16), "y": ones(1, 4, 8, 16), "p": ones(1, 3, 5),
                                        "q": ones(1, 5, 7)})
    assert (cat.shape, fc.shape, ein.shape) == ((1, 32, 64), (1, 10), (1, 3, 7))


def test_hand_graph_counts_exactly():
    count = count_graph(_hand_graph())
    expected = _hand_expected()
    got = {node.name: (node.ops, node.weight_bytes, node.activation_bytes) for node in count.nodes}
    assert got == expected
    assert count.ops == sum(e[0] for e in expected.values())
    assert count.weight_bytes == sum(e[1] for e in expected.values())
    assert count.parameters == HAND_PARAMETERS
    assert count.precision is Precision.FP32
    assert count.uncosted == {}
    assert all(node.costed for node in count.nodes)


def test_hand_graph_by_op_type():
    table = count_graph(_hand_graph()).by_op_type()
    expected = _hand_expected()
    assert table["Conv"]["count"] == 1 and table["Conv"]["ops"] == expected["conv"][0]
    assert table["Reshape"] == {"count": 1, "ops": 0.0, "weight_bytes": 0.0, "activation_bytes": 0.0, "costed": True}
    assert sum(row["ops"] for row in table.values()) == sum(e[0] for e in expected.values())


def test_hand_graph_as_a_workload_leaves_out_views(tmp_path):
    path = tmp_path / "Hand_Graph.v2.onnx"
    onnx.save(_hand_graph(), str(path))
    workload = load_workload(str(path))
    expected = _hand_expected()
    assert workload.id == "hand-graph-v2"
    assert workload.phase.value == "inference"
    assert workload.ops_per_sample == sum(e[0] for e in expected.values())
    assert workload.weight_bytes == sum(e[1] for e in expected.values())
    assert workload.activation_bytes_per_sample == sum(e[2] for e in expected.values())
    assert workload.parameters == HAND_PARAMETERS
    names = [op.name for op in workload.operators]
    assert "reshape" not in names and "flat" not in names
    assert len(workload.operators) == len(expected) - 2


@pytest.mark.parametrize(("path", "ident"), [("ResNet50_v1.onnx", "resnet50-v1"), ("a/b/My Model.onnx", "my-model"),
                                             ("x/__.onnx", "model")])
def test_workload_id(path, ident):
    assert workload_id(path) == ident


@pytest.mark.parametrize(("equation", "a", "b", "ops"), [
    ("bij,bjk->bik", (2, 3, 5), (2, 5, 7), 2 * 2 * 3 * 5 * 7),
    ("ij,jk->ik", (3, 5), (5, 7), 2 * 3 * 5 * 7),
])
def test_einsum(equation, a, b, ops):
    model = _model([helper.make_node("Einsum", ["a", "b"], ["y"], equation=equation)],
                   [_value("a", list(a)), _value("b", list(b))], [_out("y")])
    assert count_graph(model).ops == ops


def test_gemm_trans_a_without_bias():
    # A stored (K=6, M=1), transA=1: 2 M K N, no bias term
    model = _model([helper.make_node("Gemm", ["a", "w"], ["y"], transA=1)], [_value("a", [6, 1])], [_out("y")],
                   [_f32("w", (6, 5))])
    assert count_graph(model).ops == 2 * 1 * 6 * 5


# --- quantised operators -------------------------------------------------------------------------


def _scalar(name, value, dtype):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def _quantised_graph(bias: bool = False) -> onnx.ModelProto:
    """uint8 activations, int8 weights: QLinearConv -> QLinearMatMul -> MatMulInteger."""
    conv_inputs = ["x", "xs", "xz", "cw", "cws", "cwz", "ys", "yz"] + (["cb"] if bias else [])
    nodes = [
        helper.make_node("QLinearConv", conv_inputs, ["qconv"], name="qconv", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("QLinearMatMul", ["qconv", "ys", "yz", "mw", "cws", "cwz", "ys", "yz"], ["qmm"], name="qmm"),
        helper.make_node("MatMulInteger", ["qmm", "iw", "yz", "cwz"], ["imm"], name="imm"),
    ]
    initializers = [
        _scalar("xs", 0.1, np.float32), _scalar("xz", 128, np.uint8),
        numpy_helper.from_array(np.ones((4, 2, 3, 3), np.int8), "cw"),
        _scalar("cws", 0.05, np.float32), _scalar("cwz", 0, np.int8),
        _scalar("ys", 0.2, np.float32), _scalar("yz", 128, np.uint8),
        numpy_helper.from_array(np.ones((8, 16), np.int8), "mw"),
        numpy_helper.from_array(np.ones((16, 4), np.int8), "iw"),
    ] + ([numpy_helper.from_array(np.ones((4,), np.int32), "cb")] if bias else [])
    return _model(nodes, [_value("x", ["N", 2, 8, 8], TensorProto.UINT8)], [_out("imm", TensorProto.INT32)],
                  initializers)


def test_quantised_graph_is_valid():
    [out] = _run(_quantised_graph(bias=True), {"x": np.full((1, 2, 8, 8), 130, np.uint8)})
    assert out.shape == (1, 4, 8, 4) and out.dtype == np.int32


def test_quantised_ops_bytes_and_int8_precision():
    count = count_graph(_quantised_graph())
    by_name = {node.name: node for node in count.nodes}
    # QLinearConv: out (1,4,8,8); weight (4,2,3,3): 2 x 256 x 2 x 9
    assert by_name["qconv"].ops == 2 * 256 * 2 * 9
    # QLinearMatMul: (1,4,8,8) x (8,16) -> (1,4,8,16): 2 x 512 x 8
    assert by_name["qmm"].ops == 2 * 512 * 8
    # MatMulInteger: (1,4,8,16) x (16,4) -> (1,4,8,4) int32: 2 x 128 x 16
    assert by_name["imm"].ops == 2 * 128 * 16
    # bytes: int8/uint8 1 byte, fp32 scales 4, int32 outputs 4
    assert by_name["qconv"].weight_bytes == 4 + 1 + 72 + 4 + 1 + 4 + 1
    assert by_name["qconv"].activation_bytes == 2 * 64 + 256
    assert by_name["qmm"].weight_bytes == 4 + 1 + 128 + 4 + 1 + 4 + 1
    assert by_name["imm"].activation_bytes == 512 + 128 * 4
    assert count.precision is Precision.INT8
    assert count.parameters == 72 + 128 + 64  # scales and zero points are not parameters
    assert count.uncosted == {}


def test_quantised_int32_bias_is_a_parameter():
    assert count_graph(_quantised_graph(bias=True)).parameters == 72 + 4 + 128 + 64


def test_precision_follows_most_weight_bytes():
    # fp16 weights: fp16, whatever the input type
    model = _model([helper.make_node("MatMul", ["a", "w"], ["y"])], [_value("a", ["N", 8], TensorProto.FLOAT16)],
                   [_out("y", TensorProto.FLOAT16)], [numpy_helper.from_array(np.ones((8, 8), np.float16), "w")])
    assert count_graph(model).precision is Precision.FP16
    # no weights at all: the input's type
    model = _model([helper.make_node("Relu", ["a"], ["y"])], [_value("a", ["N", 8], TensorProto.BFLOAT16)],
                   [_out("y", TensorProto.BFLOAT16)])
    assert count_graph(model).precision is Precision.BF16


# --- the batch dimension and other symbolic dimensions -------------------------------------------


def test_symbolic_batch_is_bound_to_one():
    symbolic, fixed = count_graph(_hand_graph("N")), count_graph(_hand_graph(1))
    assert symbolic.batch_dimension == "N"
    assert fixed.batch_dimension is None
    assert symbolic.nodes == fixed.nodes
    assert symbolic.parameters == fixed.parameters


def test_unnamed_batch_is_bound_to_one():
    assert count_graph(_hand_graph(None)).nodes == count_graph(_hand_graph(1)).nodes


def _seq_model(dims=("N", "seq", 8)) -> onnx.ModelProto:
    return _model([helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")], [_value("a", list(dims))],
                  [_out("y")], [_f32("w", (8, 3))])


def test_second_symbolic_dimension_must_be_bound():
    with pytest.raises(ChipfitError, match=r"seq.*--dim seq="):
        count_graph(_seq_model(), where="m.onnx")


def test_second_unnamed_dimension_is_named_by_input_and_index():
    with pytest.raises(ChipfitError, match=r"a\[1\]"):
        count_graph(_seq_model(("N", None, 8)))


def test_bound_dimension_counts():
    count = count_graph(_seq_model(), dims={"seq": 8})
    assert count.ops == 2 * 8 * 3 * 8  # (1, 8, 8) x (8, 3)
    assert count.nodes[0].activation_bytes == (8 * 8 + 8 * 3) * F32


def test_unknown_dimension_name_is_an_error():
    with pytest.raises(ChipfitError, match="bogus"):
        count_graph(_seq_model(), dims={"seq": 8, "bogus": 3}, where="m.onnx")


def test_binding_the_batch_dimension_is_refused():
    # counts are per sample; batching belongs to the scenario, so --dim N=2 would double-count silently
    with pytest.raises(ChipfitError, match="batch dimension"):
        count_graph(_seq_model(), dims={"N": 2, "seq": 8})


# --- operators chipfit cannot cost: listed, never dropped ---------------------------------------


def test_operator_without_formula_is_listed_with_its_bytes():
    model = _model([helper.make_node("Relu", ["X"], ["r"], name="relu"),
                    helper.make_node("RoiAlign", ["r", "rois", "idx"], ["y"], name="roi", output_height=2,
                                     output_width=2),
                    helper.make_node("RoiAlign", ["r", "rois", "idx"], ["y2"], name="roi2", output_height=2,
                                     output_width=2)],
                   [_value("X", ["N", 2, 8, 8])], [_out("y"), _out("y2")],
                   [_f32("rois", (3, 4)), numpy_helper.from_array(np.zeros(3, np.int64), "idx")])
    count = count_graph(model)
    assert count.uncosted == {"RoiAlign": 2}
    roi = next(node for node in count.nodes if node.name == "roi")
    assert not roi.costed and roi.ops == 0
    assert roi.weight_bytes == 3 * 4 * F32 + 3 * 8  # rois and int64 batch indices (initializers)
    assert roi.activation_bytes == (2 * 64 + 3 * 2 * 2 * 2) * F32  # input (1,2,8,8), output (3,2,2,2)
    assert count.ops == costs.ELEMENTWISE["Relu"] * 128
    assert count.by_op_type()["RoiAlign"]["costed"] is False


def test_non_max_suppression_is_uncosted():
    model = _model([helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["sel"], name="nms")],
                   [_value("boxes", ["N", 10, 4]), _value("scores", ["N", 1, 10])], [_out("sel", TensorProto.INT64)])
    count = count_graph(model)
    assert count.uncosted == {"NonMaxSuppression": 1}
    assert count.nodes[0].activation_bytes >= (40 + 10) * F32  # its inputs at least


def _custom_model(middle: bool) -> onnx.ModelProto:
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("MyOp", ["r"], ["c"], name="custom", domain="com.example")]
    if middle:
        nodes.append(helper.make_node("Relu", ["c"], ["z"], name="after"))
    return _model(nodes, [_value("x", ["N", 4])], [_out("z" if middle else "c")],
                  opsets=(("", 17), ("com.example", 1)))


def test_custom_domain_operator_is_listed_with_its_domain():
    count = count_graph(_custom_model(middle=False))
    assert count.uncosted == {"com.example.MyOp": 1}
    custom = next(node for node in count.nodes if node.name == "custom")
    assert custom.activation_bytes == 4 * F32  # its input; its output shape is unknown
    assert count.ops == 4


def test_custom_domain_operator_in_the_middle_of_a_graph_still_counts():
    count = count_graph(_custom_model(middle=True))
    assert "com.example.MyOp" in count.uncosted
    assert count.ops >= 4


def test_workload_keeps_uncosted(tmp_path):
    path = tmp_path / "custom.onnx"
    onnx.save(_custom_model(middle=False), str(path))
    workload = load_workload(str(path))
    assert workload.uncosted == {"com.example.MyOp": 1}
    assert any(op.op_type == "MyOp" for op in workload.operators)


# --- graphs whose shapes are wrong ---------------------------------------------------------------


def test_incompatible_matmul_is_an_error():
    with pytest.raises(ChipfitError, match="shapes cannot be inferred"):
        count_graph(_seq_model(("N", 4, 9)), where="bad.onnx")


def _bad_reshape() -> onnx.ModelProto:
    # (1, 4, 8) has 32 elements; (1, 5, 7) has 35
    return _model([helper.make_node("Reshape", ["a", "s"], ["r"], name="reshape"),
                   helper.make_node("Relu", ["r"], ["y"], name="relu")],
                  [_value("a", ["N", 4, 8])], [_out("y")],
                  [numpy_helper.from_array(np.array([0, 5, 7], np.int64), "s")])


def test_impossible_reshape_is_an_error():
    with pytest.raises(ChipfitError, match="bad.onnx"):
        count_graph(_bad_reshape(), where="bad.onnx")



# --- graphs real exporters produce -------------------------------------------------------------------


def test_einsum_with_ellipsis_counts_or_is_listed():
    model = _model([helper.make_node("Einsum", ["a", "b"], ["y"], name="ein", equation="...ij,...jk->...ik")],
                   [_value("a", ["N", 4, 8]), _value("b", ["N", 8, 3])], [_out("y")])
    count = count_graph(model)
    assert count.ops == 2 * 4 * 8 * 3 or count.uncosted == {"Einsum": 1}


def test_com_microsoft_gelu_counts_or_is_listed():
    model = _model([helper.make_node("Gelu", ["a"], ["y"], name="gelu", domain="com.microsoft")],
                   [_value("a", ["N", 4, 8])], [_out("y")], opsets=(("", 17), ("com.microsoft", 1)))
    count = count_graph(model)
    assert count.ops == costs.ELEMENTWISE["Gelu"] * 32 or count.uncosted == {"com.microsoft.Gelu": 1}


def _constant_weight_model() -> onnx.ModelProto:
    values = numpy_helper.from_array(np.ones((8, 3), np.float16))
    weight = helper.make_node("Constant", [], ["w"], name="w", value=values)
    return _model([weight, helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")],
                  [_value("a", ["N", 4, 8], TensorProto.FLOAT16)], [_out("y", TensorProto.FLOAT16)])


def test_constant_node_weights_are_weight_bytes():
    mm = next(node for node in count_graph(_constant_weight_model()).nodes if node.name == "mm")
    assert mm.weight_bytes == 8 * 3 * 2
    assert mm.activation_bytes == (4 * 8 + 4 * 3) * 2


def test_constant_node_weights_are_parameters():
    assert count_graph(_constant_weight_model()).parameters == 8 * 3
