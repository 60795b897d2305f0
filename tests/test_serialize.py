"""The wire format (chipfit.serialize): every record comes back as it went, as data and as JSON text.

Devices, workloads, rows and reports are generated with every optional part (sources, sparse peaks,
efficiencies, transformer configurations, measurements, claims, non-finite metrics), and each law is
``structure(unstructure(x)) == x``. The JSON keys are those DESIGN.md names; bad data is a located error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipfit import serialize
from chipfit.records import (
    Capability,
    ClaimCheck,
    Device,
    Efficiency,
    Kind,
    Operator,
    Phase,
    Precision,
    Report,
    Result,
    Scenario,
    ScenarioKind,
    Segment,
    Source,
    Status,
    Workload,
)
from chipfit.transformer import Requests, TokenBudget, TransformerConfig

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_words = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)


def _floats(low: float = 1e-6, high: float = 1e18):
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def _fractions():
    return st.floats(min_value=0.01, max_value=1.0)


_efficiencies = st.builds(
    Efficiency, compute=_fractions(), memory=_fractions(), overhead_s=_floats(0.0, 1e-3),
    by_precision=st.dictionaries(st.sampled_from(list(Precision)), _fractions(), max_size=3),
    by_op_class=st.dictionaries(_words, _fractions(), max_size=3), origin=_text)


@st.composite
def devices(draw) -> Device:
    """Any valid device: every optional figure present or not."""
    capabilities = draw(st.sets(st.sampled_from([Capability.TRAINING, Capability.INFERENCE]), min_size=1))
    general = draw(st.none() | _floats())
    if general is not None and draw(st.booleans()):
        capabilities.add(Capability.GENERAL_PURPOSE)
    peaks = draw(st.dictionaries(st.sampled_from(list(Precision)), _floats(), min_size=0 if general else 1))
    return Device(
        id=draw(st.from_regex(r"acme-[a-z0-9]{1,6}(-[0-9]{1,2}\.[0-9])?", fullmatch=True)),
        name=draw(_text), vendor="Acme", kind=draw(st.sampled_from(list(Kind))),
        segment=draw(st.sampled_from(list(Segment))), peak_ops=peaks,
        memory_bandwidth=draw(st.none() | _floats()), memory_capacity=draw(st.none() | _floats()),
        power=draw(st.none() | _floats(1.0, 2000.0)), year=draw(st.none() | st.integers(1990, 2030)),
        capabilities=capabilities, runtimes=draw(st.lists(_words, max_size=3)),
        price=draw(st.none() | _floats()), interconnect_bandwidth=draw(st.none() | _floats()),
        general_ops=general, efficiency=draw(st.none() | _efficiencies),
        sparse_peak_ops=draw(st.dictionaries(st.sampled_from(list(Precision)), _floats(), max_size=2)),
        on_chip_memory=draw(st.none() | _floats()), invocation_overhead=draw(st.none() | _floats(1e-7, 1.0)),
        power_kind=draw(_text), price_date=draw(_text),
        cloud_price_per_hour=draw(st.none() | _floats()), cloud_price_date=draw(_text),
        unusual=draw(st.frozensets(_words, max_size=2)), measurable=draw(st.booleans()),
        sources=draw(st.dictionaries(_words, _text, max_size=3)),
        derivations=draw(st.dictionaries(_words, _text, max_size=2)),
        unconfirmed=draw(st.frozensets(_words, max_size=2)), notes=draw(_text),
        fusions=draw(st.none() | st.frozensets(_words, max_size=3)),
    )


_operators = st.builds(Operator, op_type=_words, ops=_floats(0.0), weight_bytes=_floats(0.0),
                       activation_bytes=_floats(0.0), name=_text, repeat=st.integers(1, 100), op_class=_words)
_transformers = st.builds(TransformerConfig, layers=st.integers(1, 96), hidden=st.sampled_from([64, 128, 4096]),
                          heads=st.sampled_from([1, 8, 32]), ffn=st.integers(1, 20000), vocab=st.integers(1, 200000),
                          ffn_gated=st.booleans(), tied_embeddings=st.booleans(),
                          norm=st.sampled_from(["rmsnorm", "layernorm"]))
_requests = st.builds(Requests, input_tokens=_floats(1.0, 1e5), output_tokens=_floats(1.0, 1e5),
                      beams=st.integers(1, 4), dataset=_text, ttft_target=st.none() | _floats(1e-3, 10.0))
_budgets = st.builds(TokenBudget, tokens=_floats(1.0, 1e13), sequence_length=st.integers(1, 8192),
                     global_batch=st.integers(1, 4096))


@st.composite
def workloads(draw) -> Workload:
    """Any valid workload: inference, training or general, with or without a transformer."""
    phase = draw(st.sampled_from(list(Phase)))
    training = phase is Phase.TRAINING
    return Workload(
        id=draw(st.from_regex(r"[a-z][a-z0-9]{0,6}(-3\.1)?", fullmatch=True)), name=draw(_text), domain=draw(_words),
        phase=phase, operators=draw(st.lists(_operators, min_size=1, max_size=4)),
        parameters=draw(_floats(0.0)), precision=draw(st.sampled_from(list(Precision))),
        batch=draw(st.integers(1, 512)), latency_target=draw(st.none() | _floats()),
        dataset_samples=draw(_floats(1.0)) if training else draw(st.none() | _floats(1.0)),
        epochs=draw(_floats(0.1, 100.0)) if training else None, backward_factor=draw(_floats(0.0, 3.0)),
        uncosted=draw(st.dictionaries(_words, st.integers(1, 50), max_size=2)), graph=draw(_text),
        sources=draw(st.dictionaries(_words, _text, max_size=2)), unconfirmed=draw(st.frozensets(_words, max_size=2)),
        notes=draw(_text), transformer=draw(st.none() | _transformers), requests=draw(st.none() | _requests),
        token_budget=draw(st.none() | _budgets), kv_cache_bytes_per_sample=draw(_floats(0.0)),
    )


_scenarios = st.builds(
    Scenario, kind=st.sampled_from(list(ScenarioKind)), batch=st.none() | st.integers(1, 1024),
    precision=st.none() | st.sampled_from(list(Precision)), count=st.integers(1, 1024),
    latency_target=st.none() | _floats(), tensor_parallel=st.none() | st.integers(1, 8),
    ttft_target=st.none() | _floats(), tpot_target=st.none() | _floats())

#: Any JSON value a measurement or the spec may hold (floats finite: JSON text has no NaN of its own).
_json = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 53, 2 ** 53) | _floats(-1e18) | _text,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_words, inner, max_size=3),
                     max_leaves=8)
_metric = (st.none() | st.booleans() | st.integers(0, 10 ** 6) | st.floats(allow_nan=True) | st.sampled_from(
    ["compute", "memory"]))


@st.composite
def rows(draw) -> Result:
    """Any row: ok, unsupported or failed, modelled or measured, with its metrics (NaN and infinities too)."""
    metrics = draw(st.dictionaries(_words, _metric, max_size=5))
    if draw(st.booleans()):
        metrics["parallelism"] = {"data": 2, "tensor": 1, "pipeline": 1, "expert": 1}
    return Result(
        device=draw(_words), workload=draw(_words), scenario=draw(_scenarios), source=draw(st.sampled_from(list(Source))),
        status=draw(st.sampled_from(list(Status))), metrics=metrics, reason=draw(_text), plugin=draw(_words),
        explain=draw(st.lists(_text, max_size=3)), group=draw(_words),
        measurement=draw(st.dictionaries(_words, _json, max_size=3)),
    )


_claims = st.builds(ClaimCheck, text=_text, expected=st.none() | _floats(), value=st.none() | _floats(),
                    formula=_text, arithmetic=_text, verdict=st.sampled_from(["agrees", "differs"]),
                    tolerance=_floats(0.0, 1.0), source=_text, why=_text)


@st.composite
def reports(draw) -> Report:
    """Any report: its rows, a spec with groups, an environment, claims."""
    groups = draw(st.lists(st.fixed_dictionaries({"id": _words}, optional={
        "title": _text, "note": _text, "columns": st.lists(_words, max_size=3)}), max_size=3))
    return Report(title=draw(_text), rows=draw(st.lists(rows(), max_size=4)), baseline=draw(st.none() | _words),
                  spec={"groups": groups, "extra": draw(_json)}, environment=draw(st.dictionaries(_words, _json, max_size=3)),
                  created=draw(_text), claims=draw(st.lists(_claims, max_size=2)), description=draw(_text),
                  interrupted=draw(st.booleans()))


_RECORDS = st.one_of(devices().map(lambda x: (x, Device)), workloads().map(lambda x: (x, Workload)),
                     rows().map(lambda x: (x, Result)), reports().map(lambda x: (x, Report)))


def _same(a, b) -> bool:
    """Equal as data, where NaN equals NaN (a NaN metric is kept, and is never equal to itself)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


