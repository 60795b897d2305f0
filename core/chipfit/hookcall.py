"""Calling hooks through pluggy while keeping per-plugin blame: whatever goes wrong costs only the
plugin that did it.

Every call goes through the plugin manager's hook callers (``pm.hook`` and pluggy's
``subset_hook_caller``), so ``@hookimpl(wrapper=True)`` and old-style hookwrappers run, and
``pm.add_hookcall_monitoring`` (and pluggy's tracing) sees every call. One call of a hook is:

1. the **outer call**: the hook's wrappers only (a subset caller without the plugins that implement
   it normally), given one temporary implementation through pluggy's ``call_extra``: the
   *dispatcher*. Each wrapper runs once per call and its ``yield`` gets the answer (a
   firstresult hook's first non-None result, or every plugin's, for the ``register`` hooks);
2. the **dispatcher** asks the normal implementations in pluggy's call order (``tryfirst`` first,
   ``trylast`` last), each through a subset caller holding that plugin alone, so pluggy calls it
   and chipfit knows who answered and who raised (a firstresult hook stops at the first non-None
   answer, as pluggy's own loop does).

A plugin that raises anything (``SystemExit`` and ``KeyboardInterrupt`` included, except a real
Ctrl-C) is a :class:`HookFailure` naming it. A real Ctrl-C is told apart by the SIGINT handler
:func:`watch_ctrl_c` installs (the command line installs it; a library caller that has not is
given every ``KeyboardInterrupt`` back). :func:`call_first` with ``time_limit`` runs the outer call
in a worker thread and gives up after that many seconds, naming the plugin that was running (a
hook that sleeps forever becomes a failed row, not a hung run).
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pluggy


@attrs.frozen
class HookFailure(Exception):
    """A hook implementation raised: ``plugin`` names it, ``error`` is what it raised."""

    plugin: str
    hook: str
    error: BaseException

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} raised in {self.hook}: {type(self.error).__name__}: {self.error}"


class HookTimeout(Exception):
    """A hook call gave no answer within its time limit."""


# --- Ctrl-C: a real one, or a plugin raising KeyboardInterrupt ------------------------------------

_ctrl_c = {"watching": False, "count": 0}


def watch_ctrl_c() -> None:
    """Count real Ctrl-Cs (SIGINT), so a plugin raising ``KeyboardInterrupt`` is told apart from one.

    Installs a SIGINT handler that counts, then raises ``KeyboardInterrupt`` as Python's default
    does. Only in the main thread, and only where SIGINT has Python's default handler.
    """
    if _ctrl_c["watching"] or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return

    def counted(signum, frame):
        _ctrl_c["count"] += 1
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, counted)
    _ctrl_c["watching"] = True


def _real_ctrl_c(error: BaseException, seen_before: int) -> bool:
    """Whether a KeyboardInterrupt came from a Ctrl-C (or might have: nothing is watching)."""
    if not isinstance(error, KeyboardInterrupt):
        return False
    if threading.current_thread() is not threading.main_thread():
        return False  # signals reach the main thread only: in a worker, a plugin raised it
    return not _ctrl_c["watching"] or _ctrl_c["count"] != seen_before


# --- who implements a hook, and a caller for each ---------------------------------------------------

_callers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _is_wrapper(impl: pluggy.HookImpl) -> bool:
    return bool(impl.hookwrapper or getattr(impl, "wrapper", False))


@attrs.frozen
class _Plan:
    """A hook's callers for one set of registered implementations."""

    wrappers: Any  # the hook caller holding only the plugins that wrap it
    plugins: tuple[tuple[str, Any], ...]  # (plugin name, the caller holding that plugin alone), in call order


def _plan(pm: pluggy.PluginManager, hook_name: str) -> _Plan:
    caller = getattr(pm.hook, hook_name)
    impls = caller.get_hookimpls()
    key = tuple(map(id, impls))
    cache = _callers.setdefault(pm, {})
    cached = cache.get(hook_name)
    if cached is not None and cached[0] == key:
        return cached[1]
    everyone = {impl.plugin for impl in impls}
    normal = [impl for impl in reversed(impls) if not _is_wrapper(impl)]  # pluggy calls the last first
    plan = _Plan(
        wrappers=pm.subset_hook_caller(hook_name, {impl.plugin for impl in normal}),
        plugins=tuple((impl.plugin_name, pm.subset_hook_caller(hook_name, everyone - {impl.plugin}))
                      for impl in normal),
    )
    cache[hook_name] = (key, plan)
    return plan


def implementers(pm: pluggy.PluginManager, hook_name: str) -> list[str]:
    """The plugins that implement a hook (not as wrappers), in pluggy's call order."""
    return [name for name, _ in _plan(pm, hook_name).plugins]


def _trace(hook_name: str, plugin: str) -> None:
    if os.environ.get("CHIPFIT_TRACE_PLUGINS"):
        print(f"chipfit: {hook_name} -> {plugin}", file=sys.stderr)


