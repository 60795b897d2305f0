"""Records are immutable all the way down: a validated record cannot be edited into an invalid one,
every record hashes, and equal records hash equal; a changed record is a new one (attrs.evolve)."""

from __future__ import annotations

import copy
import json
import pickle

import attrs
import pytest

from chipfit.frozen import FrozenDict, freeze, thaw
from chipfit.records import ClaimCheck, Device, Efficiency, Operator, Report, Result, Scenario, Workload


def _device(**changes) -> Device:
    fields = dict(id="acme-a1", name="A1", vendor="Acme", kind="gpu", segment="edge", peak_ops={"fp32": 1e12},
                  memory_bandwidth=1e11, memory_capacity=8e9, power=10.0, year=2024, capabilities=["inference"],
                  sources={"power": "datasheet p. 2"},
                  efficiency=Efficiency(0.5, 0.5, by_precision={"fp32": 0.4}, by_op_class={"conv": 0.3}))
    return Device(**{**fields, **changes})


def _workload() -> Workload:
    return Workload("net", "Net", "vision", "inference", [Operator("conv", 1e9, 1e6, 1e6)], uncosted={"Foo": 1})


def _row() -> Result:
    return Result("acme-a1", "net", Scenario("offline", batch=2), "measured", "ok",
                  {"latency_s": 0.1, "parallelism": {"data": 2, "tensor": 1, "pipeline": 1, "expert": 1}},
                  explain=["a"], group="g", measurement={"samples": [1.0, 2.0], "node": {"host": "h"}})


def _report() -> Report:
    return Report("t", [_row()], spec={"groups": [{"id": "g", "columns": ["latency_s"]}]},
                  environment={"host": "h", "plugins": {"acme": "1"}},
                  claims=[ClaimCheck("c", 1.0, 1.0, "a", "1", "agrees", 0.1)])


MUTATIONS = [
    (lambda: _device(), lambda d: d.peak_ops.__setitem__("fp32", 1.0)),
    (lambda: _device(), lambda d: d.peak_ops.update(fp16=1.0)),
    (lambda: _device(), lambda d: d.sources.pop("power")),
    (lambda: _device(), lambda d: d.sparse_peak_ops.setdefault("int8", 1.0)),
    (lambda: _device(), lambda d: d.efficiency.by_precision.clear()),
    (lambda: _device(), lambda d: d.efficiency.by_op_class.__delitem__("conv")),
    (lambda: _workload(), lambda w: w.uncosted.__setitem__("Bar", 2)),
    (lambda: _row(), lambda r: r.metrics.__setitem__("latency_s", -1.0)),
    (lambda: _row(), lambda r: r.metrics["parallelism"].__setitem__("data", 0)),
    (lambda: _row(), lambda r: r.measurement["node"].update(host="elsewhere")),
    (lambda: _report(), lambda r: r.spec["groups"][0].__setitem__("id", "other")),
    (lambda: _report(), lambda r: r.environment["plugins"].popitem()),
]


@pytest.mark.parametrize("make, mutate", MUTATIONS)
def test_a_records_mappings_cannot_be_changed(make, mutate):
    record = make()
    before = copy.deepcopy(record)
    with pytest.raises(TypeError, match="read-only"):
        mutate(record)
    assert record == before


def test_lists_in_records_are_tuples():
    row, report = _row(), _report()
    assert isinstance(row.explain, tuple) and isinstance(row.measurement["samples"], tuple)
    assert isinstance(report.spec["groups"], tuple) and isinstance(report.rows, tuple)
    assert isinstance(_workload().operators, tuple) and isinstance(_device().runtimes, tuple)


@pytest.mark.parametrize("make", [_device, _workload, _row, _report, lambda: _device().efficiency])
def test_records_hash_and_equal_records_hash_equal(make):
    a, b = make(), make()
    assert a is not b and a == b and hash(a) == hash(b)
    assert len({a, b}) == 1


def test_a_changed_record_is_a_new_one_and_the_old_is_unchanged():
    device = _device()
    faster = attrs.evolve(device, peak_ops={**device.peak_ops, "fp32": 2e12})
    assert device.peak_ops["fp32"] == 1e12 and faster.peak_ops["fp32"] == 2e12
    assert isinstance(faster.peak_ops, FrozenDict) and hash(faster) != hash(device)
    with pytest.raises(ValueError, match="peak_ops.fp32"):  # and the new one is validated as the first was
        attrs.evolve(device, peak_ops={"fp32": -1.0})


def test_frozen_mappings_read_like_dicts():
    row = _row()
    assert row.metrics == {"latency_s": 0.1, "parallelism": {"data": 2, "tensor": 1, "pipeline": 1, "expert": 1}}
    assert isinstance(row.metrics, dict) and {**row.metrics}["latency_s"] == 0.1
    assert json.loads(json.dumps(row.measurement)) == {"samples": [1.0, 2.0], "node": {"host": "h"}}
    assert thaw(row.measurement) == {"samples": [1.0, 2.0], "node": {"host": "h"}}
    assert repr(FrozenDict({"a": 1})) == "{'a': 1}"


def test_records_survive_pickle_and_copy():
    for record in (_device(), _workload(), _row(), _report()):
        assert pickle.loads(pickle.dumps(record)) == record
        assert copy.deepcopy(record) == record and copy.copy(record) == record


def test_a_frozen_mapping_cannot_be_refilled():
    mapping = freeze({"a": [1]})
    mapping.__init__({"b": 2})  # changes nothing (the test below covers an empty one too)
    with pytest.raises(TypeError):
        mapping |= {"b": 2}
    assert mapping == {"a": (1,)}


def test_a_merged_reports_runs_show_in_its_html_though_its_lists_are_tuples():
    pytest.importorskip("matplotlib")
    from chipfit_html import render_html

    runs = [{"id": 1, "uid": "ab" * 16, "command": "chipfit run a.toml", "created": "2025-01-01", "host": "h1"},
            {"id": 2, "uid": "cd" * 16, "command": "chipfit run b.toml", "created": "2025-01-02", "host": "h2"}]
    report = attrs.evolve(_report(), environment={"host": "h1, h2", "runs": runs})
    assert isinstance(report.environment["runs"], tuple)
    text = render_html(report)
    assert "merged from 2 saved runs" in text and "chipfit run b.toml" in text


def test_calling_init_again_changes_no_frozen_dict_not_even_an_empty_one():
    from chipfit.frozen import FrozenDict

    for made in (FrozenDict(), FrozenDict({"a": 1})):
        before = dict(made)
        made.__init__({"b": 2})
        assert dict(made) == before
