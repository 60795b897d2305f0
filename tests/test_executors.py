"""Executors: where measured cells run (``--executor``), rows kept as they complete, and resume."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipfit.store import SCHEMA_VERSION, Store
from chipfit.testing import ConformanceError, PluginTester
from support import assert_bad_input, assert_clean

#: A plugin with a device the driver knows but cannot measure, and an executor that reaches it on a
#: made-up node "far" (answering in reverse order) and says "@off" devices are switched off.
ELSEWHERE = """
    import attrs

    import chipfit
    from chipfit import Device, Result
    from chipfit.executors import ExecutorType

    DEVICE = Device(id="remote-npu", name="Remote NPU", vendor="Remote", kind="npu", segment="edge",
                    peak_ops={"fp32": 2e12}, memory_bandwidth=50e9, memory_capacity=4e9, power=5.0, year=2025,
                    capabilities=["inference"], sources={"peak_ops": "made up"})


    class Elsewhere:
        name = "elsewhere"

        def __init__(self, pm, catalogue, options):
            self.address = options.address

        def devices(self):
            return {"remote-npu@far": attrs.evolve(DEVICE, measurable=True)}  # placement name -> plain record

        def unreachable(self, ident):
            return "switched off" if ident.endswith("@off") else None

        def run(self, tasks, progress=None):
            for task in reversed(tasks):
                yield task, Result(task.device.id, task.workload.id, task.scenario, "measured", "ok",
                                   metrics={"latency_s": 0.01, "throughput_sps": 100.0},
                                   measurement={"node": {"node": "far", "host": "far.example"}})

        def environment(self):
            return {"nodes": {"far": {"host": "far.example", "address": self.address}}}

        def close(self):
            pass


    @chipfit.hookimpl
    def chipfit_register_devices(register):
        register(DEVICE)


    @chipfit.hookimpl
    def chipfit_register_executors(register):
        register(ExecutorType("elsewhere", Elsewhere, "a made-up far node"))
"""

FLEET_SPEC = """
    title = "Far and near"
    measure = ["remote-npu@far", "remote-npu@off"]

    [[groups]]
    id = "g"
    devices = ["remote-npu@far", "remote-npu@off", "nvidia-h100-sxm5"]
    workloads = ["gemm-4096", "resnet-50"]
