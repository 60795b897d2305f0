"""Every run is kept: ``chipfit runs list | show | diff | export | import``, ``chipfit report --runs``, progress."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

import chipfit.runs
from chipfit.runs import Progress
from chipfit.store import default_path
from support import assert_bad_input, assert_clean

#: A device whose power comes from the environment: two runs with different power are one figure apart.
ACME = """
    import os

    import chipfit
    from chipfit import Device


    @chipfit.hookimpl
    def chipfit_register_devices(register):
        register(Device(
            id="acme-npu-1", name="ACME NPU 1", vendor="ACME", kind="npu", segment="edge",
            peak_ops={"int8": 50e12}, memory_bandwidth=100e9, memory_capacity=8e9,
            power=float(os.environ.get("ACME_POWER_W", "10")), year=2025, capabilities=["inference"],
        ))
"""

SPEC = """
    title = "ACME against the L4"
    baseline = "nvidia-l4"

    [[groups]]
    id = "detect"
    devices = ["acme-npu-1", "nvidia-l4"]
    workloads = ["yolov3-416"]
    scenario = "single-stream"
    precision = "int8"
    latency_target_ms = 40
"""


@pytest.fixture
def acme(plugin_module):
    return plugin_module("acme_power", ACME)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store of its own for each test (CHIPFIT_DATA_DIR is already a temporary folder; this names the file)."""
    path = tmp_path / "store" / "runs.sqlite"
    monkeypatch.setenv("CHIPFIT_STORE", str(path))
    return path


def _run(cli, acme, spec, *args):
    result = cli("-p", acme, "run", spec, "--format", "json", *args)
    assert_clean(result)
    assert result.exit_code == 0, result.output
    return result


def test_every_run_is_saved_in_the_data_dir_by_default(cli, write_spec, acme, monkeypatch):
    monkeypatch.delenv("CHIPFIT_STORE", raising=False)
    _run(cli, acme, write_spec(SPEC))
    assert default_path() == Path(os.environ["CHIPFIT_DATA_DIR"]) / "runs.sqlite"
    assert default_path().exists()
    listing = cli("runs", "list", "--format", "json")
    assert_clean(listing)
    [run] = json.loads(listing.stdout)
    assert run["command"].startswith("chipfit ") and " run " in run["command"] and run["rows"] == 2 and run["title"] == "ACME against the L4"


def test_diff_shows_the_one_figure_that_changed(cli, write_spec, acme, store, monkeypatch):
    spec = write_spec(SPEC)
    monkeypatch.setenv("ACME_POWER_W", "10")
    _run(cli, acme, spec)
    monkeypatch.setenv("ACME_POWER_W", "12")
    _run(cli, acme, spec)
    result = cli("runs", "diff", "1", "2")
    assert_clean(result)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    power = next(line for line in lines if " power_w " in line)
    # power_w is the modelled average power (idle + busy share of the rated 10 W, then 12 W): +20% too
    assert "acme-npu-1" in power and "+20.0%" in power
    assert power.rstrip().endswith("!")
    samples_per_j = next(line for line in lines if " samples_per_j " in line)
    assert "-16.7%" in samples_per_j and samples_per_j.rstrip().endswith("!")
    assert not any("nvidia-l4" in line for line in lines)  # nothing about the L4 changed
    assert not any(" latency_s " in line for line in lines)  # power does not change time
    assert "2 row(s) matched" in lines[0]

    loose = cli("runs", "diff", "1", "2", "--threshold", "25%")
    power = next(line for line in loose.stdout.splitlines() if " power_w " in line)
    assert "+20.0%" in power and not power.rstrip().endswith("!")

    data = json.loads(cli("runs", "diff", "1", "2", "--format", "json").stdout)
    change = next(c for c in data["changes"] if c["metric"] == "power_w")
    assert (change["device"], change["flagged"]) == ("acme-npu-1", True)
    assert change["after"] == pytest.approx(1.2 * change["before"])  # the average power scales with the rated
    assert change["relative"] == pytest.approx(0.2)
    assert data["only_a"] == data["only_b"] == []


def test_diff_lists_rows_only_in_one_run(cli, write_spec, acme, store):
    _run(cli, acme, write_spec(SPEC))
    _run(cli, acme, write_spec(SPEC.replace('"acme-npu-1", "nvidia-l4"', '"nvidia-l4", "hailo-hailo-8"'), "b.toml"))
    text = cli("runs", "diff", "1", "2").stdout
    assert "only in run 1:\n  detect  acme-npu-1 x yolov3-416" in text
    assert "only in run 2:\n  detect  hailo-hailo-8 x yolov3-416" in text


def test_bad_threshold_and_unknown_runs_are_bad_input(cli, write_spec, acme, store):
    _run(cli, acme, write_spec(SPEC))
    assert_bad_input(cli("runs", "diff", "1", "2"), "no run '2'", str(store))
    assert_bad_input(cli("runs", "diff", "1", "1", "--threshold", "lots"), "--threshold")


def test_show_prints_a_saved_run_in_any_format(cli, write_spec, acme, store):
    first = _run(cli, acme, write_spec(SPEC))
    shown = cli("-p", acme, "runs", "show", "latest", "--format", "json")
    assert_clean(shown)
    assert json.loads(shown.stdout) == json.loads(first.stdout)
    text = cli("-p", acme, "runs", "show", "1").stdout
    assert text.startswith("run 1 (") and " run " in text and "ACME against the L4" in text
    page = cli("-p", acme, "runs", "show", "1", "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>") and "ACME NPU 1" in page


