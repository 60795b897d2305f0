"""Bad input: each mistake in a spec or a datasheet gives exit status 2 and a message that names the
file, the line and the key, with no traceback."""

from __future__ import annotations

import textwrap

import pytest

from chipfit.datasheets import load_devices
from chipfit.errors import SpecError
from support import TWO_GPUS, assert_bad_input, assert_clean

GOOD_GROUP = TWO_GPUS


def _line_of(text: str, needle: str) -> int:
    """1-based line number of the first line of the dedented spec holding ``needle``."""
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


def _run_bad(cli, write_spec, text: str, *fragments: str, line_of: str | None = None):
    path = write_spec(text)
    result = cli("run", path)
    expected = [f"{path}, line {_line_of(text, line_of)}"] if line_of else [str(path)]
    assert_bad_input(result, *expected, *fragments)
    return result


def test_the_good_spec_runs(cli, write_spec):
    result = cli("run", write_spec(GOOD_GROUP))
    assert_clean(result)
    assert result.exit_code == 0


def test_malformed_toml(cli, write_spec):
    text = GOOD_GROUP.replace("[[groups]]", "[[groups]")
    _run_bad(cli, write_spec, text, "invalid TOML", line_of="[[groups]")


def test_misspelt_key_in_a_group_suggests_the_right_one(cli, write_spec):
    text = GOOD_GROUP.replace('scenario = "offline"', 'scenaro = "offline"')
    _run_bad(cli, write_spec, text, "'scenaro'", "did you mean 'scenario'", line_of="scenaro")


def test_misspelt_key_in_the_second_group_points_at_its_line(cli, write_spec):
    text = GOOD_GROUP + GOOD_GROUP.split("\n\n", 1)[1].replace('id = "g"', 'id = "h"').replace(
        'scenario = "offline"', 'scenario = "offline"\nbath = 8')
    _run_bad(cli, write_spec, text, "'bath'", "groups[1]", "did you mean 'batch'", line_of="bath")


def test_unknown_top_level_key(cli, write_spec):
    text = GOOD_GROUP.replace('title = "t"', 'title = "t"\nbaseline_device = "x"')
    _run_bad(cli, write_spec, text, "unknown key 'baseline_device'", line_of="baseline_device")


def test_unknown_device_suggests_the_closest_ids(cli, write_spec):
    text = GOOD_GROUP.replace('"nvidia-h100-sxm5"', '"nvidia-h100-sxm"')
    _run_bad(cli, write_spec, text, "unknown device 'nvidia-h100-sxm'", "did you mean 'nvidia-h100-sxm5'",
             line_of="devices =")


def test_unknown_workload_suggests_the_closest_ids(cli, write_spec):
    text = GOOD_GROUP.replace('"gemm-4096"', '"gemm-4069"')
    _run_bad(cli, write_spec, text, "unknown workload 'gemm-4069'", "'gemm-4096'", line_of="workloads =")


def test_unknown_baseline_device(cli, write_spec):
    text = GOOD_GROUP.replace('title = "t"', 'title = "t"\nbaseline = "amd-instinct-mi250"')
    _run_bad(cli, write_spec, text, "unknown device 'amd-instinct-mi250'", "'amd-instinct-mi250x'",
             line_of="baseline")


def test_unknown_precision(cli, write_spec):
    text = GOOD_GROUP.replace('scenario = "offline"', 'scenario = "offline"\nprecision = "fp17"')
    _run_bad(cli, write_spec, text, "precision", "'fp17'", "int8", line_of="precision")


def test_unknown_scenario(cli, write_spec):
    text = GOOD_GROUP.replace('scenario = "offline"', 'scenario = "batched"')
    _run_bad(cli, write_spec, text, "scenario", "'batched'", "single-stream", line_of="scenario")


@pytest.mark.parametrize("value", ["true", "-1", "0", "1.5", '"8"'])
def test_bad_batch(cli, write_spec, value):
    text = GOOD_GROUP.replace('scenario = "offline"', f'scenario = "offline"\nbatch = {value}')
    _run_bad(cli, write_spec, text, "batch", line_of="batch =")


def test_bad_count_and_latency_target(cli, write_spec):
    text = GOOD_GROUP.replace('scenario = "offline"', 'scenario = "offline"\ncount = 0')
    _run_bad(cli, write_spec, text, "count", line_of="count =")
    text = GOOD_GROUP.replace('scenario = "offline"', 'scenario = "offline"\nlatency_target_ms = -40')
    _run_bad(cli, write_spec, text, "latency_target", line_of="latency_target_ms")


