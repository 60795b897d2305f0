"""Executors: where a run's measured cells run.

A modelled cell is arithmetic and always runs in the process that runs the spec (the *driver*).
A measured cell needs its device, so it runs where the device is. An executor takes the measured
cells of a run and hands back each cell's row as it completes:

- ``local`` (the default, here): every cell in this process, one after the other, through
  ``chipfit_measure`` (the localhost plugin runs each graph in a child process).
- others come from plugins through ``chipfit_register_executors``: ``chipfit_ray`` (``pip install
  'chipfit[cluster]'``) sends each cell to the node of a Ray cluster that holds its device.

An executor never raises for one cell: a cell it could not run (the node left, the task failed or
timed out) comes back as a ``failed`` row with the reason, and the other cells go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import attrs
import pluggy

from chipfit.catalogue import Catalogue
from chipfit.cells import measure_cell
from chipfit.errors import ChipfitError
from chipfit.fleet import Placement
from chipfit.hookspecs import hookimpl
from chipfit.records import Device, Result, Scenario, Workload

#: The executor a run uses unless told otherwise.
DEFAULT = "local"


@attrs.frozen
class MeasureTask:
    """One measured cell for an executor: where it goes in the report, what to measure, and where.

    ``device`` is the record of the device as the executor reported it (:meth:`Executor.devices`),
    under its plain id; ``placement`` says where to measure it: the device's id and, where the spec
    names one (``localhost-cpu@gpu-server``), the node that holds it. The cell's row is named by the
    placement (:attr:`name`); a row an executor names by the plain device id is renamed so.
    """

    index: int
    group: str
    device: Device
    workload: Workload
    scenario: Scenario
    budget: float
    placement: Placement = attrs.field(default=attrs.Factory(lambda task: Placement(task.device.id), takes_self=True))

    @property
    def name(self) -> str:
        """The device as the spec and the row name it: ``ID``, or ``ID@NODE``."""
        return str(self.placement)


@attrs.frozen
class ExecutorOptions:
    """What the user said about the executor (``--address``, ``--cell-timeout``); each may be unset."""

    address: str | None = None
    cell_timeout_s: float | None = None


class Executor(Protocol):
    """What the runner asks of an executor (an open one: :attr:`ExecutorType.open` made it)."""

    name: str

    def devices(self) -> dict[str, Device]:
        """The measurable devices it reaches now, by the name a spec gives them (``ID``, or ``ID@NODE``
        for one node's device: a :class:`~chipfit.fleet.Placement`); each record has its plain id."""

    def unreachable(self, ident: str) -> str | None:
        """Why a device it does not reach is only absent for now (its cells become ``unsupported``
        rows with this reason), or None when naming it is a mistake (bad input, exit 2)."""

    def run(self, tasks: list[MeasureTask], progress: Callable[[str], None] | None = None
            ) -> Iterator[tuple[MeasureTask, Result]]:
        """Measure the tasks; yield each with its row as it completes (in any order)."""

    def environment(self) -> dict[str, Any]:
        """Where it measured: for the report's environment (e.g. each node's host and versions)."""

    def close(self) -> None:
        """Let go of what it holds (connections, processes)."""


@attrs.frozen
class ExecutorType:
    """An executor a plugin offers: ``--executor NAME`` or ``executor = "NAME"`` in a spec.

    ``open(pm, catalogue, options)`` returns an open :class:`Executor`; it raises
    :class:`chipfit.errors.ChipfitError` with a clear message when it cannot (a missing extra, no
    cluster at the address).
    """

    name: str
    open: Callable[[pluggy.PluginManager, Catalogue, ExecutorOptions], Executor]
    description: str = ""


class LocalExecutor:
    """Every measured cell in this process, in order: the devices this machine has."""

    name = DEFAULT

    def __init__(self, pm: pluggy.PluginManager, catalogue: Catalogue,
                 options: ExecutorOptions = ExecutorOptions()) -> None:
        if options.address:
            raise ChipfitError(f"--address {options.address}: the local executor runs on this machine; an address "
                               "is for an executor that reaches other machines (--executor ray)")
        if options.cell_timeout_s:
            raise ChipfitError("--cell-timeout: the local executor runs each cell here, under its plugin's own limit "
                               "(the budget plus a start-up allowance); the option is for an executor that sends "
                               "cells elsewhere (--executor ray)")
        self.pm = pm
        self.catalogue = catalogue

    def devices(self) -> dict[str, Device]:
        """The devices this machine has (those its plugins mark measurable)."""
        return {ident: device for ident, device in self.catalogue.devices.items() if device.measurable}

    def unreachable(self, ident: str) -> str | None:
        """None: a device this machine lacks is a mistake in the spec."""
        return None

    def run(self, tasks: list[MeasureTask], progress: Callable[[str], None] | None = None
            ) -> Iterator[tuple[MeasureTask, Result]]:
        """Measure each task here, one after the other (measurements must not share the machine)."""
        for task in tasks:
            if progress:
                progress(f"measuring {task.name} x {task.workload.id} ({task.scenario.describe()}, "
                         f"{task.budget:g} s budget)")
            yield task, measure_cell(self.pm, task.device, task.workload, task.scenario, task.budget)

    def environment(self) -> dict[str, Any]:
        """Nothing beyond the report's own environment: the cells ran on this machine."""
        return {}

    def close(self) -> None:
        """Nothing to let go of."""


def open_executor(name: str | None, pm: pluggy.PluginManager, catalogue: Catalogue,
                  options: ExecutorOptions = ExecutorOptions(), *, where: str = "") -> Executor:
    """Open the executor called ``name`` (default ``local``).

    :raises UnknownIdError: no plugin offers an executor of that name (the known ones suggested).
    :raises ChipfitError: the executor cannot start (its message says why).
    """
    from chipfit.errors import PluginError, UnknownIdError

    name = name or DEFAULT
    known = catalogue.executors
    if name not in known:
        raise UnknownIdError("executor", name, known, where=where)
    try:
        executor = known[name].open(pm, catalogue, options)
    except ChipfitError:
        raise
    except Exception as error:  # a plugin's executor that breaks while opening is named, not a traceback
        plugin = catalogue.plugin_of("executor", name)
        raise PluginError(f"plugin {plugin!r}: executor {name!r} failed to start: {type(error).__name__}: "
                          f"{error}") from error
    return executor


@hookimpl
def chipfit_register_executors(register) -> None:
    """The built-in ``local`` executor."""
    register(ExecutorType(DEFAULT, LocalExecutor, "this machine, one measured cell after another (the default)"))
