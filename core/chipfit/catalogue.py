"""The catalogue: every device, workload, metric, renderer and executor the plugins registered, and who gave it.

Hooks are called through pluggy, each plugin's implementation by a caller of its own
(:mod:`chipfit.hookcall`), so that whatever goes wrong is pinned on the plugin that did it: a
record of the wrong type or a duplicate id (naming both plugins) is an error; a registration hook
that raises costs that plugin its records of that kind (a warning names it), and the rest load.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pluggy

from chipfit import hookcall
from chipfit.hookcall import HookFailure  # noqa: F401 - re-exported (chipfit.catalogue.HookFailure)

from chipfit.errors import ChipfitError, PluginError, UnknownIdError
from chipfit.records import Device, Workload


def implementations(pm: pluggy.PluginManager, hook_name: str) -> Iterator[pluggy.HookImpl]:
    """A hook's implementations (not wrappers) in pluggy's call order (tryfirst first, trylast last)."""
    caller = getattr(pm.hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):  # pluggy calls the last of get_hookimpls() first
        if not impl.hookwrapper and not getattr(impl, "wrapper", False):
            yield impl


def call_first(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> tuple[Any, str | None]:
    """Call a firstresult hook through pluggy; the first non-None result and the plugin that gave it
    (:func:`chipfit.hookcall.call_first`)."""
    return hookcall.call_first(pm, hook_name, **kwargs)


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

    def __init__(self, pm: pluggy.PluginManager, *, warn: Callable[[str], None] | None = None) -> None:
        self._pm = pm
        self._stores: dict[str, dict[str, Any]] = {}
        self.provider: dict[tuple[str, str], str] = {}
        #: Plugins whose registration hook raised: their records of that kind are skipped (named here).
        self.warnings: list[str] = []
        self._warn = warn

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
        given: dict[str, list[str]] = {}  # plugin -> the ids it registered in this call

        class Refused(PluginError):
            """A record the host refused (wrong type, invalid, duplicate): bad input, not a plugin crash."""

        def register_for(plugin: str) -> Callable[[Any], None]:
            def register(record: Any) -> None:
                if not isinstance(record, record_type):
                    expected = " or ".join(kind.__name__ for kind in
                                           (record_type if isinstance(record_type, tuple) else (record_type,)))
                    raise Refused(f"plugin {plugin!r} registered a {type(record).__name__} where a {expected} "
                                  "was expected")
                ident = getattr(record, "id", None) or getattr(record, "name")
                if ident in store:
                    first = self.provider[(kind, ident)]
                    raise Refused(f"duplicate {kind} id {ident!r}: registered by plugin {first!r} and by plugin "
                                  f"{plugin!r}")
                if kind == "metric":  # into the metric registry, which renderers and charts read
                    from chipfit import metrics

                    try:
                        metrics.register(record, plugin=plugin)
                    except ChipfitError as error:
                        raise Refused(str(error)) from None
                store[ident] = record
                self.provider[(kind, ident)] = plugin
                given.setdefault(plugin, []).append(ident)

            return register

        for plugin, failure in hookcall.call_each(self._pm, hook_name, lambda plugin: {"register": register_for(plugin)}):
            if failure is None:
                continue
            if isinstance(failure.error, Refused):
                raise PluginError(str(failure.error)) from None
            if isinstance(failure.error, ChipfitError):  # the plugin's own clear message (a bad data file …)
                raise PluginError(f"plugin {plugin!r}: {hook_name} failed: {failure.error}") from None
            for ident in given.pop(plugin, ()):  # a plugin that crashed half-way: none of its records
                store.pop(ident, None)
                self.provider.pop((kind, ident), None)
            self._warning(f"plugin {plugin!r}: {hook_name} raised {type(failure.error).__name__}: {failure.error}; "
                          f"its {kind}s are skipped")
        return store

    def _warning(self, message: str) -> None:
        if os.environ.get("CHIPFIT_STRICT_PLUGINS", "").strip():  # strict: a plugin that fails is an error
            raise PluginError(message)
        self.warnings.append(message)
        if self._warn is not None:
            self._warn(message)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=4)


def _record_types() -> dict[str, type]:
    from chipfit.executors import ExecutorType
    from chipfit.metrics import DerivedMetric, Metric
    from chipfit.render import Renderer

    return {"devices": Device, "workloads": Workload, "metrics": (Metric, DerivedMetric), "renderers": Renderer,
            "executors": ExecutorType}


def collect(pm: pluggy.PluginManager, *, warn: Callable[[str], None] | None = None) -> Catalogue:
    """The catalogue of a plugin manager's plugins (each kind collected on first use).

    Reading a kind raises :class:`PluginError`, naming the plugin, for a record of the wrong type,
    a record that fails validation, a hook that raises, or an id that two plugins registered
    (naming both).

    A plugin whose registration hook raises (anything but a clear error of chipfit's) loses its
    records of that kind, and the rest load: ``warn`` (default: :func:`warnings.warn`) is told,
    naming the plugin, and the message is kept in ``catalogue.warnings``.
    """
    return Catalogue(pm, warn=warn)
