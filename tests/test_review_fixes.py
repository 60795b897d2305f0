"""Bad inputs found in review: each is a clear error (exit 2) or an unsupported cell, never a traceback."""

from __future__ import annotations

import json

import pytest
from support import TWO_GPUS, assert_bad_input, assert_clean

from chipfit import Result, Scenario
from chipfit.records import Efficiency, Operator, Precision, Workload
from chipfit.cells import estimate_cell


def test_a_string_where_a_list_is_expected_is_bad_input(cli, write_spec):
    spec = write_spec(TWO_GPUS.replace('devices = ["nvidia-h100-sxm5", "amd-instinct-mi250x"]',
                                       'devices = "nvidia-h100-sxm5"'))
    assert_bad_input(cli("run", str(spec)), "groups[0].devices", "list of strings")


def test_a_non_positive_measure_budget_is_bad_input(cli, write_spec):
    spec = write_spec(TWO_GPUS.replace('title = "t"', 'title = "t"\nmeasure_budget_s = -1'))
    assert_bad_input(cli("run", str(spec)), "line 2", "measure_budget_s")


def test_measuring_a_device_not_on_this_machine_is_bad_input(cli, write_spec):
    spec = write_spec(TWO_GPUS.replace('title = "t"', 'title = "t"\nmeasure = ["nvidia-h100-sxm5"]'))
    assert_bad_input(cli("run", str(spec)), "line 2", "cannot be measured", "localhost-cpu")


@pytest.mark.parametrize("value, words", [("latency_s * 10 ** 400", "finite"), ("(0 - latency_s) ** 0.5", "finite")])
def test_claim_arithmetic_that_overflows_or_goes_complex_is_bad_input(cli, write_spec, value, words):
    spec = write_spec(TWO_GPUS + f'''
[[claims]]
text = "x"
cell = {{ group = "g", device = "nvidia-h100-sxm5", workload = "gemm-4096" }}
value = "{value}"
''')
    assert_bad_input(cli("run", str(spec)), "claim")


def test_several_devices_serve_inference_with_the_split_in_the_row(cli):
    # once refused ("training only"); many-device inference is modelled now (issue 13)
    result = cli("estimate", "nvidia-l4", "gemm-4096", "--count", "8", "--format", "json")
    assert_clean(result)
    row = json.loads(result.stdout)["rows"][0]
    assert row["status"] == "ok"
    split = row["metrics"]["parallelism"]
    assert split["data"] * split["tensor"] * split["pipeline"] <= 8


def test_server_without_a_latency_target_is_unsupported(cli):
    row = json.loads(cli("estimate", "nvidia-l4", "gemm-4096", "--scenario", "server",
                         "--format", "json").stdout)["rows"][0]
    assert row["status"] == "unsupported" and "latency target" in row["reason"]


def test_a_metric_that_is_not_a_number_fails_only_that_cell(pm, catalogue, register_plugin):
    import chipfit

    class Sloppy:
        @chipfit.hookimpl(tryfirst=True)
        def chipfit_estimate(self, device, workload, scenario):
            if device.id == "nvidia-l4":
                return Result(device.id, workload.id, scenario, "modelled", "ok", metrics={"latency_s": "fast"})
            return None

    register_plugin(pm, Sloppy(), "sloppy")
    workload = catalogue.workloads["gemm-4096"]
    bad = estimate_cell(pm, catalogue.devices["nvidia-l4"], workload, Scenario())
    good = estimate_cell(pm, catalogue.devices["nvidia-h100-sxm5"], workload, Scenario())
    assert bad.status == "failed" and "latency_s" in bad.reason and "sloppy" in bad.reason
    assert good.ok


def test_dims_travel_with_a_model_files_graph(tmp_path):
    from onnx import TensorProto, helper, save

    from chipfit_localhost.run import parse_locator
    from chipfit_onnx.counting import load_workload

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, str(tmp_path / "m.onnx"))
    workload = load_workload(str(tmp_path / "m.onnx"), {"seq": 16})
    assert parse_locator(workload.graph) == (str((tmp_path / "m.onnx").resolve()), {"seq": 16})


@pytest.mark.parametrize("field, value", [("by_op_class", {"conv": 1.5}), ("by_op_class", {"matmul": 0.0}),
                                          ("by_precision", {"fp16": -0.2}), ("by_op_class", {"conv": float("nan")})])
def test_per_class_and_per_precision_efficiencies_are_fractions(field, value):
    with pytest.raises(ValueError, match=f"field '{field}.{next(iter(value))}' must be a fraction in"):
        Efficiency(compute=0.5, memory=0.5, **{field: value})


def test_training_memory_counts_16_bytes_per_parameter():
    from chipfit.model import memory_footprint

    workload = Workload(id="w", name="W", domain="test", phase="inference", precision="bf16",
                        operators=(Operator("matmul", 1e9, weight_bytes=2e9, activation_bytes=0.0),))
    # 1e9 parameters in bf16: 16 GB of weights, gradients and Adam state, whatever the training precision
    assert memory_footprint(workload, Precision.BF16, 1, training=True) == pytest.approx(16e9)
    assert memory_footprint(workload, Precision.FP32, 1, training=True) == pytest.approx(16e9)
    assert memory_footprint(workload, Precision.BF16, 1, training=False) == pytest.approx(2e9)
