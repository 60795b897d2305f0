"""The catalogue: every device, workload, metric, renderer and executor the plugins registered, and who gave it.

Hooks are called one implementation at a time, so that whatever goes wrong is pinned on the
plugin that did it: a record that fails validation, a duplicate id (naming both plugins), a hook
that raises. Call hooks go through :func:`call_first`, which reports the plugin that raised.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pluggy

from chipfit.errors import ChipfitError, PluginError, UnknownIdError
from chipfit.records import Device, Workload


@attrs.frozen
class HookFailure(Exception):
    """A hook implementation raised: ``plugin`` names it, ``error`` is what it raised."""

    plugin: str
    hook: str
    error: BaseException

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} raised in {self.hook}: {type(self.error).__name__}: {self.error}"


def implementations(pm: pluggy.PluginManager, hook_name: str) -> Iterator[pluggy.HookImpl]:
    """A hook's implementations in pluggy's call order (tryfirst first, trylast last)."""
    caller = getattr(pm.hook, hook_name)
    # pluggy calls the last of get_hookimpls() first
    for impl in reversed(caller.get_hookimpls()):
        if not impl.hookwrapper and not getattr(impl, "wrapper", False):
            yield impl


def call(impl: pluggy.HookImpl, hook_name: str, **kwargs: Any) -> Any:
    """Call one implementation with the arguments it asks for; raise :class:`HookFailure` if it raises."""
    arguments = {name: kwargs[name] for name in impl.argnames}
    if os.environ.get("CHIPFIT_TRACE_PLUGINS"):
        print(f"chipfit: {hook_name} -> {impl.plugin_name}", file=sys.stderr)
    try:
        return impl.function(**arguments)
    except Exception as error:
        raise HookFailure(impl.plugin_name, hook_name, error) from error


def call_first(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> tuple[Any, str | None]:
    """Call a firstresult hook; return the first non-None result and the plugin that gave it."""
    for impl in implementations(pm, hook_name):
        result = call(impl, hook_name, **kwargs)
        if result is not None:
            return result, impl.plugin_name
    return None, None


class Catalogue:
    """Records registered by plugins, each with the name of the plugin that gave it.

    Each kind (devices, workloads, metrics, renderers) is asked for on first use, so listing
    devices never pays for building workloads.
    """

    _HOOKS = {
        "devices": ("chipfit_register_devices", "device"),
        "workloads": ("chipfit_register_workloads", "workload"),
        "metrics": ("chipfit_register_metrics", "metric"),
        "renderers": ("chipfit_register_renderers", "renderer"),
        "executors": ("chipfit_register_executors", "executor"),
    }

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm
        self._stores: dict[str, dict[str, Any]] = {}
        self.provider: dict[tuple[str, str], str] = {}

    @property
    def devices(self) -> dict[str, Device]:
        """Devices by id."""
        return self._store("devices")

    @property
    def workloads(self) -> dict[str, Workload]:
        """Workloads by id."""
        return self._store("workloads")

    @property
    def metrics(self) -> dict[str, Any]:
        """Derived metrics by id."""
        return self._store("metrics")

    @property
    def renderers(self) -> dict[str, Any]:
        """Report formats by name."""
        return self._store("renderers")

    @property
    def executors(self) -> dict[str, Any]:
        """Executors (where measured cells run) by name."""
        return self._store("executors")

    def device(self, ident: str, *, where: str = "") -> Device:
        """The device with this id; an unknown id suggests the closest known ones."""
        try:
            return self.devices[ident]
        except KeyError:
            raise UnknownIdError("device", ident, self.devices, where=where) from None

    def workload(self, ident: str, *, where: str = "") -> Workload:
        """The workload with this id; an unknown id suggests the closest known ones."""
        try:
            return self.workloads[ident]
        except KeyError:
            raise UnknownIdError("workload", ident, self.workloads, where=where) from None

    def plugin_of(self, kind: str, ident: str) -> str | None:
        """The plugin that registered a record (``kind`` is device, workload, metric, renderer or executor)."""
        return self.provider.get((kind, ident))

    def _store(self, attribute: str) -> dict[str, Any]:
        if attribute not in self._stores:
            hook_name, kind = self._HOOKS[attribute]
            self._stores[attribute] = self._collect(hook_name, kind, _record_types()[attribute])
        return self._stores[attribute]

    def _collect(self, hook_name: str, kind: str, record_type: type | tuple[type, ...]) -> dict[str, Any]:
        """Ask every plugin for its records of one kind, checking each as it arrives."""
        store: dict[str, Any] = {}
        for impl in implementations(self._pm, hook_name):
            plugin = impl.plugin_name

            def register(record: Any, plugin: str = plugin) -> None:
                if not isinstance(record, record_type):
                    expected = " or ".join(kind.__name__ for kind in
                                           (record_type if isinstance(record_type, tuple) else (record_type,)))
                    raise PluginError(
                        f"plugin {plugin!r} registered a {type(record).__name__} where a {expected} was expected"
                    )
                ident = getattr(record, "id", None) or getattr(record, "name")
                if kind == "device" and "@" in ident:
                    raise PluginError(f"plugin {plugin!r} registered device id {ident!r}: ID@NODE names one node's "
                                      "device in a cluster (chipfit.fleet); register the plain id")
                if ident in store:
                    first = self.provider[(kind, ident)]
                    raise PluginError(
                        f"duplicate {kind} id {ident!r}: registered by plugin {first!r} and by plugin {plugin!r}"
                    )
                if kind == "metric":  # into the metric registry, which renderers and charts read
                    from chipfit import metrics

                    try:
                        metrics.register(record, plugin=plugin)
                    except ChipfitError as error:
                        raise PluginError(str(error)) from None
                store[ident] = record
                self.provider[(kind, ident)] = plugin

            try:
                call(impl, hook_name, register=register)
            except HookFailure as failure:
                if isinstance(failure.error, PluginError):
                    raise failure.error from None
                raise PluginError(f"plugin {plugin!r}: {hook_name} failed: {failure.error}") from failure.error
        return store


def _record_types() -> dict[str, type]:
    from chipfit.executors import ExecutorType
    from chipfit.metrics import DerivedMetric, Metric
    from chipfit.render import Renderer

    return {"devices": Device, "workloads": Workload, "metrics": (Metric, DerivedMetric), "renderers": Renderer,
            "executors": ExecutorType}


def collect(pm: pluggy.PluginManager) -> Catalogue:
    """The catalogue of a plugin manager's plugins (each kind collected on first use).

    Reading a kind raises :class:`PluginError`, naming the plugin, for a record of the wrong type,
    a record that fails validation, a hook that raises, or an id that two plugins registered
    (naming both).
    """
    return Catalogue(pm)
