"""Loading plugins and living with broken ones: entry points, ``-p``, environment switches, and a
plugin that raises, returns junk, or registers a bad or duplicate record."""

from __future__ import annotations

import importlib
import json
import re
import sys
import textwrap

import pytest

import chipfit
from chipfit.catalogue import collect
from chipfit.errors import PluginError
from chipfit.plugins import get_plugin_manager
from support import assert_bad_input, assert_clean

from conftest import IN_TREE_PLUGINS

SPEC = """
title = "t"

[[groups]]
id = "g"
devices = ["nvidia-h100-sxm5", "amd-instinct-mi250x"]
workloads = ["gemm-4096", "yolov3-416"]
scenario = "single-stream"
"""

ACME_DEVICE = """
import chipfit
from chipfit import Device

@chipfit.hookimpl
def chipfit_register_devices(register):
    register(Device(
        id="acme-npu-1", name="Acme NPU 1", vendor="Acme", kind="npu", segment="edge",
        peak_ops={"int8": 4e12}, memory_bandwidth=50e9, memory_capacity=4e9, power=5.0, year=2024,
        capabilities=["inference"], sources={"power": "Acme NPU 1 brief"},
    ))
"""


def _device(**changes):
    figures = dict(id="acme-npu-1", name="Acme NPU 1", vendor="Acme", kind="npu", segment="edge",
                   peak_ops={"int8": 4e12}, memory_bandwidth=50e9, memory_capacity=4e9, power=5.0, year=2024,
                   capabilities=["inference"])
    figures.update(changes)
    return chipfit.Device(**figures)


def _report(result):
    assert_clean(result)
    return json.loads(result.stdout)


# --- a plugin that misbehaves in a run ---------------------------------------------------------


def test_plugin_raising_in_estimate_fails_only_its_own_cells(cli, write_spec, plugin_module):
    name = plugin_module("flaky_h100_model", """
        import chipfit

        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenario):
            if device.id == "nvidia-h100-sxm5":
                raise RuntimeError("the H100 model is broken")
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "json")
    report = _report(result)
    assert result.exit_code == 1
    assert "2 cell(s) failed" in result.stderr
    failed = [row for row in report["rows"] if row["status"] == "failed"]
    assert {(row["device"], row["workload"]) for row in failed} == {
        ("nvidia-h100-sxm5", "gemm-4096"), ("nvidia-h100-sxm5", "yolov3-416")}
    for row in failed:
        assert "flaky_h100_model" in row["reason"]
        assert "the H100 model is broken" in row["reason"]
        assert row["plugin"] == name
        assert row["metrics"] == {}
    others = [row for row in report["rows"] if row["device"] == "amd-instinct-mi250x"]
    assert len(others) == 2
    assert all(row["status"] == "ok" and row["metrics"]["latency_s"] > 0 for row in others)


def test_failed_rows_show_in_the_text_report(cli, write_spec, plugin_module):
    name = plugin_module("always_raises", """
        import chipfit

        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenario):
            raise ValueError("nope")
    """)
    result = cli("-p", name, "run", write_spec(SPEC))
    assert_clean(result)
    assert result.exit_code == 1
    assert "failed: plugin 'always_raises'" in result.stdout
    assert "4 cell(s) failed" in result.stdout


def test_estimate_command_exits_1_on_a_failed_row(cli, plugin_module):
    name = plugin_module("raises_everywhere", """
        import chipfit

        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenario):
            raise ValueError("nope")
    """)
    result = cli("-p", name, "estimate", "nvidia-h100-sxm5", "gemm-4096")
    assert_clean(result)
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("returned", "problem"),
    [
        ('"fast"', "returned a str, not a Result"),
        ("{'latency_s': 1.0}", "returned a dict, not a Result"),
        ('chipfit.Result("amd-instinct-mi250x", workload.id, scenario, "modelled", "ok")',
         "returned a result for amd-instinct-mi250x"),
    ],
)
def test_plugin_returning_a_non_result_gives_a_failed_row(cli, write_spec, plugin_module, returned, problem):
    name = plugin_module("junk_model", f"""
        import chipfit

        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenario):
            if device.id == "nvidia-h100-sxm5":
                return {returned}
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "json")
    report = _report(result)
    assert result.exit_code == 1
    rows = {(row["device"], row["workload"]): row for row in report["rows"]}
    bad = rows[("nvidia-h100-sxm5", "gemm-4096")]
    assert bad["status"] == "failed"
    assert "junk_model" in bad["reason"]
    assert problem in bad["reason"]
    assert rows[("amd-instinct-mi250x", "gemm-4096")]["status"] == "ok"