"""


@pytest.fixture
def elsewhere(plugin_module):
    return plugin_module("elsewhere_executor", ELSEWHERE)


def _rows(result):
    assert_clean(result)
    return [(row["device"], row["workload"], row["source"], row["status"]) for row in json.loads(result.stdout)["rows"]]


def test_hook_chipfit_register_executors(cli, write_spec, elsewhere, catalogue):
    assert "local" in catalogue.executors  # the core's own
    result = cli("-p", elsewhere, "run", write_spec(FLEET_SPEC), "--executor", "elsewhere", "--address", "far:1",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # rows keep the spec's order although the executor answered in reverse
    assert _rows(result) == [
        ("remote-npu@far", "gemm-4096", "modelled", "ok"), ("remote-npu@far", "gemm-4096", "measured", "ok"),
        ("remote-npu@off", "gemm-4096", "modelled", "ok"), ("remote-npu@off", "gemm-4096", "measured", "unsupported"),
        ("nvidia-h100-sxm5", "gemm-4096", "modelled", "ok"),
        ("remote-npu@far", "resnet-50", "modelled", "ok"), ("remote-npu@far", "resnet-50", "measured", "ok"),
        ("remote-npu@off", "resnet-50", "modelled", "ok"), ("remote-npu@off", "resnet-50", "measured", "unsupported"),
        ("nvidia-h100-sxm5", "resnet-50", "modelled", "ok"),
    ]
    off = [row for row in report["rows"] if row["device"] == "remote-npu@off" and row["source"] == "measured"]
    assert all(row["reason"] == "switched off" for row in off)
    assert report["environment"]["executor"] == "elsewhere"
    assert report["environment"]["nodes"]["far"]["address"] == "far:1"
    far = next(row for row in report["rows"] if row["device"] == "remote-npu@far" and row["source"] == "measured")
    assert "model_error" in next(row for row in report["rows"] if row["device"] == "remote-npu@far")["metrics"]
    assert far["measurement"]["node"]["host"] == "far.example"
    text = cli("-p", elsewhere, "run", write_spec(FLEET_SPEC), "--executor", "elsewhere").stdout
    assert "measured on far (far.example)" in text  # the host of each measured row shows
    csv = cli("-p", elsewhere, "run", write_spec(FLEET_SPEC), "--executor", "elsewhere", "--format", "csv").stdout
    assert "measured_on" in csv.splitlines()[0] and "far (far.example)" in csv


def test_the_spec_can_name_the_executor(cli, write_spec, elsewhere):
    result = cli("-p", elsewhere, "run", write_spec('executor = "elsewhere"\n' + FLEET_SPEC.replace("\n    ", "\n")),
                 "--format", "json")
    assert ("remote-npu@far", "gemm-4096", "measured", "ok") in _rows(result)


def test_an_unknown_executor_is_bad_input_with_a_suggestion(cli, write_spec, elsewhere):
    assert_bad_input(cli("-p", elsewhere, "run", write_spec(FLEET_SPEC), "--executor", "elswhere"),
                     "unknown executor 'elswhere'", "did you mean 'elsewhere'")


def test_an_unknown_executor_in_a_spec_without_measured_cells_is_still_bad_input(cli, write_spec):
    spec = write_spec('title = "t"\nexecutor = "rai"\n[[groups]]\nid = "g"\ndevices = ["nvidia-h100-sxm5"]\n'
                      'workloads = ["gemm-4096"]\n')
    assert_bad_input(cli("run", spec), "unknown executor 'rai'", "did you mean 'ray'")


def test_a_device_the_local_executor_lacks_names_the_spec_line(cli, write_spec):
    spec = write_spec('title = "t"\nmeasure = ["nvidia-h100-sxm5"]\n[[groups]]\nid = "g"\n'
                      'devices = ["nvidia-h100-sxm5"]\nworkloads = ["gemm-4096"]\n')
    assert_bad_input(cli("run", spec), f"{spec}, line 2: measure[0]: nvidia-h100-sxm5 cannot be measured on this "
                                       "machine", "localhost-cpu")


def test_an_address_for_the_local_executor_is_bad_input(cli):
    assert_bad_input(cli("measure", "localhost-cpu", "gemm-4096", "--address", "head:6379"),
                     "--address head:6379", "local executor")


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_cell_timeout_must_be_positive(cli, value):
    assert_bad_input(cli("measure", "localhost-cpu", "gemm-4096", "--cell-timeout", value), "--cell-timeout must be > 0")


BROKEN = """
    import chipfit
    from chipfit.executors import ExecutorType, LocalExecutor

    class Broken(LocalExecutor):
        name = "broken"

        def __init__(self, pm, catalogue, options):
            if "{where}" == "open":
                raise ValueError("no wires")
            super().__init__(pm, catalogue, options)

        def devices(self):
            if "{where}" == "devices":
                raise RuntimeError("lost the list")
            return {{**super().devices(), **{{"localhost-cpu": super().devices()["localhost-cpu"]}}}}

        def run(self, tasks, progress=None):
            for index, task in enumerate(tasks):
                if "{where}" == "run" and index == 1:
                    raise OSError("link down")
                yield task, _row(task)

    def _row(task):
        from chipfit import Result
        return Result(task.device.id, task.workload.id, task.scenario, "measured", "ok",
                      metrics={{"latency_s": 0.5, "throughput_sps": 2.0}})

    @chipfit.hookimpl
    def chipfit_register_executors(register):
        register(ExecutorType("broken", Broken, "breaks in {where}"))
