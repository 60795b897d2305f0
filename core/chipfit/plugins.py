"""Finding and loading plugins: entry points in group ``chipfit``, ``-p MODULE``, and the core's defaults.

Each entry point loads in its own ``try``: a plugin that fails to import is reported by name and
the others still load (``CHIPFIT_STRICT_PLUGINS=1`` re-raises instead). A plugin module may declare
the plugin API versions it supports (``CHIPFIT_API = ">=1.0,<2"``, against
:data:`chipfit.hookspecs.API_VERSION`); one that excludes this chipfit's is skipped the same way,
named. Environment variables:

``CHIPFIT_DISABLE_PLUGIN_AUTOLOAD``  any non-empty value: load no entry points (``-p`` still works)
``CHIPFIT_LOAD_PLUGINS``             comma-separated entry-point names: load only these
``CHIPFIT_STRICT_PLUGINS``           any non-empty value: a plugin that fails to load, or whose registration
                                     hook raises, is an error (by default it is skipped with a warning)
``CHIPFIT_TRACE_PLUGINS``            any non-empty value: print every plugin's hook call to stderr
``CHIPFIT_PLUGINS``                  comma-separated module names loaded as ``-p`` loads them (as pytest's
                                     ``PYTEST_PLUGINS``): how a node of a cluster, where no command line
                                     is typed, loads a plugin module that is not installed as a distribution
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable
from importlib import metadata

import attrs
import pluggy

from chipfit import hookspecs
from chipfit.errors import PluginError, suggest

ENTRY_POINT_GROUP = "chipfit"

#: Core modules registered in every manager: the roofline model (``trylast``), the built-in
#: metrics and renderers. They are the defaults that vendor plugins improve upon.
DEFAULT_PLUGINS = ("chipfit.roofline", "chipfit.metrics", "chipfit.render", "chipfit.executors")


@attrs.frozen
class PluginInfo:
    """What ``chipfit plugins`` shows of one plugin."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    origin: str  # "default", "entry point", "-p"


@attrs.frozen
class LoadFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    distribution: str | None
    error: str


