"""The roofline model on hand-computed examples, the records' validation, and the display units."""

from __future__ import annotations

import pytest

from chipfit import Device, Efficiency, Operator, Scenario, Workload, model
from chipfit.model import DEFAULT_EFFICIENCY, MESSAGE_LATENCY_S, allreduce_time, batch_cost
from chipfit.model.defaults import TRAINING_EFFICIENCY
from chipfit.units import duration, money, si_number


def _device(**changes) -> Device:
    figures = dict(
        id="acme-sim", name="Acme Sim", vendor="Acme", kind="gpu", segment="datacenter",
        peak_ops={"fp32": 2e12, "int8": 8e12}, memory_bandwidth=2e11, memory_capacity=1e9, power=100.0,
        year=2024, capabilities=["inference", "training"], price=1000.0, interconnect_bandwidth=1e10,
        efficiency=Efficiency(compute=0.5, memory=0.5, overhead_s=1e-6),
    )
    figures.update(changes)
    return Device(**figures)


#: A compute-heavy operator and a weight-heavy one (FP32 byte counts).
OPERATORS = (
    Operator("conv", 1e9, weight_bytes=1e6, activation_bytes=1e6, name="A"),
    Operator("fc", 1e6, weight_bytes=1e8, activation_bytes=0.0, name="B"),
)


def _workload(**changes) -> Workload:
    figures = dict(id="two-ops", name="Two ops", domain="test", phase="inference", operators=OPERATORS,
                   precision="fp32")
    figures.update(changes)
    return Workload(**figures)


def _training(**changes) -> Workload:
    return _workload(id="two-ops-train", phase="training", dataset_samples=1000, epochs=2, backward_factor=2.0,
                     **changes)


# --- the roofline ------------------------------------------------------------------------------


def test_batch_cost_is_the_sum_of_per_operator_rooflines():
    # A: max(1e9 / 1e12, 2e6 / 1e11) = 1 ms (compute); B: max(1e6 / 1e12, 1e8 / 1e11) = 1 ms (memory);
    # a GPU launches asynchronously: the 1 µs per kernel hides under the work
    cost = batch_cost(_device(), _workload(), _workload().precision, 1)
    assert cost.time_s == pytest.approx(2e-3)
    assert cost.ops == pytest.approx(1e9 + 1e6)
    assert cost.bytes == pytest.approx(2e6 + 1e8)


def test_batching_amortises_weights():
    # batch 4: A = 4 ms (compute), B still reads its weights once: 1 ms
    cost = batch_cost(_device(), _workload(), _workload().precision, 4)
    assert cost.time_s == pytest.approx(5e-3)
    assert cost.bound == "compute"


def test_lower_precision_moves_fewer_bytes_and_uses_its_own_peak():
    from chipfit import Precision

    # int8: A = 1e9 / 4e12 = 0.25 ms; B reads 25 MB at 1e11 B/s = 0.25 ms
    cost = batch_cost(_device(), _workload(), Precision.INT8, 1)
    assert cost.time_s == pytest.approx(5e-4)
    assert cost.bytes == pytest.approx((2e6 + 1e8) / 4)


def test_a_cpu_adds_its_overhead_per_kernel():
    cost = batch_cost(_device(kind="cpu"), _workload(), _workload().precision, 1)
    assert cost.time_s == pytest.approx(2e-3 + 2e-6)


def test_overhead_bound_operators():
    tiny = _workload(operators=(Operator("add", 10.0, activation_bytes=8.0),))
    cost = batch_cost(_device(), tiny, tiny.precision, 1)
    assert cost.bound == "overhead"
    assert cost.time_s == pytest.approx(1e-6, rel=1e-3)


def test_repeat_counts_an_operator_several_times():
    once = batch_cost(_device(), _workload(operators=(OPERATORS[0],)), _workload().precision, 1)
    thrice = batch_cost(_device(), _workload(operators=(Operator("conv", 1e9, 1e6, 1e6, repeat=3),)),
                        _workload().precision, 1)
    assert thrice.time_s == pytest.approx(3 * once.time_s)