"""


@pytest.mark.parametrize("where, message", [
    ("open", "plugin 'broken_open': executor 'broken' failed to start: ValueError: no wires"),
    ("devices", "executor 'broken': devices() failed: RuntimeError: lost the list"),
])
def test_an_executor_that_breaks_before_running_is_an_error_naming_it(cli, plugin_module, where, message):
    name = plugin_module(f"broken_{where}", BROKEN.format(where=where))
    assert_bad_input(cli("-p", name, "measure", "localhost-cpu", "gemm-4096", "--executor", "broken"), message)


def test_an_executor_that_breaks_mid_run_costs_only_the_cells_it_had_not_finished(cli, plugin_module):
    name = plugin_module("broken_run", BROKEN.format(where="run"))
    result = cli("-p", name, "measure", "localhost-cpu", "gemm-4096", "mobilenet-v2", "resnet-50",
                 "--executor", "broken", "--format", "json")
    assert_clean(result)
    assert result.exit_code == 1
    measured = [row for row in json.loads(result.stdout)["rows"] if row["source"] == "measured"]
    assert [row["status"] for row in measured] == ["ok", "failed", "failed"]
    assert measured[1]["reason"] == "executor 'broken' failed: OSError: link down"
    assert len(json.loads(result.stdout)["rows"]) == 6  # every modelled row stands


# --- rows kept as they complete, and resume -------------------------------------------------------

#: A measurable device whose measurements are counted in a file, and which can take the driver down.
COUNTED = """
    import os
    from pathlib import Path

    import chipfit
    from chipfit import Device, Result

    @chipfit.hookimpl
    def chipfit_register_devices(register):
        register(Device(id="counted-npu", name="Counted NPU", vendor="Count", kind="npu", segment="edge",
                        peak_ops={"fp32": 1e12}, memory_bandwidth=50e9, memory_capacity=4e9, power=5.0, year=2025,
                        capabilities=["inference"], sources={"peak_ops": "made up"}, measurable=True))

    @chipfit.hookimpl
    def chipfit_measure(device, workload, scenario):
        if device.id != "counted-npu":
            return None
        log = Path(os.environ["COUNTED_LOG"])
        log.write_text(log.read_text() + workload.id + "\\n" if log.exists() else workload.id + "\\n")
        if workload.id == os.environ.get("COUNTED_DIE_ON"):
            raise SystemExit(9)  # the driver dies here: no report, no final save
        if workload.id == os.environ.get("COUNTED_FAIL_ON"):
            raise RuntimeError("sensor unplugged")
        return Result(device.id, workload.id, scenario, "measured", "ok",
                      metrics={"latency_s": 0.002, "throughput_sps": 500.0})
"""

COUNTED_SPEC = """
    title = "Counted"
    measure = ["counted-npu"]

    [[groups]]
    id = "g"
    devices = ["counted-npu", "nvidia-l4"]
    workloads = ["mobilenet-v2", "gemm-4096", "resnet-50"]
