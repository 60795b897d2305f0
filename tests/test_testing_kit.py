"""The conformance kit (chipfit.testing): it passes every in-tree plugin and the example plugin, and
fails, naming the plugin and what is wrong, for each kind of broken plugin an author could write."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap

import attrs
import pytest

import chipfit
from chipfit import Scenario, model
from chipfit.catalogue import call_first
from chipfit.testing import (
    REFERENCE_DEVICE_ID,
    ConformanceError,
    PluginTester,
    check_plugin,
    check_result,
    check_workload,
    make_importable,
)
from support import ROOT, assert_clean

from conftest import IN_TREE_PLUGINS

EXAMPLE = ROOT / "examples" / "chipfit-example-vendor"

GOOD_DEVICE = """
import chipfit
from chipfit import Device

SOURCE = "ACME NPU 1 datasheet rev 2, table 1"


def acme(**changes):
    figures = dict(
        id="acme-npu-1", name="ACME NPU 1", vendor="ACME", kind="npu", segment="edge",
        peak_ops={"int8": 50e12, "fp16": 25e12}, memory_bandwidth=100e9, memory_capacity=8e9, power=10.0,
        year=2025, capabilities=["inference"],
        sources={field: SOURCE for field in ("peak_ops", "memory_bandwidth", "memory_capacity", "power", "year")},
    )
    figures.update(changes)
    return Device(**figures)