def test_single_stream_metrics():
    result = model.estimate(_device(), _workload(), Scenario("single-stream", latency_target=1e-3))
    assert result.ok
    assert result.source == "modelled"
    metrics = result.metrics
    assert metrics["latency_s"] == pytest.approx(2e-3)
    assert metrics["throughput_sps"] == pytest.approx(1 / 2e-3)
    assert metrics["ops_required_per_s"] == pytest.approx(1.001e9 / 1e-3)
    assert metrics["ops_available_per_s"] == pytest.approx(1.001e9 / 2e-3)
    assert metrics["meets_target"] is False
    # memory busy 1.02e8 B / 2 ms / 2e11 B/s = 25.5% (compute 25%): 25 W idle + 75 W x 25.5% of 100 W rated
    assert metrics["power_w"] == pytest.approx(25.0 + 75.0 * 1.02e8 / 2e-3 / 2e11)
    assert metrics["energy_per_sample_j"] == pytest.approx(metrics["power_w"] * 2e-3)
    assert metrics["samples_per_s_per_usd"] == pytest.approx(1 / 2e-3 / 1000.0)
    assert metrics["utilization"] == pytest.approx(1.001e9 / 2e-3 / 2e12)
    assert result.explain, "the arithmetic is shown"


def test_single_stream_ignores_the_batch():
    one = model.estimate(_device(), _workload(), Scenario("single-stream"))
    batched = model.estimate(_device(), _workload(), Scenario("single-stream", batch=16))
    assert batched.metrics["latency_s"] == one.metrics["latency_s"]
    assert batched.metrics["batch"] == 1


def test_single_stream_is_not_limited_by_an_unused_batch():
    result = model.estimate(_device(memory_capacity=3e8), _workload(), Scenario("single-stream", batch=256))
    assert result.ok
    assert result.metrics["batch"] == 1


def test_offline_picks_the_best_power_of_two_batch_that_fits():
    result = model.estimate(_device(), _workload(), Scenario("offline"))
    batch = result.metrics["batch"]
    assert batch & (batch - 1) == 0 and 1 <= batch <= model.MAX_BATCH
    for other in (1, 2, 4, 8):
        fixed = model.estimate(_device(), _workload(), Scenario("offline", batch=other))
        assert result.metrics["throughput_sps"] >= fixed.metrics["throughput_sps"]


def test_offline_batch_search_stops_at_memory_capacity():
    # weights 101 MB + 1 MB of activations per sample: 300 MB holds at most batch 128 (229 MB)
    result = model.estimate(_device(memory_capacity=3e8), _workload(), Scenario("offline"))
    assert result.metrics["batch"] == 128


def test_server_takes_the_largest_batch_within_the_target():
    target = 10e-3
    result = model.estimate(_device(), _workload(), Scenario("server", latency_target=target))
    assert result.metrics["latency_s"] <= target
    assert result.metrics["meets_target"] is True
    bigger = model.estimate(_device(), _workload(), Scenario("server", batch=2 * result.metrics["batch"],
                                                                 latency_target=target))
    assert bigger.metrics["latency_s"] > target


def test_workload_latency_target_is_the_default_target():
    workload = _workload(latency_target=1.0)
    result = model.estimate(_device(), workload, Scenario("single-stream"))
    assert result.metrics["meets_target"] is True
    assert result.metrics["ops_required_per_s"] == pytest.approx(1.001e9)


