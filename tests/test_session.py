"""The run session in the library (``chipfit.run.Session``): what a script gets is what ``chipfit run`` gets.

A script plans, runs, records in a store of its choosing and resumes, and its errors name the spec file and
line as the CLI's do.
"""

from __future__ import annotations

import json

import pytest

import chipfit
from chipfit import Device, Result
from chipfit.errors import ChipfitError, UnknownIdError
from chipfit.run import Session
from chipfit.store import Store
from support import TWO_GPUS, assert_bad_input

SPEC = """
title = "Scripted"
measure = ["script-npu"]

[[groups]]
id = "g"
devices = ["script-npu", "nvidia-l4"]
workloads = ["mobilenet-v2", "gemm-4096"]
"""


class ScriptNPU:
    """A measurable device whose measurements are counted; ``fail_on`` names a workload whose measurement fails."""

    def __init__(self) -> None:
        self.measured: list[str] = []
        self.fail_on: str | None = None

    @chipfit.hookimpl
    def chipfit_register_devices(self, register):
        register(Device(id="script-npu", name="Script NPU", vendor="Script", kind="npu", segment="edge",
                        peak_ops={"fp32": 1e12}, memory_bandwidth=50e9, memory_capacity=4e9, power=5.0, year=2025,
                        capabilities=["inference"], sources={"peak_ops": "made up"}, measurable=True))

    @chipfit.hookimpl
    def chipfit_measure(self, device, workload, scenario):
        if device.id != "script-npu":
            return None
        self.measured.append(workload.id)
        if workload.id == self.fail_on:
            raise RuntimeError("sensor unplugged")
        return Result(device.id, workload.id, scenario, "measured", "ok",
                      metrics={"latency_s": 0.002, "throughput_sps": 500.0})


@pytest.fixture
def npu(pm, register_plugin):
    return register_plugin(pm, ScriptNPU(), "script_npu")


@pytest.fixture
def session(pm, npu, tmp_path):
    from chipfit.catalogue import collect

    return Session(pm, collect(pm), store=tmp_path / "runs.sqlite", warn=pytest.fail)


def _cells(rows):
    return [(row.group, row.device, row.workload, str(row.source), str(row.status)) for row in rows]


def test_a_script_run_is_recorded_in_its_store(session, write_spec, tmp_path):
    outcome = session.run_file(write_spec(SPEC), command="my-script")
    assert outcome.saved is not None and outcome.saved.id == 1
    assert outcome.store == tmp_path / "runs.sqlite"
    with Store(tmp_path / "runs.sqlite") as store:
        [run] = store.runs()
        report = store.report("1")
    assert run.finished and run.command == "my-script" and run.measured == 2
    assert _cells(report.rows) == _cells(outcome.report.rows)
    assert [row.source for row in outcome.report.rows].count("measured") == 2
    assert outcome.finish() is outcome.saved  # finishing again saves nothing more


def test_a_resumed_script_run_measures_only_the_cells_it_lacks(session, npu, write_spec, tmp_path):
    spec = write_spec(SPEC)
    npu.fail_on = "gemm-4096"
    first = session.run_file(spec)
    assert [str(row.status) for row in first.report.rows if row.source == "measured"] == ["ok", "failed"]
    npu.fail_on = None
    again = session.run_file(spec, resume="latest")
    assert npu.measured == ["mobilenet-v2", "gemm-4096", "gemm-4096"]  # mobilenet-v2 kept, not measured again
    assert not again.report.failed and again.saved.id == first.saved.id  # the same run, carried on
    with Store(tmp_path / "runs.sqlite") as store:
        assert len(store.runs()) == 1
        assert not store.report("1").failed


def test_a_session_run_is_the_cli_run(session, cli, write_spec, tmp_path):
    spec = write_spec(TWO_GPUS)
    printed = cli("--store", tmp_path / "cli.sqlite", "-q", "run", spec, "--format", "json")
    assert printed.exit_code == 0, printed.output
    from_cli = json.loads(printed.stdout)["rows"]
    ours = session.run_file(spec).report.rows
    assert [(row["device"], row["workload"], row["source"], row["metrics"]) for row in from_cli] == \
        [(row.device, row.workload, str(row.source), json.loads(json.dumps(dict(row.metrics)))) for row in ours]


def test_an_unknown_id_names_the_file_and_line_as_the_cli_does(session, cli, write_spec, tmp_path):
    spec = write_spec(TWO_GPUS.replace('"amd-instinct-mi250x"', '"amd-instinct-mi250"'))
    with pytest.raises(UnknownIdError) as raised:
        session.run_file(spec)
    message = str(raised.value)
    assert f"{spec}, line 5: groups[0].devices[1]" in message and "amd-instinct-mi250x" in message
    assert_bad_input(cli("--store", tmp_path / "cli.sqlite", "run", spec), message)
    with Store(tmp_path / "runs.sqlite") as store:
        assert store.runs() == []  # a bad spec saves nothing