def test_failed_cells_leave_claims_on_other_cells_standing(cli, write_spec, plugin_module):
    name = plugin_module("h100_down", """
        import chipfit

        @chipfit.hookimpl
        def chipfit_estimate(device, workload, scenario):
            if device.id == "nvidia-h100-sxm5":
                raise RuntimeError("down")
    """)
    spec = SPEC + textwrap.dedent("""
        [[claims]]
        text = "the MI250X runs the GEMM"
        cell = { group = "g", device = "amd-instinct-mi250x", workload = "gemm-4096" }
        value = "latency_s * 1000"

        [[claims]]
        text = "the H100 runs the GEMM"
        cell = { group = "g", device = "nvidia-h100-sxm5", workload = "gemm-4096" }
        value = "latency_s * 1000"
    """)
    report = _report(cli("-p", name, "run", write_spec(spec), "--format", "json"))
    ok, broken = report["claims"]
    assert ok["verdict"] == "computed" and ok["value"] > 0
    assert broken["verdict"].startswith("cannot check")
    assert "failed" in broken["verdict"]


def test_derived_metric_that_raises_is_named_not_a_traceback(cli, write_spec, plugin_module):
    name = plugin_module("bad_metric", """
        import chipfit
        from chipfit.metrics import DerivedMetric

        def explode(metrics):
            raise ZeroDivisionError("metric exploded")

        @chipfit.hookimpl
        def chipfit_register_metrics(register):
            register(DerivedMetric("explosive", "x", True, explode))
    """)
    result = cli("-p", name, "run", write_spec(SPEC))
    assert_clean(result)
    assert result.exit_code in (1, 2)
    assert "bad_metric" in result.output