def test_training_time_by_hand():
    result = model.estimate(_device(), _training(), Scenario("training", batch=10, count=2))
    assert result.ok
    # step: A = 3e10 ops / (2e12 x 0.5 x the training share) = 30 ms / share; B = 3e8 bytes / 1e11 = 3 ms
    # (launches overlap on a GPU)
    step = 0.030 / TRAINING_EFFICIENCY + 0.003
    sync = 2 * (2 - 1) / 2 * 1.01e8 / 1e10 + 2 * (2 - 1) * MESSAGE_LATENCY_S  # ring: 2 (n-1) messages
    assert result.metrics["latency_s"] == pytest.approx(step + sync)
    assert result.metrics["time_to_train_s"] == pytest.approx(2000 / (10 * 2) * (step + sync))
    assert result.metrics["train_to_infer_ops_ratio"] == pytest.approx(2000 * 3)
    assert result.metrics["ops_total"] == pytest.approx(2000 * 1.001e9 * 3)
    assert 50.0 <= result.metrics["power_w"] <= 200.0  # two devices of 100 W rated, 25 W idle
    assert result.metrics["hardware_cost_usd"] == 2000.0
    assert 50.0 * result.metrics["time_to_train_s"] <= result.metrics["energy_j"] \
        <= 200.0 * result.metrics["time_to_train_s"]  # between idle (25% of rated) and rated power


def test_asics_train_at_their_training_default_and_infer_at_their_inference_default():
    """ASICs: the TPU v5p training figure applies on the training paths only, with no training share on top;
    inference takes the Edge TPU's inference figure. A device's own efficiencies win on both paths."""
    from chipfit.model import defaults
    from chipfit.model.training import training_device

    asic = _device(kind="asic", efficiency=None)
    trained = training_device(asic)
    assert trained.efficiency.compute == defaults.ASIC_TRAINING_COMPUTE
    assert "unconfirmed" in trained.efficiency.origin
    assert defaults.efficiency_for(asic)[0].compute == defaults.ASIC_INFERENCE_COMPUTE
    assert defaults.ASIC_TRAINING_COMPUTE != defaults.ASIC_INFERENCE_COMPUTE
    assert defaults.training_defaults(_device(kind="asic")) is None  # its own efficiencies
    assert defaults.training_defaults(_device(kind="gpu", efficiency=None)) is None
    step = model.estimate(asic, _training(), Scenario("training", batch=10)).metrics["latency_s"]
    # batch 10, forward + backward x 3: A 3e10 ops, 3.3e7 bytes; B 3e7 ops, 3e8 bytes (launches overlap)
    rate, bandwidth = 2e12 * defaults.ASIC_TRAINING_COMPUTE, 2e11 * 0.8
    assert step == pytest.approx(max(3e10 / rate, 3.3e7 / bandwidth) + max(3e7 / rate, 3e8 / bandwidth))


def test_derived_from_lists_both_rows_of_a_pair():
    from chipfit.model import defaults

    pair = defaults.DERIVATIONS["ASIC_INFERENCE_COMPUTE"][0]
    assert not isinstance(pair, str) and set(pair) <= defaults.DERIVED_FROM
    assert defaults.DERIVATIONS["ASIC_TRAINING_COMPUTE"][0] in defaults.DERIVED_FROM


def test_allreduce_time():
    assert allreduce_time(1e9, 1, 1e10) == 0.0
    assert allreduce_time(1e9, 4, None) == 0.0
    assert allreduce_time(1e9, 4, 1e10, latency_s=0.0) == pytest.approx(2 * 3 / 4 * 0.1)
    assert allreduce_time(1e9, 4, 1e10) == pytest.approx(2 * 3 / 4 * 0.1 + 6 * MESSAGE_LATENCY_S)


def test_general_purpose_work_uses_general_ops():
    cpu = _device(kind="cpu", capabilities=["general-purpose", "inference"], general_ops=1e11)
    compile_ = _workload(id="build", phase="general", operators=(Operator("compile", 6e12),))
    result = model.estimate(cpu, compile_, Scenario())
    assert result.metrics["latency_s"] == pytest.approx(60.0)
    assert result.metrics["energy_j"] == pytest.approx(100.0 * 60.0)


