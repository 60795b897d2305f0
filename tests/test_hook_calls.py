"""Hook calls go through pluggy (wrappers, old-style hookwrappers and monitoring all run) and keep
per-plugin blame: a plugin that raises anything, SystemExit and KeyboardInterrupt included, or that
never answers, costs only its own cells (chipfit.hookcall)."""

from __future__ import annotations

import json

import pytest

import chipfit
from chipfit import hookcall
from chipfit.cells import estimate_cell
from chipfit.records import Scenario, Status
from support import TWO_GPUS, assert_clean

SPEC = TWO_GPUS + "batch = 2\n"


def _rows(result) -> list[dict]:
    return json.loads(result.stdout)["rows"]


def test_a_third_party_wrapper_on_chipfit_estimate_sees_every_cell_of_a_run(cli, write_spec, plugin_module):
    name = plugin_module("estimate_wrapper", """
        import chipfit

        SEEN = []

        @chipfit.hookimpl(wrapper=True)
        def chipfit_estimate(device, workload, scenario):
            result = yield
            SEEN.append((device.id, workload.id, result.source if result is not None else None))
            return result
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    import importlib

    seen = importlib.import_module(name).SEEN
    cells = [(row["device"], row["workload"]) for row in _rows(result)]
    assert [(device, workload) for device, workload, _ in seen] == cells
    assert all(source == "modelled" for *_, source in seen)


def test_a_wrapper_may_change_the_answer(pm, catalogue):
    class Doubler:
        @chipfit.hookimpl(wrapper=True)
        def chipfit_estimate(self):
            result = yield
            return result.__class__(**{**{f: getattr(result, f) for f in ("device", "workload", "scenario",
                                                                            "source", "status")},
                                       "metrics": {**result.metrics, "latency_s": result.metrics["latency_s"] * 2,
                                                   "throughput_sps": result.metrics["throughput_sps"] / 2}})

    device, workload = catalogue.device("nvidia-h100-sxm5"), catalogue.workload("gemm-4096")
    before = estimate_cell(pm, device, workload, Scenario())
    pm.register(Doubler(), name="doubler")
    after = estimate_cell(pm, device, workload, Scenario())
    assert after.metrics["latency_s"] == pytest.approx(2 * before.metrics["latency_s"])
    assert after.plugin == before.plugin  # the answer is still the model's, as the wrapper was given it


def test_old_style_hookwrappers_and_monitoring_see_the_calls(pm, catalogue):
    seen, monitored = [], []

    class Old:
        @chipfit.hookimpl(hookwrapper=True)
        def chipfit_estimate(self, device):
            outcome = yield
            seen.append((device.id, outcome.get_result() is not None))

    pm.register(Old(), name="old-wrapper")
    undo = pm.add_hookcall_monitoring(lambda name, impls, kwargs: monitored.append(name),
                                      lambda outcome, name, impls, kwargs: None)
    try:
        row = estimate_cell(pm, catalogue.device("nvidia-h100-sxm5"), catalogue.workload("gemm-4096"), Scenario())
    finally:
        undo()
    assert row.ok
    assert seen == [("nvidia-h100-sxm5", True)]
    assert "chipfit_estimate" in monitored


def test_the_answering_plugin_is_named(pm, catalogue):
    result, plugin = hookcall.call_first(pm, "chipfit_estimate", device=catalogue.device("nvidia-h100-sxm5"),
                                         workload=catalogue.workload("gemm-4096"), scenario=Scenario())
    assert result.ok and plugin == "chipfit.roofline"


@pytest.mark.parametrize("raised", ["SystemExit(0)", "SystemExit(3)", "KeyboardInterrupt()", "GeneratorExit()",
                                    "RuntimeError('boom')"])
def test_a_plugin_raising_anything_in_chipfit_estimate_fails_only_its_cells(cli, write_spec, plugin_module, raised):
    name = plugin_module("exits_on_amd", f"""
        import chipfit

        @chipfit.hookimpl(tryfirst=True)
        def chipfit_estimate(device):
            if device.id.startswith("amd-"):
                raise {raised}
            return None
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "json")
    assert_clean(result)
    assert result.exit_code == 1, result.output  # a failed cell: exit 1, the report printed
    rows = {row["device"]: row for row in _rows(result)}
    assert rows["nvidia-h100-sxm5"]["status"] == "ok"
    failed = rows["amd-instinct-mi250x"]
    assert failed["status"] == "failed" and name in failed["reason"]
    assert raised.split("(")[0] in failed["reason"]


