"""The command line of chipfit fit, and --where/--sort on run and runs show."""

from __future__ import annotations

import json

import pytest

from chipfit.fit import FIT_KEYS
from support import TWO_GPUS, assert_bad_input, assert_clean


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A results store of this test's own."""
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("CHIPFIT_STORE", str(path))
    return path


def model_metrics(metrics):
    return {key: value for key, value in metrics.items() if key not in FIT_KEYS}


def test_fit_edge_by_power_top_rows_equal_estimate(cli):
    result = cli("fit", "mobilenet-v2", "--target-ms", "40", "--segment", "edge", "--by", "power", "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["configurations_evaluated"] >= data["devices_considered"] > 0
    assert data["objective"] == "power_w" and data["infeasible"]
    rows = data["rows"]
    assert [row["metrics"]["power_w"] for row in rows] == sorted(row["metrics"]["power_w"] for row in rows)
    for row in rows[:2]:
        scenario = row["scenario"]
        same = cli("estimate", row["device"], "mobilenet-v2", "--scenario", "single-stream", "--precision",
                   scenario["precision"], "--count", str(scenario["count"]), "--target-ms", "40",
                   "--format", "json")
        assert same.exit_code == 0, same.output
        (twin,) = json.loads(same.stdout)["rows"]
        assert model_metrics(row["metrics"]) == model_metrics(twin["metrics"])


def test_fit_text_shows_ranking_pareto_and_that_it_is_modelled(cli):
    result = cli("fit", "mobilenet-v2", "--fps", "30", "--segment", "edge", "--precision", "any", "--by", "power",
                 "--pareto", "power,latency", "--electricity-usd-per-kwh", "0.15")
    assert result.exit_code == 0, result.output
    assert "Modelled" in result.stdout and "Pareto front of power_w and latency_s" in result.stdout
    assert "binding limit" in result.stdout and "electricity $0.15/kWh" in result.stdout


@pytest.mark.parametrize("args, says", [
    (["--by", "powr"], "did you mean 'power'"),
    (["--fps", "0"], "--fps must be a positive number"),
    (["--vendor", "nobody"], "--vendor nobody leaves 0"),
    (["--fps", "1e9"], "--fps 1e+09 is met by 0"),
    (["--pareto", "cost"], "name two objectives"),
    (["--where", "powr_w < 3"], "unknown metric 'powr_w'"),
    (["--max-count", "0"], "--max-count must be at least 1"),
    (["--electricity-usd-per-kwh", "-1"], "--electricity-usd-per-kwh must be a positive number"),
])
def test_fit_bad_constraints_are_exit_2(cli, args, says):
    assert_bad_input(cli("fit", "mobilenet-v2", "--segment", "edge", *args), says)


def test_fit_unknown_workload_suggests(cli):
    assert_bad_input(cli("fit", "mobilenet-v3", "--segment", "edge"), "mobilenet-v2")


def test_run_where_and_sort_choose_rows_shown_store_keeps_all(cli, write_spec, store):
    spec = write_spec(TWO_GPUS)
    # (power_w is the modelled average power now, under both GPUs' rated 700 W and 560 W: filter by device)
    result = cli("run", spec, "--where", "device == 'amd-instinct-mi250x'", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [row["device"] for row in json.loads(result.stdout)["rows"]] == ["amd-instinct-mi250x"]
    ordered = cli("run", spec, "--sort", "+throughput_sps", "--format", "json")
    rates = [row["metrics"]["throughput_sps"] for row in json.loads(ordered.stdout)["rows"]]
    assert rates == sorted(rates)
    shown = cli("runs", "show", "latest", "--format", "json")
    assert len(json.loads(shown.stdout)["rows"]) == 2  # the store keeps every row
    only = cli("runs", "show", "latest", "--where", "device == 'nvidia-h100-sxm5'", "--format", "json")
    assert [row["device"] for row in json.loads(only.stdout)["rows"]] == ["nvidia-h100-sxm5"]


def test_run_bad_where_fails_before_running(cli, write_spec, store):
    assert_bad_input(cli("run", write_spec(TWO_GPUS), "--where", "powr_w < 600"),
                     "unknown metric 'powr_w'; did you mean 'power_w'")
    assert not store.exists()
    assert_bad_input(cli("run", write_spec(TWO_GPUS), "--sort", "latncy_s"), "did you mean 'latency_s'")


def test_estimate_with_cost_inputs_shows_them(cli):
    result = cli("estimate", "nvidia-h100-sxm5", "resnet-50", "--scenario", "offline", "--electricity-usd-per-kwh",
                 "0.1", "--service-life-years", "5", "--format", "json")
    metrics = json.loads(result.stdout)["rows"][0]["metrics"]
    assert metrics["cloud_usd_per_hour"] == 3.99 and metrics["energy_cost_usd"] > 0
    assert metrics["usd_per_million_samples"] > 0


def test_fit_html_draws_the_pareto_front(cli, tmp_path):
    pytest.importorskip("matplotlib")
    page = tmp_path / "fit.html"
    result = cli("fit", "mobilenet-v2", "--fps", "30", "--segment", "edge", "--precision", "any", "--by", "power",
                 "--pareto", "power,latency", "--max-power-w", "20", "-o", page)
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "Pareto front" in text and "infeasible" in text and 'id="pareto-front' in text


def test_fit_tables_in_a_spec_beside_the_groups(cli, write_spec, store):
    spec = write_spec(TWO_GPUS + '''
[[fit]]
workload = "mobilenet-v2"
fps = 30
segment = ["edge"]
precision = ["any"]
by = "power"
top = 3
''')
    result = cli("run", spec, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    fitted = [row for row in rows if row["group"] == "fit-1"]
    assert len(fitted) == 3 and len(rows) == 5
    powers = [row["metrics"]["power_w"] for row in fitted]
    assert powers == sorted(powers)


def test_an_llm_fit_table_takes_ttft_tpot_and_tokens_per_s(cli, write_spec, store):
    spec = write_spec(TWO_GPUS + '''
[[fit]]
workload = "llama-2-70b"
scenario = "server"
ttft_ms = 2000
tpot_ms = 200
min_tokens_per_s = 5000
precision = ["fp8"]
vendor = ["nvidia"]
by = "cost-per-token"
top = 2
''')
    result = cli("run", spec, "--format", "json")
    assert result.exit_code == 0, result.output
    fitted = [row for row in json.loads(result.stdout)["rows"] if row["group"] == "fit-1"]
    assert fitted
    for row in fitted:
        assert row["metrics"]["output_tokens_per_s"] >= 5000
        assert row["metrics"]["ttft_s"] <= 2 and row["metrics"]["tpot_s"] <= 0.2


def test_a_bad_fit_table_names_its_line(cli, write_spec, store):
    spec = write_spec(TWO_GPUS + '\n[[fit]]\nworkload = "mobilenet-v2"\nsegment = ["edge"]\nmax_power_w = 0.001\n')
    assert_bad_input(cli("run", spec), "line 9: fit[0]:", "--max-power-w 0.001 is met by 0")
    spec = write_spec(TWO_GPUS + '\n[[fit]]\nworkload = "mobilenet-v2"\npareto = ["cost"]\n')
    assert_bad_input(cli("run", spec), "fit[0].pareto: pareto names two objectives")


def test_llm_serving_fit_top_rows_equal_estimate(cli):
    result = cli("fit", "llama-2-70b", "--scenario", "server", "--ttft-ms", "2000", "--tpot-ms", "200",
                 "--precision", "fp8", "--vendor", "nvidia,amd", "--by", "cost-per-token", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = data["rows"]
    assert rows and data["objective"] == "usd_per_million_tokens"
    for row in rows[:2]:
        scenario = row["scenario"]
        same = cli("estimate", row["device"], "llama-2-70b", "--scenario", "server", "--precision", "fp8",
                   "--count", str(scenario["count"]), "--ttft-ms", "2000", "--tpot-ms", "200", "--format", "json")
        assert same.exit_code == 0, same.output
        (twin,) = json.loads(same.stdout)["rows"]
        assert model_metrics(row["metrics"]) == model_metrics(twin["metrics"])
        assert row["metrics"]["parallelism"] == twin["metrics"]["parallelism"]


def test_fit_measure_puts_a_measured_row_beside_a_shown_row_this_machine_holds(cli):
    result = cli("fit", "mobilenet-v2", "--vendor", "localhost", "--top", "1", "--measure", "--budget", "0.2", "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    sources = {(row["device"], row["source"]) for row in rows}
    assert ("localhost-cpu", "modelled") in sources and ("localhost-cpu", "measured") in sources
    measured = next(row for row in rows if row["source"] == "measured")
    assert measured["status"] == "ok" and measured["metrics"]["latency_s"] > 0


def test_fit_measure_with_no_device_here_says_every_row_is_modelled(cli):
    result = cli("fit", "mobilenet-v2", "--segment", "datacenter", "--top", "2", "--measure")
    assert result.exit_code == 0, result.output
    assert "none of the shown devices is on this machine" in result.stderr


def test_fit_json_is_strict_json(cli):
    result = cli("fit", "mobilenet-v2", "--fps", "30", "--segment", "edge", "--pareto", "power,latency",
                 "--format", "json")
    assert result.exit_code == 0, result.output

    def refuse(constant):
        raise AssertionError(f"{constant} in --format json: JSON.parse rejects it")

    data = json.loads(result.stdout, parse_constant=refuse)
    assert data["pareto"]["front"]
