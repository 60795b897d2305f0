"""chipfit fit's search: ranking, constraints, the Pareto front, infeasible devices, bad constraints."""

from __future__ import annotations

import pytest

from chipfit import fit, runner
from chipfit.errors import ChipfitError
from chipfit.query import QueryError
from chipfit.spec import GroupSpec, Spec


def search(catalogue, pm, **asked):
    query = fit.FitQuery(**asked)
    return fit.search(query, catalogue, fit.evaluator(pm, catalogue, query.costs))


def model_keys(metrics):
    return {key: value for key, value in metrics.items() if key not in fit.FIT_KEYS}


def test_edge_fit_by_power_ranks_feasible_rows_and_says_why_others_fail(catalogue, pm):
    result = search(catalogue, pm, workload="mobilenet-v2", fps=30, segments=("edge",), by="power",
                    pareto=("power", "latency"))
    assert result.objective == "power_w"
    powers = [row.metrics["power_w"] for row in result.ranked]
    assert powers == sorted(powers) and powers
    assert all(row.metrics["latency_s"] <= 1 / 30 for row in result.ranked)
    assert all(catalogue.devices[row.device].segment == "edge" for row in result.ranked)
    assert result.configurations_evaluated >= result.devices_considered
    assert result.infeasible, "the fp32-less edge chips are infeasible at the workload's precision"
    assert all(why for why in result.infeasible.values())
    assert set(result.infeasible).isdisjoint(row.device for row in result.ranked)
    assert result.ranked[0].metrics["binding_limit"].startswith("target")
    # the Pareto front: no feasible row is better on both power and latency than a front row
    for row in result.pareto:
        assert not any(other.metrics["power_w"] < row.metrics["power_w"]
                       and other.metrics["latency_s"] < row.metrics["latency_s"] for other in result.ranked)
    assert result.pareto[0].metrics["pareto"] is True


def test_top_rows_equal_a_run_of_the_same_configuration(catalogue, pm):
    result = search(catalogue, pm, workload="resnet-50", scenario="offline", target_s=0.01, by="throughput",
                    segments=("datacenter",))
    for row in result.ranked[:3]:
        group = GroupSpec(id="g", devices=[row.device], workloads=["resnet-50"], scenario="offline",
                          precision=str(row.scenario.precision), count=row.scenario.count, latency_target_ms=10)
        (same,) = runner.run(Spec(title="t", groups=[group]), catalogue, pm).rows
        assert model_keys(row.metrics) == model_keys(same.metrics)


def test_precision_any_lets_int8_chips_in(catalogue, pm):
    result = search(catalogue, pm, workload="mobilenet-v2", fps=30, segments=("edge",), precisions=("any",),
                    by="power")
    assert "hailo-hailo-8" in {row.device for row in result.ranked}


def test_no_device_left_names_the_filter(catalogue, pm):
    with pytest.raises(ChipfitError, match=r"--segment edge leaves \d+, --vendor nobody leaves 0"):
        search(catalogue, pm, workload="mobilenet-v2", segments=("edge",), vendors=("nobody",))


def test_impossible_constraints_name_what_emptied_the_set(catalogue, pm):
    with pytest.raises(ChipfitError, match=r"no configuration of mobilenet-v2 fits.*--max-power-w 0.001 is met by 0"):
        search(catalogue, pm, workload="mobilenet-v2", fps=30, segments=("edge",), max_power_w=0.001)
    with pytest.raises(ChipfitError, match="--fps must be a positive number"):
        search(catalogue, pm, workload="mobilenet-v2", fps=0)
    with pytest.raises(ChipfitError, match="give one"):
        search(catalogue, pm, workload="mobilenet-v2", fps=30, target_s=0.01)


def test_unknown_objective_or_filter_key_suggests(catalogue, pm):
    with pytest.raises(QueryError, match="did you mean 'power_w'"):
        search(catalogue, pm, workload="mobilenet-v2", segments=("edge",), by="powr_w")
    with pytest.raises(QueryError, match="unknown metric 'latncy_s'"):
        search(catalogue, pm, workload="mobilenet-v2", segments=("edge",), where="latncy_s < 1 ms")


def test_where_filters_configurations(catalogue, pm):
    result = search(catalogue, pm, workload="mobilenet-v2", segments=("edge",), where="power_w <= 20")
    assert result.ranked and all(row.metrics["power_w"] <= 20 for row in result.ranked)