def test_a_wrapper_that_raises_is_blamed_for_the_cell(pm, catalogue):
    class Broken:
        @chipfit.hookimpl(wrapper=True)
        def chipfit_estimate(self):
            yield
            raise ValueError("wrapper bug")

    pm.register(Broken(), name="broken-wrapper")
    row = estimate_cell(pm, catalogue.device("nvidia-h100-sxm5"), catalogue.workload("gemm-4096"), Scenario())
    assert row.status is Status.FAILED
    assert "broken-wrapper" in row.reason and "wrapper bug" in row.reason


def test_an_estimate_that_never_returns_becomes_a_failed_row(cli, write_spec, plugin_module, monkeypatch):
    monkeypatch.setenv("CHIPFIT_ESTIMATE_TIME_LIMIT_S", "0.3")
    name = plugin_module("sleeps_forever", """
        import threading

        import chipfit

        @chipfit.hookimpl(tryfirst=True)
        def chipfit_estimate(device):
            if device.id.startswith("amd-"):
                threading.Event().wait()  # never set
            return None
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "json")
    assert_clean(result)
    assert result.exit_code == 1
    rows = {row["device"]: row for row in _rows(result)}
    assert rows["nvidia-h100-sxm5"]["status"] == "ok"
    assert rows["amd-instinct-mi250x"]["status"] == "failed"
    assert name in rows["amd-instinct-mi250x"]["reason"] and "0.3 s" in rows["amd-instinct-mi250x"]["reason"]


@pytest.fixture
def fresh_ctrl_c(monkeypatch):
    """Ctrl-C watching as a fresh process has it: Python's own SIGINT handler, nothing counted yet
    (whatever earlier tests in this process left), restored afterwards."""
    import signal

    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    monkeypatch.setattr(hookcall, "_ctrl_c", {"watching": False, "count": 0})
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("raised", ["SystemExit(0)", "RuntimeError('no datasheet today')", "KeyboardInterrupt()"])
def test_a_plugin_whose_register_devices_raises_loses_only_its_devices(cli, plugin_module, raised, fresh_ctrl_c):
    name = plugin_module("half_registered", f"""
        import chipfit
        from chipfit.testing import reference_device

        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(reference_device())  # registered, then the plugin fails: it is dropped too
            raise {raised}
    """)
    result = cli("-p", name, "devices", "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    ids = {row["id"] for row in json.loads(result.stdout)}
    assert "nvidia-h100-sxm5" in ids and "chipfit-reference-accelerator" not in ids
    assert f"plugin {name!r}" in result.stderr and "chipfit_register_devices" in result.stderr
    assert raised.split("(")[0] in result.stderr


def test_a_plugin_whose_register_devices_raises_does_not_stop_a_run(cli, write_spec, plugin_module):
    name = plugin_module("broken_registry", """
        import chipfit

        @chipfit.hookimpl
        def chipfit_register_devices(register):
            raise OSError("datasheet missing")
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    assert len(_rows(result)) == 2
    assert "broken_registry" in result.stderr


def test_a_real_ctrl_c_is_not_taken_for_a_plugin_error(pm, catalogue, fresh_ctrl_c):
    import os
    import signal
    import threading

    hookcall.watch_ctrl_c()
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler or threading.current_thread() \
            is not threading.main_thread():
        pytest.skip("cannot watch SIGINT here")

    class CtrlC:
        @chipfit.hookimpl
        def chipfit_register_workloads(self, register):
            os.kill(os.getpid(), signal.SIGINT)

    pm.register(CtrlC(), name="ctrl-c")
    from chipfit.catalogue import collect

    with pytest.raises(KeyboardInterrupt):
        collect(pm).workloads


def test_plugin_managers_compare_by_identity():
    from chipfit.plugins import get_plugin_manager

    first, second = get_plugin_manager(autoload=False), get_plugin_manager(autoload=False)
    assert first != second and first == first
    assert len({first, second}) == 2