@pytest.mark.parametrize(
    ("device", "workload", "scenario", "reason"),
    [
        (_device(capabilities=["inference"]), _training(), Scenario("training"), "no training capability"),
        (_device(capabilities=["training"]), _workload(), Scenario(), "no inference capability"),
        (_device(), _workload(), Scenario(precision="bf16"), "does not compute in bf16"),
        (_device(), _workload(phase="general", operators=(Operator("compile", 1e12),)), Scenario(),
         "not general-purpose"),
        (_device(), _workload(), Scenario("training"), "inference workload"),
        (_device(interconnect_bandwidth=None), _training(), Scenario("training", count=4), "interconnect"),
        (_device(memory_capacity=5e7), _workload(), Scenario(), "of memory"),
        (_device(memory_capacity=3e8), _training(), Scenario("training", batch=1), "of memory"),
    ],
)
def test_unsupported_cells_say_why(device, workload, scenario, reason):
    result = model.estimate(device, workload, scenario)
    assert result.status == "unsupported"
    assert reason in result.reason
    assert result.metrics == {}


def test_device_without_memory_of_its_own_is_never_short_of_memory():
    streaming = _device(memory_capacity=None)
    assert model.estimate(streaming, _workload(), Scenario("offline", batch=256)).ok
    assert model.estimate(streaming, _training(), Scenario("training", batch=64)).ok
    # throughput b / (b x 1 ms + 1 ms): doubling gains 1 / (2b + 1), under 1% from b = 64 -> 128
    assert model.estimate(streaming, _workload(), Scenario("offline")).metrics["batch"] == 128


def test_default_efficiency_is_per_kind():
    plain = _device(efficiency=None, kind="cpu")
    efficiency, origin = model.efficiency_for(plain)
    assert efficiency == DEFAULT_EFFICIENCY["cpu"]
    assert "derived from v4.1-intel-2xxeon6980p-resnet50-offline" in origin  # a published row, not a guess
    assert "assumed" in model.efficiency_for(_device(efficiency=None, kind="npu"))[1]
    assert model.efficiency_for(_device())[1] == "device plugin"
    assert set(DEFAULT_EFFICIENCY) == {"cpu", "gpu", "apu", "asic", "npu", "fpga"}


def test_a_product_line_with_its_own_derived_row_gets_its_own_default():
    from chipfit.model import defaults

    instinct = _device(id="amd-instinct-sim", vendor="AMD", efficiency=None)
    efficiency, origin = model.efficiency_for(instinct)
    assert efficiency.compute == defaults.AMD_GPU_COMPUTE != defaults.GPU_COMPUTE
    assert defaults.DERIVATIONS["AMD_GPU_COMPUTE"][0] in origin and "amd-instinct-* gpu" in origin
    assert model.efficiency_for(_device(id="amd-instinct-apu", vendor="AMD", kind="apu", efficiency=None))[0] \
        .compute == defaults.AMD_GPU_COMPUTE
    assert model.efficiency_for(_device(efficiency=None))[0] == DEFAULT_EFFICIENCY["gpu"]  # another vendor
    assert model.efficiency_for(_device(id="amd-radeon-sim", vendor="AMD", efficiency=None))[0] \
        == DEFAULT_EFFICIENCY["gpu"]  # another line of the vendor: no row says it is alike
    assert model.efficiency_for(_device(id="amd-epyc-sim", vendor="AMD", kind="cpu", efficiency=None))[0] \
        == DEFAULT_EFFICIENCY["cpu"]  # only the kinds derived
    assert model.efficiency_for(_device(id="amd-instinct-own", vendor="AMD"))[1] == "device plugin"  # its own first


