"""This machine measured right: its cache share, STREAM counted as STREAM counts, its load on every
row, registration that runs no benchmark, INT8 runs, and a calibration that never makes things worse."""

from __future__ import annotations

import json

import attrs
import pytest

from chipfit import Efficiency, Scenario, model
from chipfit.records import Precision
from chipfit_localhost import load as loads
from chipfit_localhost import microbench, profile as profiles
from chipfit_localhost.detect import VM_L3_PER_CORE_BYTES, CpuInfo, detect_cpu, machine_key, on_chip_share


def _cpu(**changes) -> CpuInfo:
    base = dict(brand="Test CPU", vendor="GenuineIntel", arch="x86_64", physical_cores=2, logical_cores=2,
                max_hz=2e9, flags={"avx2", "fma"}, l2_bytes=2 * 2**20, l3_bytes=300 * 2**20, memory_bytes=2**34,
                affinity_cores=2, governor=None, l3_sharers=2)
    return CpuInfo(**{**base, **changes})


# --- the cache share ---------------------------------------------------------------------------


def test_a_vm_gets_a_per_core_share_of_the_hosts_l3_not_all_of_it():
    share, text = on_chip_share(_cpu(flags={"avx2", "fma", "hypervisor"}))
    assert share == 2 * VM_L3_PER_CORE_BYTES and share < 300 * 2**20
    assert "virtual machine" in text and "share" in text


def test_bare_metal_splits_a_shared_l3_by_the_cores_that_share_it():
    # 16 CPUs share one 32 MiB L3; this process may use 4 of them
    share, text = on_chip_share(_cpu(physical_cores=16, logical_cores=16, affinity_cores=4, l3_bytes=32 * 2**20,
                                     l3_sharers=16))
    assert share == pytest.approx(8 * 2**20) and "shared by 16 CPUs" in text


def test_bare_metal_with_the_whole_cache_keeps_it():
    assert on_chip_share(_cpu(l3_bytes=8 * 2**20))[0] == 8 * 2**20


def test_no_l3_counts_the_private_l2s():
    share, text = on_chip_share(_cpu(l3_bytes=None, l3_sharers=None))
    assert share == 2 * 2 * 2**20 and "L2" in text


def test_this_machine_does_not_claim_a_vms_whole_host_cache(catalogue):
    cpu = detect_cpu()
    device = catalogue.devices["localhost-cpu"]
    if cpu.virtual_machine and cpu.l3_bytes:
        assert device.on_chip_memory <= compute_cap(cpu)
        assert "on_chip_memory" in device.unconfirmed and "virtual machine" in device.sources["on_chip_memory"]
    assert "share" in device.sources["on_chip_memory"] or "L2" in device.sources["on_chip_memory"]


def compute_cap(cpu) -> float:
    from chipfit_localhost.detect import compute_cores

    return compute_cores(cpu) * VM_L3_PER_CORE_BYTES


# --- load --------------------------------------------------------------------------------------


def test_load_watch_reports_load_cores_steal_and_busy():
    record = loads.LoadWatch().start().stop()
    assert set(record) == {"load_1m", "cores", "steal", "busy"} and record["cores"] >= 1


@pytest.mark.parametrize("record, high", [
    ({"load_1m": 1.0, "cores": 2, "steal": 0.0}, False),
    ({"load_1m": 5.0, "cores": 2, "steal": 0.0}, True),
    ({"load_1m": 0.5, "cores": 2, "steal": 0.2}, True),
    ({"load_1m": None, "cores": 2, "steal": None}, False),
    (None, False),
])
def test_high_load_or_steal_is_flagged(record, high):
    assert loads.is_high(record) is high


def test_describe_names_load_and_steal():
    assert loads.describe({"load_1m": 4.9, "cores": 2, "steal": 0.03, "busy": 0.98}) == \
        "load 4.9 on 2 cores, steal 3%, CPU 98% busy"


