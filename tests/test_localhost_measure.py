"""Measured runs on this machine: rows, failures, specs with ``measure``, the model's error, calibration."""

from __future__ import annotations

import json
import math

import attrs
import onnx
import pytest
from onnx import TensorProto, helper
from support import assert_bad_input, assert_clean

from chipfit import Efficiency, Scenario, Workload, model
from chipfit.records import Operator, Precision
from chipfit.cells import measure_cell

pytest.importorskip("onnxruntime")


def _tiny_model(path, size: int = 32) -> str:
    """A small MatMul + Relu graph with a symbolic batch, saved to ``path``."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [size, size], [0.01] * size * size)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", size])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", size])], [weight])
    model_proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model_proto.ir_version = 8
    onnx.save(model_proto, str(path))
    return str(path)


@pytest.fixture
def local(catalogue):
    """This machine's CPU with its memory bandwidth measured (registration leaves it to the first run)."""
    from chipfit_localhost.profile import with_measured_bandwidth

    return with_measured_bandwidth(catalogue.devices["localhost-cpu"])


def test_localhost_cpu_is_registered_measurable_and_cited(local):
    assert local.measurable and local.kind == "cpu"
    assert local.power is None  # not known: energy stays unavailable
    assert "STREAM" in local.citation("memory_bandwidth")
    for precision in local.peak_ops:
        assert "cores" in local.citation(f"peak_ops.{precision}")


def test_measuring_a_model_file_gives_a_measured_row(pm, local, tmp_path):
    from chipfit_onnx.counting import load_workload

    workload = load_workload(_tiny_model(tmp_path / "tiny.onnx"))
    row = measure_cell(pm, local, workload, Scenario("single-stream"), 0.2)
    assert row.ok, row.reason
    assert row.source == "measured" and row.plugin == "chipfit_localhost"
    assert row.metrics["latency_s"] > 0 and row.metrics["throughput_sps"] == pytest.approx(1 / row.metrics["latency_s"])
    assert row.metrics["latency_p90_s"] >= row.metrics["latency_s"] * 0.999
    assert row.measurement["n"] >= 5 and "onnxruntime" in row.measurement["environment"]["runtime"]
    if row.metrics["energy_per_sample_j"] is None:  # RAPL not readable here: unavailable, not invented
        assert row.metrics["power_w"] is None and "unavailable" in " ".join(row.explain)


def test_offline_measurement_uses_the_batch(pm, local, tmp_path):
    from chipfit_onnx.counting import load_workload

    workload = load_workload(_tiny_model(tmp_path / "tiny.onnx"))
    row = measure_cell(pm, local, workload, Scenario("offline", batch=8), 0.2)
    assert row.ok and row.metrics["batch"] == 8
    assert row.metrics["throughput_sps"] == pytest.approx(8 / row.metrics["latency_s"])


def test_a_workload_without_a_graph_says_so(pm, local):
    workload = Workload(id="no-graph", name="No graph", domain="test", phase="inference",
                        operators=[Operator("matmul", 1e6)])
    row = measure_cell(pm, local, workload, Scenario("single-stream"), 0.2)
    assert row.status == "unsupported" and "no runnable graph" in row.reason


