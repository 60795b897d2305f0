"""chipfit fit's search: ranking, constraints, the Pareto front, infeasible devices, bad constraints."""

from __future__ import annotations

import pytest

from chipfit import fit, runner
from chipfit.cells import estimate_cell
from chipfit.errors import ChipfitError
from chipfit.query import QueryError
from chipfit.spec import GroupSpec, Spec


def search(catalogue, pm, **asked):
    query = fit.FitQuery(**asked)

    def evaluate(device, workload, scenario):
        return runner.complete_row(estimate_cell(pm, device, workload, scenario), device, catalogue, query.costs)

    return fit.search(query, catalogue, evaluate)


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