# --- the round-trip laws ------------------------------------------------------------------------------


@FAST
@given(case=_RECORDS)
def test_structure_of_unstructure_is_the_record(case):
    record, cls = case
    data = serialize.unstructure(record)
    assert serialize.structure(data, cls, where="here") == record
    assert _same(serialize.unstructure(serialize.structure(data, cls, where="here")), data)


@FAST
@given(case=_RECORDS)
def test_the_json_text_round_trip_gives_the_record_back(case):
    record, cls = case
    text = serialize.dumps(record)
    back = serialize.loads(text, cls, where="here")
    assert _same(serialize.unstructure(back), serialize.unstructure(record))
    assert serialize.dumps(back) == text
    if not any(isinstance(value, float) and math.isnan(value) for value in _floats_in(serialize.unstructure(record))):
        assert back == record and hash(back) == hash(record)


def _floats_in(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _floats_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _floats_in(item)
    else:
        yield value


@FAST
@given(case=_RECORDS)
def test_unstructured_data_is_plain_json(case):
    record, _ = case

    def plain(value) -> bool:
        if isinstance(value, dict):
            return type(value) is dict and all(type(key) is str and plain(item) for key, item in value.items())
        if isinstance(value, list):
            return type(value) is list and all(plain(item) for item in value)
        return value is None or type(value) in (bool, int, float, str)

    assert plain(serialize.unstructure(record))


@FAST
@given(report=reports())
def test_strict_json_writes_non_finite_numbers_as_null(report):
    data = json.loads(serialize.dumps(report, strict=True))  # json.loads would read NaN: check none is left
    assert all(not isinstance(value, float) or math.isfinite(value) for value in _floats_in(data))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report=reports())
