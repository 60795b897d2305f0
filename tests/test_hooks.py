"""Every hook: documented, and exercised by a ``test_hook_<name>`` test (datasette's test_docs habit)."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

import chipfit
from chipfit import Operator, Result, Scenario, Workload, hookspecs
from chipfit.catalogue import call_first, collect
from chipfit.metrics import Metric
from chipfit.render import Renderer
from chipfit.cells import estimate_cell
from support import TWO_GPUS, assert_clean

HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if name.startswith("chipfit_") and callable(value))

SPEC = TWO_GPUS + "batch = 2\n"


def _tiny_workload(ident: str = "fake-net") -> Workload:
    return Workload(id=ident, name="Fake net", domain="test", phase="inference",
                    operators=(Operator("matmul", 2e9, weight_bytes=4e6, activation_bytes=1e6),))


# --- docs that cannot drift --------------------------------------------------------------------


def test_the_hooks_are_the_ones_of_the_design():
    assert HOOKS == sorted([
        "chipfit_register_devices", "chipfit_register_workloads", "chipfit_register_metrics",
        "chipfit_register_renderers", "chipfit_load_workload", "chipfit_estimate", "chipfit_measure",
        "chipfit_register_executors",  # added with the ray executor (issue 8), beyond the design's table
        "chipfit_register_commands",  # added so plugins register commands (issue 12): calibrate from chipfit_localhost
    ])


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_docstring_with_every_parameter(hook):
    function = getattr(hookspecs, hook)
    doc = inspect.getdoc(function)
    assert doc, f"{hook} has no docstring"
    for parameter in inspect.signature(function).parameters:
        assert f":param {parameter}:" in doc, f"{hook}: no ':param {parameter}:' line"


@pytest.mark.parametrize("hook", HOOKS)
def test_firstresult_hooks_say_so(hook):
    function = getattr(hookspecs, hook)
    firstresult = function.chipfit_spec["firstresult"]
    assert firstresult == ("Stops at the first non-None result" in inspect.getdoc(function))


def _test_names() -> set[str]:
    names = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        names.update(re.findall(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), re.MULTILINE))
    return names


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_have_tests(hook):
    assert f"test_hook_{hook}" in _test_names(), f"no test_hook_{hook} in tests/"


# --- one test per hook -------------------------------------------------------------------------


def test_hook_chipfit_register_devices(pm, register_plugin):
    device = chipfit.Device(id="acme-npu-1", name="Acme NPU 1", vendor="Acme", kind="npu", segment="edge",
                            peak_ops={"int8": 4e12}, memory_bandwidth=50e9, memory_capacity=4e9, power=5.0,
                            year=2024, capabilities=["inference"])

    class Vendor:
        @chipfit.hookimpl
        def chipfit_register_devices(self, register):
            register(device)

    register_plugin(pm, Vendor(), "acme")
    catalogue = collect(pm)
    assert catalogue.device("acme-npu-1") is device
    assert catalogue.plugin_of("device", "acme-npu-1") == "acme"
    assert catalogue.plugin_of("device", "nvidia-h100-sxm5") == "nvidia"


def test_hook_chipfit_register_workloads(pm, register_plugin):
    workload = _tiny_workload()

    class Workloads:
        @chipfit.hookimpl
        def chipfit_register_workloads(self, register):
            register(workload)

    register_plugin(pm, Workloads(), "fake-workloads")
    catalogue = collect(pm)
    assert catalogue.workload("fake-net") is workload
    assert catalogue.plugin_of("workload", "fake-net") == "fake-workloads"
    row = estimate_cell(pm, catalogue.device("nvidia-h100-sxm5"), workload, Scenario())
    assert row.ok


def test_hook_chipfit_register_metrics(cli, write_spec, plugin_module):
    name = plugin_module("latency_in_ms", """
        import chipfit
        from chipfit.metrics import DerivedMetric

        def milliseconds(metrics):
            latency = metrics.get("latency_s")
            return None if latency is None else latency * 1000

        @chipfit.hookimpl
        def chipfit_register_metrics(register):
            register(DerivedMetric("latency_ms", "ms", False, milliseconds, "latency in milliseconds"))
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "json")
    assert_clean(result)
    rows = json.loads(result.stdout)["rows"]
    for row in rows:
        assert row["metrics"]["latency_ms"] == pytest.approx(row["metrics"]["latency_s"] * 1000)


def test_hook_chipfit_register_metrics_builtin_per_watt(catalogue):
    assert isinstance(catalogue.metrics["ops_per_w"], Metric)
    assert catalogue.plugin_of("metric", "ops_per_w") == "chipfit.metrics"
    per_watt = catalogue.metrics["ops_per_w"].function
    assert per_watt({"ops_available_per_s": 1e12, "power_w": 100.0}) == pytest.approx(1e10)
    assert per_watt({"ops_available_per_s": 1e12, "power_w": None}) is None