"""


@pytest.fixture
def counted(plugin_module, monkeypatch, tmp_path):
    log = tmp_path / "measured.log"
    monkeypatch.setenv("COUNTED_LOG", str(log))
    # A plugin's SystemExit only fails its cell (chipfit.hookcall); here it stands for the driver dying
    # (a kill, a power cut), so it is let through as a real Ctrl-C would be.
    from chipfit import hookcall

    real = hookcall._real_ctrl_c
    monkeypatch.setattr(hookcall, "_real_ctrl_c", lambda error, seen: isinstance(error, SystemExit) or real(error, seen))
    return plugin_module("counted_npu", COUNTED), log


def _measured(log):
    return log.read_text().split() if log.exists() else []


def _store_rows(run_id: int = 1):
    from chipfit.store import default_path

    with Store(default_path()) as store:
        return store.run(str(run_id)), store.report(str(run_id))


def test_rows_are_kept_as_they_complete_and_a_resumed_run_measures_only_what_it_lacks(cli, write_spec, counted,
                                                                                      monkeypatch):
    name, log = counted
    spec = write_spec(COUNTED_SPEC)
    monkeypatch.setenv("COUNTED_DIE_ON", "gemm-4096")
    died = cli("-p", name, "run", spec, "--format", "json")
    assert died.exit_code == 9 and died.stdout == ""
    run, report = _store_rows()
    assert not run.finished  # the driver died: the run stays unfinished with the rows it had
    assert [(row.device, row.workload, str(row.source)) for row in report.rows] == [
        ("counted-npu", "mobilenet-v2", "modelled"), ("nvidia-l4", "mobilenet-v2", "modelled"),
        ("counted-npu", "gemm-4096", "modelled"), ("nvidia-l4", "gemm-4096", "modelled"),
        ("counted-npu", "resnet-50", "modelled"), ("nvidia-l4", "resnet-50", "modelled"),
        ("counted-npu", "mobilenet-v2", "measured"),
    ]
    listed = cli("runs", "list")
    assert "(unfinished)" in listed.stdout
    assert json.loads(cli("runs", "list", "--format", "json").stdout)[0]["finished"] is False
    assert "unfinished: the run stopped (or is still running) with 7 row(s) kept" in cli("runs", "show", "1").stdout

    monkeypatch.delenv("COUNTED_DIE_ON")
    resumed = cli("-p", name, "run", spec, "--resume", "latest", "--format", "json")
    assert_clean(resumed)
    assert resumed.exit_code == 0, resumed.output
    assert _measured(log) == ["mobilenet-v2", "gemm-4096", "gemm-4096", "resnet-50"]  # mobilenet-v2 not again
    rows = json.loads(resumed.stdout)["rows"]
    assert [(row["device"], row["source"]) for row in rows if row["workload"] == "mobilenet-v2"] == [
        ("counted-npu", "modelled"), ("counted-npu", "measured"), ("nvidia-l4", "modelled")]
    assert all("model_error" in row["metrics"] for row in rows if row["device"] == "counted-npu"
               and row["source"] == "modelled")
    run, report = _store_rows()
    assert run.finished and len(report.rows) == 9  # the same run, finished, whole
    assert len(json.loads(cli("runs", "list", "--format", "json").stdout)) == 1


def test_resume_runs_failed_cells_again(cli, write_spec, counted, monkeypatch):
    name, log = counted
    spec = write_spec(COUNTED_SPEC)
    monkeypatch.setenv("COUNTED_FAIL_ON", "resnet-50")
    first = cli("-p", name, "run", spec)
    assert first.exit_code == 1, first.output
    monkeypatch.delenv("COUNTED_FAIL_ON")
    assert cli("-p", name, "run", spec, "--resume", "1").exit_code == 0
    assert _measured(log) == ["mobilenet-v2", "gemm-4096", "resnet-50", "resnet-50"]


def test_resume_of_a_run_of_another_spec_is_bad_input(cli, write_spec, counted):
    name, _ = counted
    assert cli("-p", name, "run", write_spec(COUNTED_SPEC)).exit_code == 0
    other = write_spec(COUNTED_SPEC.replace('"resnet-50"', '"gemm-8192"'), name="other.toml")
    assert_bad_input(cli("-p", name, "run", other, "--resume", "latest"), "run 1 was made from a different spec",
                     "groups")
    assert_bad_input(cli("-p", name, "run", other, "--resume", "77"), "no run '77'")


def test_a_version_1_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    with Store(path):
        pass
    with sqlite3.connect(path) as db:  # make it as version 1 wrote it
        db.execute("ALTER TABLE runs DROP COLUMN finished")
        db.execute("UPDATE schema_version SET version = 1")
        db.execute("INSERT INTO runs (uid, created, saved, command, title, host, interrupted, spec, environment, "
                   "report) VALUES ('abcd', 'c', 's', 'chipfit run x', 'old', 'h', 0, '{}', '{}', '{}')")
    with Store(path) as store:
        (run,) = store.runs()
        assert run.finished and run.title == "old"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


# --- node resources -------------------------------------------------------------------------------


def test_node_resources_prints_the_ray_start_json(cli, monkeypatch):
    monkeypatch.delenv("CHIPFIT_NODE", raising=False)
    result = cli("node-resources", "--node", "bench-1")
    assert_clean(result)
    assert json.loads(result.stdout) == {"chipfit-device:localhost-cpu": 1.0, "chipfit-node:bench-1": 1.0}
    monkeypatch.setenv("CHIPFIT_NODE", "from-env")
    assert "chipfit-node:from-env" in json.loads(cli("node-resources").stdout)
    text = cli("node-resources", "--format", "text").stdout
    assert "node from-env holds 1 measurable device(s): localhost-cpu" in text and "ray start" in text


def test_node_resources_bad_input(cli):
    assert_bad_input(cli("node-resources", "--node", "gpu server"), "node name 'gpu server'")
    assert_bad_input(cli("node-resources", "--device", "nvidia-h100-sxm5"),
                     "--device nvidia-h100-sxm5: this machine cannot measure it", "localhost-cpu")
    assert_bad_input(cli("node-resources", "--device", "localhost-cpx"), "did you mean 'localhost-cpu'")


def test_the_kit_checks_executors(plugin_module):
    PluginTester(module=plugin_module("elsewhere_kit", ELSEWHERE)).check_executors()
    bad = plugin_module("nameless_executor", ELSEWHERE.replace('"a made-up far node"', '""'))
    with pytest.raises(ConformanceError, match="executor 'elsewhere': no description"):
        PluginTester(module=bad).check_executors()


def test_the_ray_executor_without_ray_says_which_extra_to_install(cli, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as where it is not installed
    assert_bad_input(cli("measure", "localhost-cpu", "gemm-4096", "--executor", "ray", "--address", "head:6379"),
                     "the ray executor needs Ray: pip install 'chipfit[cluster]'")


def test_a_measured_row_with_a_scenario_that_is_not_one_fails_only_its_cell(cli, plugin_module, write_spec, counted):
    name = plugin_module("str_scenario", COUNTED.replace("Result(device.id, workload.id, scenario,",
                                                         "Result(device.id, workload.id, 'single-stream',"))
    result = cli("-p", name, "run", write_spec(COUNTED_SPEC), "--format", "json")
    assert_clean(result)
    assert result.exit_code == 1
    failed = [row for row in json.loads(result.stdout)["rows"] if row["status"] == "failed"]
    assert len(failed) == 3
    assert "scenario is a str, not a Scenario" in failed[0]["reason"]


def test_an_unfinished_run_stays_unfinished_through_export_and_import(cli, write_spec, counted, monkeypatch, tmp_path):
    name, _ = counted
    monkeypatch.setenv("COUNTED_DIE_ON", "gemm-4096")
    assert cli("-p", name, "run", write_spec(COUNTED_SPEC)).exit_code == 9
    exported = tmp_path / "runs.json"
    assert cli("runs", "export", "-o", exported).exit_code == 0
    other = tmp_path / "other.sqlite"
    assert cli("--store", other, "runs", "import", exported).exit_code == 0
    (run,) = json.loads(cli("--store", other, "runs", "list", "--format", "json").stdout)
    assert run["finished"] is False and run["rows"] == 7


def test_a_measured_offline_cell_is_modelled_at_the_measured_batch(cli, write_spec, counted):
    name, _ = counted
    spec = write_spec(COUNTED_SPEC.replace('workloads = ["mobilenet-v2", "gemm-4096", "resnet-50"]',
                                           'workloads = ["resnet-50"]\n    scenario = "offline"'))
    rows = json.loads(cli("-p", name, "run", spec, "--format", "json").stdout)["rows"]
    modelled = {row["device"]: row for row in rows if row["source"] != "measured"}
    assert modelled["counted-npu"]["scenario"]["batch"] == 1  # resnet-50's own batch, as measured
    assert "model_error" in modelled["counted-npu"]["metrics"]
    assert modelled["nvidia-l4"]["scenario"]["batch"] is None  # not measured: the best batch


#: An executor that misbehaves as ``MISBEHAVE`` says, for the checks the runner makes of its rows.
MISBEHAVING = """
    import os

    import chipfit
    from chipfit import Result
    from chipfit.executors import ExecutorType, LocalExecutor

    class Misbehaving(LocalExecutor):
        name = "misbehaving"

        def run(self, tasks, progress=None):
            how = os.environ["MISBEHAVE"]
            for task in tasks:
                if how == "silent":
                    continue
                source = "modelled" if how == "modelled" else "measured"
                device = "nvidia-h100-sxm5" if how == "other-cell" else task.device.id
                yield task, Result(device, task.workload.id, task.scenario, source, "ok",
                                   metrics={"latency_s": 0.5, "throughput_sps": 2.0})
                if how == "twice":
                    yield task, Result(task.device.id, task.workload.id, task.scenario, "measured", "ok",
                                       metrics={"latency_s": 9.0, "throughput_sps": 0.1})

        def environment(self):
            if os.environ["MISBEHAVE"] == "environment":
                raise RuntimeError("env broke")
            return {}

        def close(self):
            if os.environ["MISBEHAVE"] == "close":
                raise RuntimeError("stuck")

    @chipfit.hookimpl
    def chipfit_register_executors(register):
        register(ExecutorType("misbehaving", Misbehaving, "misbehaves on purpose"))