def test_pareto_front_law():
    from chipfit.records import Result, Scenario

    def row(name, latency, power):
        return Result(name, "w", Scenario(), "modelled", "ok", {"latency_s": latency, "power_w": power})

    rows = [row("a", 1, 10), row("b", 2, 5), row("c", 3, 6), row("d", 0.5, 20), row("e", 2, 5)]
    front = {r.device for r in fit.pareto(rows, ["latency_s", "power_w"])}
    assert front == {"a", "b", "d"}


def test_more_devices_are_shown_only_where_they_buy_something(catalogue, pm):
    by_power = search(catalogue, pm, workload="mobilenet-v2", fps=30, segments=("edge",), by="power", max_count=8)
    assert by_power.redundant > 0
    # power only grows with the count: each device and precision is shown once, at its fewest devices
    shown = [(row.device, str(row.scenario.precision)) for row in by_power.ranked]
    assert len(shown) == len(set(shown))
    assert all(row.scenario.count == 1 for row in by_power.ranked)
    by_throughput = search(catalogue, pm, workload="resnet-50", scenario="offline", segments=("datacenter",),
                           vendors=("nvidia",), by="throughput", max_count=4)
    counts = {row.scenario.count for row in by_throughput.ranked if row.device == "nvidia-h100-sxm5"}
    assert counts == {1, 2, 4}, "more devices raise offline throughput: every count is kept"


def test_fewest_devices_law():
    from chipfit.records import Result, Scenario

    def row(device, count, value):
        return Result(device, "w", Scenario(count=count), "modelled", "ok", {"power_w": value})

    rows = [row("a", 1, 10), row("a", 2, 20), row("a", 4, 5), row("b", 2, 3), row("b", 1, 3)]
    kept, left_out = fit.fewest_devices(rows, "power_w")
    assert {(r.device, r.scenario.count) for r in kept} == {("a", 1), ("a", 4), ("b", 1)}
    assert left_out == 2


def test_llm_serving_fit_meets_ttft_tpot_and_tokens_and_shows_the_split(catalogue, pm):
    result = search(catalogue, pm, workload="llama-2-70b", scenario="server", ttft_s=2.0, tpot_s=0.2,
                    min_tokens_per_s=5000, precisions=("fp8",), vendors=("nvidia",), by="cost-per-token",
                    max_count=8)
    assert result.objective == "usd_per_million_tokens"
    assert result.ranked
    for row in result.ranked:
        assert row.metrics["ttft_s"] <= 2.0 and row.metrics["tpot_s"] <= 0.2
        assert row.metrics["output_tokens_per_s"] >= 5000
        split = row.metrics["parallelism"]
        assert split["data"] * split["tensor"] * split["pipeline"] * split["expert"] <= row.scenario.count
    assert result.ranked[0].scenario.ttft_target == 2.0 and result.ranked[0].scenario.tpot_target == 0.2
    assert "tokens/s" in result.infeasible["nvidia-l4"], "eight L4s serve too few tokens a second"


def test_min_tokens_per_s_must_be_positive(catalogue, pm):
    with pytest.raises(ChipfitError, match="--min-tokens-per-s must be a positive number"):
        search(catalogue, pm, workload="llama-2-70b", scenario="server", min_tokens_per_s=-1)


def test_a_precision_the_device_lacks_says_what_to_try(catalogue, pm):
    result = search(catalogue, pm, workload="mobilenet-v2", fps=30, segments=("edge",), by="power")
    assert "--precision any" in result.infeasible["hailo-hailo-8"]


def test_the_pareto_front_is_found_before_more_devices_are_left_out(catalogue, pm):
    """More devices that do no better on the ranking objective may still be on the front of two others."""
    result = search(catalogue, pm, workload="mobilenet-v2", fps=30, segments=("edge",), precisions=("any",),
                    by="power", pareto=("throughput", "power"))
    counts = {row.scenario.count for row in result.pareto}
    assert counts - {1}, "more devices raise throughput: the front holds counts above one"
    ranked = {id(row.metrics) for row in result.ranked}
    assert all(id(row.metrics) in ranked for row in result.pareto), "every front row is ranked"
    summary = result.summary()
    points = summary["pareto"]["points"]
    assert points and all(point["feasible"] for point in points), "at 30 fps every edge configuration is feasible"