"""


@pytest.fixture
def plugin_source(plugin_module):
    """Write a plugin module (dedented, after GOOD_DEVICE) and make it importable; returns its name."""
    return lambda name, source: plugin_module(name, textwrap.dedent(GOOD_DEVICE) + textwrap.dedent(source))


def _problems(error: pytest.ExceptionInfo) -> str:
    return str(error.value)


# --- the kit passes good plugins -------------------------------------------------------------


@pytest.mark.parametrize("name", IN_TREE_PLUGINS)
def test_every_in_tree_plugin_passes_the_kit(name):
    PluginTester(name).check_all()


def test_a_good_third_party_plugin_passes(plugin_source):
    name = plugin_source("acme_good", """
        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(acme())
    """)
    tester = PluginTester(module=name)
    tester.check_all()
    assert [device.id for device in tester.devices()] == ["acme-npu-1"]
    rows = [row for row in tester.run().rows if row.device == "acme-npu-1"]
    assert {str(row.scenario.precision) for row in rows} >= {"int8", "fp16"}
    assert all(row.ok for row in rows)


def test_check_plugin_is_check_all_in_one_call(plugin_source):
    name = plugin_source("acme_uncited", """
        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(acme(sources={}))
    """)
    with pytest.raises(ConformanceError, match="has no source"):
        check_plugin(name, module=name)


def test_the_kit_leaves_the_plugin_switches_as_it_found_them(monkeypatch):
    monkeypatch.setenv("CHIPFIT_LOAD_PLUGINS", "nvidia")
    monkeypatch.setenv("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD", "1")
    PluginTester("gemm").pm  # noqa: B018
    assert os.environ["CHIPFIT_LOAD_PLUGINS"] == "nvidia"
    assert os.environ["CHIPFIT_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    assert "CHIPFIT_STRICT_PLUGINS" not in os.environ


def test_the_kit_loads_only_the_plugin_under_test():
    tester = PluginTester("gemm")
    names = {name for name, _ in tester.pm.list_name_plugin()}
    assert "gemm" in names and "nvidia" not in names
    assert set(tester.catalogue.devices) == {REFERENCE_DEVICE_ID}


def test_importing_chipfit_does_not_import_the_kit():
    code = "import sys, chipfit, chipfit.cli, chipfit.plugins; print('chipfit.testing' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- the kit names the plugin and what is wrong -----------------------------------------------


def test_missing_entry_point_is_named_with_the_installed_ones():
    with pytest.raises(ConformanceError) as error:
        PluginTester("nvidai").check_all()
    message = _problems(error)
    assert "plugin 'nvidai'" in message
    assert "no entry point named 'nvidai'" in message
    assert "did you mean 'nvidia'" in message


def test_misspelt_hook_name(plugin_source):
    name = plugin_source("acme_misspelt", """
        @chipfit.hookimpl
        def chipfit_register_device(register):
            register(acme())
    """)
    with pytest.raises(ConformanceError) as error:
        PluginTester(module=name).check_all()
    message = _problems(error)
    assert f"plugin {name!r}" in message
    assert "unknown hook 'chipfit_register_device'" in message
    assert "did you mean 'chipfit_register_devices'" in message


def test_misspelt_hook_argument(plugin_source):
    name = plugin_source("acme_misspelt_argument", """
        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenaro):
            return None
    """)
    with pytest.raises(ConformanceError) as error:
        PluginTester(module=name).check_hooks()
    message = _problems(error)
    assert f"plugin {name!r}" in message
    assert "'scenaro'" in message and "did you mean 'scenario'?" in message


def test_misspelt_hook_name_through_a_real_entry_point(tmp_path, monkeypatch):
    project = tmp_path / "chipfit-typo"
    (project / "chipfit_typo").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "chipfit-typo"\nversion = "0.1"\n[project.entry-points.chipfit]\ntypo = "chipfit_typo"\n')
    (project / "chipfit_typo" / "__init__.py").write_text(
        "import chipfit\n\n@chipfit.hookimpl\ndef chipfit_estimates(device, workload, scenario):\n    return None\n")
    for path in make_importable(project, tmp_path / "site"):
        monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    try:
        with pytest.raises(ConformanceError) as error:
            PluginTester("typo").check_all()
    finally:
        sys.modules.pop("chipfit_typo", None)
    assert "plugin 'typo'" in _problems(error)
    assert "did you mean 'chipfit_estimate'" in _problems(error)


def test_argument_with_a_default_is_never_passed(plugin_source):
    name = plugin_source("acme_default", """
        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenario=None):
            return None
    """)
    with pytest.raises(ConformanceError, match="argument 'scenario' has a default, so pluggy never passes it"):
        PluginTester(module=name).check_hooks()


def test_hook_function_without_hookimpl_is_never_called(plugin_source):
    name = plugin_source("acme_undecorated", """
        def chipfit_register_devices(register):
            register(acme())

        @chipfit.hookimpl
        def chipfit_register_workloads(register):
            pass
    """)
    with pytest.raises(ConformanceError, match="chipfit_register_devices is not decorated with @chipfit.hookimpl"):
        PluginTester(module=name).check_hooks()


def test_a_plugin_with_no_hooks(plugin_source):
    name = plugin_source("acme_nothing", "")
    with pytest.raises(ConformanceError, match="implements no chipfit hook"):
        PluginTester(module=name).check_hooks()


def test_record_missing_a_citation(plugin_source):
    name = plugin_source("acme_uncited_power", """
        @chipfit.hookimpl
        def chipfit_register_devices(register):
            device = acme()
            register(acme(sources={key: text for key, text in device.sources.items() if key != "power"}))
    """)
    with pytest.raises(ConformanceError) as error:
        PluginTester(module=name).check_all()
    message = _problems(error)
    assert f"plugin {name!r} fails 1 conformance check:" in message
    assert "device 'acme-npu-1': power: has no source and no derivation" in message


def test_sparse_figure_given_as_dense(plugin_source):
    name = plugin_source("acme_sparse_as_dense", """
        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(acme(peak_ops={"int8": 100e12}, sparse_peak_ops={"int8": 100e12}))
    """)
    with pytest.raises(ConformanceError) as error:
        PluginTester(module=name).check_devices()
    message = _problems(error)
    assert f"plugin {name!r}" in message
    assert "device 'acme-npu-1': peak_ops.int8: dense equals sparse" in message


def test_figure_in_the_wrong_unit(plugin_source):
    name = plugin_source("acme_gigabytes", """
        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(acme(memory_bandwidth=100.0))  # GB/s given where bytes/s are meant
    """)
    with pytest.raises(ConformanceError, match="memory_bandwidth: 100 is outside the plausible range"):
        PluginTester(module=name).check_devices()


def test_record_failing_validation_names_the_plugin_and_field(plugin_source):
    name = plugin_source("acme_negative", """
        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(acme(power=-5.0))
    """)
    with pytest.raises(ConformanceError) as error:
        PluginTester(module=name).check_all()
    assert f"plugin {name!r}" in _problems(error)
    assert "'power'" in _problems(error)


def test_workload_without_a_cited_cost(plugin_source):
    name = plugin_source("acme_workload", """
        from chipfit import Operator, Workload

        @chipfit.hookimpl
        def chipfit_register_workloads(register):
            register(Workload(id="acme-net", name="Acme net", domain="test", phase="inference",
                              operators=(Operator("MatMul", 2e9, weight_bytes=4e6, activation_bytes=1e5),),
                              parameters=1e6))
    """)
    with pytest.raises(ConformanceError, match="workload 'acme-net': its cost has no source and no derivation"):
        PluginTester(module=name).check_workloads()


def test_check_workload_catches_weights_in_the_wrong_unit():
    workload = chipfit.Workload(id="w", name="w", domain="test", phase="inference", parameters=1e6,
                                operators=(chipfit.Operator("MatMul", 2e6, weight_bytes=4.0),),  # 4 MB written as 4
                                derivations={"ops_per_sample": "2 x 1e6"})
    [problem] = check_workload(workload)
    assert "weight_bytes 4 is" in problem and "another unit or precision" in problem


# --- estimates: well formed and consistent ----------------------------------------------------

BAD_ESTIMATE = """
import attrs
from chipfit import model

