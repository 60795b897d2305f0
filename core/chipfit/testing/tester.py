"""The plugin tester: one plugin loaded as chipfit loads it, and the checks it must pass.

:class:`PluginTester` is one class of checks (one method each, sharing the loaded plugin manager and
catalogue); the laws it applies live in :mod:`chipfit.testing.laws`, the cells it asks for in
:mod:`chipfit.testing.cells`, the reference plugin in :mod:`chipfit.testing.reference`.

Why one module of ~450 lines: the class is the kit's public face (``PluginTester(...).check_all()``),
and its checks share one loaded plugin manager and catalogue; split into mixins, a plugin author
reading what a check does would have to chase it across files. Each check is a short method, and
everything a check applies (laws, cells, problems) is already a module of its own.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from chipfit.checks import check_device
from chipfit.errors import ChipfitError, PluginError, suggest
from chipfit.records import Device, Scenario, Status, Workload
from chipfit.hookcall import HookFailure, call_plugin
from chipfit.testing.cells import conformance_groups, scenarios_for
from chipfit.testing.laws import check_result, check_workload
from chipfit.testing.loading import argument_hint, hook_specs, loading_only
from chipfit.testing.problems import ConformanceError, conformance_check, first_problems
from chipfit.testing.reference import REFERENCE_DEVICE_ID, REFERENCE_PLUGIN, ReferencePlugin, reference_workloads


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
            with loading_only(entry_names):
                pm = get_plugin_manager(autoload=bool(entry_names),
                                        extra=[self.module_name] if self.module_name else ())
        except PluginError as error:
            raise ConformanceError(self.name, [f"{error}{argument_hint(str(error), hook_specs())}"]) from None
        if not pm.has_plugin(self.name):
            raise ConformanceError(self.name, ["was not loaded (is it blocked?)"])
        pm.register(ReferencePlugin(), name=REFERENCE_PLUGIN)
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

            self._catalogue = collect(self.pm, warn=self._registration_failed)
        return self._catalogue

    def _registration_failed(self, message: str) -> None:
        """A registration hook raised: chipfit would skip those records with a warning; the kit fails."""
        raise ConformanceError(self.name, [message])

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

    @conformance_check
    def check_hooks(self) -> None:
        """Every hook implementation matches its spec, and every ``chipfit_*`` function is one.

        Loading already rejects an unknown hook name and an argument the spec does not have
        (with a "did you mean"); this adds a ``chipfit_*`` function that is not decorated with
        ``@chipfit.hookimpl`` (chipfit would never call it), an argument with a default or a
        ``*args``/``**kwargs`` (pluggy never fills them), and a plugin that implements no hook.
        """
        plugin = self.plugin
        problems = []
        specs = hook_specs()
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

    @conformance_check
    def check_devices(self) -> None:
        """Every device the plugin registers validates and passes :func:`chipfit.checks.check_device`:
        plausible figures in SI units, sparse peaks not passed off as dense, a citation for every figure."""
        problems = [f"device {problem.device!r}: {problem.field}: {problem.message}"
                    for device in self.devices() for problem in check_device(device)]
        self._fail(problems)

    @conformance_check
    def check_workloads(self) -> None:
        """Every workload the plugin registers validates and passes :func:`check_workload`."""
        problems = [f"workload {workload.id!r}: {problem}"
                    for workload in self.workloads() for problem in check_workload(workload)]
        self._fail(problems)

    @conformance_check
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

    @conformance_check
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
                    for scenario in scenarios_for(device, workload):
                        cell = f"chipfit_estimate({device.id}, {workload.id}, {scenario.describe()})"
                        arguments = {"device": device, "workload": workload, "scenario": scenario}
                        try:
                            result = call_plugin(self.pm, "chipfit_estimate", self.name, **arguments)
                        except HookFailure as failure:  # the plugin's bug: reported, never re-raised
                            error = failure.error
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
        self._fail(first_problems(problems))

    @conformance_check
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
                    result = call_plugin(self.pm, "chipfit_measure", self.name, **arguments)
                except HookFailure as failure:
                    error = failure.error
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

    @conformance_check
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
                        workload = call_plugin(self.pm, "chipfit_load_workload", self.name, **arguments)
                    except HookFailure as failure:
                        error = failure.error
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

    def run(self):
        """A report of the conformance spec: the plugin's devices on the reference workloads (each
        precision, capability and scenario that applies), its workloads on the reference device and
        its own devices, and the reference cell (so estimate, metric and renderer plugins run too)."""
        from chipfit import runner
        from chipfit.spec import Spec

        groups = conformance_groups(self.devices(), self.workloads(), self.catalogue.device(REFERENCE_DEVICE_ID))
        spec = Spec(title=f"chipfit.testing: {self.name}", groups=groups)
        try:
            return runner.run(spec, self.catalogue, self.pm, where="chipfit.testing")
        except ChipfitError as error:
            raise ConformanceError(self.name, [f"the conformance run failed: {error}"]) from None

    @conformance_check
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
        self._fail(first_problems(problems))

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


def check_plugin(name: str, **options: Any) -> None:
    """Run every check on an installed plugin: ``PluginTester(name).check_all()``.

    ``module``, ``also`` and ``answers_for_others`` go to :class:`PluginTester`, the rest to
    :meth:`PluginTester.check_all`.
    """
    tester_options = {key: options.pop(key) for key in ("module", "also", "answers_for_others") if key in options}
    PluginTester(name, **tester_options).check_all(**options)