# --- registration runs no benchmark ------------------------------------------------------------


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_registration_runs_no_benchmark_and_says_not_measured_yet(empty_cache, monkeypatch, cli):
    def no_benchmark(*args, **kwargs):
        raise AssertionError("registration ran a benchmark")

    monkeypatch.setattr(microbench, "stream", no_benchmark)
    device = profiles.local_cpu()
    assert device.memory_bandwidth is None and "not measured yet" in device.sources["memory_bandwidth"]
    result = cli("show", "localhost-cpu")
    assert result.exit_code == 0 and "not measured yet" in result.stdout
    assert not list(empty_cache.glob("measured-*"))  # nothing measured, so nothing measured cached (parsed
    # datasheets may be: chipfit.textcache)


def test_a_run_that_needs_the_bandwidth_measures_and_caches_it(empty_cache, monkeypatch, pm, catalogue):
    from chipfit.cells import estimate_cell

    calls = []
    real_stream = microbench.stream

    def quick_stream(kind, budget_s=1.0, **kwargs):
        calls.append(kind)
        return real_stream(kind, 2**18, budget_s=0.01)  # small arrays: the test is about when, not how fast

    monkeypatch.setattr(microbench, "stream", quick_stream)
    device = catalogue.devices["localhost-cpu"]
    assert device.memory_bandwidth is None
    row = estimate_cell(pm, device, catalogue.workloads["resnet-50"], Scenario("single-stream"))
    assert row.ok, row.reason
    assert sorted(calls) == sorted(microbench.STREAM_KERNELS)
    cached = json.loads(profiles.measured_path(machine_key(detect_cpu())).read_text())
    assert set(cached["stream"]) == set(microbench.STREAM_KERNELS) and "measured_at" in cached and "load" in cached
    again = profiles.local_cpu()
    assert again.memory_bandwidth == cached["stream"]["triad"]
    assert cached["measured_at"] in again.sources["memory_bandwidth"]
    calls.clear()
    estimate_cell(pm, again, catalogue.workloads["resnet-50"], Scenario("single-stream"))
    assert calls == []  # cached: measured once


def test_an_unreadable_cache_is_not_measured_figures(empty_cache):
    path = profiles.measured_path(machine_key(detect_cpu()))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert profiles.load_measured(machine_key(detect_cpu())) is None
    path.write_text(json.dumps({"stream": {"copy": 1.0}}))
    assert profiles.load_measured(machine_key(detect_cpu())) is None


# --- honest calibration ------------------------------------------------------------------------


def _fake_machine(monkeypatch, catalogue, truth_fitted: Efficiency, truth_held_out: Efficiency, spread: float = 0.0):
    """Calibration without measuring: micro-benchmarks and op classes fixed, each workload's latency
    what ``truth_fitted`` (calibration set) or ``truth_held_out`` (held-out set) predicts."""
    from chipfit_localhost import calibration
    from chipfit_localhost.microbench import BenchResult
    from chipfit_localhost.timing import Samples

    def bench(name, rate, unit):
        return BenchResult(name=name, rate=rate, unit=unit, size=1, samples=Samples([1.0, 1.0]), backend="numpy")

    monkeypatch.setattr(microbench, "run_all", lambda **kw: [bench("gemm-fp32", 100e9, "ops/s"),
                                                             bench("stream-triad", 8e9, "B/s")])
    monkeypatch.setattr(calibration, "measure_op_classes", lambda device, **kw: ({"conv": 0.5, "matmul": 0.6}, 0.8))

    def latencies(device, workloads, budget, progress, rounds=2):
        out = {}
        for workload in workloads:
            truth = truth_fitted if workload.id in calibration.CALIBRATION_SET else truth_held_out
            latency = model.estimate(attrs.evolve(device, efficiency=truth), workload,
                                     Scenario("single-stream")).metrics["latency_s"]
            out[workload.id] = {"measured_s": latency, "rounds_s": [latency, latency * (1 + spread)],
                                "spread": spread, "cv": 0.01, "loads": [{"load_1m": 0.5, "cores": 2, "steal": 0.0}]}
        return out

    monkeypatch.setattr(calibration, "measure_latencies", latencies)