def call_plugin(pm: pluggy.PluginManager, hook_name: str, plugin: str, **kwargs: Any) -> Any:
    """One plugin's implementation of a hook, called by pluggy (that plugin alone, without wrappers).

    :raises HookFailure: it raised (anything but a real Ctrl-C).
    :raises KeyError: the plugin does not implement the hook.
    """
    callers = dict(_plan(pm, hook_name).plugins)
    return _ask(callers[plugin], hook_name, plugin, kwargs)


def _ask(caller, hook_name: str, plugin: str, kwargs: dict[str, Any]) -> Any:
    _trace(hook_name, plugin)
    seen = _ctrl_c["count"]
    try:
        return caller(**kwargs)
    except BaseException as error:
        if _real_ctrl_c(error, seen):
            raise
        raise HookFailure(plugin, hook_name, error) from error


def call_first(pm: pluggy.PluginManager, hook_name: str, *, time_limit: float | None = None,
               **kwargs: Any) -> tuple[Any, str | None]:
    """Call a firstresult hook through pluggy: the first non-None answer and the plugin that gave it.

    Wrappers see the call once and may change the answer (the plugin named is then the one whose
    answer they were given). With ``time_limit`` (seconds), a call still running then is given up.

    :raises HookFailure: an implementation raised, or the call ran past ``time_limit`` (the error
        is a :class:`HookTimeout`, blamed on the plugin that was running).
    """
    plan = _plan(pm, hook_name)
    state: dict[str, Any] = {"plugin": None, "running": None}

    def dispatch():
        for plugin, caller in plan.plugins:
            state["running"] = plugin
            answer = _ask(caller, hook_name, plugin, kwargs)
            if answer is not None:
                state["plugin"] = plugin
                return answer
        state["running"] = None
        return None

    def outer():
        seen = _ctrl_c["count"]
        try:
            return plan.wrappers.call_extra([dispatch], kwargs)
        except HookFailure:
            raise
        except BaseException as error:  # a wrapper raised
            if _real_ctrl_c(error, seen):
                raise
            raise HookFailure(_wrapper_name(pm, hook_name), hook_name, error) from error

    if time_limit is None:
        result = outer()
    else:
        try:
            result = _worker().run(outer, time_limit)
        except HookTimeout as timeout:
            raise HookFailure(state["running"] or _wrapper_name(pm, hook_name), hook_name, timeout) from None
    return result, (state["plugin"] if result is not None else None)


def _wrapper_name(pm: pluggy.PluginManager, hook_name: str) -> str:
    names = [impl.plugin_name for impl in getattr(pm.hook, hook_name).get_hookimpls() if _is_wrapper(impl)]
    return " or ".join(names) or "?"


def call_each(pm: pluggy.PluginManager, hook_name: str,
              arguments: Callable[[str], dict[str, Any]]) -> Iterator[tuple[str, HookFailure | None]]:
    """Call a hook's every implementation through pluggy, each with its own arguments (``arguments(plugin)``:
    the ``register`` hooks give each plugin a callback that knows its name).

    Yields ``(plugin, None)`` for each plugin that returned and ``(plugin, failure)`` for each that
    raised, in pluggy's call order; wrappers run once, around them all, given the arguments made for
    them (``arguments`` of their names). A wrapper that raises is a :class:`HookFailure` raised after
    the plugins' outcomes.
    """
    plan = _plan(pm, hook_name)
    outcomes: list[tuple[str, HookFailure | None]] = []

    def dispatch():
        for plugin, caller in plan.plugins:
            try:
                _ask(caller, hook_name, plugin, arguments(plugin))
                outcomes.append((plugin, None))
            except HookFailure as failure:
                outcomes.append((plugin, failure))
        return None

    seen = _ctrl_c["count"]
    try:
        plan.wrappers.call_extra([dispatch], arguments(_wrapper_name(pm, hook_name)))
    except BaseException as error:
        if _real_ctrl_c(error, seen):
            raise
        yield from outcomes
        raise HookFailure(_wrapper_name(pm, hook_name), hook_name, error) from error
    yield from outcomes


# --- a worker thread for calls with a time limit -------------------------------------------------------


class _Worker:
    """A daemon thread that runs calls one at a time; one that overran its limit is abandoned."""

    def __init__(self) -> None:
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.stuck = False
        self.thread = threading.Thread(target=self._loop, name="chipfit-hook-call", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            function, box, done = self.tasks.get()
            try:
                box.append((True, function()))
            except BaseException as error:  # noqa: BLE001 - handed to the caller, which decides
                box.append((False, error))
            done.set()

    def run(self, function: Callable[[], Any], limit: float) -> Any:
        if threading.current_thread() is self.thread:  # a limited call inside one: the outer limit holds
            return function()
        box: list = []
        done = threading.Event()
        self.tasks.put((function, box, done))
        if not done.wait(limit):
            self.stuck = True
            raise HookTimeout(f"no answer within {limit:g} s (the time limit for one call)")
        ok, value = box[0]
        if ok:
            return value
        raise value


_workers: dict[str, _Worker] = {}


def _worker() -> _Worker:
    worker = _workers.get("current")
    if worker is None or worker.stuck:
        worker = _workers["current"] = _Worker()
    return worker