def test_missing_required_key_in_a_group(cli, write_spec):
    text = GOOD_GROUP.replace('workloads = ["gemm-4096"]\n', "")
    _run_bad(cli, write_spec, text, "missing required key", "workloads", line_of="[[groups]]")


def test_missing_title(cli, write_spec):
    text = GOOD_GROUP.replace('title = "t"\n', "")
    _run_bad(cli, write_spec, text, "missing required key 'title'")


def test_empty_device_list(cli, write_spec):
    text = GOOD_GROUP.replace('devices = ["nvidia-h100-sxm5", "amd-instinct-mi250x"]', "devices = []")
    _run_bad(cli, write_spec, text, "devices", "empty", line_of="devices =")


def test_duplicate_group_id(cli, write_spec):
    text = GOOD_GROUP + GOOD_GROUP.split("\n\n", 1)[1].replace('id = "g"', 'id = "g"  # again')
    _run_bad(cli, write_spec, text, "duplicate group id 'g'", line_of="# again")


CLAIM = """
[[claims]]
text = "a claim"
cell = { group = "g", device = "nvidia-h100-sxm5", workload = "gemm-4096" }
value = "VALUE"
"""


@pytest.mark.parametrize("expression", ["__import__('os')", "latency_s.__class__", "[1, 2]", "latency_s if 1 else 2",
                                        "f(1)", "True", "'text'"])
def test_claim_value_that_is_not_arithmetic(cli, write_spec, expression):
    text = GOOD_GROUP + CLAIM.replace('"VALUE"', repr(expression).replace("\\'", "'"))
    _run_bad(cli, write_spec, text, "claim 'a claim'", "not allowed")


def test_claim_value_naming_a_missing_metric(cli, write_spec):
    text = GOOD_GROUP + CLAIM.replace("VALUE", "no_such_metric * 2")
    _run_bad(cli, write_spec, text, "no_such_metric")


def test_claim_using_versus_without_a_versus_cell(cli, write_spec):
    text = GOOD_GROUP + CLAIM.replace("VALUE", "latency_s / versus.latency_s")
    _run_bad(cli, write_spec, text, "versus")


def test_claim_expression_error_names_the_line(cli, write_spec):
    text = GOOD_GROUP + CLAIM.replace("VALUE", "no_such_metric * 2")
    _run_bad(cli, write_spec, text, "no_such_metric", line_of="value =")


def test_claim_naming_a_group_that_does_not_exist(cli, write_spec):
    text = GOOD_GROUP + CLAIM.replace('group = "g"', 'group = "h"').replace("VALUE", "latency_s")
    _run_bad(cli, write_spec, text, "'h'", "not a group", line_of="cell =")


def test_misspelt_key_in_a_claim(cli, write_spec):
    text = GOOD_GROUP + CLAIM.replace("VALUE", "latency_s") + "tolerence = 0.1\n"
    _run_bad(cli, write_spec, text, "'tolerence'", "did you mean 'tolerance'", line_of="tolerence")


def test_claim_cell_with_a_misspelt_device(cli, write_spec):
    text = GOOD_GROUP + CLAIM.replace('device = "nvidia-h100-sxm5"', 'device = "nvidia-h100-sxm"').replace(
        "VALUE", "latency_s")
    _run_bad(cli, write_spec, text, "nvidia-h100-sxm5", line_of="cell =")


def test_model_file_no_plugin_reads(cli, write_spec):
    text = GOOD_GROUP.replace('"gemm-4096"', '"models/net.fake"')
    _run_bad(cli, write_spec, text, "models/net.fake", "no plugin", line_of="workloads =")


def test_model_file_that_does_not_exist(cli, write_spec):
    text = GOOD_GROUP.replace('"gemm-4096"', '"models/net.onnx"')
    assert_bad_input(cli("run", write_spec(text)), "models/net.onnx")


def test_model_file_that_does_not_exist_names_the_spec_line(cli, write_spec):
    text = GOOD_GROUP.replace('"gemm-4096"', '"models/net.onnx"')
    _run_bad(cli, write_spec, text, "models/net.onnx", line_of="workloads =")


def test_missing_spec_file(cli, tmp_path):
    missing = tmp_path / "nope.toml"
    assert_bad_input(cli("run", missing), str(missing), "cannot read")


def test_spec_that_is_a_directory(cli, tmp_path):
    assert_bad_input(cli("run", tmp_path), str(tmp_path))


def test_unknown_run_format(cli, write_spec):
    result = cli("run", write_spec(GOOD_GROUP), "--format", "yaml")
    assert_bad_input(result, "unknown format 'yaml'", "json")
    assert result.stdout == ""


