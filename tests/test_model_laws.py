"""Laws of the roofline model, and of the parsers, stated as hypothesis properties.

Devices and workloads are generated from sensible ranges of positive finite figures; each law is
one a user relies on when reading a comparison (less bandwidth is never faster, nothing beats
peak, more devices never train slower on a perfect interconnect …).
"""

from __future__ import annotations

from unittest import mock

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chipfit import (
    Capability,
    Device,
    Efficiency,
    Kind,
    Operator,
    Precision,
    Scenario,
    Segment,
    Workload,
    model,
    spec,
    tomlfile,
)
from chipfit.datasheets import DatasheetFile
from chipfit.model import collectives
from chipfit.model.defaults import IDLE_POWER_FRACTION
from chipfit.errors import SpecError

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RELATIVE = 1e-9  # rounding slack for laws that hold exactly in real arithmetic

PRECISIONS = list(Precision)


def _floats(low: float, high: float):
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


efficiencies = st.builds(Efficiency, compute=_floats(0.05, 1.0), memory=_floats(0.05, 1.0),
                         overhead_s=_floats(0.0, 1e-4))


@st.composite
def devices(draw, *, precisions=st.sets(st.sampled_from(PRECISIONS), min_size=1), training=None,
            interconnect=st.none() | _floats(1e9, 1e12)):
    capabilities = {Capability.INFERENCE}
    if training if training is not None else draw(st.booleans()):
        capabilities.add(Capability.TRAINING)
    chosen = draw(precisions)
    return Device(
        id="acme-test",
        name="Acme test chip",
        vendor="Acme",
        kind=draw(st.sampled_from(list(Kind))),
        segment=draw(st.sampled_from(list(Segment))),
        peak_ops={precision: draw(_floats(1e9, 1e17)) for precision in chosen},
        memory_bandwidth=draw(_floats(1e8, 1e13)),
        memory_capacity=draw(st.none() | _floats(1e8, 1e13)),
        power=draw(_floats(1.0, 1000.0)),
        year=draw(st.integers(2000, 2030)),
        capabilities=capabilities,
        price=draw(st.none() | _floats(10.0, 1e5)),
        interconnect_bandwidth=draw(interconnect),
        efficiency=draw(st.none() | efficiencies),
    )


def operators(*, ops=_floats(1e3, 1e12), weights=_floats(0.0, 1e8), activations=_floats(0.0, 1e8)):
    return st.lists(
        st.builds(Operator, op_type=st.just("op"), ops=ops, weight_bytes=weights, activation_bytes=activations,
                  repeat=st.integers(1, 4)),
        min_size=1, max_size=6,
    )


@st.composite
def workloads(draw, *, phase="inference", ops=None):
    training = phase == "training"
    return Workload(
        id="test-net",
        name="Test net",
        domain="test",
        phase=phase,
        operators=draw(ops if ops is not None else operators()),
        precision=draw(st.sampled_from(PRECISIONS)),
        batch=draw(st.integers(1, 16)),
        dataset_samples=draw(_floats(1.0, 1e6)) if training else None,
        epochs=draw(_floats(0.1, 100.0)) if training else None,
        backward_factor=draw(_floats(0.0, 3.0)) if training else 2.0,
    )


def _precision_of(device: Device, data) -> Precision:
    return data.draw(st.sampled_from(sorted(device.peak_ops)))


# --- performance laws --------------------------------------------------------------------------


@FAST
@given(device=devices(), workload=workloads(), factor=_floats(0.01, 1.0), data=st.data())
def test_single_stream_latency_never_falls_when_bandwidth_falls(device, workload, factor, data):
    scenario = Scenario("single-stream", precision=_precision_of(device, data))
    before = model.estimate(device, workload, scenario)
    after = model.estimate(attrs.evolve(device, memory_bandwidth=device.memory_bandwidth * factor), workload, scenario)
    assert before.status == after.status
    assume(before.ok)
    assert after.metrics["latency_s"] >= before.metrics["latency_s"]


@FAST
@given(device=devices(), workload=workloads(), factor=_floats(0.01, 1.0), data=st.data())
def test_single_stream_latency_never_falls_when_peak_falls(device, workload, factor, data):
    precision = _precision_of(device, data)
    scenario = Scenario("single-stream", precision=precision)
    slower = attrs.evolve(device, peak_ops={**device.peak_ops, precision: device.peak_ops[precision] * factor})
    before = model.estimate(device, workload, scenario)
    after = model.estimate(slower, workload, scenario)
    assert before.status == after.status
    assume(before.ok)
    assert after.metrics["latency_s"] >= before.metrics["latency_s"]