def test_a_report_saved_in_the_store_comes_back_as_it_was(report):
    import tempfile

    from chipfit.store import Store

    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "runs.sqlite") as store:
        saved = store.save(report, command="test")
        back = store.report(str(saved.id))
        started = store.begin(attrs.evolve(report, rows=()), command="test")
        for row in report.rows:
            store.append(started, row)
        rows = store.report(str(started.id)).rows
    assert _same(serialize.unstructure(back), serialize.unstructure(report))
    assert _same(serialize.unstructure(list(rows)), serialize.unstructure(list(report.rows)))


# --- the keys DESIGN.md names ---------------------------------------------------------------------------


def test_a_row_and_a_report_keep_the_design_keys_in_order():
    scenario = Scenario("server", batch=4, precision="int8", latency_target=0.1, ttft_target=0.5, tpot_target=0.05)
    row = Result("acme-a", "w", scenario, "measured", "ok", {"latency_s": float("nan")}, group="g",
                 measurement={"samples": [1.0, 2.0]})
    claim = ClaimCheck("c", 2.0, 1.0, "a", "1", "differs", 0.1)
    data = serialize.unstructure(Report("t", [row], claims=[claim]))
    assert list(data) == ["title", "description", "created", "baseline", "interrupted", "environment", "spec", "rows",
                          "claims"]
    assert list(data["rows"][0]) == ["group", "device", "workload", "scenario", "source", "status", "reason", "plugin",
                                     "metrics", "explain", "measurement"]
    assert data["rows"][0]["scenario"] == {
        "kind": "server", "batch": 4, "precision": "int8", "count": 1, "latency_target_s": 0.1,
        "tensor_parallel": None, "pipeline_parallel": None, "expert_parallel": None, "ttft_target_s": 0.5,
        "tpot_target_s": 0.05}
    assert math.isnan(data["rows"][0]["metrics"]["latency_s"])
    assert data["rows"][0]["measurement"] == {"samples": [1.0, 2.0]}
    assert data["claims"][0]["ratio"] == 0.5 and list(data["claims"][0])[-1] == "ratio"