@chipfit.hookimpl
def chipfit_register_devices(register):
    register(acme())

@chipfit.hookimpl
def chipfit_estimate(device, workload, scenario):
    if device.id != "acme-npu-1":
        return None
    result = model.estimate(device, workload, scenario)
    if not result.ok:
        return result
    metrics = dict(result.metrics)
    {change}
    return attrs.evolve(result, metrics=metrics)
"""


@pytest.mark.parametrize(("change", "words"), [
    ('metrics["throughput_sps"] *= 2', "throughput_sps"),
    ('metrics["latency_s"] *= 1000  # milliseconds', "throughput_sps"),
    ('metrics["energy_per_sample_j"] = metrics["power_w"] * metrics["latency_s"] * 3',
     "energy_per_sample_j"),
    ('metrics["utilization"] = 1.5', "utilization 1.5 is above 1"),
    ('metrics["latency_s"] = float("nan")', "latency_s = nan is not finite"),
])
def test_estimate_inconsistent_with_itself(plugin_source, change, words):
    name = plugin_source(f"acme_bad_estimate_{abs(hash(change))}", BAD_ESTIMATE.format(change=change))
    with pytest.raises(ConformanceError) as error:
        PluginTester(module=name).check_estimates()
    message = _problems(error)
    assert f"plugin {name!r}" in message
    assert "chipfit_estimate(acme-npu-1, " in message
    assert words in message


def test_estimate_answering_for_other_vendors_devices(plugin_source):
    name = plugin_source("acme_greedy", """
        from chipfit import model

        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(acme())

        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenario):
            return model.estimate(device, workload, scenario)
    """)
    with pytest.raises(ConformanceError, match=f"chipfit_estimate\\({REFERENCE_DEVICE_ID}, .*not the plugin's own"):
        PluginTester(module=name).check_estimates()
    PluginTester(module=name, answers_for_others=True).check_estimates()


@pytest.mark.parametrize(("body", "words"), [
    ('raise RuntimeError("model not ready")', "raised RuntimeError: model not ready"),
    ('return chipfit.Result(device.id, workload.id, scenario, "modelled", "failed", reason="x")',
     "status is 'failed'"),
    ('return chipfit.Result(device.id, workload.id, scenario, "modelled", "unsupported")', "there is no reason"),
    ('return {"latency_s": 1.0}', "returned a dict, not a chipfit.Result"),
    ('return chipfit.Result(device.id, workload.id, chipfit.Scenario("offline"), "modelled", "unsupported", '
     'reason="x")', "is not the one asked for"),
])
def test_estimate_malformed(plugin_source, body, words):
    name = plugin_source(f"acme_malformed_{abs(hash(body))}", f"""
        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(acme())

        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenario):
            if device.id == "acme-npu-1":
                {body}
    """)
    with pytest.raises(ConformanceError, match=words.replace("(", r"\(").replace(")", r"\)")):
        PluginTester(module=name).check_estimates()


def _roofline_row(catalogue, device="nvidia-h100-sxm5", workload="gemm-4096", **scenario):
    device, workload = catalogue.device(device), catalogue.workload(workload)
    scenario = Scenario(**scenario)
    return model.estimate(device, workload, scenario), device, workload, scenario


@pytest.mark.parametrize(("device", "workload", "scenario"), [
    ("nvidia-h100-sxm5", "gemm-4096", {"kind": "single-stream", "latency_target": 1e-3}),
    ("nvidia-h100-sxm5", "resnet-50", {"kind": "offline"}),
    ("amd-instinct-mi300x", "bert-base-128", {"kind": "server", "latency_target": 5e-3}),
    ("nvidia-a100-sxm4-80gb", "resnet-50-imagenet-train", {"kind": "training", "count": 8}),
    ("intel-core-i5-12600k", "linux-kernel-compile", {"kind": "single-stream"}),
    ("google-coral-edge-tpu", "mobilenet-v2", {"kind": "offline", "batch": 4, "precision": "int8"}),
])
def test_the_roofline_obeys_every_law_of_check_result(catalogue, device, workload, scenario):
    result, device, workload, scenario = _roofline_row(catalogue, device, workload, **scenario)
    assert result.ok
    assert check_result(result, device, workload, scenario) == []


@pytest.mark.parametrize(("change", "words"), [
    ({"throughput_sps": 1.0}, "throughput_sps 1 is not batch x replicas / latency_s"),
    ({"energy_per_sample_j": 1.0}, "energy_per_sample_j 1 is not power_w / throughput_sps"),
    ({"samples_per_j": 1.0}, "samples_per_j 1 is not throughput_sps / power_w"),
    ({"power_w": None}, "energy_per_sample_j is"),
    ({"ops_available_per_s": 1e20}, "ops_available_per_s 1e+20 is not ops_total x batch x replicas / latency_s"),
    ({"meets_target": False}, "meets_target is False but"),
    ({"batch": 2}, "single-stream is one sample at a time, but batch is 2"),
    ({"bound": "network"}, "bound is 'network'"),
    ({"latency_s": -1.0}, "metric latency_s = -1 is negative"),
    ({"Latency": 1.0}, "metric key 'Latency' is not snake_case"),
    ({"latency_s": [1.0]}, "metric latency_s is a list"),
])
def test_check_result_names_each_broken_law(catalogue, change, words):
    result, device, workload, scenario = _roofline_row(catalogue, latency_target=1.0)
    broken = attrs.evolve(result, metrics={**result.metrics, **change})
    problems = check_result(broken, device, workload, scenario)
    assert any(words in problem for problem in problems), problems


def test_check_result_checks_training_time_and_energy(catalogue):
    result, device, workload, scenario = _roofline_row(catalogue, "nvidia-a100-sxm4-80gb",
                                                       "resnet-50-imagenet-train", kind="training", count=8)
    for key in ("time_to_train_s", "energy_j"):
        broken = attrs.evolve(result, metrics={**result.metrics, key: result.metrics[key] * 2})
        assert any(problem.startswith(key) for problem in check_result(broken, device, workload, scenario)), key


def test_check_result_wants_the_right_cell_and_source(catalogue):
    result, device, workload, scenario = _roofline_row(catalogue)
    other = attrs.evolve(result, device="amd-instinct-mi250x")
    assert any("not nvidia-h100-sxm5 x gemm-4096" in p for p in check_result(other, device, workload, scenario))
    measured = attrs.evolve(result, source="measured", metrics={**result.metrics, "power_w": device.power})
    assert any("a chipfit_estimate result is" in p for p in check_result(measured, device, workload, scenario))
    calibrated = attrs.evolve(result, source="calibrated")
    assert check_result(calibrated, device, workload, scenario) == []
    assert any("'measured'" in p for p in check_result(calibrated, device, workload, scenario, hook="chipfit_measure"))


def test_measured_row_must_not_copy_the_datasheet_power(catalogue):
    result, device, workload, scenario = _roofline_row(catalogue)
    measured = attrs.evolve(result, source="measured", metrics={**result.metrics, "power_w": device.power})
    problems = check_result(measured, device, workload, scenario, hook="chipfit_measure")
    assert any("power_w is the datasheet power" in problem for problem in problems)


# --- measurements, model files, runs ----------------------------------------------------------


MEASURE = """
from chipfit import Result