def test_not_utf8_spec(cli, tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('title = "caf\xe9"\n'.encode("latin-1"))
    assert_bad_input(cli("run", path), str(path))


def test_deeply_nested_toml(cli, tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("title = " + "[" * 5000 + "\n", encoding="utf-8")
    assert_bad_input(cli("run", path), str(path))


# --- datasheet files (chipfit.datasheets.load_devices) -----------------------------------------

DATASHEET = """\
[[device]]
id = "acme-x1"
name = "Acme X1"
vendor = "Acme"
kind = "npu"
segment = "edge"
year = 2024
power_w = 10
memory_bandwidth_gb_s = 100
memory_capacity_gb = 8
capabilities = ["inference"]

[device.peak_tops]
int8 = 20
fp16 = 10

[device.sources]
power_w = "Acme X1 datasheet, p. 3"
"""


def _load(tmp_path, text: str):
    path = tmp_path / "devices.toml"
    path.write_text(text, encoding="utf-8")
    return path, load_devices(path)


def _bad_sheet(tmp_path, text: str, *fragments: str) -> SpecError:
    path = tmp_path / "devices.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_devices(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line is not None
    assert str(path) in str(error)
    for fragment in fragments:
        assert fragment in str(error)
    return error


def _sheet_line(text: str, needle: str, after: str = "") -> int:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(number for number, line in enumerate(lines, start=1) if number > start and needle in line)


def test_good_datasheet_is_read_in_si_units(tmp_path):
    _, [device] = _load(tmp_path, DATASHEET)
    assert device.id == "acme-x1"
    assert device.memory_bandwidth == 100e9
    assert device.memory_capacity == 8e9
    assert device.peak_ops["int8"] == 20e12
    assert device.citation("power") == "Acme X1 datasheet, p. 3"


def test_datasheet_negative_bandwidth(tmp_path):
    text = DATASHEET.replace("memory_bandwidth_gb_s = 100", "memory_bandwidth_gb_s = -100")
    error = _bad_sheet(tmp_path, text, "memory_bandwidth", "acme-x1")
    assert error.line == _sheet_line(text, "memory_bandwidth_gb_s")


def test_datasheet_unknown_precision_in_peak_tops(tmp_path):
    text = DATASHEET.replace("fp16 = 10", "fp16 = 10\nfp12 = 5")
    _bad_sheet(tmp_path, text, "fp12", "precision")


def test_datasheet_unknown_precision_points_at_its_line(tmp_path):
    text = DATASHEET.replace("fp16 = 10", "fp16 = 10\nfp12 = 5")
    error = _bad_sheet(tmp_path, text, "fp12")
    assert error.line == _sheet_line(text, "fp12")


def test_datasheet_missing_figure(tmp_path):
    text = DATASHEET + DATASHEET.replace('"acme-x1"', '"acme-x2"').replace("memory_bandwidth_gb_s = 100\n", "")
    error = _bad_sheet(tmp_path, text, "missing required key", "memory_bandwidth_gb_s", "device[1]")
    assert error.line == _sheet_line(text, "[[device]]", after='"acme-x1"')


def test_datasheet_unknown_key(tmp_path):
    text = DATASHEET.replace("year = 2024", "year = 2024\npower_watts = 10")
    error = _bad_sheet(tmp_path, text, "'power_watts'", "did you mean 'power_w'")
    assert error.line == _sheet_line(text, "power_watts")


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ('kind = "npu"', 'kind = "gpgpu"', ["gpgpu", "kind"]),
        ('capabilities = ["inference"]', 'capabilities = ["inferense"]', ["inferense", "capability"]),
        ('id = "acme-x1"', 'id = "Acme_X1"', ["kebab-case", "id"]),
        ('id = "acme-x1"', 'id = "other-x1"', ["vendor", "id"]),
        ("power_w = 10", "power_w = 0", ["power"]),
        ("int8 = 20", "int8 = -20", ["peak_ops.int8"]),
        ("memory_capacity_gb = 8", 'memory_capacity_gb = "8"', ["memory_capacity_gb", "number"]),
        ('capabilities = ["inference"]', 'capabilities = ["general-purpose"]', ["general_ops"]),
    ],
)
def test_datasheet_bad_figures(tmp_path, old, new, fragments):
    _bad_sheet(tmp_path, DATASHEET.replace(old, new), *fragments)


def test_datasheet_unknown_kind_points_at_its_line(tmp_path):
    text = DATASHEET.replace('kind = "npu"', 'kind = "gpgpu"')
    error = _bad_sheet(tmp_path, text, "gpgpu")
    assert error.line == _sheet_line(text, "kind =")
