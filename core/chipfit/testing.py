"""chipfit's conformance kit: a plugin author's tests load their plugin as chipfit does and check all it gives.

Use it from a plugin's own test suite (pytest or any runner)::

    from chipfit.testing import PluginTester

    plugin = PluginTester("acme")      # the plugin's entry-point name in group "chipfit"

    def test_conformance():
        plugin.check_all()

A failed check raises :class:`ConformanceError` (an ``AssertionError``), whose message names the
plugin and lists every problem found: a hook implementation that does not match its spec (misspelt
name or argument, an argument with a default, a ``chipfit_*`` function without ``@hookimpl``), a
record that fails validation or the catalogue checks of :mod:`chipfit.checks` (implausible units,
sparse figures passed off as dense, a figure without a citation), a workload without a cited cost,
an estimate or measurement that is malformed or inconsistent (throughput = batch / latency,
energy = power x time …), and a run of a small spec over the plugin's devices and workloads that
fails. Each check is also a method of its own (``check_hooks``, ``check_devices`` …), and
:func:`check_result` and :func:`check_workload` serve tests that build records by hand.

The kit builds its own plugin manager holding the core's defaults, the plugin under test (loaded
through its entry point, strictly), the plugins named in ``also``, and a reference plugin with a
made-up device and workloads that every run can use. ``import chipfit`` never imports this module.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from chipfit.checks import check_device
from chipfit.errors import ChipfitError, PluginError, suggest
from chipfit.hookspecs import hookimpl
from chipfit.records import (
    Bound,
    Capability,
    Device,
    Operator,
    Phase,
    Result,
    Scenario,
    ScenarioKind,
    Source,
    Status,
    Workload,
)

__all__ = [
    "REFERENCE_DEVICE_ID",
    "REFERENCE_PLUGIN",
    "ConformanceError",
    "PluginTester",
    "check_plugin",
    "check_result",
    "check_workload",
    "make_importable",
    "reference_device",
    "reference_workloads",
]

#: The name the reference plugin is registered under in the kit's plugin manager.
REFERENCE_PLUGIN = "chipfit.testing.reference"
#: The reference device: every precision and capability, memory for any workload (made-up figures).
REFERENCE_DEVICE_ID = "chipfit-reference-accelerator"

#: Relative slack for the laws an ok row obeys (throughput = batch / latency …): rounding, not error.
RELATIVE_TOLERANCE = 1e-3

#: Plausible bounds for a workload's per-sample figures (SI units).
WORKLOAD_BOUNDS = {"ops_per_sample": 1e18, "parameters": 1e13, "weight_bytes": 1e14}
#: ``weight_bytes / (parameters x bytes per value)`` outside these bounds suggests a unit or precision slip.
WEIGHT_RATIO = (0.25, 4.0)

_MADE_UP = "chipfit.testing: a made-up figure of the conformance kit's reference device (not a real device)"


class ConformanceError(AssertionError):
    """A plugin fails one or more conformance checks: ``plugin`` names it, ``problems`` lists each."""

    def __init__(self, plugin: str, problems: Iterable[str]) -> None:
        self.plugin = plugin
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"plugin {plugin!r} fails {count} conformance check{'s' if count != 1 else ''}:\n{lines}")


# --- the reference plugin ----------------------------------------------------------------------


def reference_device() -> Device:
    """A made-up device that computes in every precision, has every capability and 1 TB of memory."""
    peaks = {"fp64": 50e12, "fp32": 100e12, "tf32": 200e12, "fp16": 400e12, "bf16": 400e12,
             "fp8": 800e12, "int8": 800e12, "int4": 1600e12}
    return Device(
        id=REFERENCE_DEVICE_ID, name="chipfit reference accelerator (made up)", vendor="chipfit", kind="gpu",
        segment="datacenter", peak_ops=peaks, memory_bandwidth=4e12, memory_capacity=1e12, power=700.0,
        year=2025, capabilities=list(Capability), runtimes=["onnxruntime"], price=30_000.0,
        interconnect_bandwidth=900e9, general_ops=1e12,
        sources={field: _MADE_UP for field in ("peak_ops", "memory_bandwidth", "memory_capacity", "power", "year",
                                               "price", "interconnect_bandwidth", "general_ops")},
        notes="The conformance kit's device for runs of a plugin's workloads; not a real device.",
    )


def reference_workloads() -> list[Workload]:
    """Small made-up workloads for runs of a plugin's devices: inference, training and general-purpose."""
    size = 512
    dense = Workload(
        id="chipfit-reference-dense", name="Reference dense layer 512x512", domain="test", phase="inference",
        operators=(Operator("matmul", 2.0 * size * size, weight_bytes=size * size * 4.0,
                            activation_bytes=2 * size * 4.0, name="dense"),),
        parameters=float(size * size), precision="fp32",
        derivations={"ops_per_sample": f"2 x {size} x {size} (a multiply-add per weight)",
                     "parameters": f"{size} x {size} weights"},
    )
    train = dense.for_training("chipfit-reference-dense-train", "Reference dense layer 512x512, training",
                               dataset_samples=1e6, epochs=1.0,
                               sources={"dataset_samples": "chipfit.testing: a made-up recipe",
                                        "epochs": "chipfit.testing: a made-up recipe"})
    general = Workload(
        id="chipfit-reference-general", name="Reference general-purpose job", domain="test", phase="general",
        operators=(Operator("general", 1e12, name="job"),),
        derivations={"ops_per_sample": "chipfit.testing: 1e12 ops, a made-up job"},
    )
    return [dense, train, general]


