"""The device catalogue: checks every plugin passes, chipfit check/show, filters, sorting, the specs."""

from __future__ import annotations

import json
import textwrap

import pytest
from support import ROOT, assert_bad_input, assert_clean

from chipfit.checks import check_datasheet, check_device

GOOD = """
[[device]]
id = "acme-npu-1"
name = "ACME NPU 1"
vendor = "ACME"
kind = "npu"
segment = "edge"
year = 2025
power_w = 10
memory_bandwidth_gb_s = 100
memory_capacity_gb = 8
capabilities = ["inference"]

[device.peak_tops]
int8 = 50

[device.sparse_peak_tops]
int8 = 100

[device.sources]
year = "ACME NPU 1 datasheet rev 2, cover"
power_w = "ACME NPU 1 datasheet rev 2, table 3"
memory_bandwidth_gb_s = "ACME NPU 1 datasheet rev 2, table 2"
memory_capacity_gb = "ACME NPU 1 datasheet rev 2, table 2"
"peak_tops.int8" = "ACME NPU 1 datasheet rev 2, table 1"
"sparse_peak_tops.int8" = "ACME NPU 1 datasheet rev 2, table 1, footnote a"
"""


def _sheet(tmp_path, text: str):
    path = tmp_path / "devices.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_every_in_tree_device_passes_the_catalogue_checks(catalogue):
    problems = [str(p) for device in catalogue.devices.values() for p in check_device(device)]
    assert problems == []


def test_a_good_third_party_datasheet_passes(tmp_path):
    assert check_datasheet(_sheet(tmp_path, GOOD)) == []


@pytest.mark.parametrize("change, field, words", [
    (("power_w = 10", "power_w = 0.01"), "power_w", "plausible"),
    (("memory_bandwidth_gb_s = 100", "memory_bandwidth_gb_s = 500000"), "memory_bandwidth_gb_s", "plausible"),
    (("[device.sparse_peak_tops]\nint8 = 100", "[device.sparse_peak_tops]\nint8 = 50"), "peak_tops.int8",
     "dense equals sparse"),
    (("[device.sparse_peak_tops]\nint8 = 100", "[device.sparse_peak_tops]\nint8 = 400"), "sparse_peak_tops.int8",
     "not 1x-2x dense"),
    (('power_w = "ACME NPU 1 datasheet rev 2, table 3"\n', ""), "power_w", "no source"),
])
def test_a_broken_datasheet_fails_naming_device_field_and_line(tmp_path, change, field, words):
    path = _sheet(tmp_path, GOOD.replace(*change))
    problems = check_datasheet(path)
    assert problems, "the broken file passed"
    problem = next(p for p in problems if p.field == field)
    assert problem.device == "acme-npu-1"
    assert words in problem.message
    lines = path.read_text().splitlines()
    assert problem.line is not None and field.split(".")[-1].split("_")[0] in lines[problem.line - 1]


def test_unusual_lets_a_deliberate_outlier_through(tmp_path):
    text = GOOD.replace("power_w = 10", "power_w = 0.01").replace(
        'capabilities = ["inference"]', 'capabilities = ["inference"]\nunusual = ["power_w"]')
    assert check_datasheet(_sheet(tmp_path, text)) == []


def test_a_device_whose_maker_publishes_no_power_leaves_it_out(tmp_path, cli):
    """No power_w: the device loads with power unknown, and its energy metrics are unavailable, not guessed."""
    from chipfit.datasheets import load_devices

    text = GOOD.replace("power_w = 10\n", "").replace('power_w = "ACME NPU 1 datasheet rev 2, table 3"\n', "")
    path = _sheet(tmp_path, text)
    [device] = load_devices(path)
    assert device.power is None and check_datasheet(path) == []
    result = cli("show", "google-cloud-tpu-v5p", "--format", "json")
    assert_clean(result)
    assert json.loads(result.output)["power"] is None