def test_refresh_rebuilds_every_default_table(monkeypatch):
    from chipfit.model import defaults

    monkeypatch.setattr(defaults, "AMD_GPU_COMPUTE", 0.25)
    monkeypatch.setattr(defaults, "GPU_COMPUTE", 0.5)
    try:
        defaults.refresh()
        assert defaults.DEFAULT_LINE_EFFICIENCY[("amd-instinct-", "gpu")].compute == 0.25
        assert defaults.DEFAULT_EFFICIENCY["gpu"].compute == 0.5
    finally:
        monkeypatch.undo()
        defaults.refresh()
    assert defaults.DEFAULT_EFFICIENCY["gpu"].compute == defaults.GPU_COMPUTE


def test_better_device_efficiency_is_faster():
    slow = model.estimate(_device(), _workload(), Scenario())
    fast = model.estimate(_device(efficiency=Efficiency(1.0, 1.0, 0.0)), _workload(), Scenario())
    assert fast.metrics["latency_s"] < slow.metrics["latency_s"]


# --- records -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"memory_bandwidth": -1.0}, "memory_bandwidth"),
        ({"memory_bandwidth": float("nan")}, "memory_bandwidth"),
        ({"power": 0.0}, "power"),
        ({"price": float("inf")}, "price"),
        ({"peak_ops": {"fp32": -1.0}}, "peak_ops.fp32"),
        ({"peak_ops": {"fp32": True}}, "peak_ops.fp32"),
        ({"peak_ops": {"fp12": 1e12}}, "peak_ops.fp12"),
        ({"id": "Acme_Sim"}, "id"),
        ({"id": "other-sim"}, "id"),
        ({"peak_ops": {}}, "peak_ops"),
        ({"capabilities": ["general-purpose"]}, "general_ops"),
    ],
)
def test_device_validation_names_the_field(changes, field):
    with pytest.raises(ValueError, match=rf"'{field}'"):
        _device(**changes)


def test_device_validation_of_unknown_kind():
    with pytest.raises(ValueError, match="unknown kind 'tpu'"):
        _device(kind="tpu")


def test_workload_validation():
    with pytest.raises(ValueError, match="'operators'"):
        _workload(operators=())
    with pytest.raises(ValueError, match="dataset_samples"):
        _workload(phase="training")
    with pytest.raises(ValueError, match="'ops'"):
        Operator("conv", -1.0)


def test_scenario_describe_and_validation():
    assert Scenario("offline", batch=8, precision="int8", count=4).describe() == "offline b8 int8 x4"
    assert Scenario().describe() == "single-stream"
    with pytest.raises(ValueError, match="unknown scenario"):
        Scenario("batch")
    with pytest.raises(ValueError, match="'batch'"):
        Scenario(batch=0)


def test_workload_totals():
    workload = _workload(operators=(*OPERATORS, Operator("conv", 1e9, 1e6, 1e6, repeat=2)))
    assert workload.ops_per_sample == pytest.approx(3.001e9)
    assert workload.weight_bytes == pytest.approx(1.03e8)
    assert workload.activation_bytes_per_sample == pytest.approx(3e6)


def test_citation_falls_back_from_a_precision_to_the_field():
    device = _device(sources={"peak_ops": "brief p.1", "power": "brief p.2"},
                     derivations={"power": "2 x 50 W"})
    assert device.citation("peak_ops.fp32") == "brief p.1"
    assert "brief p.2" in device.citation("power") and "2 x 50 W" in device.citation("power")
    assert device.citation("memory_capacity") is None


# --- display units -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(3.35e12, "B/s", "3.35 TB/s"), (5.4e12, "ops", "5.4 Tops"), (0.5, "W", "0.5 W"), (None, "W", "n/a"),
     (1.98e15, "ops/s", "1.98 Pops/s"), (0, "J", "0 J")],
)
def test_si_number(value, unit, text):
    assert si_number(value, unit) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5e-6, "5 µs"), (0.0383, "38.3 ms"), (76.06, "76.1 s"), (170.0, "2.83 min"), (3.3e5, "3.82 days")],
)
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_money():
    assert money(1999) == "$1,999"
    assert money(None) == "n/a"