class _ReferencePlugin:
    """Registers the reference device and workloads into the kit's plugin manager."""

    @hookimpl
    def chipfit_register_devices(self, register):
        register(reference_device())

    @hookimpl
    def chipfit_register_workloads(self, register):
        for workload in reference_workloads():
            register(workload)


# --- checks of single records ------------------------------------------------------------------


def check_workload(workload: Workload) -> list[str]:
    """Problems with one workload beyond its validators (an empty list when it passes).

    A workload must have a cost (ops or bytes) that cites where it came from (a source or a
    derivation for ``operators`` or ``ops_per_sample``), plausible per-sample figures, weight bytes
    that agree with its parameter count at its precision, and for training a cited recipe
    (``dataset_samples`` and ``epochs``).
    """
    problems = []
    ops = workload.ops_per_sample
    if ops == 0 and workload.weight_bytes == 0 and workload.activation_bytes_per_sample == 0:
        problems.append("has no cost: its operators have no ops and no bytes")
    for field, limit in WORKLOAD_BOUNDS.items():
        value = getattr(workload, field)
        if value > limit:
            problems.append(f"{field} {value:g} is above {limit:g}: is it per batch or per data set, "
                            f"or in another unit? (per sample, SI units)")
    if workload.parameters > 0 and workload.weight_bytes > 0:
        expected = workload.parameters * workload.precision.bytes_per_value
        ratio = workload.weight_bytes / expected
        if not WEIGHT_RATIO[0] <= ratio <= WEIGHT_RATIO[1]:
            problems.append(f"weight_bytes {workload.weight_bytes:g} is {ratio:.3g} x parameters x "
                            f"{workload.precision.bytes_per_value:g} bytes per {workload.precision} value "
                            f"({expected:g}): are the weights in another unit or precision?")
    if workload.citation("operators") is None and workload.citation("ops_per_sample") is None:
        problems.append("its cost has no source and no derivation (cite 'operators' or 'ops_per_sample' in "
                        "sources or derivations)")
    if workload.phase is Phase.TRAINING:
        for field in ("dataset_samples", "epochs"):
            if workload.citation(field) is None:
                problems.append(f"{field}: has no source and no derivation")
    if workload.latency_target is not None and not 1e-6 <= workload.latency_target <= 1e5:
        problems.append(f"latency_target {workload.latency_target:g} s is implausible: is it in ms? (seconds)")
    return problems


def _number(metrics: dict, key: str) -> float | None:
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _close(value: float, expected: float) -> bool:
    return math.isclose(value, expected, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-300)


#: Which sources each call hook's results may have.
_SOURCES = {
    "chipfit_estimate": (Source.MODELLED, Source.CALIBRATED),
    "chipfit_measure": (Source.MEASURED,),
}
#: Metrics that may be negative (added by the runner, never by a plugin's estimate).
_SIGNED = {"model_error"}
_METRIC_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def check_result(result: Any, device: Device, workload: Workload, scenario: Scenario, *,
                 hook: str | None = "chipfit_estimate") -> list[str]:
    """Problems with one result a plugin returned for a cell (an empty list when it is sound).

    :param hook: ``chipfit_estimate`` or ``chipfit_measure`` (which sources and statuses are
        allowed), or None for a row of a report (any source).

    An ``ok`` result's metrics are numbers (finite, not negative), bools, strings or None under
    snake_case keys, and obey the laws every row obeys: ``throughput_sps = batch x count /
    latency_s``; ``energy_per_sample_j = power_w / throughput_sps``; ``samples_per_j`` its inverse;
    ``energy_j = power_w x time`` (``time_to_train_s`` in training, else ``latency_s``);
    ``samples_per_s_per_usd = throughput_sps / hardware_cost_usd``; ``ops_available_per_s`` is the
    ops done over the time taken and never above ``peak_ops_per_s x count`` (``utilization <= 1``);
    ``time_to_train_s = dataset_samples x epochs / throughput_sps``; ``meets_target`` agrees with
    the latency target; single-stream means batch 1.
    """
    if not isinstance(result, Result):
        return [f"returned a {type(result).__name__}, not a chipfit.Result"]
    problems = []
    if (result.device, result.workload) != (device.id, workload.id):
        problems.append(f"is a result for {result.device} x {result.workload}, not {device.id} x {workload.id}")
    if result.scenario != scenario:
        problems.append(f"its scenario ({result.scenario.describe()}) is not the one asked for "
                        f"({scenario.describe()}): return the scenario you were given")
    allowed = _SOURCES.get(hook or "")
    if allowed and result.source not in allowed:
        problems.append(f"source is {str(result.source)!r}; a {hook} result is "
                        + " or ".join(repr(str(source)) for source in allowed))
    if hook == "chipfit_estimate" and result.status is Status.FAILED:
        problems.append("status is 'failed': an estimate is 'ok', or 'unsupported' with a reason (raise on an "
                        "internal error: chipfit then fails the cell and names your plugin)")
    if result.status is not Status.OK:
        if not result.reason.strip():
            problems.append(f"status is {str(result.status)!r} but there is no reason")
        return problems
    return problems + _check_metrics(result, device, workload, scenario)