def test_chipfit_check_passes_on_the_catalogue(cli):
    result = cli("check")
    assert_clean(result)
    assert result.exit_code == 0 and "all checks pass" in result.output


def test_chipfit_check_on_a_broken_file_names_file_line_device_and_field(cli, tmp_path):
    path = _sheet(tmp_path, GOOD.replace("power_w = 10", "power_w = 0.01"))
    result = cli("check", str(path))
    assert_bad_input(result, str(path), "line 9", "acme-npu-1", "power_w")


def test_chipfit_check_on_a_malformed_file_is_bad_input(cli, tmp_path):
    path = _sheet(tmp_path, GOOD.replace("power_w = 10", "power_w = -10"))
    assert_bad_input(cli("check", str(path)), str(path), "power")


def test_show_prints_every_figure_with_its_source(cli, catalogue):
    result = cli("show", "nvidia-h100-sxm5")
    assert_clean(result)
    assert result.exit_code == 0
    device = catalogue.devices["nvidia-h100-sxm5"]
    assert "peak fp16 (dense)" in result.output and "peak fp16 (sparse)" in result.output
    first_words = device.sources["memory_bandwidth"].split()[:3]
    assert " ".join(first_words) in " ".join(result.output.split())


def test_show_marks_unconfirmed_figures(cli, catalogue):
    device = catalogue.devices["intel-core-i5-12600k"]
    assert "general_ops" in device.unconfirmed
    result = cli("show", device.id)
    rate_line = next(line for line in result.output.splitlines() if "general-purpose rate" in line)
    assert "[unconfirmed]" in rate_line


def test_show_json_has_sources(cli):
    result = cli("show", "hailo-hailo-8", "--format", "json")
    data = json.loads(result.output)
    assert data["id"] == "hailo-hailo-8" and data["sources"]["peak_ops.int8"]


def test_show_unknown_device_suggests(cli):
    assert_bad_input(cli("show", "hailo-8"), "hailo-hailo-8")


def test_devices_filter_by_precision_and_capability(cli, catalogue):
    result = cli("devices", "--precision", "fp8", "--capability", "training", "--format", "json")
    ids = {row["id"] for row in json.loads(result.output)}
    expected = {d.id for d in catalogue.devices.values()
                if "fp8" in {str(p) for p in d.peak_ops} and "training" in {str(c) for c in d.capabilities}}
    assert ids == expected and "nvidia-h100-sxm5" in ids


def test_devices_vendor_filter_ignores_spaces(cli):
    ids = {row["id"] for row in json.loads(cli("devices", "--vendor", "flexlogix", "--format", "json").output)}
    assert ids and all(i.startswith("flexlogix-") for i in ids)


@pytest.mark.parametrize("order, reverse", [("power", True), ("+power", False)])
def test_devices_sort_by_a_figure(cli, order, reverse):
    rows = json.loads(cli("devices", "--sort", order, "--format", "json").stdout)
    powers = [row["power"] for row in rows if row["power"] is not None]
    assert powers == sorted(powers, reverse=reverse)
    known = [row["power"] is not None for row in rows]
    assert known == sorted(known, reverse=True)  # devices without the figure come last


def test_devices_sort_puts_devices_without_the_figure_last(cli):
    rows = json.loads(cli("devices", "--sort", "peak_ops.fp8", "--format", "json").output)
    has = [row["peak"].get("fp8") is not None for row in rows]
    assert has == sorted(has, reverse=True)


def test_devices_sort_by_an_unknown_figure_suggests(cli):
    assert_bad_input(cli("devices", "--sort", "powr"), "power")