def test_a_fit_that_predicts_held_out_work_better_is_kept(monkeypatch, catalogue):
    from chipfit_localhost.calibration import calibrate

    # a machine three times slower than the defaults say: a fit on the calibration set must do better
    truth = Efficiency(0.1, 0.8, 3e-5, {Precision.FP32: 0.1}, {"conv": 0.1, "matmul": 0.12})
    _fake_machine(monkeypatch, catalogue, truth, truth)
    profile = calibrate(catalogue, budget=0.1)
    errors = profile["held_out_error"]
    assert profile["kept"] == "calibrated" and "efficiency" in profile
    assert errors["calibrated"]["geomean_abs_error"] < errors["default"]["geomean_abs_error"]
    assert profiles.local_cpu().efficiency.origin.startswith("calibrated")
    assert {row["workload"] for row in profile["held_out"]} == set(profile["held_out_set"])
    assert not set(profile["held_out_set"]) & set(profile["fit"])


def test_a_fit_that_predicts_held_out_work_worse_keeps_the_defaults_and_says_so(monkeypatch, catalogue):
    from chipfit_localhost.calibration import calibrate

    # the calibration networks run far slower than the held-out ones: what fits them misleads elsewhere
    slow = Efficiency(0.05, 0.2, 5e-4, {Precision.FP32: 0.05}, {"conv": 0.05, "matmul": 0.06})
    _fake_machine(monkeypatch, catalogue, slow, model.DEFAULT_EFFICIENCY["cpu"])  # the defaults are right there
    profile = calibrate(catalogue, budget=0.1)
    errors = profile["held_out_error"]
    assert errors["calibrated"]["geomean_abs_error"] >= errors["default"]["geomean_abs_error"]
    assert profile["kept"] == "defaults" and "efficiency" not in profile
    assert any("defaults are kept" in text for text in profile["warnings"])
    assert profiles.local_cpu().efficiency is None


def test_a_noisy_machine_and_a_fit_at_a_bound_are_warnings(monkeypatch, catalogue):
    from chipfit_localhost.calibration import calibrate

    truth = Efficiency(1.0, 0.8, 0.0, {Precision.FP32: 1.0}, {"conv": 1.0, "matmul": 1.0})
    _fake_machine(monkeypatch, catalogue, truth, truth, spread=0.4)
    warnings = calibrate(catalogue, budget=0.1)["warnings"]
    assert any("noisy machine" in text for text in warnings)
    assert any("bound of 1" in text or "edge of its search range" in text for text in warnings)


def test_the_fit_is_not_left_on_a_grid_point(local_device):
    from chipfit_localhost import calibration

    truth = Efficiency(0.42, 0.8, 3.3e-5, {Precision.FP32: 0.42}, {})
    workloads = calibration_workloads()
    measured = {w.id: model.estimate(attrs.evolve(local_device, efficiency=truth), w,
                                     Scenario("single-stream")).metrics["latency_s"] for w in workloads.values()}
    fitted, _ = calibration.fit_with_warnings(local_device, measured, workloads, {Precision.FP32: 1.0}, {}, 0.8)
    assert fitted.overhead_s not in calibration._OVERHEADS
    assert fitted.overhead_s == pytest.approx(3.3e-5, rel=0.15)


@pytest.fixture
def local_device(catalogue):
    return profiles.with_measured_bandwidth(catalogue.devices["localhost-cpu"])


def calibration_workloads():
    from chipfit.catalogue import collect
    from chipfit.plugins import get_plugin_manager

    catalogue = collect(get_plugin_manager())
    return {i: catalogue.workloads[i] for i in ("resnet-50", "bert-base-128", "mobilenet-v2")}


# --- measured rows: load, INT8, training -------------------------------------------------------


def _tiny(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    size = 64
    weight = helper.make_tensor("w", TensorProto.FLOAT, [size, size], [0.01] * size * size)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
                              "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", size])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", size])], [weight])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.save(proto, str(tmp_path / "tiny.onnx"))
    from chipfit_onnx.counting import load_workload

    return load_workload(str(tmp_path / "tiny.onnx"))


