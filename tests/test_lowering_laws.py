"""The lowering step and many-device inference: hand-computed cases and the laws they obey."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chipfit import Operator, Scenario, model
from chipfit.model import lower
from chipfit.model.lowering import FUSIONS
from test_model_laws import _floats, _precision_of, devices, workloads

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RELATIVE = 1e-9

_TYPES = ["Conv", "MatMul", "BatchNormalization", "Relu", "Add", "Mul", "Softmax", "Reshape", "Transpose",
          "LayerNormalization", "MaxPool", "op"]


def graph_operators():
    return st.lists(st.builds(Operator, op_type=st.sampled_from(_TYPES), ops=_floats(0.0, 1e10),
                              weight_bytes=st.sampled_from([0.0, 4.0, 1e6]), activation_bytes=_floats(0.0, 1e7),
                              repeat=st.integers(1, 2)), min_size=1, max_size=12)


# --- lowering by hand ---------------------------------------------------------------------------


def test_conv_bn_relu_add_is_one_kernel_with_the_residual_read():
    ops = (Operator("Conv", 1e9, 1e6, 3e6, name="conv"), Operator("BatchNormalization", 1e6, 4e3, 4e6, name="bn"),
           Operator("Add", 1e6, 0.0, 6e6, name="add"), Operator("Relu", 1e6, 0.0, 4e6, name="relu"))
    [kernel] = lower(ops)
    assert kernel.nodes == ("conv", "bn", "add", "relu")
    assert kernel.ops == pytest.approx(1e9 + 1e6 + 1e6)  # the folded BN costs nothing
    assert kernel.activation_bytes == pytest.approx(3e6 + 2e6)  # + the residual (a third of the Add's bytes)
    assert lower(ops, frozenset()) == tuple(lower([op], frozenset())[0] for op in ops)  # no fusion: node by node


def test_attention_is_one_kernel_reading_q_k_v_once():
    q_k_s, p_v_o, s_p = 3e6, 3e6, 2e6  # scores: Q + K + S; context: P + V + O; softmax: S + P
    ops = (Operator("MatMul", 1e8, 0.0, q_k_s, name="attn.scores"), Operator("Mul", 1e5, 4.0, 2e6, name="attn.scale"),
           Operator("Softmax", 1e6, 0.0, s_p, name="attn.softmax"), Operator("MatMul", 1e8, 0.0, p_v_o, name="attn.ctx"))
    [kernel] = lower(ops)
    assert kernel.op_type == "Attention" and kernel.op_class == "attention"
    assert kernel.activation_bytes == pytest.approx(q_k_s + p_v_o - s_p)  # Q, K, V and O: 4e6
    assert kernel.ops == pytest.approx(sum(op.ops for op in ops))


def test_layout_operators_are_free_and_unknown_operators_untouched():
    ops = (Operator("MatMul", 1e8, 1e6, 2e6, name="mm"), Operator("Transpose", 0.0, 0.0, 2e6, name="t"),
           Operator("compile", 5e9, name="other"))
    kernels = lower(ops)
    assert [k.nodes for k in kernels] == [("mm", "t"), ("other",)]
    assert kernels[1].ops == 5e9


def test_a_device_plugin_declares_its_runtime_s_fusions():
    from chipfit.model.lowering import fusions_for
    from test_model import _device

    assert fusions_for(_device()) == FUSIONS
    assert fusions_for(_device(fusions=["layout"])) == {"layout"}


# --- laws ---------------------------------------------------------------------------------------


@FAST
@given(device=devices(), ops=graph_operators(), batch=st.integers(1, 64), data=st.data(),
       fusions=st.sets(st.sampled_from(sorted(FUSIONS))))
def test_fusion_never_increases_time(device, ops, batch, data, fusions):
    workload = data.draw(workloads(ops=st.just(ops)))
    precision = _precision_of(device, data)
    unfused = model.batch_cost(device, workload, precision, batch, kernels=lower(ops, frozenset()))
    fused = model.batch_cost(device, workload, precision, batch, kernels=lower(ops, frozenset(fusions)))
    assert fused.time_s <= unfused.time_s * (1 + RELATIVE)
    assert fused.bytes <= unfused.bytes * (1 + RELATIVE)


@FAST
@given(device=devices(interconnect=_floats(1e9, 1e12)), workload=workloads(), data=st.data(),
       counts=st.tuples(st.integers(1, 8), st.integers(1, 8)).map(sorted))
def test_more_devices_never_lower_offline_throughput(device, workload, data, counts):
    precision = _precision_of(device, data)
    fewer, more = (model.estimate(device, workload, Scenario("offline", precision=precision, count=count))
                   for count in counts)
    assume(fewer.ok)
    assert more.ok
    assert more.metrics["throughput_sps"] >= fewer.metrics["throughput_sps"] * (1 - RELATIVE)


@FAST
@given(device=devices(interconnect=_floats(1e9, 1e12)), workload=workloads(), data=st.data(),
       count=st.integers(1, 8), kind=st.sampled_from(["single-stream", "offline"]))
def test_a_split_never_exceeds_per_device_memory(device, workload, data, count, kind):
    result = model.estimate(device, workload, Scenario(kind, precision=_precision_of(device, data), count=count))
    assume(result.ok and device.memory_capacity is not None)
    assert result.metrics["memory_per_device_bytes"] <= device.memory_capacity * (1 + RELATIVE)


# --- many devices by hand -----------------------------------------------------------------------


def test_data_parallel_replicas_multiply_throughput():
    from test_model import _device, _workload

    one = model.estimate(_device(), _workload(), Scenario("offline", batch=8))
    eight = model.estimate(_device(), _workload(), Scenario("offline", batch=8, count=8, tensor_parallel=1,
                                                                pipeline_parallel=1))
    assert eight.metrics["throughput_sps"] == pytest.approx(8 * one.metrics["throughput_sps"])
    assert eight.metrics["parallelism"] == {"data": 8, "tensor": 1, "pipeline": 1, "expert": 1}


def test_a_model_too_big_for_one_device_is_split():
    from test_model import _device, _workload

    small = _device(memory_capacity=8e7)  # B's 100 MB of weights do not fit one device
    assert not model.estimate(small, _workload(), Scenario("offline")).ok
    split = model.estimate(small, _workload(), Scenario("offline", count=4))
    assert split.ok
    parallelism = split.metrics["parallelism"]
    assert parallelism["tensor"] * parallelism["pipeline"] > 1
    assert split.metrics["memory_per_device_bytes"] <= 8e7


def test_named_split_is_used_and_needs_an_interconnect():
    from test_model import _device, _workload

    named = model.estimate(_device(), _workload(), Scenario("single-stream", count=4, tensor_parallel=4))
    assert named.metrics["parallelism"]["tensor"] == 4
    lonely = model.estimate(_device(interconnect_bandwidth=None), _workload(),
                            Scenario("single-stream", count=4, tensor_parallel=4))
    assert lonely.status == "unsupported" and "interconnect" in lonely.reason