@pytest.mark.parametrize("spec", ["edge-vision.toml", "datacenter-training.toml"])
def test_catalogue_specs_run(cli, spec):
    result = cli("run", str(ROOT / "specs" / spec), "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0
    rows = json.loads(result.output)["rows"]
    assert rows and all(row["status"] in ("ok", "unsupported") for row in rows)
    assert sum(row["status"] == "ok" for row in rows) >= len(rows) // 2


def test_llm_models_larger_than_one_device_are_unsupported_with_the_reason(cli):
    rows = json.loads(cli("run", str(ROOT / "specs" / "datacenter-training.toml"), "--format", "json").output)["rows"]
    row = next(r for r in rows if r["device"] == "nvidia-h100-sxm5" and r["workload"] == "llama-3-70b-prefill-2048")
    assert row["status"] == "unsupported" and "memory" in row["reason"]


def test_on_chip_memory_keeps_small_models_off_the_host_link(catalogue):
    import attrs

    from chipfit import Scenario, model

    # the fixed per-invocation time is left out here: this is about the kernels' traffic alone
    coral = attrs.evolve(catalogue.devices["google-coral-edge-tpu"], invocation_overhead=None)
    mobilenet = catalogue.workloads["mobilenet-v2"]
    scenario = Scenario("single-stream", precision="int8")
    with_sram = model.estimate(coral, mobilenet, scenario)
    without = model.estimate(attrs.evolve(coral, on_chip_memory=None), mobilenet, scenario)
    assert with_sram.metrics["bound"] == "compute" and without.metrics["bound"] == "memory"
    assert with_sram.metrics["latency_s"] < without.metrics["latency_s"] / 10


def test_a_fixed_cost_per_invocation_adds_once_per_batch(catalogue):
    """The Coral's per-inference time (derived from Coral's benchmark table) adds to the kernels' time,
    once per batch, and shows in the row's arithmetic."""
    import attrs

    from chipfit import Scenario, model

    coral = catalogue.devices["google-coral-edge-tpu"]
    assert coral.invocation_overhead and coral.citation("invocation_overhead")
    mobilenet = catalogue.workloads["mobilenet-v2"]
    scenario = Scenario("single-stream", precision="int8")
    with_it = model.estimate(coral, mobilenet, scenario)
    without = model.estimate(attrs.evolve(coral, invocation_overhead=None), mobilenet, scenario)
    assert abs(with_it.metrics["latency_s"] - without.metrics["latency_s"] - coral.invocation_overhead) < 1e-12
    assert any("per invocation" in line for line in with_it.explain)


def test_the_coral_reproduces_both_rows_its_parameters_came_from(catalogue):
    """The Edge TPU's invocation time and the ASIC inference efficiency are the intercept and slope of two
    rows of Coral's table (MobileNet v1 2.4 ms, Inception v1 3.4 ms) against the model's own kernels."""
    from chipfit import Scenario, model

    coral = catalogue.devices["google-coral-edge-tpu"]
    scenario = Scenario("single-stream", precision="int8")
    for workload, published in (("mobilenet-v1", 2.4e-3), ("inception-v1", 3.4e-3)):
        assert model.estimate(coral, catalogue.workloads[workload], scenario).metrics["latency_s"] \
            == pytest.approx(published, rel=0.01)


def test_folded_batch_norm_leaves_no_weights_on_chip(catalogue):
    """On-chip residency counts the weights the lowered kernels read: BN folded into its convolution has none."""
    from chipfit.model.lowering import lower, workload_kernels
    from chipfit.model.roofline import on_chip
    from chipfit.records import Precision

    coral, inception = catalogue.devices["google-coral-edge-tpu"], catalogue.workloads["inception-v1"]
    int8 = Precision("int8")
    _, free = on_chip(coral, inception, int8)
    _, unfolded = on_chip(coral, inception, int8, lower(inception.operators, frozenset()))
    kernels = workload_kernels(coral, inception)
    assert free == pytest.approx(coral.on_chip_memory - sum(k.weight_bytes * k.repeat for k in kernels) / 4)
    assert free > unfolded


def test_an_invocation_overhead_must_cite_its_source(tmp_path):
    text = GOOD.replace("power_w = 10\n", "power_w = 10\ninvocation_overhead_us = 1800\n")
    problems = check_datasheet(_sheet(tmp_path, text))
    assert any("invocation_overhead" in str(p) for p in problems)
