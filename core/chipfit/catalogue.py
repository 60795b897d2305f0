"""The catalogue: every device, workload, metric and renderer the plugins registered, and who gave it.

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

from chipfit.errors import PluginError, UnknownIdError
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


@attrs.define
class Catalogue:
    """Records registered by plugins, each with the name of the plugin that gave it."""

    devices: dict[str, Device] = attrs.field(factory=dict)
    workloads: dict[str, Workload] = attrs.field(factory=dict)
    metrics: dict[str, Any] = attrs.field(factory=dict)
    renderers: dict[str, Any] = attrs.field(factory=dict)
    provider: dict[tuple[str, str], str] = attrs.field(factory=dict)

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
        """The plugin that registered a record (``kind`` is device, workload, metric or renderer)."""
        return self.provider.get((kind, ident))


def _record_types() -> dict[str, tuple[str, str, type]]:
    from chipfit.metrics import DerivedMetric
    from chipfit.render import Renderer

    return {
        "chipfit_register_devices": ("devices", "device", Device),
        "chipfit_register_workloads": ("workloads", "workload", Workload),
        "chipfit_register_metrics": ("metrics", "metric", DerivedMetric),
        "chipfit_register_renderers": ("renderers", "renderer", Renderer),
    }


def collect(pm: pluggy.PluginManager) -> Catalogue:
    """Ask every plugin for its records and check each as it arrives.

    :raises PluginError: naming the plugin, for a record of the wrong type, a record that fails
        validation, a hook that raises, or an id that two plugins registered (naming both).
    """
    catalogue = Catalogue()
    for hook_name, (attribute, kind, record_type) in _record_types().items():
        store: dict[str, Any] = getattr(catalogue, attribute)
        for impl in implementations(pm, hook_name):
            plugin = impl.plugin_name

            def register(record: Any, plugin: str = plugin) -> None:
                if not isinstance(record, record_type):
                    raise PluginError(
                        f"plugin {plugin!r} registered a {type(record).__name__} where a "
                        f"{record_type.__name__} was expected"
                    )
                ident = getattr(record, "id", None) or getattr(record, "name")
                if ident in store:
                    first = catalogue.provider[(kind, ident)]
                    raise PluginError(
                        f"duplicate {kind} id {ident!r}: registered by plugin {first!r} "
                        f"and by plugin {plugin!r}"
                    )
                store[ident] = record
                catalogue.provider[(kind, ident)] = plugin

            try:
                call(impl, hook_name, register=register)
            except HookFailure as failure:
                if isinstance(failure.error, PluginError):
                    raise failure.error from None
                raise PluginError(
                    f"plugin {plugin!r}: {hook_name} failed: {failure.error}"
                ) from failure.error
    return catalogue