def test_plan_locates_a_bad_claim_before_anything_runs(session, npu, write_spec):
    spec = write_spec(SPEC + """
[[claims]]
text = "the NPU beats the L4"
cell = { group = "g", device = "script-npu", workload = "resnet-50" }
value = "latency_s"
""")
    from chipfit import spec as specs

    parsed, text = specs.load(spec)
    with pytest.raises(UnknownIdError, match=r"line 11: claims\[0\]\.cell\.workload"):
        session.plan(parsed, text=text, where=str(spec))
    assert npu.measured == []


def test_plan_resolves_every_cell(session, write_spec):
    from chipfit import spec as specs

    parsed, text = specs.load(write_spec(SPEC))
    planned = session.plan(parsed, text=text, where="spec.toml")
    assert [(cell.index, cell.ident, cell.workload.id) for cell in planned.cells] == [
        (0, "script-npu", "mobilenet-v2"), (1, "nvidia-l4", "mobilenet-v2"),
        (2, "script-npu", "gemm-4096"), (3, "nvidia-l4", "gemm-4096")]
    assert planned.absent == {}


def test_an_executor_named_by_the_spec_is_located(session, write_spec):
    spec = write_spec(SPEC.replace('measure = ["script-npu"]', 'measure = ["script-npu"]\nexecutor = "rai"'))
    with pytest.raises(UnknownIdError, match=r"spec\.toml, line 3: executor.*'rai'"):
        session.run_file(spec)


def test_a_bad_cell_timeout_is_bad_input(session, write_spec):
    with pytest.raises(ChipfitError, match="--cell-timeout must be > 0 seconds, got -1"):
        session.run_file(write_spec(SPEC), cell_timeout=-1)


def test_a_session_that_does_not_record_saves_nothing(pm, npu, write_spec, tmp_path):
    outcome = Session(pm, store=tmp_path / "runs.sqlite", record=False).run_file(write_spec(SPEC))
    assert outcome.saved is None and outcome.store is None and len(outcome.report.rows) == 6
    assert not (tmp_path / "runs.sqlite").exists()


def test_an_executor_that_fails_to_close_is_a_warning(pm, npu, write_spec, tmp_path, monkeypatch):
    from chipfit.executors import LocalExecutor

    def close(self):
        raise OSError("port busy")

    monkeypatch.setattr(LocalExecutor, "close", close)
    warned = []
    outcome = Session(pm, store=tmp_path / "runs.sqlite", warn=warned.append).run_file(write_spec(SPEC))
    assert warned == ["executor 'local' failed to close: OSError: port busy"]
    assert outcome.saved is not None and len(outcome.report.rows) == 6  # the rows are in all the same


def test_the_split_modules_keep_their_names_importable():
    from chipfit import diff, progress, runner, runs
    from chipfit.run import baselines, merge, plan, record

    assert runner.headline is baselines.headline and runner.with_baseline is baselines.with_baseline
    assert runner.complete_row is merge.complete_row and runner.with_model_error is merge.with_model_error
    assert runner.load_workload is plan.load_workload and runner.is_model_file is plan.is_model_file
    assert runs.Recorder is record.Recorder and runs.resumable is record.resumable
    assert runs.diff_reports is diff.diff_reports and runs.Progress is progress.Progress


def test_the_docs_example_runs_as_it_stands(tmp_path, monkeypatch):
    from support import ROOT, SEED_SPEC

    page = (ROOT / "docs" / "running.md").read_text(encoding="utf-8")
    example = page.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)  # its store is made here, never in the user's data folder
    printed = []
    monkeypatch.setattr("builtins.print", lambda *args: printed.append(" ".join(map(str, args))))
    exec(compile(example.replace("specs/seed-article.toml", str(SEED_SPEC)), "docs/running.md", "exec"), {})
    assert printed and printed[0].startswith("run 1: ")
    with Store(tmp_path / "my-runs.sqlite") as store:
        assert [run.id for run in store.runs()] == [1]  # resumed in place: still one run


def test_resuming_a_run_the_store_lacks_is_bad_input(session, write_spec):
    from chipfit.store import StoreError

    spec = write_spec(SPEC)
    session.run_file(spec)
    with pytest.raises(StoreError, match="no run '77'"):
        session.run_file(spec, resume="77")


def test_the_executor_is_closed_when_the_spec_turns_out_bad(pm, npu, write_spec, tmp_path, monkeypatch):
    from chipfit.executors import LocalExecutor

    closed = []
    monkeypatch.setattr(LocalExecutor, "close", lambda self: closed.append(self.name))
    spec = write_spec(SPEC.replace('"mobilenet-v2"', '"mobilenet-v9"'))
    with pytest.raises(UnknownIdError, match=r"spec\.toml, line 7: groups\[0\]\.workloads\[0\]"):
        Session(pm, store=tmp_path / "runs.sqlite").run_file(spec)
    assert closed == ["local"]