@FAST
@given(device=devices(), workload=workloads(), batch=st.none() | st.integers(1, 64), data=st.data())
def test_offline_throughput_never_exceeds_peak(device, workload, batch, data):
    precision = _precision_of(device, data)
    result = model.estimate(device, workload, Scenario("offline", batch=batch, precision=precision))
    assume(result.ok)
    achieved = result.metrics["throughput_sps"] * workload.ops_per_sample
    assert achieved <= device.peak_ops[precision] * (1 + RELATIVE)
    assert result.metrics["utilization"] <= 1 + RELATIVE


@FAST
@given(device=devices(training=True, interconnect=_floats(1e9, 1e12)), workload=workloads(phase="training"),
       count=st.integers(1, 64), data=st.data())
def test_training_never_exceeds_peak_times_count(device, workload, count, data):
    precision = _precision_of(device, data)
    result = model.estimate(device, workload, Scenario("training", precision=precision, count=count))
    assume(result.ok)
    assert result.metrics["ops_available_per_s"] <= device.peak_ops[precision] * count * (1 + RELATIVE)
    assert result.metrics["utilization"] <= 1 + RELATIVE


@FAST
@given(device=devices(training=True, interconnect=st.just(1e30)), workload=workloads(phase="training"),
       counts=st.tuples(st.integers(1, 64), st.integers(1, 64)).map(sorted), data=st.data())
def test_training_time_never_increases_with_more_devices_on_a_perfect_interconnect(device, workload, counts, data):
    precision = _precision_of(device, data)
    with mock.patch.object(collectives, "MESSAGE_LATENCY_S", 0.0):  # perfect: no bandwidth limit, no latency
        fewer, more = [model.estimate(device, workload, Scenario("training", precision=precision, count=count))
                       for count in counts]
    assert fewer.status == more.status
    assume(fewer.ok)
    assert more.metrics["time_to_train_s"] <= fewer.metrics["time_to_train_s"] * (1 + RELATIVE)


@FAST
@given(device=devices(), batch=st.integers(1, 128), data=st.data(),
       workload=workloads(ops=operators(ops=_floats(1e3, 1e6), weights=_floats(1e6, 1e9),
                                        activations=_floats(0.0, 1e5))))
def test_batching_never_lowers_throughput_of_a_memory_bound_workload(device, workload, batch, data):
    precision = _precision_of(device, data)
    small, large = (model.estimate(device, workload, Scenario("offline", batch=b, precision=precision))
                    for b in (batch, 2 * batch))
    assume(small.ok and large.ok)
    assume(small.metrics["bound"] == "memory")
    assert large.metrics["throughput_sps"] >= small.metrics["throughput_sps"] * (1 - RELATIVE)


@FAST
@given(device=devices(training=True, interconnect=_floats(1e9, 1e12)), data=st.data(),
       kind=st.sampled_from(["single-stream", "offline", "server", "training"]))
def test_energy_never_falls_below_idle_power_nor_exceeds_rated_power(device, kind, data):
    workload = data.draw(workloads(phase="training" if kind == "training" else "inference"))
    scenario = Scenario(kind, precision=_precision_of(device, data), count=data.draw(st.integers(1, 8)),
                        latency_target=data.draw(st.none() | _floats(1e-4, 10.0)))
    result = model.estimate(device, workload, scenario)
    assume(result.ok)
    metrics = result.metrics
    assert metrics["energy_per_sample_j"] == pytest.approx(metrics["power_w"] / metrics["throughput_sps"], rel=1e-12)
    # the average power never falls below idle power (energy >= idle power x time), nor exceeds the rated
    rated = device.power * scenario.count
    assert rated * IDLE_POWER_FRACTION * (1 - RELATIVE) <= metrics["power_w"] <= rated * (1 + RELATIVE)
    assert metrics["samples_per_j"] == pytest.approx(1 / metrics["energy_per_sample_j"], rel=1e-12)


@FAST
@given(device=devices(precisions=st.sets(st.sampled_from(PRECISIONS), min_size=1, max_size=len(PRECISIONS) - 1)),
       phase=st.sampled_from(["inference", "training"]), data=st.data(),
       kind=st.sampled_from(["single-stream", "offline", "server", "training"]))