def _check_metrics(result: Result, device: Device, workload: Workload, scenario: Scenario) -> list[str]:
    metrics = result.metrics
    problems = []
    for key, value in metrics.items():
        if not isinstance(key, str) or not _METRIC_KEY.match(key):
            problems.append(f"metric key {key!r} is not snake_case (JSON keys carry their unit: latency_s)")
        if value is None or isinstance(value, (bool, str)):
            continue
        if not isinstance(value, (int, float)):
            problems.append(f"metric {key} is a {type(value).__name__}; metrics are numbers, bools, strings or None")
        elif not math.isfinite(value):
            problems.append(f"metric {key} = {value!r} is not finite")
        elif value < 0 and key not in _SIGNED:
            problems.append(f"metric {key} = {value:g} is negative")
    training = scenario.kind is ScenarioKind.TRAINING
    latency, throughput = _number(metrics, "latency_s"), _number(metrics, "throughput_sps")
    if not latency:
        problems.append("an ok result needs latency_s > 0 (seconds)")
    if not throughput:
        problems.append("an ok result needs throughput_sps > 0 (samples per second)")
    time_to_train = _number(metrics, "time_to_train_s")
    if training and not time_to_train:
        problems.append("a training result needs time_to_train_s > 0 (seconds)")

    batch = metrics.get("batch")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        problems.append(f"batch is {batch!r}, not a whole number >= 1")
        batch = None
    if scenario.kind is ScenarioKind.SINGLE_STREAM and batch not in (None, 1):
        problems.append(f"single-stream is one sample at a time, but batch is {batch}")
    if scenario.batch is not None and batch is not None and batch != scenario.batch \
            and scenario.kind is not ScenarioKind.SINGLE_STREAM:
        problems.append(f"batch is {batch}, but the scenario asked for batch {scenario.batch}")
    batched = scenario.kind in (ScenarioKind.OFFLINE, ScenarioKind.SERVER, ScenarioKind.TRAINING)
    if batch is None and batched and workload.phase is not Phase.GENERAL:
        problems.append(f"no 'batch' metric: a {scenario.kind} result says which batch latency_s is for")
    count = metrics.get("count") if isinstance(metrics.get("count"), int) else (scenario.count if training else 1)
    samples = (batch or 1) * count

    if latency and throughput and (batch is not None or not batched or workload.phase is Phase.GENERAL):
        expected = samples / latency
        if not _close(throughput, expected):
            problems.append(f"throughput_sps {throughput:.6g} is not batch x count / latency_s = {samples} / "
                            f"{latency:.6g} s = {expected:.6g} samples/s")
    power = _number(metrics, "power_w")
    time_s = time_to_train if training else latency
    laws = [
        ("energy_per_sample_j", "power_w / throughput_sps", power / throughput if power and throughput else None),
        ("samples_per_j", "throughput_sps / power_w", throughput / power if power and throughput else None),
        ("energy_j", f"power_w x {'time_to_train_s' if training else 'latency_s'}",
         power * time_s if power and time_s else None),
    ]
    cost = _number(metrics, "hardware_cost_usd")
    laws.append(("samples_per_s_per_usd", "throughput_sps / hardware_cost_usd",
                 throughput / cost if cost and throughput else None))
    for key, formula, expected in laws:
        value = _number(metrics, key)
        if value is None:
            continue
        if expected is None:
            needs = "hardware_cost_usd" if "usd" in key else "power_w"
            problems.append(f"{key} is {value:.6g} but {needs} is missing: {key} = {formula}")
        elif not _close(value, expected):
            problems.append(f"{key} {value:.6g} is not {formula} = {expected:.6g}")

    available, peak = _number(metrics, "ops_available_per_s"), _number(metrics, "peak_ops_per_s")
    ops_total = _number(metrics, "ops_total")
    if available and ops_total:
        if training and time_to_train:
            done, over = ops_total / time_to_train, "ops_total / time_to_train_s"
        elif latency:
            done, over = ops_total * (batch or 1) / latency, "ops_total x batch / latency_s"
        else:
            done = None
        if done is not None and not _close(available, done):
            problems.append(f"ops_available_per_s {available:.6g} is not {over} = {done:.6g}: "
                            f"is a time in another unit?")
    if available and peak and available > peak * count * (1 + RELATIVE_TOLERANCE):
        problems.append(f"ops_available_per_s {available:.6g} is above peak_ops_per_s x count = "
                        f"{peak * count:.6g}: faster than peak")
    utilization = _number(metrics, "utilization")
    if utilization is not None and utilization > 1 + RELATIVE_TOLERANCE:
        problems.append(f"utilization {utilization:.4g} is above 1: faster than peak")
    if training and time_to_train and throughput and workload.dataset_samples and workload.epochs:
        expected = workload.dataset_samples * workload.epochs / throughput
        if not _close(time_to_train, expected):
            problems.append(f"time_to_train_s {time_to_train:.6g} is not dataset_samples x epochs / "
                            f"throughput_sps = {expected:.6g}")
    meets = metrics.get("meets_target")
    target = scenario.latency_target or workload.latency_target
    if meets is not None:
        if not isinstance(meets, bool):
            problems.append(f"meets_target is {meets!r}, not a bool")
        elif target is None:
            problems.append("meets_target is given, but there is no latency target")
        elif latency and throughput:
            offline = scenario.kind is ScenarioKind.OFFLINE
            expected = throughput >= 1 / target if offline else latency <= target
            if meets != expected:
                what = f"throughput_sps {throughput:.6g} against 1 / target" if offline \
                    else f"latency_s {latency:.6g} against target {target:.6g} s"
                problems.append(f"meets_target is {meets} but {what} says {expected}")
    bound = metrics.get("bound")
    if bound is not None and bound not in {str(item) for item in Bound}:
        problems.append(f"bound is {bound!r}, not one of {', '.join(str(item) for item in Bound)}")
    if result.source is Source.MEASURED and power is not None and device.power is not None \
            and _close(power, device.power * count):
        problems.append("power_w is the datasheet power: a measured row's energy comes from a sensor, "
                        "never from the datasheet (leave power_w None when nothing measured it)")
    return problems