def test_hook_chipfit_register_renderers(cli, write_spec, plugin_module, tmp_path):
    name = plugin_module("tsv_renderer", """
        import chipfit
        from chipfit.render import Renderer

        def tsv(report):
            return "".join(f"{row.device}\\t{row.status}\\n" for row in report.rows)

        @chipfit.hookimpl
        def chipfit_register_renderers(register):
            register(Renderer("tsv", tsv, "tsv", "tab-separated device and status"))
    """)
    result = cli("-p", name, "run", write_spec(SPEC), "--format", "tsv")
    assert_clean(result)
    assert result.exit_code == 0
    assert result.stdout == "nvidia-h100-sxm5\tok\namd-instinct-mi250x\tok\n"
    target = tmp_path / "out.tsv"
    assert cli("-p", name, "run", write_spec(SPEC), "--format", "tsv", "-o", target).exit_code == 0
    assert target.read_text() == result.stdout


def test_hook_chipfit_register_renderers_builtins(catalogue):
    assert set(catalogue.renderers) >= {"text", "markdown", "csv", "json"}
    assert all(isinstance(renderer, Renderer) for renderer in catalogue.renderers.values())
    assert catalogue.renderers["markdown"].extension == "md"


class _FakeLoader:
    """Reads ``*.fake`` model files (and nothing else)."""

    @chipfit.hookimpl
    def chipfit_load_workload(self, source):
        if source.endswith(".fake"):
            return _tiny_workload(source.removesuffix(".fake").replace("_", "-"))
        return None


def test_hook_chipfit_load_workload(pm, register_plugin):
    # no in-tree plugin reads .fake files: nobody answers
    assert call_first(pm, "chipfit_load_workload", source="x.fake", dims={}) == (None, None)
    register_plugin(pm, _FakeLoader(), "fake-loader")
    workload, plugin = call_first(pm, "chipfit_load_workload", source="x.fake", dims={})
    assert isinstance(workload, Workload)
    assert workload.id == "x"
    assert plugin == "fake-loader"
    assert call_first(pm, "chipfit_load_workload", source="model.fbx", dims={}) == (None, None)


def test_hook_chipfit_load_workload_first_answer_wins(pm, register_plugin):
    class Greedy:
        @chipfit.hookimpl(tryfirst=True)
        def chipfit_load_workload(self, source):
            return _tiny_workload("greedy")

    register_plugin(pm, _FakeLoader(), "fake-loader")
    register_plugin(pm, Greedy(), "greedy")
    workload, plugin = call_first(pm, "chipfit_load_workload", source="x.fake", dims={})
    assert (workload.id, plugin) == ("greedy", "greedy")


def test_hook_chipfit_estimate(pm, register_plugin, catalogue):
    class VendorModel:
        """A vendor's own model for its own device; None for the others (the roofline answers)."""

        @chipfit.hookimpl
        def chipfit_estimate(self, device, workload, scenario):
            if device.id != "amd-instinct-mi250x":
                return None
            return Result(device.id, workload.id, scenario, "modelled", "ok", {"latency_s": 0.5})

    register_plugin(pm, VendorModel(), "amd-model")
    workload = catalogue.workload("gemm-4096")
    amd = estimate_cell(pm, catalogue.device("amd-instinct-mi250x"), workload, Scenario())
    assert amd.plugin == "amd-model"
    assert amd.metrics == {"latency_s": 0.5}
    nvidia = estimate_cell(pm, catalogue.device("nvidia-h100-sxm5"), workload, Scenario())
    assert nvidia.plugin == "chipfit.roofline"
    assert nvidia.ok and nvidia.metrics["latency_s"] > 0


def test_hook_chipfit_measure(pm, register_plugin, catalogue):
    class LocalGpu:
        """Owns one device on this machine and 'measures' it."""

        @chipfit.hookimpl
        def chipfit_measure(self, device, workload, scenario, budget):
            if device.id != "nvidia-jetson-agx-orin-64gb":
                return None
            return Result(device.id, workload.id, scenario, "measured", "ok",
                          {"latency_s": 0.004, "budget_s": budget})

    orin = catalogue.device("nvidia-jetson-agx-orin-64gb")
    workload = catalogue.workload("yolov3-608")
    assert call_first(pm, "chipfit_measure", device=orin, workload=workload, scenario=Scenario(),
                      budget=5.0) == (None, None)
    register_plugin(pm, LocalGpu(), "local-gpu")
    result, plugin = call_first(pm, "chipfit_measure", device=orin, workload=workload, scenario=Scenario(),
                                budget=5.0)
    assert plugin == "local-gpu"
    assert result.source == "measured"
    assert result.metrics == {"latency_s": 0.004, "budget_s": 5.0}
    other = catalogue.device("nvidia-h100-sxm5")
    assert call_first(pm, "chipfit_measure", device=other, workload=workload, scenario=Scenario(),
                      budget=5.0) == (None, None)


def test_hook_implementation_may_ask_for_fewer_arguments(pm, register_plugin, catalogue):
    class Lazy:
        @chipfit.hookimpl
        def chipfit_measure(self, device):
            return Result(device.id, "gemm-4096", Scenario(), "measured", "ok") if device.kind == "apu" else None

    register_plugin(pm, Lazy(), "lazy")
    result, plugin = call_first(pm, "chipfit_measure", device=catalogue.device("amd-instinct-mi300a"),
                                workload=catalogue.workload("gemm-4096"), scenario=Scenario(), budget=1.0)
    assert plugin == "lazy" and result.ok