@attrs.define(eq=False)
class ChipfitPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from and which failed to load.

    Managers compare (and hash) by identity, as pluggy's own do: two managers with the same
    plugins are still two managers."""

    origins: dict[str, tuple[str, str | None, str | None]] = attrs.field(factory=dict)
    failures: list[LoadFailure] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        pluggy.PluginManager.__init__(self, "chipfit")

    def info(self) -> list[PluginInfo]:
        """Every registered plugin, in registration order, with the hooks it implements."""
        rows = []
        for name, plugin in self.list_name_plugin():
            if plugin is None:
                continue
            origin, dist, version = self.origins.get(name, ("registered", None, None))
            hooks = tuple(sorted(caller.name for caller in self.get_hookcallers(plugin) or ()))
            rows.append(PluginInfo(name, dist, version, hooks, origin))
        return rows


def _truthy(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


def get_plugin_manager(
    *,
    autoload: bool | None = None,
    extra: Iterable[str] = (),
    blocked: Iterable[str] = (),
) -> ChipfitPluginManager:
    """Build a plugin manager: the core defaults, then entry points, then ``extra`` modules.

    :param autoload: load entry points; None reads ``CHIPFIT_DISABLE_PLUGIN_AUTOLOAD``.
    :param extra: module names to import and register, as ``-p MODULE`` does (after those that
        ``CHIPFIT_PLUGINS`` names).
    :param blocked: plugin names not to load, as ``-p no:NAME`` does.
    :raises PluginError: an ``extra`` module that cannot be imported, or a hook implementation
        that does not match its spec (misspelt hook name, unknown argument).
    """
    pm = ChipfitPluginManager()
    pm.add_hookspecs(hookspecs)
    blocked = set(blocked)
    for name in blocked:
        pm.set_blocked(name)
    core = ("default", "chipfit", _version("chipfit"))  # looked up once: each lookup searches sys.path
    for module_name in DEFAULT_PLUGINS:
        _register(pm, importlib.import_module(module_name), module_name, core)
    if autoload is None:
        autoload = not _truthy("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD")
    if autoload:
        _load_entry_points(pm, blocked)
    from_env = [name.strip() for name in os.environ.get("CHIPFIT_PLUGINS", "").split(",") if name.strip()]
    named = {**{name: f"-p {name}" for name in extra}, **{name: f"CHIPFIT_PLUGINS={name}" for name in from_env}}
    for module_name, how in named.items():
        if module_name in blocked:
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # the user named it: failing to import it is their error
            raise PluginError(f"{how}: cannot import plugin module: {error}") from error
        if reason := api_mismatch(module):
            raise PluginError(f"{how}: plugin {module_name!r} {reason}")
        _register(pm, module, module_name, ("-p", None, None))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise _validation_error(pm, error) from None
    return pm


def _validation_error(pm: pluggy.PluginManager, error: pluggy.PluginValidationError) -> PluginError:
    """pluggy's message with the plugin named by its name, not its module's repr."""
    name = pm.get_name(error.plugin) or getattr(error.plugin, "__name__", str(error.plugin))
    message = re.sub(r"\s*in plugin <module [^>]*>", "", str(error))
    hint = ""
    if match := re.search(r"unknown hook '(\w+)'", message):
        specified = [caller.name for caller in vars(pm.hook).values() if getattr(caller, "spec", None)]
        close = suggest(match.group(1), specified)
        hint = f"; did you mean {close[0]!r}?" if close else f" (chipfit's hooks: {', '.join(sorted(specified))})"
    return PluginError(f"plugin {name!r}: {message.strip()}{hint}")


def _register(pm: ChipfitPluginManager, module, name: str, origin: tuple[str, str | None, str | None]) -> None:
    if pm.is_blocked(name) or pm.has_plugin(name) or pm.is_registered(module):
        return  # e.g. -p naming a module an entry point already loaded
    try:
        pm.register(module, name=name)
    except pluggy.PluginValidationError as error:
        raise _validation_error(pm, error) from None
    pm.origins[name] = origin


def _load_entry_points(pm: ChipfitPluginManager, blocked: set[str]) -> None:
    only = {name.strip() for name in os.environ.get("CHIPFIT_LOAD_PLUGINS", "").split(",") if name.strip()}
    strict = _truthy("CHIPFIT_STRICT_PLUGINS")
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in blocked or (only and entry_point.name not in only):
            continue
        dist, version = _name_and_version(entry_point.dist)
        try:
            module = entry_point.load()
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            if strict:
                raise PluginError(
                    f"plugin {entry_point.name!r} (distribution {dist!r}) failed to load: {message}"
                ) from error
            pm.failures.append(LoadFailure(entry_point.name, dist, message))
            continue
        if reason := api_mismatch(module):  # too old or too new for this chipfit: skipped like a failed import
            if strict:
                raise PluginError(f"plugin {entry_point.name!r} (distribution {dist!r}) {reason}")
            pm.failures.append(LoadFailure(entry_point.name, dist, reason))
            continue
        _register(pm, module, entry_point.name, ("entry point", dist, version))


_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|~=|>|<)?\s*(\d+(?:\.\d+)*)\s*$")


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def api_supported(declared: str | int, version: str = hookspecs.API_VERSION) -> bool:
    """Whether a declared range (``">=1.0,<2"``, ``"~=1.0"``, ``"==1"``, or an int major) admits ``version``.

    A bare version (``"1"``, ``1``) means that major version: ``>=1,<2``.

    :raises ValueError: ``declared`` is not a comma-separated list of ``OP VERSION`` clauses.
    """
    if isinstance(declared, int) and not isinstance(declared, bool):
        declared = str(declared)
    if not isinstance(declared, str) or not declared.strip():
        raise ValueError(f"not a version range: {declared!r}")
    have = _version_tuple(version)
    for clause in declared.split(","):
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError(f"not a version range: {declared!r}")
        operator, want = match.group(1) or "", _version_tuple(match.group(2))
        if operator in ("", "~="):  # a bare major, or a compatible release: same major, at least this
            upper = (want[0] + 1, 0, 0)
            ok = want <= have < upper if operator else want[0] == have[0]
        else:
            ok = {">=": have >= want, "<=": have <= want, ">": have > want, "<": have < want,
                  "==": have == want, "!=": have != want}[operator]
        if not ok:
            return False
    return True


def api_mismatch(module) -> str | None:
    """Why a plugin module's ``CHIPFIT_API`` excludes this chipfit's plugin API, or None (also when undeclared)."""
    declared = getattr(module, "CHIPFIT_API", None)
    if declared is None:
        return None
    try:
        if api_supported(declared):
            return None
    except ValueError:
        return (f"declares CHIPFIT_API = {declared!r}, which is not a version range "
                f"(write e.g. '>={hookspecs.API_VERSION},<{int(hookspecs.API_VERSION.split('.')[0]) + 1}')")
    return (f"supports chipfit plugin API {declared!r}, but this chipfit's plugin API is {hookspecs.API_VERSION}: "
            f"install a version of the plugin made for API {hookspecs.API_VERSION}, or a chipfit that it supports")


def _version(distribution: str) -> str | None:
    try:
        return _name_and_version(metadata.distribution(distribution))[1]
    except metadata.PackageNotFoundError:
        return None


#: Each distribution's (name, version), by where its metadata is: read once per process.
_NAMES_AND_VERSIONS: dict[object, tuple[str | None, str | None]] = {}


def _name_and_version(dist: metadata.Distribution | None) -> tuple[str | None, str | None]:
    """A distribution's name and version, from the header of its metadata, read once.

    ``dist.name`` and ``dist.version`` each parse the whole metadata file again, long description
    (a README) included: sixteen entry points of one distribution made that most of a light command's
    start-up. Only the header block is parsed here, once per distribution.
    """
    if dist is None:
        return None, None
    key = getattr(dist, "_path", None) or id(dist)
    if key not in _NAMES_AND_VERSIONS:
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
        if text:
            from email.parser import HeaderParser

            header = HeaderParser().parsestr(text.split("\n\n", 1)[0])
            _NAMES_AND_VERSIONS[key] = (header.get("Name"), header.get("Version"))
        else:
            _NAMES_AND_VERSIONS[key] = (dist.name, dist.version)
    return _NAMES_AND_VERSIONS[key]