@chipfit.hookimpl
def chipfit_register_devices(register):
    register(acme(measurable=True))

@chipfit.hookimpl
def chipfit_measure(device, workload, scenario, budget):
    if {condition}:
        return None
    latency = 2e-3
    return Result(device.id, workload.id, scenario, "measured", "ok",
                  {{"latency_s": latency, "throughput_sps": 1 / latency, "batch": 1, "power_w": {power}}})
"""


def test_a_sound_measurement_plugin_passes(plugin_source):
    name = plugin_source("acme_measures", MEASURE.format(condition='device.id != "acme-npu-1"', power="None"))
    PluginTester(module=name).check_measurements(budget=0.1)


def test_measurement_answering_for_a_device_not_on_this_machine(plugin_source):
    name = plugin_source("acme_measures_all", MEASURE.format(condition="False", power="None"))
    with pytest.raises(ConformanceError, match=f"chipfit_measure\\({REFERENCE_DEVICE_ID}.*not on this machine"):
        PluginTester(module=name).check_all()


def test_measurement_with_datasheet_energy(plugin_source):
    name = plugin_source("acme_measures_power", MEASURE.format(condition='device.id != "acme-npu-1"',
                                                               power="device.power"))
    with pytest.raises(ConformanceError, match="power_w is the datasheet power"):
        PluginTester(module=name).check_measurements()
    PluginTester(module=name).check_measurements(measure=False)  # the probe alone measures nothing


def test_model_file_reader_that_claims_every_file(plugin_source, tmp_path):
    name = plugin_source("acme_reads_everything", """
        from chipfit import Operator, Workload

        @chipfit.hookimpl
        def chipfit_load_workload(source, dims):
            return Workload(id="from-file", name="from a file", domain="test", phase="inference",
                            operators=(Operator("MatMul", 1e6),), sources={"operators": source})
    """)
    with pytest.raises(ConformanceError, match="returned a workload for a file of an unknown format"):
        PluginTester(module=name).check_load_workload()


def test_model_file_reader_that_crashes_on_other_formats(plugin_source):
    name = plugin_source("acme_reader_crashes", """
        import json
        from pathlib import Path

        @chipfit.hookimpl
        def chipfit_load_workload(source, dims):
            return json.loads(Path(source).read_text())
    """)
    with pytest.raises(ConformanceError, match="raised JSONDecodeError for a format it does not read"):
        PluginTester(module=name).check_load_workload()


def test_onnx_reader_passes_on_a_real_model(tmp_path):
    import onnx
    from chipfit_onnx.models import gemm

    path = tmp_path / "gemm.onnx"
    onnx.save(gemm(256), str(path))
    PluginTester("onnx").check_load_workload([str(path)])


def test_renderer_that_raises_fails_the_run(plugin_source):
    name = plugin_source("acme_renderer", """
        from chipfit.render import Renderer

        def broken(report):
            raise KeyError("rows")

        @chipfit.hookimpl
        def chipfit_register_renderers(register):
            register(Renderer("broken", broken, "txt"))
    """)
    with pytest.raises(ConformanceError, match=f"renderer 'broken' \\(plugin '{name}'\\) raised KeyError"):
        PluginTester(module=name).check_run()


def test_metric_that_raises_fails_the_run(plugin_source):
    name = plugin_source("acme_metric", """
        from chipfit.metrics import DerivedMetric

        @chipfit.hookimpl
        def chipfit_register_metrics(register):
            register(DerivedMetric("broken_per_s", "1/s", True, lambda metrics: 1 / 0))
    """)
    with pytest.raises(ConformanceError, match=f"failed: plugin '{name}'.*broken_per_s.*ZeroDivisionError"):
        PluginTester(module=name).check_run()


def test_device_that_can_run_nothing_is_named(plugin_source):
    name = plugin_source("acme_tiny", """
        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(acme(memory_capacity=2e5, unusual=["memory_capacity"]))  # 200 kB: no room for 1 MB of weights
    """)
    with pytest.raises(ConformanceError, match="device 'acme-npu-1': no cell of the conformance run is ok"):
        PluginTester(module=name).check_run()


# --- the example third-party plugin, end to end ------------------------------------------------


@pytest.fixture
def example(tmp_path, monkeypatch):
    """The example plugin made importable with its entry point (no pip), and allowed to load."""
    paths = make_importable(EXAMPLE, tmp_path / "site")
    for path in paths:
        monkeypatch.syspath_prepend(str(path))
    monkeypatch.setenv("CHIPFIT_LOAD_PLUGINS", ",".join([*IN_TREE_PLUGINS, "example"]))
    importlib.invalidate_caches()
    try:
        yield paths
    finally:
        for module in [name for name in sys.modules if name.startswith("chipfit_example_vendor")]:
            sys.modules.pop(module)


def test_example_plugin_own_tests_pass(example):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHIPFIT_")
           or key in ("CHIPFIT_CACHE_DIR", "CHIPFIT_DATA_DIR")}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, example), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=EXAMPLE, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_example_plugin_passes_the_kit(example):
    PluginTester("example").check_all()


def test_example_plugin_in_plugins_devices_workloads_and_a_run(example, cli, write_spec):
    plugins = {row["name"]: row for row in json.loads(cli("plugins", "--format", "json").stdout)}
    assert plugins["example"]["distribution"] == "chipfit-example-vendor"
    assert plugins["example"]["hooks"] == ["chipfit_estimate", "chipfit_register_devices",
                                           "chipfit_register_workloads"]
    devices = cli("devices")
    assert_clean(devices)
    assert "tenstorrent-wormhole-n150s" in devices.stdout
    assert "llama-3-8b-ffn-token" in cli("workloads").stdout
    assert_clean(check := cli("check"))
    assert check.exit_code == 0, check.output
    spec = write_spec("""
        title = "decode"
        [[groups]]
        id = "ffn"
        devices = ["tenstorrent-wormhole-n150s", "nvidia-l4"]
        workloads = ["llama-3-8b-ffn-token"]
        scenario = "single-stream"
    """)
    result = cli("run", spec, "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    rows = {row["device"]: row for row in json.loads(result.stdout)["rows"]}
    assert rows["tenstorrent-wormhole-n150s"]["plugin"] == "example"  # the vendor's model answered first
    assert rows["nvidia-l4"]["plugin"] == "chipfit.roofline"
    assert any("host" in line for line in rows["tenstorrent-wormhole-n150s"]["explain"])


def test_example_vendor_model_adds_the_published_host_time(example):
    from chipfit_example_vendor.model import HOST_OVERHEAD_S

    tester = PluginTester("example")
    device, workload = tester.catalogue.device("tenstorrent-wormhole-n150s"), tester.catalogue.workload(
        "llama-3-8b-ffn-token")
    result, answered_by = call_first(tester.pm, "chipfit_estimate", device=device, workload=workload,
                                     scenario=Scenario())
    assert answered_by == "example"
    roofline = model.estimate(device, workload, Scenario())
    assert result.metrics["latency_s"] == pytest.approx(roofline.metrics["latency_s"] + HOST_OVERHEAD_S)
    assert 16 / (16 / 5550 + HOST_OVERHEAD_S) == pytest.approx(4300)


def test_example_declares_a_plugin_api_this_chipfit_has(example):
    from chipfit.plugins import api_mismatch

    assert api_mismatch(importlib.import_module("chipfit_example_vendor")) is None


def test_example_package_ships_its_datasheet():
    import tomllib

    with open(EXAMPLE / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)
    assert project["project"]["entry-points"]["chipfit"] == {"example": "chipfit_example_vendor"}
    shipped = project["tool"]["setuptools"]["package-data"]["chipfit_example_vendor"]
    package = EXAMPLE / "src" / "chipfit_example_vendor"
    assert {path.name for pattern in shipped for path in package.glob(pattern)} == {"devices.toml"}
