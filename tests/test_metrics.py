"""The metric registry (chipfit.metrics): one place for each metric's unit, label, format, better
direction, headline role and chart kind, read by renderers, charts, ranking and the laws."""

from __future__ import annotations

import re

import pytest

from chipfit import metrics
from chipfit.records import Phase, Scenario, ScenarioKind
from support import DESIGN_METRICS, assert_bad_input, assert_clean

SPEC = """
title = "registry"
[[groups]]
id = "g"
devices = ["nvidia-h100-sxm5"]
workloads = ["gemm-4096"]
scenario = "offline"
columns = ["throughput_sps", "joules_per_kilosample"]
"""


def test_every_design_metric_is_in_the_registry_with_a_snake_case_key():
    known = metrics.registry()
    for key in DESIGN_METRICS:
        assert key in known, key
    for key, item in known.items():
        assert item.key == key and re.fullmatch(r"[a-z][a-z0-9_]*", key)
        assert item.chart in metrics.CHART_KINDS
        assert set(item.headline) <= set(metrics.HEADLINE_ROLES)


@pytest.mark.parametrize("kind", list(ScenarioKind))
def test_every_scenario_kind_has_one_headline_metric(kind):
    holders = [item for item in metrics.CORE_METRICS if str(kind) in item.headline]
    assert len(holders) == 1
    chosen = metrics.headline(Scenario(str(kind)))
    assert chosen is holders[0] and chosen.higher_is_better is not None


def test_general_purpose_workloads_rank_by_latency():
    class General:
        phase = Phase.GENERAL

    assert metrics.headline(Scenario("offline"), General()).key == "latency_s"


def test_a_misspelt_key_is_a_clear_error_with_a_suggestion():
    with pytest.raises(metrics.UnknownMetricError, match=r"unknown metric 'latncy_s'; did you mean 'latency_s'"):
        metrics.metric("latncy_s")
    with pytest.raises(metrics.UnknownMetricError, match=r"^spec.toml, line 3: unknown metric"):
        metrics.metric("zzzzzz", where="spec.toml, line 3")


def test_display_and_label_read_the_registry():
    assert metrics.display("latency_s", 0.0123) == "12.3 ms"
    assert metrics.label("latency_s") == "latency"
    assert metrics.display("latency_s", None) == "n/a"
    assert metrics.display("not_a_metric", 0.123456) == "0.123"
    assert metrics.label("not_a_metric") == "not a metric"


def test_a_plugin_metric_registers_into_the_registry_and_its_label_shows(cli, write_spec, plugin_module):
    name = plugin_module("kilo_metric", """
        import chipfit
        from chipfit.metrics import Metric

        def per_kilosample(row):
            energy = row.get("energy_per_sample_j")
            return None if energy is None else energy * 1000

        @chipfit.hookimpl
        def chipfit_register_metrics(register):
            register(Metric("joules_per_kilosample", "J/1000 samples", "J", False, function=per_kilosample,
                            description="joules per thousand samples"))
    """)
    result = cli("-p", name, "run", write_spec(SPEC))
    assert_clean(result)
    assert result.exit_code == 0, result.output
    assert "J/1000 samples" in result.stdout
    assert metrics.metric("joules_per_kilosample").unit == "J"


def test_a_plugin_cannot_redefine_a_core_metric(cli, write_spec, plugin_module):
    name = plugin_module("latency_thief", """
        import chipfit
        from chipfit.metrics import Metric

        @chipfit.hookimpl
        def chipfit_register_metrics(register):
            register(Metric("latency_s", "my latency", "s", False, function=lambda row: 1.0))
    """)
    result = cli("-p", name, "run", write_spec(SPEC))
    assert_bad_input(result, "latency_thief", "latency_s", "core metric")


def test_the_html_bar_metrics_come_from_the_registry():
    charts = pytest.importorskip("chipfit.charts")
    assert charts.BAR_METRICS == tuple(item.key for item in metrics.CORE_METRICS if item.chart == "bar")
    assert charts._bar_unit("latency_s") == ("s", False)