def test_a_run_that_crashes_becomes_a_failed_row(pm, local, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    workload = Workload(id="bad", name="Bad", domain="test", phase="inference",
                        operators=[Operator("matmul", 1e6)], graph=str(bad))
    row = measure_cell(pm, local, workload, Scenario("single-stream"), 0.2)
    assert row.status == "failed" and row.reason


def test_a_run_past_its_timeout_is_stopped_and_fails(tmp_path):
    import numpy as np
    from onnx import numpy_helper

    from chipfit_localhost import run

    size = 4096  # one untimed first call alone is ~137 GFLOP: seconds on any CPU, far past 0.5 s
    weight = numpy_helper.from_array(np.zeros((size, size), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "slow",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", size])], [weight])
    model_proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model_proto.ir_version = 8
    onnx.save(model_proto, str(tmp_path / "slow.onnx"))
    with pytest.raises(run.RunFailure, match="did not finish within 0.5 s"):
        run.run_graph(str(tmp_path / "slow.onnx"), batch=size, budget_s=30, timeout_s=0.5)


def test_a_device_no_plugin_can_measure_fails_only_its_cell(pm, catalogue, tmp_path):
    from chipfit_onnx.counting import load_workload

    workload = load_workload(_tiny_model(tmp_path / "tiny.onnx"))
    row = measure_cell(pm, catalogue.devices["nvidia-h100-sxm5"], workload, Scenario("single-stream"), 0.2)
    assert row.status == "failed" and "no plugin can measure" in row.reason


def test_spec_measure_puts_measured_rows_beside_modelled_ones_with_the_error(cli, write_spec, tmp_path):
    model_file = _tiny_model(tmp_path / "tiny.onnx")
    spec = write_spec(f"""
        title = "measured"
        measure = ["localhost-cpu"]
        measure_budget_s = 0.2

        [[groups]]
        id = "g"
        devices = ["localhost-cpu", "nvidia-h100-sxm5"]
        workloads = ["{model_file}"]
    """)
    result = cli("run", str(spec), "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    sources = [(r["device"], r["source"]) for r in rows]
    assert ("localhost-cpu", "measured") in sources and ("localhost-cpu", "modelled") in sources
    assert ("nvidia-h100-sxm5", "measured") not in sources
    modelled = next(r for r in rows if r["device"] == "localhost-cpu" and r["source"] == "modelled")
    measured = next(r for r in rows if r["source"] == "measured")
    assert modelled["metrics"]["model_error"] == pytest.approx(
        modelled["metrics"]["latency_s"] / measured["metrics"]["latency_s"] - 1)
    assert measured["measurement"]["n"] >= 5
    text = cli("run", str(spec)).output
    assert "model error" in text and "measured" in text


def test_spec_measure_of_an_unknown_device_is_bad_input(cli, write_spec):
    spec = write_spec("""
        title = "x"
        measure = ["localhost-cpus"]

        [[groups]]
        id = "g"
        devices = ["localhost-cpu"]
        workloads = ["resnet-50"]
    """)
    assert_bad_input(cli("run", str(spec)), "line 2", "measure[0]", "localhost-cpu")


def test_chipfit_measure_command(cli, tmp_path):
    result = cli("measure", "localhost-cpu", _tiny_model(tmp_path / "tiny.onnx"), "--budget", "0.2")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    assert "measured" in result.output and "model error" in result.output


def test_chipfit_measure_of_a_device_not_here_is_bad_input(cli):
    assert_bad_input(cli("measure", "nvidia-h100-sxm5", "resnet-50"), "cannot be measured", "localhost-cpu")


def test_an_interrupted_measure_keeps_the_finished_rows(cli, monkeypatch, tmp_path):
    import chipfit.executors

    real = chipfit.executors.measure_cell
    calls = []

    def interrupt_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(chipfit.executors, "measure_cell", interrupt_second)
    first, second = _tiny_model(tmp_path / "a.onnx"), _tiny_model(tmp_path / "b.onnx")
    result = cli("measure", "localhost-cpu", first, second, "--budget", "0.2", "--format", "json")
    assert result.exit_code == 130
    report = json.loads(result.stdout)
    assert report["interrupted"] is True
    assert [r["workload"] for r in report["rows"] if r["source"] == "measured"] == ["a"]


def _synthetic_measurements(device, workloads, truth: Efficiency) -> dict[str, float]:
    truthful = attrs.evolve(device, efficiency=truth)
    return {w.id: model.estimate(truthful, w, Scenario("single-stream")).metrics["latency_s"] for w in workloads}


def test_fit_recovers_efficiencies_that_generated_the_measurements(local, catalogue):
    from chipfit_localhost.calibration import fit, geomean_abs_error

    workloads = [catalogue.workloads[i] for i in ("resnet-50", "bert-base-128", "mobilenet-v2")]
    gemm = {Precision.FP32: 0.8}
    truth = Efficiency(compute=0.4, memory=0.6, overhead_s=1e-5, by_precision={Precision.FP32: 0.4})
    measured = _synthetic_measurements(local, workloads, truth)
    fitted = fit(local, measured, {w.id: w for w in workloads}, gemm)
    calibrated = attrs.evolve(local, efficiency=fitted)
    pairs = [(model.estimate(calibrated, w, Scenario("single-stream")).metrics["latency_s"], measured[w.id])
             for w in workloads]
    assert geomean_abs_error(pairs) < 0.05
    assert fitted.origin.startswith("calibrated")


def test_geomean_abs_error_is_symmetric_in_ratio():
    from chipfit_localhost.calibration import geomean_abs_error

    assert geomean_abs_error([(2.0, 1.0)]) == pytest.approx(1.0)
    assert geomean_abs_error([(0.5, 1.0)]) == pytest.approx(1.0)
    assert geomean_abs_error([(1.0, 1.0), (1.0, 1.0)]) == 0
    assert math.isclose(geomean_abs_error([(1.1, 1.0), (1 / 1.1, 1.0)]), 0.1)


def test_a_calibration_profile_makes_estimates_calibrated(catalogue, monkeypatch):
    from chipfit_localhost import profile as profiles
    from chipfit_localhost.detect import detect_cpu, machine_key

    machine = machine_key(detect_cpu())
    profiles.save_profile(machine, {
        "machine": machine, "created": "2026-11-23", "memory_bandwidth": 10e9,
        "efficiency": {"compute": 0.3, "memory": 0.9, "overhead_s": 2e-6, "by_precision": {"fp32": 0.3}},
    })
    device = profiles.local_cpu()
    assert device.efficiency.compute == 0.3 and device.memory_bandwidth == 10e9
    row = model.estimate(device, catalogue.workloads["resnet-50"], Scenario("single-stream"))
    assert row.source == "calibrated"
    assert "calibrated on this machine" in " ".join(row.explain)


def test_measuring_a_model_file_with_a_question_mark_in_its_name(cli, tmp_path):
    """End to end (issue 17): the file's path, '?' and all, reaches the runtime that measures it."""
    path = _tiny_model(tmp_path / "what?.onnx")
    result = cli("measure", "localhost-cpu", path, "--budget", "0.2", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    measured = [row for row in rows if row["source"] == "measured"]
    assert measured and measured[0]["status"] == "ok", rows
    assert measured[0]["workload"].startswith("what")