"""


@pytest.mark.parametrize("how, reason", [
    ("silent", "executor 'misbehaving' returned no row for it"),
    ("other-cell", "executor 'misbehaving' returned a result for nvidia-h100-sxm5 x gemm-4096"),
    ("modelled", "executor 'misbehaving' returned a modelled row where a measured one was asked for"),
])
def test_rows_an_executor_gets_wrong_fail_only_their_cells(cli, plugin_module, monkeypatch, how, reason):
    name = plugin_module(f"misbehaving_{how.replace('-', '_')}", MISBEHAVING)
    monkeypatch.setenv("MISBEHAVE", how)
    result = cli("-p", name, "measure", "localhost-cpu", "gemm-4096", "--executor", "misbehaving", "--format", "json")
    assert_clean(result)
    assert result.exit_code == 1
    rows = json.loads(result.stdout)["rows"]
    assert [(row["device"], row["source"], row["status"]) for row in rows] == [
        ("localhost-cpu", "calibrated" if rows[0]["source"] == "calibrated" else "modelled", "ok"),
        ("localhost-cpu", "measured", "failed")]
    assert rows[1]["reason"].startswith(reason)


def test_a_second_row_for_one_cell_is_not_placed(cli, plugin_module, monkeypatch):
    name = plugin_module("misbehaving_twice", MISBEHAVING)
    monkeypatch.setenv("MISBEHAVE", "twice")
    rows = json.loads(cli("-p", name, "measure", "localhost-cpu", "gemm-4096", "--executor", "misbehaving",
                          "--format", "json").stdout)["rows"]
    assert [row["metrics"]["latency_s"] for row in rows if row["source"] == "measured"] == [0.5]


def test_an_executor_whose_environment_raises_is_an_error_naming_it(cli, plugin_module, monkeypatch):
    name = plugin_module("misbehaving_env", MISBEHAVING)
    monkeypatch.setenv("MISBEHAVE", "environment")
    assert_bad_input(cli("-p", name, "measure", "localhost-cpu", "gemm-4096", "--executor", "misbehaving"),
                     "executor 'misbehaving': environment() failed: RuntimeError: env broke")


def test_an_executor_that_fails_to_close_is_a_warning_and_the_report_stands(cli, plugin_module, monkeypatch):
    name = plugin_module("misbehaving_close", MISBEHAVING)
    monkeypatch.setenv("MISBEHAVE", "close")
    result = cli("-p", name, "measure", "localhost-cpu", "gemm-4096", "--executor", "misbehaving")
    assert_clean(result)
    assert result.exit_code == 0
    assert "executor 'misbehaving' failed to close: RuntimeError: stuck" in result.stderr


def test_a_bad_claim_is_found_before_any_cell_is_measured(cli, write_spec, counted):
    name, log = counted
    spec = write_spec(COUNTED_SPEC + """
    [[claims]]
    text = "x"
    value = "latency_s"
    cell = { group = "g", device = "counted-npu", workload = "yolov3-416" }
    """)
    assert_bad_input(cli("-p", name, "run", spec), "claims[0].cell.workload", "unknown workload 'yolov3-416'")
    assert _measured(log) == []
    assert json.loads(cli("runs", "list", "--format", "json").stdout or "[]") == []  # nothing saved


def test_a_chosen_store_that_fails_mid_run_is_exit_2_after_the_report(cli, write_spec, counted, tmp_path):
    name, _ = counted
    store = tmp_path / "chosen.sqlite"
    with Store(store):
        pass
    with sqlite3.connect(store) as db:  # every row insert fails
        db.execute("CREATE TRIGGER no_rows BEFORE INSERT ON rows BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    result = cli("-p", name, "--store", store, "run", write_spec(COUNTED_SPEC), "--format", "csv")
    assert_bad_input(result, "run not saved", "disk says no")
    assert result.stdout.startswith("group,device")  # the report itself is out


def test_the_spec_address_of_the_local_executor_names_its_line(cli, write_spec):
    spec = write_spec('title = "t"\naddress = "head:6379"\nmeasure = ["localhost-cpu"]\n[[groups]]\nid = "g"\n'
                      'devices = ["localhost-cpu"]\nworkloads = ["gemm-4096"]\n')
    assert_bad_input(cli("run", spec), f"{spec}, line 2: address: --address head:6379")


def test_a_cell_timeout_for_the_local_executor_is_bad_input(cli):
    assert_bad_input(cli("measure", "localhost-cpu", "gemm-4096", "--cell-timeout", "5"), "--cell-timeout",
                     "local executor")


def test_resume_without_a_store_is_bad_input(cli, write_spec):
    assert_bad_input(cli("run", write_spec(COUNTED_SPEC.replace("counted-npu", "localhost-cpu")), "--resume", "1"),
                     "no results store here yet")


def test_a_resumed_run_gets_a_new_uid(cli, write_spec, counted, monkeypatch):
    name, _ = counted
    spec = write_spec(COUNTED_SPEC)
    monkeypatch.setenv("COUNTED_FAIL_ON", "resnet-50")
    cli("-p", name, "run", spec)
    before = json.loads(cli("runs", "list", "--format", "json").stdout)[0]["uid"]
    monkeypatch.delenv("COUNTED_FAIL_ON")
    cli("-p", name, "run", spec, "--resume", "latest")
    (after,) = json.loads(cli("runs", "list", "--format", "json").stdout)
    assert after["uid"] != before and after["failed"] == 0


def test_a_bad_chipfit_node_name_is_bad_input(cli, monkeypatch):
    monkeypatch.setenv("CHIPFIT_NODE", "my node")
    assert_bad_input(cli("node-resources"), "node name 'my node'")


def test_a_device_id_is_never_node_qualified(cli, plugin_module):
    name = plugin_module("at_node_device", ELSEWHERE.replace('id="remote-npu"', 'id="remote-npu@far"'))
    assert_bad_input(cli("-p", name, "devices"), "-p at_node_device", "field 'id' must be kebab-case",
                     "got 'remote-npu@far'", "ID@NODE names where a spec measures a device")


@pytest.mark.parametrize("name, device, node", [
    ("localhost-cpu@gpu-server", "localhost-cpu", "gpu-server"), ("nvidia-l4", "nvidia-l4", None),
    ("bench-c@node.lab_2", "bench-c", "node.lab_2"), ("odd@", "odd@", None), ("@far", "@far", None),
])
def test_a_placement_is_a_device_id_and_a_node(name, device, node):
    from chipfit.fleet import Placement

    placement = Placement.parse(name)
    assert (placement.device, placement.node) == (device, node)
    assert str(placement) == name and Placement.parse(str(placement)) == placement


@settings(max_examples=200, deadline=None)
@given(device=st.from_regex(r"[a-z0-9]+(-[a-z0-9]+){0,3}", fullmatch=True),
       node=st.none() | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True))
def test_a_placement_written_out_reads_back_as_itself(device, node):
    from chipfit.fleet import Placement

    placement = Placement(device, node)
    assert Placement.parse(str(placement)) == placement


def test_a_measure_task_is_placed_on_its_device_unless_told(catalogue):
    from chipfit.executors import MeasureTask
    from chipfit.fleet import Placement
    from chipfit.records import Scenario

    device, workload = catalogue.devices["localhost-cpu"], catalogue.workloads["gemm-4096"]
    plain = MeasureTask(0, "g", device, workload, Scenario("single-stream"), 1.0)
    assert plain.placement == Placement("localhost-cpu") and plain.name == "localhost-cpu"
    placed = MeasureTask(0, "g", device, workload, Scenario("single-stream"), 1.0,
                         placement=Placement("localhost-cpu", "jetson"))
    assert placed.name == "localhost-cpu@jetson" and placed.device.id == "localhost-cpu"


def test_the_html_report_names_the_node_of_a_measured_row(cli, write_spec, elsewhere):
    page = cli("-p", elsewhere, "run", write_spec(FLEET_SPEC), "--executor", "elsewhere", "--format", "html").stdout
    assert "measured on far (far.example)" in page


def test_measure_resumes_too(cli, counted, monkeypatch):
    name, log = counted
    monkeypatch.setenv("COUNTED_FAIL_ON", "resnet-50")
    assert cli("-p", name, "measure", "counted-npu", "gemm-4096", "resnet-50").exit_code == 1
    monkeypatch.delenv("COUNTED_FAIL_ON")
    result = cli("-p", name, "measure", "counted-npu", "gemm-4096", "resnet-50", "--resume", "latest")
    assert result.exit_code == 0, result.output
    assert _measured(log) == ["gemm-4096", "resnet-50", "resnet-50"]