def test_a_device_keeps_its_field_names_and_sorts_its_sets():
    device = Device("acme-a1", "A1", "Acme", "gpu", "edge", {"fp16": 1e12}, 1e11, None, 10.0, 2024,
                    ["training", "inference"], unconfirmed={"power", "year"})
    data = serialize.unstructure(device)
    assert data["peak_ops"] == {"fp16": 1e12} and data["capabilities"] == ["inference", "training"]
    assert data["unconfirmed"] == ["power", "year"] and data["memory_capacity"] is None


# --- bad data is a located error -------------------------------------------------------------------------


def _row_data() -> dict:
    return serialize.unstructure(Report("t", [Result("acme-a", "w", Scenario(), "modelled", "ok", group="g")]))


@pytest.mark.parametrize("change, message", [
    (lambda data: data["rows"][0].pop("device"), "here: rows[0]: missing 'device'"),
    (lambda data: data["rows"][0]["scenario"].update(kind="sideways"), "here: rows[0].scenario.kind: unknown scenario 'sideways'"),
    (lambda data: data["rows"][0]["scenario"].update(batch=True), "here: rows[0].scenario.batch: expected a number"),
    (lambda data: data["rows"][0]["scenario"].update(count=1.5), "here: rows[0].scenario.count: expected a whole number"),
    (lambda data: data["rows"][0].update(explain="one line"), "here: rows[0].explain: expected a list"),
    (lambda data: data["rows"][0].update(explain=["a", 1]), "here: rows[0].explain[1]: expected text"),
    (lambda data: data["rows"][0].update(status="fine"), "here: rows[0].status: unknown status 'fine'"),
    (lambda data: data["rows"][0].update(metrics=[1]), "here: rows[0].metrics: expected an object"),
    (lambda data: data.update(rows={"a": 1}), "here: rows: expected a list"),
    (lambda data: data.update(rows=[3]), "here: rows[0]: expected an object, got 3"),
    (lambda data: data.update(spec={"groups": [{"id": "g", "columns": "latency_s"}]}),
     "here: spec.groups[0]: 'columns' has the wrong type"),
    (lambda data: data.update(interrupted="yes"), "here: interrupted: expected true or false"),
])
def test_bad_data_names_the_place(change, message):
    data = _row_data()
    change(data)
    with pytest.raises(serialize.WireError) as raised:
        serialize.structure(data, Report, where="here")
    assert str(raised.value).startswith(message), str(raised.value)


def test_a_key_it_does_not_know_is_skipped():
    data = _row_data()
    data["rows"][0]["from_a_newer_chipfit"] = 1
    assert serialize.structure(data, Report, where="here").rows[0].device == "acme-a"


def test_text_that_is_not_json_names_the_place():
    with pytest.raises(serialize.WireError, match="here: not JSON"):
        serialize.loads("{", Report, where="here")


def test_every_registered_device_and_workload_round_trips_and_hashes(catalogue):
    for cls, records in ((Device, catalogue.devices), (Workload, catalogue.workloads)):
        for ident, record in records.items():
            back = serialize.loads(serialize.dumps(record), cls, where=ident)
            assert back == record and hash(back) == hash(record), ident


def test_a_real_run_round_trips_through_json(cli, tmp_path):
    spec = Path(__file__).resolve().parent.parent / "specs" / "seed-article.toml"
    result = cli("--store", tmp_path / "runs.sqlite", "run", spec, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    report = serialize.structure(data, Report, where="seed")
    assert report.rows and serialize.finite(serialize.unstructure(report)) == data