def test_every_measured_row_records_the_machines_load(pm, local_device, tmp_path):
    pytest.importorskip("onnxruntime")
    from chipfit.cells import measure_cell

    row = measure_cell(pm, local_device, _tiny(tmp_path), Scenario("single-stream"), 0.2)
    assert row.ok, row.reason
    assert set(row.measurement["load"]) == {"load_1m", "cores", "steal", "busy"}
    assert row.measurement["busy"] == loads.is_high(row.measurement["load"])
    assert ("machine was busy" in " ".join(row.explain)) == row.measurement["busy"]


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_an_int8_run_is_a_quantised_graph_and_says_how(pm, local_device, tmp_path, monkeypatch, mode):
    pytest.importorskip("onnxruntime")
    import chipfit_localhost
    from chipfit.cells import measure_cell

    monkeypatch.setattr(chipfit_localhost, "INT8_QUANTISATION", mode)
    row = measure_cell(pm, local_device, _tiny(tmp_path), Scenario("single-stream", precision="int8"), 0.2)
    assert row.ok, row.reason
    assert row.measurement["quantisation"] == mode and row.source == "measured"
    assert f"onnxruntime.quantization {mode}" in row.explain[0]
    assert row.metrics["peak_ops_per_s"] == local_device.peak_ops.get("int8")


def test_other_precisions_than_the_graphs_or_int8_are_unsupported(pm, local_device, tmp_path):
    from chipfit.cells import measure_cell

    row = measure_cell(pm, local_device, _tiny(tmp_path), Scenario("single-stream", precision="fp16"), 0.2)
    assert row.status == "unsupported" and "int8" in row.reason


def test_measuring_without_onnxruntime_names_the_extra(pm, local_device, tmp_path, monkeypatch):
    import importlib.util

    from chipfit.errors import ChipfitError
    import chipfit_localhost

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(ChipfitError, match=r"pip install 'chipfit\[run\]'"):
        chipfit_localhost.chipfit_measure(local_device, _tiny(tmp_path), Scenario("single-stream"), 0.2)


def _torch_missing() -> str | None:
    import importlib.util

    return None if importlib.util.find_spec("torch") else "PyTorch's CPU build (the train extra) is not installed"


@pytest.mark.skipif(_torch_missing() is not None, reason=str(_torch_missing()))
def test_a_measured_training_step_beside_the_models(pm, local_device, catalogue):
    from chipfit.cells import estimate_cell, measure_cell

    workload = catalogue.workloads["resnet-50-imagenet-train"]
    scenario = Scenario("training", batch=2)
    measured = measure_cell(pm, local_device, workload, scenario, 0.5)
    assert measured.ok, measured.reason
    modelled = estimate_cell(pm, local_device, workload, scenario)
    assert measured.metrics["latency_s"] > 0 and measured.metrics["batch"] == 2
    assert set(modelled.metrics) >= {"latency_s", "time_to_train_s"} and measured.metrics["time_to_train_s"] > 0
    assert measured.measurement["parameters"] == workload.parameters  # the same network as the model's
    assert "training step" in measured.explain[0]


def test_a_training_step_without_torch_names_the_extra(local_device, catalogue, monkeypatch):
    import importlib.util

    from chipfit.errors import ChipfitError
    import chipfit_localhost

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(ChipfitError, match=r"pip install 'chipfit\[train\]'"):
        chipfit_localhost.chipfit_measure(local_device, catalogue.workloads["resnet-50-imagenet-train"],
                                          Scenario("training", batch=2), 0.2)


def test_chipfit_calibrate_says_what_it_kept_and_warns(monkeypatch, catalogue, cli):
    slow = Efficiency(0.05, 0.2, 5e-4, {Precision.FP32: 0.05}, {"conv": 0.05, "matmul": 0.06})
    _fake_machine(monkeypatch, catalogue, slow, model.DEFAULT_EFFICIENCY["cpu"])
    result = cli("calibrate", "--budget", "0.1")
    assert result.exit_code == 0, result.output
    assert "held out (not fitted on): mobilenet-v2, yolov3-416, bert-base-384" in result.stdout
    assert "kept: the defaults" in result.stdout and "warning: the fit predicts the held-out" in result.stdout
    profile = json.loads(cli("calibrate", "--budget", "0.1", "--format", "json").stdout)
    assert profile["kept"] == "defaults" and profile["warnings"]