# --- loading a plugin --------------------------------------------------------------------------

_SWITCHES = ("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD", "CHIPFIT_LOAD_PLUGINS", "CHIPFIT_STRICT_PLUGINS")


@contextlib.contextmanager
def _loading_only(names: list[str]) -> Iterator[None]:
    """Load only these entry points, strictly (a failed import is an error, not a warning)."""
    saved = {name: os.environ.get(name) for name in _SWITCHES}
    try:
        os.environ.pop("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD", None)
        os.environ["CHIPFIT_LOAD_PLUGINS"] = ",".join(names)
        os.environ["CHIPFIT_STRICT_PLUGINS"] = "1"
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _argument_hint(message: str, hook_specs: dict[str, list[str]]) -> str:
    """A 'did you mean' for pluggy's message about an argument the hook spec does not have."""
    hook = re.search(r"for hook '(\w+)'", message)
    names = re.search(r"Argument\(s\) \{([^}]*)\}", message)
    if not hook or not names or hook.group(1) not in hook_specs:
        return ""
    hints = []
    for name in re.findall(r"'(\w+)'", names.group(1)):
        close = suggest(name, hook_specs[hook.group(1)])
        hints.append(f"{name!r}: did you mean {close[0]!r}?" if close else
                     f"{name!r} is not an argument of {hook.group(1)} ({', '.join(hook_specs[hook.group(1)])})")
    return " (" + "; ".join(hints) + ")"


def _hook_specs() -> dict[str, list[str]]:
    from chipfit import hookspecs

    return {name: list(inspect.signature(function).parameters)
            for name, function in vars(hookspecs).items() if name.startswith("chipfit_") and callable(function)}


