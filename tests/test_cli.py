"""The ``chipfit`` command line: each command, its options and formats, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from support import ROOT, SEED_SPEC, TWO_GPUS, assert_bad_input, assert_clean

from conftest import IN_TREE_PLUGINS

IN_TREE = ("nvidia", "amd", "intel", "flexlogix", "yolo", "compile", "gemm")


def _json(result):
    assert_clean(result)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- chipfit plugins ---------------------------------------------------------------------------


def test_plugins_lists_in_tree_plugins_with_distribution_and_version(cli):
    result = cli("plugins")
    assert_clean(result)
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    for name in IN_TREE:
        assert name in lines, result.stdout
        assert "chipfit" in lines[name].split()[1:]


def test_plugins_json(cli):
    rows = {row["name"]: row for row in _json(cli("plugins", "--format", "json"))}
    for name in IN_TREE:
        assert rows[name]["distribution"] == "chipfit"
        assert rows[name]["version"]
        assert rows[name]["origin"] == "entry point"
    assert rows["nvidia"]["hooks"] == ["chipfit_register_devices"]
    assert rows["yolo"]["hooks"] == ["chipfit_register_workloads"]
    # the core's defaults are listed beside them
    assert "chipfit_estimate" in rows["chipfit.roofline"]["hooks"]


def test_plugins_sees_no_plugin_outside_the_tree(cli):
    rows = _json(cli("plugins", "--format", "json"))
    names = {row["name"] for row in rows}
    assert names <= {*IN_TREE_PLUGINS, "chipfit.roofline", "chipfit.metrics", "chipfit.render", "chipfit.executors"}
    assert names >= set(IN_TREE)
    assert {row["distribution"] for row in rows} == {"chipfit"}


# --- chipfit devices ---------------------------------------------------------------------------


def test_devices_lists_every_in_tree_device(cli, catalogue):
    result = cli("devices")
    assert_clean(result)
    assert result.exit_code == 0
    for ident in catalogue.devices:
        assert ident in result.stdout


def test_devices_json_keeps_si_units(cli):
    rows = {row["id"]: row for row in _json(cli("devices", "--format", "json"))}
    h100 = rows["nvidia-h100-sxm5"]
    assert h100["kind"] == "gpu"
    assert h100["segment"] == "datacenter"
    assert h100["plugin"] == "nvidia"
    assert h100["memory_bandwidth"] == pytest.approx(3.35e12)
    assert h100["peak"]["fp32"] == pytest.approx(67e12, rel=0.01)


@pytest.mark.parametrize(
    ("option", "value", "field", "expected"),
    [
        ("--kind", "asic", "kind", {"asic"}),
        ("--kind", "cpu", "kind", {"cpu"}),
        ("--segment", "edge", "segment", {"edge"}),
        ("--segment", "datacenter", "segment", {"datacenter"}),
    ],
)
def test_devices_filters(cli, catalogue, option, value, field, expected):
    rows = _json(cli("devices", option, value, "--format", "json"))
    assert rows
    assert {row[field] for row in rows} == expected
    wanted = {d.id for d in catalogue.devices.values() if str(getattr(d, field)) == value}
    assert {row["id"] for row in rows} == wanted


def test_devices_filter_by_vendor_is_case_insensitive(cli, catalogue):
    rows = _json(cli("devices", "--vendor", "amd", "--format", "json"))
    assert {"amd-instinct-mi250x", "amd-instinct-mi300a"} <= {row["id"] for row in rows}
    assert {row["id"] for row in rows} == {d.id for d in catalogue.devices.values() if d.vendor == "AMD"}


def test_devices_filters_combine_and_repeat(cli, catalogue):
    rows = _json(cli("devices", "--kind", "gpu", "--kind", "apu", "--segment", "datacenter", "--format", "json"))
    ids = {row["id"] for row in rows}
    assert {"nvidia-h100-sxm5", "amd-instinct-mi250x", "amd-instinct-mi300a"} <= ids
    assert ids == {d.id for d in catalogue.devices.values()
                   if d.kind in ("gpu", "apu") and d.segment == "datacenter"}


def test_devices_sources_shows_citations(cli):
    result = cli("devices", "--vendor", "flex logix", "--sources")
    assert_clean(result)
    assert result.exit_code == 0
    assert "peak_ops.int8" in result.stdout
    assert "4096" in result.stdout  # the MACs of the derivation


def test_devices_sources_json(cli):
    rows = _json(cli("devices", "--sources", "--format", "json"))
    for row in rows:
        assert row["sources"], row["id"]
        if row["power"] is not None:  # this machine's own CPU has no known power
            assert "power" in row["sources"], row["id"]


def test_devices_csv(cli, catalogue):
    result = cli("devices", "--format", "csv")
    assert_clean(result)
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["id"] for row in table} == set(catalogue.devices)
    assert float(next(row for row in table if row["id"] == "nvidia-h100-sxm5")["power"]) == 700


def test_devices_unknown_format_is_a_usage_error(cli):
    result = cli("devices", "--format", "yaml")
    assert_clean(result)
    assert result.exit_code == 2
    assert "yaml" in result.stderr


# --- chipfit workloads -------------------------------------------------------------------------


def test_workloads_lists_in_tree_workloads(cli):
    result = cli("workloads")
    assert_clean(result)
    for ident in ("yolov3-416", "yolov3-608", "yolov3-1080p", "yolov3-coco-train", "gemm-4096",
                  "linux-kernel-compile"):
        assert ident in result.stdout


def test_workloads_json_and_phase_filter(cli, catalogue):
    rows = {row["id"]: row for row in _json(cli("workloads", "--format", "json"))}
    assert rows["gemm-4096"]["ops_per_sample"] == 2 * 4096**3
    assert rows["yolov3-608"]["plugin"] == "yolo"
    training = _json(cli("workloads", "--phase", "training", "--format", "json"))
    assert "yolov3-coco-train" in {row["id"] for row in training}
    assert {row["phase"] for row in training} == {"training"}
    assert {row["id"] for row in training} == {w.id for w in catalogue.workloads.values() if w.phase == "training"}


# --- chipfit inspect ---------------------------------------------------------------------------


def test_inspect_a_workload_id(cli):
    report = _json(cli("inspect", "yolov3-416", "--format", "json"))
    assert report["id"] == "yolov3-416"
    assert report["operators"] == 107
    by_type = {row["op_type"]: row for row in report["by_op_type"]}
    assert by_type["conv"]["count"] == 75
    assert sum(row["ops"] for row in report["by_op_type"]) == pytest.approx(report["ops_per_sample"])


def test_inspect_text(cli):
    result = cli("inspect", "gemm-4096")
    assert_clean(result)
    assert result.exit_code == 0
    assert "matmul" in result.stdout


@pytest.mark.parametrize(
    ("model", "fragments"),
    [("yolov3-41", ["unknown workload 'yolov3-41'", "yolov3-416"]),
     ("missing.onnx", ["missing.onnx"]),
     ("model.fake", ["model.fake", "no plugin"])],
)
def test_inspect_bad_input(cli, model, fragments):
    assert_bad_input(cli("inspect", model), *fragments)


# --- chipfit estimate --------------------------------------------------------------------------


def _estimate_row(cli, *args):
    report = _json(cli("estimate", *args, "--format", "json"))
    [row] = report["rows"]
    return row


def test_estimate_single_stream_defaults(cli):
    row = _estimate_row(cli, "nvidia-h100-sxm5", "yolov3-416")
    assert row["status"] == "ok"
    assert row["source"] == "modelled"
    assert row["scenario"]["kind"] == "single-stream"
    metrics = row["metrics"]
    assert metrics["latency_s"] > 0
    assert metrics["throughput_sps"] == pytest.approx(1 / metrics["latency_s"])
    assert metrics["batch"] == 1


def test_estimate_options_reach_the_scenario(cli):
    row = _estimate_row(cli, "nvidia-h100-sxm5", "yolov3-416", "--scenario", "offline", "--batch", "8",
                        "--precision", "int8", "--target-ms", "10")
    assert row["scenario"] == {"kind": "offline", "batch": 8, "precision": "int8", "count": 1,
                               "latency_target_s": pytest.approx(0.010), "tensor_parallel": None,
                               "pipeline_parallel": None, "expert_parallel": None, "ttft_target_s": None,
                               "tpot_target_s": None}
    assert row["metrics"]["batch"] == 8
    assert row["metrics"]["ops_required_per_s"] == pytest.approx(65.88e9 / 0.010, rel=0.01)
    assert row["metrics"]["meets_target"] is True


def test_estimate_int8_is_faster_than_fp32(cli):
    fp32 = _estimate_row(cli, "nvidia-h100-sxm5", "yolov3-416", "--precision", "fp32")
    int8 = _estimate_row(cli, "nvidia-h100-sxm5", "yolov3-416", "--precision", "int8")
    assert int8["metrics"]["latency_s"] < fp32["metrics"]["latency_s"]


def test_estimate_training_count_multiplies_power_and_cost(cli):
    one = _estimate_row(cli, "nvidia-h100-sxm5", "yolov3-coco-train", "--scenario", "training")
    eight = _estimate_row(cli, "nvidia-h100-sxm5", "yolov3-coco-train", "--scenario", "training", "--count", "8")
    assert eight["scenario"]["count"] == 8
    # average power: eight devices draw more than one, at most 8x (they wait on the all-reduce)
    assert one["metrics"]["power_w"] < eight["metrics"]["power_w"] <= 8 * one["metrics"]["power_w"] * (1 + 1e-9)
    assert eight["metrics"]["hardware_cost_usd"] == pytest.approx(8 * one["metrics"]["hardware_cost_usd"])
    assert eight["metrics"]["time_to_train_s"] < one["metrics"]["time_to_train_s"]


def test_estimate_unsupported_precision_says_why(cli):
    result = cli("estimate", "flexlogix-inferx-x1", "yolov3-416", "--precision", "fp32")
    assert_clean(result)
    assert result.exit_code == 0
    assert "unsupported" in result.stdout
    assert "fp32" in result.stdout


def test_estimate_text_shows_the_arithmetic(cli):
    result = cli("estimate", "nvidia-jetson-agx-orin-64gb", "yolov3-608", "--precision", "int8")
    assert_clean(result)
    assert result.exit_code == 0
    assert "modelled" in result.stdout
    assert "compute efficiency" in result.stdout


def test_estimate_output_file(cli, tmp_path):
    target = tmp_path / "one.csv"
    result = cli("estimate", "nvidia-h100-sxm5", "gemm-4096", "--format", "csv", "-o", target)
    assert_clean(result)
    assert result.exit_code == 0
    [row] = list(csv.DictReader(io.StringIO(target.read_text())))
    assert row["device"] == "nvidia-h100-sxm5"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["nvidia-h100-sxm", "yolov3-416"], ["unknown device 'nvidia-h100-sxm'", "nvidia-h100-sxm5"]),
        (["nvidia-h100-sxm5", "yolov3-41"], ["unknown workload 'yolov3-41'", "yolov3-416"]),
        (["nvidia-h100-sxm5", "yolov3-416", "--precision", "fp17"], ["precision", "fp17"]),
        (["nvidia-h100-sxm5", "yolov3-416", "--scenario", "offfline"], ["scenario", "offfline"]),
        (["nvidia-h100-sxm5", "yolov3-416", "--batch", "0"], ["batch"]),
        (["nvidia-h100-sxm5", "yolov3-416", "--count", "0"], ["count"]),
        (["nvidia-h100-sxm5", "yolov3-416", "--target-ms", "-5"], ["latency_target"]),
        (["nvidia-h100-sxm5", "yolov3-416", "--format", "jsn"], ["unknown format 'jsn'", "json"]),
    ],
)
def test_estimate_bad_options(cli, args, fragments):
    assert_bad_input(cli("estimate", *args), *fragments)


# --- chipfit run -------------------------------------------------------------------------------

SMALL_SPEC = TWO_GPUS.replace('title = "t"', 'title = "Two GPUs on a GEMM"\nbaseline = "amd-instinct-mi250x"') \
    .replace('id = "g"', 'id = "gemm"') + "batch = 4\n"


@pytest.mark.parametrize("fmt", ["text", "markdown", "csv", "json"])
def test_run_renders_every_builtin_format(cli, write_spec, fmt):
    result = cli("run", write_spec(SMALL_SPEC), "--format", fmt)
    assert_clean(result)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "nvidia-h100-sxm5" in out and "amd-instinct-mi250x" in out
    if fmt == "json":
        report = json.loads(out)
        assert report["title"] == "Two GPUs on a GEMM"
        assert len(report["rows"]) == 2
        base = next(row for row in report["rows"] if row["device"] == "amd-instinct-mi250x")
        assert base["metrics"]["vs_baseline"] == pytest.approx(1.0)
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [row["device"] for row in rows] == ["nvidia-h100-sxm5", "amd-instinct-mi250x"]
        assert all(row["source"] == "modelled" and row["batch"] == "4" for row in rows)
        assert float(rows[0]["throughput_sps"]) > float(rows[1]["throughput_sps"])
    elif fmt == "markdown":
        assert out.startswith("# Two GPUs on a GEMM")
        assert "| device" in out
    else:
        assert out.startswith("Two GPUs on a GEMM\n")
        assert "modelled" in out
        assert "vs amd-instinct-mi250x" in out


@pytest.mark.parametrize(("fmt", "check"), [("json", json.loads), ("markdown", None)])
def test_run_output_file(cli, write_spec, tmp_path, fmt, check):
    target = tmp_path / "out" / f"report.{fmt}"
    target.parent.mkdir()
    result = cli("run", write_spec(SMALL_SPEC), "--format", fmt, "-o", target)
    assert_clean(result)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert str(target) in result.stderr
    text = target.read_text(encoding="utf-8")
    assert "nvidia-h100-sxm5" in text
    if check:
        assert check(text)["rows"]


def test_run_output_file_that_cannot_be_written(cli, write_spec, tmp_path):
    target = tmp_path / "no-such-dir" / "report.txt"
    assert_bad_input(cli("run", write_spec(SMALL_SPEC), "-o", target), "report.txt")


def test_run_seed_spec_from_the_repository(cli):
    result = cli("run", SEED_SPEC)
    assert_clean(result)
    assert result.exit_code == 0, result.output
    assert "Claims checked" in result.stdout


# --- help, version, python -m ------------------------------------------------------------------


def test_help_lists_every_command(cli):
    result = cli("--help")
    assert_clean(result)
    assert result.exit_code == 0
    for command in ("plugins", "devices", "workloads", "estimate", "run"):
        assert command in result.stdout
    assert "-p MODULE" in result.stdout


@pytest.mark.parametrize("command", ["plugins", "devices", "workloads", "estimate", "run"])
def test_command_help(cli, command):
    result = cli(command, "--help")
    assert_clean(result)
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert "0.1.0" in result.stdout or "version" in result.stdout


def test_python_dash_m_chipfit_help():
    done = subprocess.run([sys.executable, "-m", "chipfit", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage: " in done.stdout
    assert "run" in done.stdout


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    spec = tmp_path / "broken.toml"
    spec.write_text('title = "x"\n[[groups]\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "chipfit", "run", str(spec)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{spec}, line 2" in done.stderr


def test_importing_the_cli_loads_no_heavy_or_plugin_module():
    code = ("import chipfit.cli, sys; "
            "print([m for m in sys.modules if m.split('.')[0] in ('tabulate','chipfit_yolo','onnx','numpy')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
