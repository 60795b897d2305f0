"""Dispatching a planned run's cells: modelled cells through ``chipfit_estimate`` here, measured cells
to the executor, which may run them anywhere and hands each row back as it completes.

Every row is checked before it is placed: an executor that returns nothing, a malformed row or a row
of another cell costs only that cell (a ``failed`` row saying why), and an executor that breaks
part-way costs the cells it had not finished, not the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import attrs

from chipfit import fleet
from chipfit.cells import estimate_cell, malformed
from chipfit.errors import ChipfitError, PluginError
from chipfit.records import Result, Source, Status
from chipfit.run.merge import complete_row
from chipfit.run.plan import Cell, Plan

if TYPE_CHECKING:
    from chipfit.executors import Executor


class RowSink:
    """Where a run's rows go as they are made: completed (costs, derived metrics, group) and handed to
    ``on_row`` (the results store keeps them as they come)."""

    def __init__(self, plan: Plan, on_row: Callable[[Result], None] | None = None) -> None:
        self.plan = plan
        self.on_row = on_row

    def complete(self, row: Result, group: str) -> Result:
        """The row as a report holds it, in its group."""
        plan = self.plan
        return attrs.evolve(complete_row(row, plan.known.get(row.device), plan.catalogue, plan.costs), group=group)

    def add(self, row: Result, group: str) -> Result:
        """Complete a row and keep it."""
        return self.keep(self.complete(row, group))

    def keep(self, row: Result) -> Result:
        """Hand a finished row to ``on_row``."""
        if self.on_row:
            self.on_row(row)
        return row


def model_cells(plan: Plan, sink: RowSink) -> Iterator[Result]:
    """Each cell's modelled row, completed but not yet kept (its spec's checks come first)."""
    for cell in plan.cells:
        yield sink.complete(modelled(plan, cell), cell.group.id)


def modelled(plan: Plan, cell: Cell) -> Result:
    """One modelled cell of a group (a device no node holds now: unsupported, saying why)."""
    if cell.device is None:
        return Result(cell.ident, cell.workload.id, cell.scenario, Source.MODELLED, Status.UNSUPPORTED,
                      reason=f"{plan.absent[cell.ident]}; its figures come from the node that holds it")
    row = estimate_cell(plan.pm, cell.device, cell.workload, cell.scenario)
    return row if cell.ident == cell.device.id else attrs.evolve(row, device=cell.ident)  # one node's device: ID@NODE


def measure_cells(plan: Plan, executor: Executor, sink: RowSink, done: Iterable[Result] = (),
                  progress: Callable[[str], None] | None = None) -> Iterator[tuple[int, Result]]:
    """(cell index, measured row) for each measured cell, as it comes: kept from ``done`` (resume), unsupported
    where no node holds the device, else from the executor."""
    from chipfit.executors import MeasureTask

    spec = plan.spec
    kept = {(row.group, row.device, row.workload): row for row in done if row.source is Source.MEASURED and row.ok}
    tasks = []
    for cell in plan.cells:
        if cell.ident not in spec.measure:
            continue
        earlier = kept.get((cell.group.id, cell.ident, cell.workload.id))
        if earlier is not None and earlier.scenario == cell.scenario:
            yield cell.index, earlier
        elif cell.ident in plan.absent:
            yield cell.index, sink.add(Result(cell.ident, cell.workload.id, cell.scenario, Source.MEASURED,
                                              Status.UNSUPPORTED, reason=plan.absent[cell.ident]), cell.group.id)
        else:
            tasks.append(MeasureTask(cell.index, cell.group.id, cell.device, cell.workload, cell.scenario,
                                     spec.measure_budget_s, placement=fleet.Placement.parse(cell.ident)))
    ours = {task.index: task for task in tasks}
    why = f"executor {executor.name!r} returned no row for it"
    try:
        for task, row in executor.run(tasks, progress):
            mine = ours.pop(getattr(task, "index", None), None)
            if mine is None:  # a task it was not given, or one it already answered: nothing to place
                continue
            yield mine.index, sink.add(checked(executor, mine, row), mine.group)
    except ChipfitError:  # this machine cannot measure at all (a missing extra): bad input, exit 2
        raise
    except Exception as error:  # a broken executor costs the cells it had not finished, not the report
        why = f"executor {executor.name!r} failed: {type(error).__name__}: {error}"
    for task in ours.values():
        yield task.index, sink.add(Result(task.name, task.workload.id, task.scenario, Source.MEASURED,
                                          Status.FAILED, reason=why), task.group)


def checked(executor: Executor, task, row: object) -> Result:
    """An executor's row for a task, named by the task's placement (``ID@NODE``) where it gave the plain id;
    or a failed row saying what was wrong with it (never placed unchecked)."""
    if isinstance(row, Result) and row.device == task.device.id != task.name:
        row = attrs.evolve(row, device=task.name)
    problem = "returned None" if row is None else malformed(row, task.device, task.workload, name=task.name)
    if problem is None and row.source is not Source.MEASURED:
        problem = f"returned a {row.source} row where a measured one was asked for"
    if problem:
        return Result(task.name, task.workload.id, task.scenario, Source.MEASURED, Status.FAILED,
                      reason=f"executor {executor.name!r} {problem}")
    return row


def asking(executor: Executor, method: str, *args):
    """An executor's answer; one that raises is an error naming it (exit 2), not a traceback."""
    try:
        return getattr(executor, method)(*args)
    except ChipfitError:
        raise
    except Exception as error:
        raise PluginError(f"executor {executor.name!r}: {method}() failed: {type(error).__name__}: {error}") from None


def by(executor: Executor) -> str:
    """Where an executor measures, for messages."""
    return "on this machine" if executor.name == "local" else f"by the {executor.name} executor"