def _check(method):
    """A check: a chipfit error on the way (a record that fails validation …) is a problem, named."""

    @functools.wraps(method)
    def check(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except ChipfitError as error:
            raise ConformanceError(self.name, [str(error)]) from None

    return check


class PluginTester:
    """One plugin, loaded as chipfit loads it, and the checks it must pass.

    :param name: the plugin's entry-point name in group ``chipfit`` (``acme`` for
        ``[project.entry-points.chipfit] acme = "chipfit_acme"``).
    :param module: load this module instead of an entry point (as ``chipfit -p MODULE`` does), for a
        plugin that is not installed; ``name`` is then the module's name.
    :param also: more entry-point names to load beside it (plugins it builds on).
    :param answers_for_others: a plugin that registers devices may answer ``chipfit_estimate`` for
        devices of other plugins (by default that is a problem: a vendor's model answers for its
        own devices and returns None for the rest).
    """

    def __init__(self, name: str | None = None, *, module: str | None = None, also: Iterable[str] = (),
                 answers_for_others: bool = False) -> None:
        if not name and not module:
            raise ValueError("PluginTester needs the plugin's entry-point name, or module=")
        self.name = module or name
        self.module_name = module
        self.also = tuple(also)
        self.answers_for_others = answers_for_others
        self._pm = None
        self._catalogue = None
        self._load_error: ConformanceError | None = None

    def __repr__(self) -> str:
        return f"PluginTester({self.name!r})"

    # -- loading --

    @property
    def pm(self):
        """The kit's plugin manager: core defaults, the plugin, ``also``, the reference plugin.

        :raises ConformanceError: the plugin cannot be found or loaded, or a hook implementation does
            not match its spec (misspelt hook name or argument).
        """
        if self._load_error is not None:
            raise self._load_error
        if self._pm is None:
            try:
                self._pm = self._load()
            except ConformanceError as error:
                self._load_error = error
                raise
        return self._pm

    def _load(self):
        from chipfit.plugins import get_plugin_manager

        entry_names = list(self.also)
        if not self.module_name:
            installed = sorted({entry.name for entry in metadata.entry_points(group="chipfit")})
            if self.name not in installed:
                close = suggest(self.name, installed)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConformanceError(self.name, [
                    f"no entry point named {self.name!r} in group 'chipfit'{hint} (installed: "
                    f"{', '.join(installed) or 'none'}). Declare [project.entry-points.chipfit] "
                    f"{self.name} = \"your_module\" in pyproject.toml and install it (pip install -e .)"])
            entry_names.insert(0, self.name)
        try:
            with _loading_only(entry_names):
                pm = get_plugin_manager(autoload=bool(entry_names),
                                        extra=[self.module_name] if self.module_name else ())
        except PluginError as error:
            raise ConformanceError(self.name, [f"{error}{_argument_hint(str(error), _hook_specs())}"]) from None
        if not pm.has_plugin(self.name):
            raise ConformanceError(self.name, ["was not loaded (is it blocked?)"])
        pm.register(_ReferencePlugin(), name=REFERENCE_PLUGIN)
        pm.origins[REFERENCE_PLUGIN] = ("chipfit.testing", "chipfit", None)
        return pm

    @property
    def plugin(self) -> Any:
        """The plugin object (its module) as registered."""
        return self.pm.get_plugin(self.name)

    @property
    def catalogue(self):
        """The catalogue of the kit's plugin manager."""
        if self._catalogue is None:
            from chipfit.catalogue import collect

            self._catalogue = collect(self.pm)
        return self._catalogue

    def implements(self, hook: str) -> bool:
        """Whether the plugin implements a hook."""
        return any(caller.name == hook for caller in self.pm.get_hookcallers(self.plugin) or ())

    def _impls(self, hook: str):
        from chipfit.catalogue import implementations

        return [impl for impl in implementations(self.pm, hook) if impl.plugin_name == self.name]

    def _own(self, kind: str) -> list:
        """The plugin's own records of one kind (device or workload); a registration error is a problem."""
        try:
            store = self.catalogue.devices if kind == "device" else self.catalogue.workloads
        except ChipfitError as error:
            raise ConformanceError(self.name, [str(error)]) from None
        return [record for ident, record in store.items() if self.catalogue.plugin_of(kind, ident) == self.name]

    def devices(self) -> list[Device]:
        """The devices this plugin registers."""
        return self._own("device")

    def workloads(self) -> list[Workload]:
        """The workloads this plugin registers."""
        return self._own("workload")

    def _fail(self, problems: list[str]) -> None:
        if problems:
            raise ConformanceError(self.name, problems)

    # -- checks --

    @_check
    def check_hooks(self) -> None:
        """Every hook implementation matches its spec, and every ``chipfit_*`` function is one.

        Loading already rejects an unknown hook name and an argument the spec does not have
        (with a "did you mean"); this adds a ``chipfit_*`` function that is not decorated with
        ``@chipfit.hookimpl`` (chipfit would never call it), an argument with a default or a
        ``*args``/``**kwargs`` (pluggy never fills them), and a plugin that implements no hook.
        """
        plugin = self.plugin
        problems = []
        specs = _hook_specs()
        for attribute in sorted(dir(plugin)):
            if not attribute.startswith("chipfit_"):
                continue
            value = getattr(plugin, attribute, None)
            if callable(value) and not hasattr(value, "chipfit_impl"):
                close = suggest(attribute, specs)
                known = attribute in specs or close
                problems.append(f"{attribute} is not decorated with @chipfit.hookimpl, so chipfit never calls it"
                                + ("" if known else f" (and is not a chipfit hook: {', '.join(sorted(specs))})"))
        implemented = [caller.name for caller in self.pm.get_hookcallers(plugin) or ()]
        for hook in implemented:
            for impl in self._impls(hook):
                for parameter in inspect.signature(impl.function).parameters.values():
                    if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                        problems.append(f"{hook}: *{parameter.name} is never filled: name the arguments you need "
                                        f"({', '.join(specs[hook])})")
                    elif parameter.default is not parameter.empty:
                        problems.append(f"{hook}: argument {parameter.name!r} has a default, so pluggy never passes "
                                        f"it: remove the default")
        if not implemented:
            problems.append("implements no chipfit hook (decorate hook functions with @chipfit.hookimpl; "
                            f"the hooks: {', '.join(sorted(specs))})")
        self._fail(problems)

    @_check
    def check_devices(self) -> None:
        """Every device the plugin registers validates and passes :func:`chipfit.checks.check_device`:
        plausible figures in SI units, sparse peaks not passed off as dense, a citation for every figure."""
        problems = [f"device {problem.device!r}: {problem.field}: {problem.message}"
                    for device in self.devices() for problem in check_device(device)]
        self._fail(problems)

    @_check
    def check_workloads(self) -> None:
        """Every workload the plugin registers validates and passes :func:`check_workload`."""
        problems = [f"workload {workload.id!r}: {problem}"
                    for workload in self.workloads() for problem in check_workload(workload)]
        self._fail(problems)

    @_check
    def check_executors(self) -> None:
        """Every executor the plugin registers has a name and a description, and, where it can open
        here (one that needs a cluster may say why it cannot), reports devices by their ids, runs no
        task for no task, and closes."""
        from chipfit.executors import ExecutorOptions

        try:
            executors = self.catalogue.executors
        except ChipfitError as error:
            raise ConformanceError(self.name, [str(error)]) from None
        problems = []
        for name, kind in executors.items():
            if self.catalogue.plugin_of("executor", name) != self.name:
                continue
            if not name or name != name.strip() or " " in name:
                problems.append(f"executor {name!r}: a name is one word (--executor NAME)")
            if not kind.description:
                problems.append(f"executor {name!r}: no description (chipfit plugins shows it)")
            try:
                executor = kind.open(self.pm, self.catalogue, ExecutorOptions())
            except ChipfitError:
                continue  # cannot start here (no cluster): a clear message is what is asked of it
            except Exception as error:
                problems.append(f"executor {name!r}: open raised {type(error).__name__}: {error} (raise ChipfitError "
                                "with a message where it cannot start)")
                continue
            try:
                for ident, device in executor.devices().items():
                    if not isinstance(device, Device):
                        problems.append(f"executor {name!r}: devices()[{ident!r}] is a {type(device).__name__}, "
                                        "not a Device")
                    elif ident != device.id and not ident.startswith(f"{device.id}@"):
                        problems.append(f"executor {name!r}: devices() gives {device.id!r} under the id {ident!r}")
                if list(executor.run([])):
                    problems.append(f"executor {name!r}: run([]) yielded rows for no task")
                if not isinstance(executor.environment(), dict):
                    problems.append(f"executor {name!r}: environment() is not a dict")
            finally:
                executor.close()
        self._fail(problems)

    def _scenarios(self, device: Device, workload: Workload) -> list[Scenario]:
        """The scenarios the kit asks for one cell: each kind that applies, at a precision the device has."""
        precision = None
        if workload.phase is not Phase.GENERAL and device.peak_ops and workload.precision not in device.peak_ops:
            precision = next(iter(device.peak_ops))
        if workload.phase is Phase.GENERAL:
            return [Scenario("single-stream")]
        if workload.phase is Phase.TRAINING:
            scenarios = [Scenario("training", precision=precision, batch=8)]
            if device.interconnect_bandwidth:
                scenarios.append(Scenario("training", precision=precision, batch=8, count=2))
            return scenarios
        return [
            Scenario("single-stream", precision=precision),
            Scenario("single-stream", precision=precision, latency_target=0.01),
            Scenario("offline", precision=precision),
            Scenario("offline", precision=precision, batch=4),
            Scenario("server", precision=precision, latency_target=0.1),
        ]

    @_check
    def check_estimates(self) -> None:
        """The plugin's ``chipfit_estimate`` answers are well formed and consistent (:func:`check_result`).

        Asked directly (not behind other plugins) for each of its devices and the reference device,
        on each of its workloads and the reference workloads, in every scenario that applies. A
        plugin that registers devices must return None for devices that are not its own (unless
        ``answers_for_others``).
        """
        impls = self._impls("chipfit_estimate")
        if not impls:
            return
        own_devices = self.devices()
        devices = [*own_devices, self.catalogue.device(REFERENCE_DEVICE_ID)]
        workloads = [*self.workloads(), *(self.catalogue.workload(w.id) for w in reference_workloads())]
        own = {device.id for device in own_devices}
        problems = []
        for impl in impls:
            for device in devices:
                for workload in workloads:
                    for scenario in self._scenarios(device, workload):
                        cell = f"chipfit_estimate({device.id}, {workload.id}, {scenario.describe()})"
                        arguments = {"device": device, "workload": workload, "scenario": scenario}
                        try:
                            result = impl.function(**{name: arguments[name] for name in impl.argnames})
                        except Exception as error:  # the plugin's bug: reported, never re-raised
                            problems.append(f"{cell} raised {type(error).__name__}: {error}")
                            continue
                        if result is None:
                            continue
                        if own and device.id not in own and not self.answers_for_others:
                            problems.append(f"{cell} answered for a device that is not the plugin's own: return "
                                            "None for other plugins' devices, so their model answers")
                            continue
                        problems += [f"{cell}: {problem}" for problem in
                                     check_result(result, device, workload, scenario, hook="chipfit_estimate")]
        self._fail(_first(problems))

    @_check
    def check_measurements(self, workloads: Iterable[str] = (), *, budget: float = 1.0, measure: bool = True) -> None:
        """The plugin's ``chipfit_measure`` answers only for devices it owns, with sound results.

        It must return None for the reference device (not on this machine). With ``measure``, each
        of its own ``measurable`` devices runs ``workloads`` (ids; default: its own workloads, else
        the reference dense layer) single-stream within ``budget`` seconds each, and each result
        passes :func:`check_result` as a measured row.
        """
        impls = self._impls("chipfit_measure")
        if not impls:
            return
        problems = []
        reference = self.catalogue.device(REFERENCE_DEVICE_ID)
        dense = self.catalogue.workload("chipfit-reference-dense")
        for impl in impls:
            cells = [(reference, dense, False)]
            if measure:
                chosen = [self.catalogue.workload(ident) for ident in workloads] or self.workloads() or [dense]
                cells += [(device, workload, True) for device in self.devices() if device.measurable
                          for workload in chosen]
            for device, workload, owned in cells:
                scenario = Scenario("single-stream")
                cell = f"chipfit_measure({device.id}, {workload.id}, {scenario.describe()})"
                arguments = {"device": device, "workload": workload, "scenario": scenario, "budget": budget}
                try:
                    result = impl.function(**{name: arguments[name] for name in impl.argnames})
                except Exception as error:
                    problems.append(f"{cell} raised {type(error).__name__}: {error}")
                    continue
                if not owned:
                    if result is not None:
                        problems.append(f"{cell} answered for a device that is not on this machine: return None "
                                        "for devices this plugin cannot run")
                    continue
                if result is None:
                    problems.append(f"{cell} returned None for the plugin's own measurable device")
                    continue
                problems += [f"{cell}: {problem}" for problem in
                             check_result(result, device, workload, scenario, hook="chipfit_measure")]
        self._fail(problems)

    @_check
    def check_load_workload(self, sources: Iterable[str] = (), *, dims: dict[str, int] | None = None) -> None:
        """The plugin's ``chipfit_load_workload`` returns None for a file it does not read, and a sound
        workload (:func:`check_workload`) for each of ``sources`` (model files the author provides)."""
        impls = self._impls("chipfit_load_workload")
        if not impls:
            return
        problems = []
        with tempfile.TemporaryDirectory() as folder:
            probe = Path(folder) / "conformance-probe.chipfit-unknown-format"
            probe.write_bytes(b"not a model in any format\n")
            for impl in impls:
                cases = [(str(probe), False), *((str(source), True) for source in sources)]
                for source, expected in cases:
                    call = f"chipfit_load_workload({Path(source).name!r})"
                    arguments = {"source": source, "dims": dict(dims or {})}
                    try:
                        workload = impl.function(**{name: arguments[name] for name in impl.argnames})
                    except Exception as error:
                        if expected:
                            problems.append(f"{call} raised {type(error).__name__}: {error}")
                        elif not isinstance(error, ChipfitError):
                            problems.append(f"{call} raised {type(error).__name__} for a format it does not read: "
                                            f"return None (or raise chipfit.errors.ChipfitError): {error}")
                        continue
                    if not expected:
                        if workload is not None:
                            problems.append(f"{call} returned a workload for a file of an unknown format: return "
                                            "None for formats this plugin does not read")
                    elif not isinstance(workload, Workload):
                        problems.append(f"{call} returned {type(workload).__name__}, not a chipfit.Workload")
                    else:
                        problems += [f"{call}: workload {workload.id!r}: {problem}"
                                     for problem in check_workload(workload)]
        self._fail(problems)

    def _groups(self):
        from chipfit.spec import GroupSpec

        groups = []
        reference = self.catalogue.device(REFERENCE_DEVICE_ID)
        for index, device in enumerate(self.devices()):
            cells = []
            if device.peak_ops and device.can(Capability.INFERENCE):
                first = str(next(iter(device.peak_ops)))
                cells += [("single-stream", "chipfit-reference-dense", str(precision), None)
                          for precision in device.peak_ops]
                cells.append(("offline", "chipfit-reference-dense", first, 8))
            if device.peak_ops and device.can(Capability.TRAINING):
                cells.append(("training", "chipfit-reference-dense-train", str(next(iter(device.peak_ops))), 8))
            if device.can(Capability.GENERAL_PURPOSE):
                cells.append(("single-stream", "chipfit-reference-general", None, None))
            for number, (scenario, workload, precision, batch) in enumerate(cells):
                groups.append(GroupSpec(id=f"device-{index}-{number}", devices=[device.id], workloads=[workload],
                                        scenario=scenario, precision=precision, batch=batch))
        others = [device.id for device in self.devices()]
        for index, workload in enumerate(self.workloads()):
            scenarios = {Phase.INFERENCE: [("single-stream", None), ("offline", None)],
                         Phase.TRAINING: [("training", 1), ("training", 2)],
                         Phase.GENERAL: [("single-stream", None)]}[workload.phase]
            for number, (scenario, count) in enumerate(scenarios):
                devices = [reference.id, *others] if count != 2 else [reference.id]
                groups.append(GroupSpec(id=f"workload-{index}-{number}", devices=devices, workloads=[workload.id],
                                        scenario=scenario, count=count or 1))
        groups.append(GroupSpec(id="reference", devices=[reference.id],
                                workloads=["chipfit-reference-dense"], scenario="offline"))
        return groups

    def run(self):
        """A report of the conformance spec: the plugin's devices on the reference workloads (each
        precision, capability and scenario that applies), its workloads on the reference device and
        its own devices, and the reference cell (so estimate, metric and renderer plugins run too)."""
        from chipfit import runner
        from chipfit.spec import Spec

        spec = Spec(title=f"chipfit.testing: {self.name}", groups=self._groups())
        try:
            return runner.run(spec, self.catalogue, self.pm, where="chipfit.testing")
        except ChipfitError as error:
            raise ConformanceError(self.name, [f"the conformance run failed: {error}"]) from None

    @_check
    def check_run(self) -> None:
        """A run of a small spec with the plugin's devices and workloads succeeds.

        No cell fails; every ok row passes :func:`check_result`; each of the plugin's devices and
        workloads has at least one ok cell; the report renders in every format registered.
        """
        report = self.run()
        problems = []
        devices, workloads = self.catalogue.devices, self.catalogue.workloads
        ok_devices, ok_workloads = set(), set()
        reasons: dict[str, list[str]] = {}
        for row in report.rows:
            cell = f"run: {row.device} x {row.workload} ({row.scenario.describe()})"
            if row.status is Status.FAILED:
                problems.append(f"{cell} failed: {row.reason}")
                continue
            if row.ok:
                ok_devices.add(row.device)
                ok_workloads.add(row.workload)
                problems += [f"{cell} (answered by {row.plugin!r}): {problem}" for problem in
                             check_result(row, devices[row.device], workloads[row.workload], row.scenario, hook=None)]
            else:
                reasons.setdefault(row.device, []).append(row.reason)
                reasons.setdefault(row.workload, []).append(row.reason)
        for kind, records, ok in (("device", self.devices(), ok_devices), ("workload", self.workloads(), ok_workloads)):
            for record in records:
                if record.id not in ok:
                    why = "; ".join(dict.fromkeys(reasons.get(record.id, ["no cell ran"])))
                    problems.append(f"{kind} {record.id!r}: no cell of the conformance run is ok ({why})")
        for name, renderer in self.catalogue.renderers.items():
            try:
                text = renderer.function(report)
            except Exception as error:
                plugin = self.catalogue.plugin_of("renderer", name)
                problems.append(f"renderer {name!r} (plugin {plugin!r}) raised {type(error).__name__}: {error}")
                continue
            if not isinstance(text, str):
                problems.append(f"renderer {name!r} returned a {type(text).__name__}, not a str")
        self._fail(_first(problems))

    def check_all(self, *, measure: bool = False, sources: Iterable[str] = (),
                  dims: dict[str, int] | None = None) -> None:
        """Every check; one :class:`ConformanceError` lists all the problems found.

        :param measure: also run real measurements on the plugin's measurable devices
            (``check_measurements``); without it only the "not my device" answer is checked.
        :param sources: model files for ``check_load_workload``.
        """
        self.pm  # noqa: B018 - a plugin that cannot load fails here, alone
        problems = []
        checks = [self.check_hooks, self.check_devices, self.check_workloads, self.check_estimates,
                  lambda: self.check_measurements(measure=measure),
                  lambda: self.check_load_workload(sources, dims=dims), self.check_executors, self.check_run]
        for check in checks:
            try:
                check()
            except ConformanceError as error:
                problems += [problem for problem in error.problems if problem not in problems]
        self._fail(problems)


def _first(problems: list[str], limit: int = 30) -> list[str]:
    """At most ``limit`` problems (one bug repeats over many cells), with a count of the rest."""
    unique = list(dict.fromkeys(problems))
    if len(unique) <= limit:
        return unique
    return [*unique[:limit], f"... and {len(unique) - limit} more"]


def check_plugin(name: str, **options: Any) -> None:
    """Run every check on an installed plugin: ``PluginTester(name).check_all()``.

    ``module``, ``also`` and ``answers_for_others`` go to :class:`PluginTester`, the rest to
    :meth:`PluginTester.check_all`.
    """
    tester_options = {key: options.pop(key) for key in ("module", "also", "answers_for_others") if key in options}
    PluginTester(name, **tester_options).check_all(**options)


# --- a plugin project, importable without pip ----------------------------------------------------


def make_importable(project: str | Path, site: str | Path) -> list[Path]:
    """Make a plugin project importable with its entry points, as ``pip install -e`` would, without pip.

    Writes ``NAME-VERSION.dist-info`` (METADATA and entry_points.txt, from the project's
    ``pyproject.toml``) into ``site`` and returns the folders to put on ``sys.path`` (or
    ``PYTHONPATH``): ``site`` and the folder holding the project's packages (``src/`` if it has one).
    For test suites that cannot install (chipfit's own runs the example plugin this way).
    """
    project, site = Path(project), Path(site)
    with open(project / "pyproject.toml", "rb") as file:
        table = tomllib.load(file)["project"]
    name, version = table["name"], table.get("version", "0")
    info = site / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    groups = table.get("entry-points", {})
    lines = []
    for group, entries in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    packages = project / "src" if (project / "src").is_dir() else project
    return [site, packages]