def test_runs_list_without_a_store_says_so(cli, store):
    result = cli("runs", "list")
    assert_clean(result)
    assert result.exit_code == 0 and "no runs saved yet" in result.stdout and not store.exists()
    assert_bad_input(cli("runs", "show", "1"), "no results store here yet", str(store))


def test_export_import_and_report_merge_two_machines(cli, write_spec, acme, tmp_path, monkeypatch):
    here, there = tmp_path / "here.sqlite", tmp_path / "there.sqlite"
    spec = write_spec(SPEC)
    assert cli("-p", acme, "--store", there, "run", spec).exit_code == 0
    assert cli("-p", acme, "--store", here, "run", spec).exit_code == 0
    exported = tmp_path / "there.json"
    assert cli("--store", there, "runs", "export", "-o", exported).exit_code == 0
    imported = cli("--store", here, "runs", "import", exported)
    assert_clean(imported)
    assert "imported 1 run(s) as 2; 0 already here" in imported.stdout
    assert "imported 0 run(s); 1 already here" in cli("--store", here, "runs", "import", exported).stdout

    merged = cli("-p", acme, "--store", here, "report", "--runs", "1", "2", "--format", "json")
    assert_clean(merged)
    assert merged.exit_code == 0, merged.output
    report = json.loads(merged.stdout)
    assert len(report["rows"]) == 4
    # the same cells from two runs: the second run's group is kept apart, named after its run
    assert [row["group"] for row in report["rows"]] == ["detect", "detect", "detect@run2", "detect@run2"]
    assert [run["id"] for run in report["environment"]["runs"]] == [1, 2]
    titled = cli("-p", acme, "--store", here, "report", "--runs", "1", "2", "--title", "Both", "--format", "json")
    assert json.loads(titled.stdout)["title"] == "Both"
    assert_bad_input(cli("--store", here, "report", "1"), "--runs")


def test_import_of_a_file_that_is_not_json_names_the_line(cli, tmp_path, store):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "chipfit-runs",\n "runs": [}\n')
    assert_bad_input(cli("runs", "import", bad), "bad.json, line 2")


def test_a_store_that_fails_is_a_warning_by_default(cli, write_spec, acme, monkeypatch, tmp_path):
    monkeypatch.delenv("CHIPFIT_STORE", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("CHIPFIT_DATA_DIR", str(data))
    (data / "runs.sqlite").write_text("not a database")
    result = cli("-p", acme, "run", write_spec(SPEC), "--format", "csv")
    assert_clean(result)
    assert result.exit_code == 0
    assert "warning: run not saved" in result.stderr and str(data / "runs.sqlite") in result.stderr
    assert result.stdout.startswith("group,device")
    assert (data / "runs.sqlite").read_text() == "not a database"


def test_a_chosen_store_that_fails_is_an_error_before_anything_runs(cli, write_spec, acme, tmp_path):
    # rows are kept as they come, so a store that cannot keep them stops the run before it starts
    broken = tmp_path / "broken.sqlite"
    broken.write_text("not a database")
    result = cli("-p", acme, "--store", broken, "run", write_spec(SPEC), "--format", "csv")
    assert_bad_input(result, "run not saved", str(broken), "not a chipfit results store")
    assert result.stdout == ""
    assert broken.read_text() == "not a database"


class _Recorder:
    enabled = True

    def __init__(self):
        self.messages = []
        self.stopped = False

    def __call__(self, message):
        self.messages.append(message)

    def stop(self):
        self.stopped = True


FAKE_MEASURE = """
    import chipfit
    from chipfit import Result


    @chipfit.hookimpl(tryfirst=True)
    def chipfit_measure(device, workload, scenario, budget):
        return Result(device.id, workload.id, scenario, "measured", "ok",
                      {"latency_s": 0.002, "throughput_sps": 500.0}, plugin="fake_measure")
"""


def test_measure_is_saved_with_progress_for_each_measured_cell(cli, plugin_module, store, monkeypatch):
    recorders = []

    def for_stream(stream=None, *, quiet=False):
        recorders.append((_Recorder(), quiet))
        return recorders[-1][0]

    monkeypatch.setattr(chipfit.runs.Progress, "for_stream", staticmethod(for_stream))
    fake = plugin_module("fake_measure", FAKE_MEASURE)
    result = cli("-p", fake, "measure", "localhost-cpu", "mobilenet-v2", "resnet-50", "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    progress, quiet = recorders[0]
    assert not quiet and progress.stopped
    assert [m.split(" (")[0] for m in progress.messages] == ["measuring localhost-cpu x mobilenet-v2",
                                                           "measuring localhost-cpu x resnet-50"]
    [run] = json.loads(cli("runs", "list", "--format", "json").stdout)
    # the command as typed, options included
    assert run["command"].startswith("chipfit ") and run["command"].endswith(" measure --format json localhost-cpu "
                                                                             "mobilenet-v2 resnet-50")
    assert run["measured"] == 2
    cli("-q", "-p", fake, "measure", "localhost-cpu", "mobilenet-v2")
    assert recorders[-1][1] is True  # --quiet


def test_progress_shows_each_step_on_a_terminal():
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    progress = Progress(True, console=console)
    progress("measuring first")
    progress("measuring second")
    progress.stop()
    out = console.file.getvalue()
    assert "measuring first" in out and "measuring second" in out and "✓" in out


def test_progress_is_silent_off_a_terminal_and_with_quiet():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert Progress.for_stream(Terminal()).enabled
    assert not Progress.for_stream(Terminal(), quiet=True).enabled
    assert not Progress.for_stream(io.StringIO()).enabled
    silent = Progress(False)
    silent("nothing shows")
    silent.stop()
    assert silent._live is None