def test_renderer_that_raises_is_named_not_a_traceback(cli, write_spec, plugin_module):
    name = plugin_module("bad_renderer", """
        import chipfit
        from chipfit.render import Renderer

        def explode(report):
            raise KeyError("renderer exploded")

        @chipfit.hookimpl
        def chipfit_register_renderers(register):
            register(Renderer("boom", explode, "txt"))
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "boom")
    assert_clean(result)
    assert result.exit_code != 0
    assert "bad_renderer" in result.stderr


# --- a plugin that registers bad records -------------------------------------------------------


class _DuplicateH100:
    @chipfit.hookimpl
    def chipfit_register_devices(self, register):
        register(_device(id="nvidia-h100-sxm5", vendor="NVIDIA"))


def test_two_plugins_registering_one_device_id_names_both(pm, register_plugin):
    register_plugin(pm, _DuplicateH100(), "copycat")
    with pytest.raises(PluginError) as caught:
        collect(pm).devices
    message = str(caught.value)
    assert "nvidia-h100-sxm5" in message
    assert "'copycat'" in message and "'nvidia'" in message


def test_duplicate_device_id_on_the_command_line(cli, plugin_module):
    name = plugin_module("copycat_module", """
        import chipfit
        from chipfit.datasheets import register_datasheet

        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register_datasheet(register, "chipfit_amd")
    """)
    assert_bad_input(cli("-p", name, "devices"), "duplicate device id 'amd-instinct-mi250x'", "'copycat_module'",
                     "'amd'")


def test_duplicate_workload_id_names_both(pm, register_plugin):
    from chipfit_gemm import gemm

    class Twice:
        @chipfit.hookimpl
        def chipfit_register_workloads(self, register):
            register(gemm(4096))

    register_plugin(pm, Twice(), "gemm-again")
    with pytest.raises(PluginError, match=r"duplicate workload id 'gemm-4096'.*'gemm-again'.*'gemm'|"
                                          r"duplicate workload id 'gemm-4096'.*'gemm'.*'gemm-again'"):
        collect(pm).workloads


def test_device_failing_validation_names_the_plugin_and_the_field(cli, plugin_module):
    name = plugin_module("negative_bandwidth", """
        import chipfit
        from chipfit import Device

        @chipfit.hookimpl
        def chipfit_register_devices(register):
            register(Device(
                id="acme-npu-9", name="Acme NPU 9", vendor="Acme", kind="npu", segment="edge",
                peak_ops={"int8": 4e12}, memory_bandwidth=-50e9, memory_capacity=4e9, power=5.0,
                year=2024, capabilities=["inference"],
            ))
    """)
    result = cli("-p", name, "devices")  # the plugin's devices are skipped, named; the rest are listed
    assert_clean(result)
    assert result.exit_code == 0
    assert "'negative_bandwidth'" in result.stderr and "memory_bandwidth" in result.stderr
    assert "acme-npu-9" not in result.stdout and "nvidia-h100-sxm5" in result.stdout
    strict = cli("-p", name, "devices", env={"CHIPFIT_STRICT_PLUGINS": "1"})
    assert_bad_input(strict, "'negative_bandwidth'", "memory_bandwidth")


def test_device_with_unknown_precision_names_the_plugin_and_the_field(pm, register_plugin):
    class Fp12:
        @chipfit.hookimpl
        def chipfit_register_devices(self, register):
            register(_device(peak_ops={"fp12": 1e12}))

    register_plugin(pm, Fp12(), "fp12-vendor")
    warnings = []
    devices = collect(pm, warn=warnings.append).devices
    assert "nvidia-h100-sxm5" in devices
    assert len(warnings) == 1 and "'fp12-vendor'" in warnings[0] and "peak_ops.fp12" in warnings[0]


def test_registering_the_wrong_record_type_names_the_plugin(pm, register_plugin):
    class Confused:
        @chipfit.hookimpl
        def chipfit_register_devices(self, register):
            register({"id": "acme-npu-1"})

    register_plugin(pm, Confused(), "confused")
    with pytest.raises(PluginError, match=r"plugin 'confused' registered a dict where a Device was expected"):
        collect(pm).devices


def test_register_hook_that_raises_names_the_plugin(pm, register_plugin):
    class Crashes:
        @chipfit.hookimpl
        def chipfit_register_workloads(self, register):
            raise OSError("cannot open model.bin")

    register_plugin(pm, Crashes(), "crashes")
    catalogue = collect(pm, warn=lambda message: None)
    assert "gemm-4096" in catalogue.workloads  # the others' workloads load
    assert catalogue.warnings and re.search(r"plugin 'crashes'.*chipfit_register_workloads.*cannot open model.bin",
                                            catalogue.warnings[0])


# --- -p MODULE, -p no:NAME, environment switches ----------------------------------------------


def test_dash_p_loads_a_module(cli, plugin_module):
    name = plugin_module("acme_extra", ACME_DEVICE)
    plugins = {row["name"]: row for row in _report(cli("-p", name, "plugins", "--format", "json"))}
    assert plugins[name]["origin"] == "-p"
    assert plugins[name]["hooks"] == ["chipfit_register_devices"]
    devices = _report(cli("-p", name, "devices", "--format", "json"))
    [acme] = [row for row in devices if row["id"] == "acme-npu-1"]
    assert acme["plugin"] == name


def test_dash_p_module_can_be_used_in_a_run(cli, write_spec, plugin_module):
    name = plugin_module("acme_for_run", ACME_DEVICE)
    spec = SPEC.replace('"amd-instinct-mi250x"', '"acme-npu-1"').replace("single-stream", "offline") + \
        'precision = "int8"\nbatch = 2\n'
    report = _report(cli("-p", name, "run", write_spec(spec), "--format", "json"))
    acme = [row for row in report["rows"] if row["device"] == "acme-npu-1"]
    assert acme and all(row["status"] == "ok" for row in acme)


def test_dash_p_unknown_module_is_bad_input(cli):
    assert_bad_input(cli("-p", "no_such_chipfit_plugin", "devices"), "no_such_chipfit_plugin")


def test_dash_p_no_blocks_an_entry_point(cli):
    names = {row["name"] for row in _report(cli("-p", "no:nvidia", "plugins", "--format", "json"))}
    assert "nvidia" not in names
    assert "amd" in names
    devices = {row["id"] for row in _report(cli("-p", "no:nvidia", "devices", "--format", "json"))}
    assert not {ident for ident in devices if ident.startswith("nvidia-")}
    assert "amd-instinct-mi250x" in devices


def test_blocking_a_plugin_makes_its_ids_unknown(cli, write_spec):
    assert_bad_input(cli("-p", "no:gemm", "run", write_spec(SPEC)), "unknown workload 'gemm-4096'")


def test_blocking_the_roofline_model_fails_every_cell(cli):
    result = cli("-p", "no:chipfit.roofline", "estimate", "nvidia-h100-sxm5", "gemm-4096", "--format", "json")
    [row] = _report(result)["rows"]
    assert result.exit_code == 1
    assert row["status"] == "failed"
    assert "no plugin answered" in row["reason"]


def test_dash_p_of_an_entry_point_module_is_harmless(cli):
    result = cli("-p", "chipfit_nvidia", "devices", "--format", "json")
    assert_clean(result)
    assert result.exit_code == 0
    assert "nvidia-h100-sxm5" in result.stdout


def test_disable_autoload_loads_no_entry_points(cli, monkeypatch, plugin_module):
    monkeypatch.setenv("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD", "1")
    rows = _report(cli("plugins", "--format", "json"))
    assert {row["origin"] for row in rows} == {"default"}
    assert _report(cli("devices", "--format", "json")) == []
    # -p still works without autoload
    name = plugin_module("acme_no_autoload", ACME_DEVICE)
    devices = _report(cli("-p", name, "devices", "--format", "json"))
    assert [row["id"] for row in devices] == ["acme-npu-1"]


def test_load_plugins_restricts_entry_points(monkeypatch):
    monkeypatch.setenv("CHIPFIT_LOAD_PLUGINS", "amd, gemm")
    pm = get_plugin_manager()
    catalogue = collect(pm)
    assert {info.name for info in pm.info() if info.origin == "entry point"} == {"amd", "gemm"}
    assert {"amd-instinct-mi250x", "amd-instinct-mi300a"} <= set(catalogue.devices)
    assert {catalogue.plugin_of("device", ident) for ident in catalogue.devices} == {"amd"}
    assert {catalogue.plugin_of("workload", ident) for ident in catalogue.workloads} == {"gemm"}


def test_get_plugin_manager_arguments_match_the_cli_switches(plugin_module):
    name = plugin_module("acme_argument", ACME_DEVICE)
    pm = get_plugin_manager(autoload=False, extra=[name], blocked=["chipfit.metrics"])
    assert [info.name for info in pm.info()] == ["chipfit.roofline", "chipfit.render", "chipfit.executors", name]


def test_chipfit_plugins_env_loads_modules_as_dash_p_does(plugin_module, monkeypatch):
    name = plugin_module("acme_from_env", ACME_DEVICE)
    monkeypatch.setenv("CHIPFIT_PLUGINS", f" {name} ,")
    pm = get_plugin_manager(autoload=False)
    assert name in [info.name for info in pm.info()]
    monkeypatch.setenv("CHIPFIT_PLUGINS", "no_such_module_here")
    with pytest.raises(PluginError, match="CHIPFIT_PLUGINS=no_such_module_here: cannot import plugin module"):
        get_plugin_manager(autoload=False)


def test_trace_plugins_prints_every_hook_call(cli, monkeypatch):
    monkeypatch.setenv("CHIPFIT_TRACE_PLUGINS", "1")
    result = cli("estimate", "nvidia-h100-sxm5", "gemm-4096")
    assert_clean(result)
    assert "chipfit_register_devices -> nvidia" in result.stderr
    assert "chipfit_estimate -> chipfit.roofline" in result.stderr
    assert "chipfit_estimate" not in result.stdout


def test_misspelt_hook_name_is_an_error(cli, plugin_module):
    name = plugin_module("misspelt_hook", """
        import chipfit

        @chipfit.hookimpl
        def chipfit_register_device(register):
            pass
    """)
    assert_bad_input(cli("-p", name, "devices"), "chipfit_register_device", "misspelt_hook")


def test_misspelt_hook_error_names_the_plugin_plainly(cli, plugin_module):
    name = plugin_module("misspelt_plainly", """
        import chipfit

        @chipfit.hookimpl
        def chipfit_register_device(register):
            pass
    """)
    result = cli("-p", name, "devices")
    assert_bad_input(result, "plugin 'misspelt_plainly'")
    assert "<module" not in result.stderr


def test_hook_asking_for_an_unknown_argument_is_an_error(cli, plugin_module):
    name = plugin_module("extra_argument", """
        import chipfit

        @chipfit.hookimpl
        def chipfit_register_devices(register, registry):
            pass
    """)
    assert_bad_input(cli("-p", name, "devices"), "'extra_argument'", "registry")


def test_misspelt_hook_registered_directly_fails_check_pending(pm, register_plugin):
    import pluggy

    class Misspelt:
        @chipfit.hookimpl
        def chipfit_estimates(self, device, workload, scenario):
            return None

    with pytest.raises(pluggy.PluginValidationError, match="chipfit_estimates"):
        register_plugin(pm, Misspelt(), "misspelt")


# --- plugins found through real entry points --------------------------------------------------


@pytest.fixture
def distribution(tmp_path, monkeypatch):
    """Install a fake distribution in tmp_path: its modules and a dist-info with entry points."""
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = []

    def make(name: str, version: str, entry_points: dict[str, str], files: dict[str, str]) -> None:
        for relative, source in files.items():
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source), encoding="utf-8")
            modules.append(relative.split("/")[0].removesuffix(".py"))
        info = tmp_path / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
        lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[chipfit]\n{lines}", encoding="utf-8")
        importlib.invalidate_caches()

    try:
        yield make
    finally:
        for module in modules:
            sys.modules.pop(module, None)


def _allow(monkeypatch, *names: str) -> None:
    monkeypatch.setenv("CHIPFIT_LOAD_PLUGINS", ",".join([*IN_TREE_PLUGINS, *names]))


def test_third_party_plugin_through_a_real_entry_point(cli, distribution, monkeypatch):
    distribution("acme_chips", "1.0", {"acme": "acme_chips"}, {"acme_chips/__init__.py": ACME_DEVICE})
    _allow(monkeypatch, "acme")
    plugins = {row["name"]: row for row in _report(cli("plugins", "--format", "json"))}
    assert plugins["acme"]["distribution"] == "acme_chips"
    assert plugins["acme"]["version"] == "1.0"
    assert plugins["acme"]["origin"] == "entry point"
    assert plugins["acme"]["hooks"] == ["chipfit_register_devices"]
    assert plugins["nvidia"]["distribution"] == "chipfit"  # the in-tree ones are still there
    result = cli("devices")
    assert_clean(result)
    assert "acme-npu-1" in result.stdout
    assert "nvidia-h100-sxm5" in result.stdout


def test_the_conftest_keeps_third_party_entry_points_out(cli, distribution):
    distribution("acme_chips", "1.0", {"acme": "acme_chips"}, {"acme_chips/__init__.py": ACME_DEVICE})
    names = {row["name"] for row in _report(cli("plugins", "--format", "json"))}
    assert "acme" not in names


def test_entry_point_that_fails_to_import_warns_and_the_rest_load(cli, distribution, monkeypatch):
    distribution("broken_chips", "2.0", {"broken": "broken_chips"},
                 {"broken_chips.py": "import a_dependency_that_is_not_installed\n"})
    _allow(monkeypatch, "broken")
    result = cli("devices", "--format", "json")
    devices = _report(result)
    assert result.exit_code == 0
    assert "warning" in result.stderr
    assert "'broken'" in result.stderr and "broken_chips" in result.stderr
    assert "a_dependency_that_is_not_installed" in result.stderr
    assert "nvidia-h100-sxm5" in {row["id"] for row in devices}
    plugins = {row["name"]: row for row in _report(cli("plugins", "--format", "json"))}
    assert "failed to load" in plugins["broken"]["origin"]
    assert "nvidia" in plugins


def test_entry_point_failure_is_recorded_on_the_manager(distribution, monkeypatch):
    distribution("broken_chips", "2.0", {"broken": "broken_chips"},
                 {"broken_chips.py": "raise RuntimeError('broken at import')\n"})
    _allow(monkeypatch, "broken")
    pm = get_plugin_manager()
    [failure] = pm.failures
    assert failure.name == "broken"
    assert failure.distribution == "broken_chips"
    assert "broken at import" in failure.error
    assert pm.has_plugin("nvidia")


def test_strict_plugins_makes_a_failed_import_an_error(cli, distribution, monkeypatch):
    distribution("broken_chips", "2.0", {"broken": "broken_chips"},
                 {"broken_chips.py": "import a_dependency_that_is_not_installed\n"})
    _allow(monkeypatch, "broken")
    monkeypatch.setenv("CHIPFIT_STRICT_PLUGINS", "1")
    assert_bad_input(cli("devices"), "'broken'", "broken_chips", "a_dependency_that_is_not_installed")


def test_entry_point_with_a_misspelt_hook_is_an_error(cli, distribution, monkeypatch):
    distribution("typo_chips", "0.1", {"typo": "typo_chips"}, {"typo_chips.py": """
        import chipfit

        @chipfit.hookimpl
        def chipfit_register_workload(register):
            pass
    """})
    _allow(monkeypatch, "typo")
    assert_bad_input(cli("devices"), "chipfit_register_workload")


def test_blocking_a_broken_entry_point_silences_it(cli, distribution, monkeypatch):
    distribution("broken_chips", "2.0", {"broken": "broken_chips"},
                 {"broken_chips.py": "raise RuntimeError('broken at import')\n"})
    _allow(monkeypatch, "broken")
    result = cli("-p", "no:broken", "devices")
    assert_clean(result)
    assert result.exit_code == 0
    assert "broken" not in result.stderr


def test_a_distributions_name_and_version_come_from_its_metadata_header(tmp_path):
    from importlib import metadata

    from chipfit.plugins import _name_and_version

    info = tmp_path / "long_chips-3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: long-chips\nVersion: 3.1\nSummary: s\n\n"
                                   "# Long chips\n\nName: not-this\nVersion: 0.0\n" + "text\n" * 2000,
                                   encoding="utf-8")
    dist = metadata.PathDistribution(info)
    assert _name_and_version(dist) == ("long-chips", "3.1") == (dist.name, dist.version)
    assert _name_and_version(None) == (None, None)
    installed = metadata.distribution("pluggy")
    assert _name_and_version(installed) == (installed.name, installed.version)