def test_device_without_the_precision_is_always_unsupported(device, phase, kind, data):
    missing = data.draw(st.sampled_from([p for p in PRECISIONS if p not in device.peak_ops]))
    workload = data.draw(workloads(phase=phase))
    result = model.estimate(device, workload, Scenario(kind, precision=missing, count=data.draw(st.integers(1, 4))))
    assert result.status == "unsupported"
    assert result.reason
    assert result.metrics == {}


# --- parser laws -------------------------------------------------------------------------------


@FAST
@given(st.text(max_size=300))
def test_spec_parse_of_arbitrary_text_raises_only_spec_error(text):
    try:
        data = tomlfile.parse(text, "x.toml")
        spec.parse(text, data, "x.toml")
    except SpecError as error:
        assert str(error).startswith("x.toml")


KEYS = ["title", "groups", "baseline", "description", "claims", "id", "devices", "workloads", "scenario", "batch",
        "precision", "count", "latency_target_ms", "columns", "text", "cell", "versus", "value", "expected",
        "tolerance", "group", "device", "workload", "scenaro"]
scalars = st.one_of(
    st.booleans(), st.integers(-10, 10**20), st.floats(allow_nan=True), st.text(max_size=8),
    st.sampled_from(["offline", "training", "int8", "fp17", "g", "nvidia-h100-sxm5"]),
    st.datetimes(), st.dates(), st.times(),
)
toml_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(KEYS), inner, max_size=5), max_leaves=12)
groups = st.fixed_dictionaries(
    {"id": toml_values, "devices": toml_values, "workloads": toml_values},
    optional={key: toml_values for key in ("scenario", "batch", "precision", "count", "latency_target_ms")},
)
claims = st.fixed_dictionaries({"text": toml_values, "cell": toml_values, "value": toml_values},
                               optional={"expected": toml_values, "tolerance": toml_values, "versus": toml_values})
spec_dicts = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), toml_values, max_size=6),
    st.fixed_dictionaries({"title": toml_values, "groups": st.lists(groups, max_size=3) | toml_values},
                          optional={"claims": st.lists(claims, max_size=2), "baseline": toml_values}),
)


def _as_text(data: dict) -> str:
    """Rough TOML-looking text of a dict: enough for the line finder to chew on."""
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                lines.append(f"[[{key}]]")
                lines += [f"{inner} = {item[inner]!r}" for inner in item]
        else:
            lines.append(f"{key} = {value!r}")
    return "\n".join(lines)


@FAST
@given(spec_dicts)
def test_spec_parse_of_toml_like_data_raises_only_spec_error(data):
    try:
        parsed = spec.parse(_as_text(data), data, "x.toml")
    except SpecError as error:
        assert error.path == "x.toml"
    else:
        assert isinstance(parsed.title, str)
        for group in parsed.groups:
            assert group.to_scenario().count >= 1


@FAST
@given(st.dictionaries(st.sampled_from(["device", "id", "power_w", "peak_tops", "kind"]), toml_values, max_size=3)
       | st.fixed_dictionaries({"device": st.lists(st.dictionaries(st.sampled_from(
           ["id", "name", "vendor", "kind", "segment", "year", "power_w", "memory_bandwidth_gb_s",
            "memory_capacity_gb", "capabilities", "peak_tops", "sources"]), toml_values, max_size=12), max_size=2)}))
def test_datasheet_structure_raises_only_spec_error(data):
    try:
        tomlfile.structure(data, DatasheetFile, text=_as_text(data), where="devices.toml")
    except SpecError as error:
        assert error.path == "devices.toml"


@FAST
@given(st.text(max_size=300), st.lists(st.one_of(st.text(max_size=8), st.integers(0, 5)), max_size=4))
def test_locate_never_crashes_and_points_inside_the_text(text, path):
    line = tomlfile.locate(text, path)
    assert line is None or 1 <= line <= len(text.splitlines())


def test_a_generated_spec_round_trip_succeeds():
    """The property above is not vacuous: a well-formed dict does parse."""
    data = {"title": "t", "groups": [{"id": "g", "devices": ["a"], "workloads": ["b"], "batch": 2,
                                      "latency_target_ms": 40}]}
    parsed = spec.parse(_as_text(data), data, "x.toml")
    assert parsed.groups[0].to_scenario().latency_target == pytest.approx(0.040)
