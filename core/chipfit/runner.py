"""The runner: a comparison spec and the plugins in, a :class:`~chipfit.records.Report` out.

Each cell asks ``chipfit_estimate`` (the first plugin that answers wins; the roofline model
answers last). A plugin that raises or returns something that is not a result for that cell
costs only that cell: it becomes a ``failed`` row naming the plugin and the reason.
"""

from __future__ import annotations

import datetime
import platform
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pluggy

from chipfit import claims as claim_checks
from chipfit import fleet
from chipfit import metrics as derived_metrics
from chipfit import tco, tomlfile
from chipfit.catalogue import Catalogue
from chipfit.cells import estimate_cell, malformed
from chipfit.hookcall import HookFailure, call_first
from chipfit.errors import ChipfitError, PluginError, SpecError, UnknownIdError
from chipfit.records import (
    Device,
    Report,
    Result,
    Scenario,
    ScenarioKind,
    Source,
    Status,
    Workload,
)
from chipfit.spec import Spec

if TYPE_CHECKING:
    from chipfit.executors import Executor


def with_model_error(rows: list[Result], workloads: dict[str, Workload]) -> list[Result]:
    """Add ``model_error`` to modelled and calibrated rows that have a measured twin.

    ``model_error`` = (model - measured) / measured on the row's headline metric (latency for
    single-stream, throughput for offline and server): +0.2 means the model says 20% more.
    """
    measured = {(row.group, row.device, row.workload): row for row in rows
                if row.source is Source.MEASURED and row.ok}
    out = []
    for row in rows:
        twin = measured.get((row.group, row.device, row.workload))
        if twin is not None and row.ok and row.source is not Source.MEASURED:
            metric, _ = headline(row.scenario, workloads.get(row.workload))
            mine, theirs = row.metrics.get(metric), twin.metrics.get(metric)
            if mine and theirs:
                row = attrs.evolve(row, metrics={**row.metrics, "model_error": mine / theirs - 1})
        out.append(row)
    return out


def complete_row(row: Result, device: Device | None, catalogue: Catalogue, costs: tco.CostInputs) -> Result:
    """A row as a report holds it: with its cost metrics (:mod:`chipfit.tco`) and the plugins' derived metrics."""
    return _with_derived(tco.priced(row, device, costs), catalogue)


def _with_derived(row: Result, catalogue: Catalogue) -> Result:
    """The row with the plugins' derived metrics; a metric that raises fails the row, naming its plugin."""
    if not row.ok:
        return row
    try:
        return attrs.evolve(row, metrics=derived_metrics.apply(row.metrics, catalogue.metrics))
    except derived_metrics.MetricFailure as failure:
        plugin = catalogue.plugin_of("metric", failure.metric) or "?"
        return attrs.evolve(row, status=Status.FAILED, metrics={}, explain=(), plugin=plugin,
                            reason=f"plugin {plugin!r}: {failure}")


def headline(scenario: Scenario, workload: Workload | None = None) -> tuple[str, bool]:
    """The metric that ranks rows of a scenario, and whether higher is better (the metric registry's headline)."""
    chosen = derived_metrics.headline(scenario, workload)
    return chosen.key, bool(chosen.higher_is_better)


def with_baseline(rows: list[Result], baseline: str | None, workloads: dict[str, Workload]) -> list[Result]:
    """Add ``vs_baseline`` (how many times better than the baseline device) to each ok row."""
    if baseline is None:
        return rows
    base = {(row.group, row.workload): row for row in rows
            if row.device == baseline and row.ok and row.source is not Source.MEASURED}
    out = []
    for row in rows:
        reference = base.get((row.group, row.workload))
        if row.ok and reference is not None and row.source is not Source.MEASURED:
            metric, higher = headline(row.scenario, workloads.get(row.workload))
            mine, theirs = row.metrics.get(metric), reference.metrics.get(metric)
            if mine and theirs:
                ratio = mine / theirs if higher else theirs / mine
                row = attrs.evolve(row, metrics={**row.metrics, "vs_baseline": ratio})
        out.append(row)
    return out


def environment(pm: pluggy.PluginManager) -> dict:
    """Where a report was made: platform, Python, and each plugin's distribution and version."""
    from chipfit.plugins import ChipfitPluginManager

    plugins = {}
    if isinstance(pm, ChipfitPluginManager):
        plugins = {info.name: info.version for info in pm.info()}
    try:
        version = metadata.version("chipfit")
    except metadata.PackageNotFoundError:
        version = None
    return {
        "chipfit": version,
        "python": platform.python_version(),
        "host": platform.node(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "plugins": plugins,
    }


def _resolve(ident: str, known: dict, kind: str, text: str, where: str, path: list):
    """Look up an id; an unknown one names the spec file, the line, the key and the closest known ids."""
    if ident not in known:
        line = tomlfile.locate(text, path)
        place = f"{where}, line {line}" if line else where
        raise UnknownIdError(kind, ident, known, where=f"{place}: {tomlfile.dotted(path)}")
    return known[ident]


def load_workload(pm: pluggy.PluginManager, source: str, dims: dict[str, int], *, where: str = "") -> Workload | None:
    """A workload from a model file, read by the first plugin that knows its format (None: none does).

    :raises PluginError: the plugin that tried raised something other than a clear input error.
    """
    try:
        workload, _ = call_first(pm, "chipfit_load_workload", source=source, dims=dict(dims))
    except HookFailure as failure:
        if isinstance(failure.error, ChipfitError):
            raise failure.error from None
        raise PluginError(f"{where or source}: {failure}") from None
    return workload


def is_model_file(ident: str) -> bool:
    """Whether a workload named on the command line or in a spec is a file path rather than an id."""
    return "/" in ident or "\\" in ident or Path(ident).suffix != ""


_is_file = is_model_file


def _workloads(group, catalogue: Catalogue, pm, text: str, where: str, at: list,
               files: dict[str, tuple[str, str]] | None = None) -> list[Workload]:
    """A group's workloads: catalogue ids, or model files read through ``chipfit_load_workload``.

    :param files: workload id -> (graph, place) of the model files read so far in this spec; two files
        (or one file under other dims) that would become one id are an error naming both.
    """
    files = {} if files is None else files
    out = []
    base = Path(where).parent if where and where != "command line" else Path(".")
    for index, ident in enumerate(group.workloads):
        if ident in catalogue.workloads or not _is_file(ident):
            out.append(_resolve(ident, catalogue.workloads, "workload", text, where, [*at, index]))
            continue
        path = Path(ident) if Path(ident).is_absolute() else base / ident
        line = tomlfile.locate(text, [*at, index])
        try:
            workload = load_workload(pm, str(path), group.dims, where=where)
        except ChipfitError as error:
            raise type(error)(f"{where}, line {line}: {tomlfile.dotted([*at, index])}: {error}") from None
        if workload is None:
            raise ChipfitError(f"{where}, line {line}: no plugin reads model files like {ident!r} "
                               f"(see 'chipfit plugins' for chipfit_load_workload)")
        if workload.id in catalogue.workloads:  # a file named like a catalogue workload stays apart from it
            workload = attrs.evolve(workload, id=f"{workload.id}-file")
        place = f"line {line}: {tomlfile.dotted([*at, index])} {ident!r}" if line else repr(ident)
        graph, first = files.setdefault(workload.id, (workload.graph or str(path), place))
        if graph != (workload.graph or str(path)):
            raise ChipfitError(f"{where}, {place}: becomes workload id {workload.id!r}, as {first} does (ids come "
                               f"from file names, and a report tells its rows apart by id): rename one of the "
                               f"files")
        out.append(workload)
    return out


def run(spec: Spec, catalogue: Catalogue, pm: pluggy.PluginManager, *, text: str = "", where: str = "",
        progress: Callable[[str], None] | None = None, executor: Executor | None = None,
        on_row: Callable[[Result], None] | None = None, done: Iterable[Result] = ()) -> Report:
    """Run every cell of a spec (and measure the cells of the devices in ``spec.measure``); check its claims.

    Modelled cells run here; measured cells go to ``executor`` (default: the local one), which
    may run them anywhere and hands each row back as it completes. ``on_row`` sees every new row
    as it is made (the results store keeps them as they come). ``done`` holds rows of an earlier,
    unfinished run of the same spec: its ``ok`` measured rows are kept and their cells not run
    again (resume).

    An interrupt (Ctrl-C) while measuring keeps the rows already finished: the report is marked
    ``interrupted`` and the claims are not checked.

    :raises UnknownIdError: a device or workload id no plugin registered (closest ids suggested).
    :raises SpecError: a claim whose arithmetic does not compute.
    """
    from chipfit.executors import LocalExecutor, MeasureTask

    executor = executor or LocalExecutor(pm, catalogue)
    reachable = _asking(executor, "devices") if spec.measure else {}
    absent: dict[str, str] = {}  # measured devices the executor does not reach now -> why
    for index, ident in enumerate(spec.measure):
        if ident in reachable:
            continue
        reason = _asking(executor, "unreachable", ident)
        if reason is None:
            device = _resolve(ident, catalogue.devices, "device", text, where, ["measure", index])
            line = tomlfile.locate(text, ["measure", index])
            place = f"{where}, line {line}: measure[{index}]" if line else where
            raise ChipfitError(f"{place}: {device.id} cannot be measured {_by(executor)} "
                               f"(measurable: {', '.join(reachable) or 'none'})")
        absent[ident] = reason
    # a measured device's figures are those of the device measured (a node's own record, calibration included)
    known = {**catalogue.devices, **{ident: device for ident, device in reachable.items() if ident in spec.measure}}
    for ident in absent:  # DEVICE@NODE of a node that is not there: a datasheet device is still modelled
        placed = fleet.Placement.parse(ident)
        if placed.node and placed.device in catalogue.devices and not catalogue.devices[placed.device].measurable:
            known[ident] = catalogue.devices[placed.device]
    if spec.baseline is not None:
        _resolve(spec.baseline, known, "device", text, where, ["baseline"])
    cells = []
    entries: dict[str, dict[str, str]] = {}  # per group: workload entry in the spec -> workload id
    files: dict[str, tuple[str, str]] = {}  # workload id -> (graph, place) of each model file read
    for index, group in enumerate(spec.groups):
        at = ["groups", index]
        devices = [(ident, None) if ident in absent and ident not in known
                   else (ident, _resolve(ident, known, "device", text, where, [*at, "devices", i]))
                   for i, ident in enumerate(group.devices)]
        workloads = _workloads(group, catalogue, pm, text, where, [*at, "workloads"], files)
        entries[group.id] = {entry: workload.id for entry, workload in zip(group.workloads, workloads)}
        cells += [(group, ident, device, workload) for workload in workloads for ident, device in devices]
    claim_cells = _claim_cells(spec, entries, text, where)  # a bad claim is found before any cell runs
    kept = {(row.group, row.device, row.workload): row for row in done
            if row.source is Source.MEASURED and row.ok}
    modelled: list[Result] = []
    measured: dict[int, Result] = {}
    tasks = []

    costs = spec.costs()

    def add(row: Result, group: str, *, keep: bool = True) -> Result:
        row = attrs.evolve(complete_row(row, known.get(row.device), catalogue, costs), group=group)
        if on_row and keep:
            on_row(row)
        return row

    interrupted = False
    try:
        for group, ident, device, workload in cells:
            modelled.append(add(_modelled(pm, group, ident, device, workload, spec, absent), group.id, keep=False))
        _check_columns(spec, modelled, catalogue, text, where)
        # claims read modelled cells only: check them now, before anything is kept or measured
        _check_claims(spec, claim_cells, with_baseline(modelled, spec.baseline, catalogue.workloads), text, where,
                      defer=claim_checks.MEASURED_ONLY)
        for row in modelled if on_row else ():
            on_row(row)
        for index, (group, ident, device, workload) in enumerate(cells):
            scenario = _cell_scenario(group, ident, workload, spec)
            if ident not in spec.measure:
                continue
            earlier = kept.get((group.id, ident, workload.id))
            if earlier is not None and earlier.scenario == scenario:
                measured[index] = earlier
            elif ident in absent:
                measured[index] = add(Result(ident, workload.id, scenario, Source.MEASURED, Status.UNSUPPORTED,
                                             reason=absent[ident]), group.id)
            else:
                tasks.append(MeasureTask(index, group.id, device, workload, scenario, spec.measure_budget_s,
                                         placement=fleet.Placement.parse(ident)))
        ours = {task.index: task for task in tasks}
        why = f"executor {executor.name!r} returned no row for it"
        try:
            for task, row in executor.run(tasks, progress):
                mine = ours.pop(getattr(task, "index", None), None)
                if mine is None:  # a task it was not given, or one it already answered: nothing to place
                    continue
                measured[mine.index] = add(_checked(executor, mine, row), mine.group)
        except ChipfitError:  # this machine cannot measure at all (a missing extra): bad input, exit 2
            raise
        except Exception as error:  # a broken executor costs the cells it had not finished, not the report
            why = f"executor {executor.name!r} failed: {type(error).__name__}: {error}"
        for task in ours.values():
            measured[task.index] = add(Result(task.name, task.workload.id, task.scenario, Source.MEASURED,
                                              Status.FAILED, reason=why), task.group)
        if not interrupted:
            modelled += _fit_rows(spec, catalogue, pm, costs, text, where, on_row)
    except KeyboardInterrupt:
        interrupted = True
    rows = []
    for index, row in enumerate(modelled):
        rows.append(row)
        if index in measured:
            rows.append(measured[index])
    rows = with_model_error(with_baseline(rows, spec.baseline, catalogue.workloads), catalogue.workloads)
    checks = [] if interrupted else _check_claims(spec, claim_cells, rows, text, where)
    env = environment(pm)
    if spec.measure:
        env = {**env, "executor": executor.name, **_asking(executor, "environment")}
    return Report(
        title=spec.title,
        description=spec.description,
        rows=tuple(rows),
        baseline=spec.baseline,
        spec=tomlfile.unstructure(spec),
        environment=env,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        claims=tuple(checks),
        interrupted=interrupted,
    )


def _fit_rows(spec: Spec, catalogue: Catalogue, pm: pluggy.PluginManager, costs: tco.CostInputs, text: str,
              where: str, on_row) -> list[Result]:
    """The top rows of each ``[[fit]]`` table, in a group named by its id (``fit-N`` without one).

    :raises ChipfitError: a fit whose constraints are bad or leave nothing, naming its table and line.
    """
    from chipfit import fit

    out = []
    for index, entry in enumerate(spec.fit):
        def evaluate(device, workload, scenario):
            return complete_row(estimate_cell(pm, device, workload, scenario), device, catalogue, costs)

        try:
            answer = fit.search(entry.to_query(costs), catalogue, evaluate)
        except (ChipfitError, ValueError) as error:
            line = tomlfile.locate(text, ["fit", index])
            place = f"{where}, line {line}" if line else where
            raise ChipfitError(f"{place}: fit[{index}]: {error}") from None
        group = entry.id or f"fit-{index + 1}"
        for row in answer.ranked[:entry.top]:
            row = attrs.evolve(row, group=group)
            if on_row:
                on_row(row)
            out.append(row)
    return out


def _modelled(pm: pluggy.PluginManager, group, ident: str, device, workload: Workload, spec: Spec,
              absent: dict[str, str]) -> Result:
    """One modelled cell of a group (a device no node holds now: unsupported, saying why)."""
    scenario = _cell_scenario(group, ident, workload, spec)
    if device is None:
        return Result(ident, workload.id, scenario, Source.MODELLED, Status.UNSUPPORTED,
                      reason=f"{absent[ident]}; its figures come from the node that holds it")
    row = estimate_cell(pm, device, workload, scenario)
    return row if ident == device.id else attrs.evolve(row, device=ident)  # one node's device: ID@NODE


def _cell_scenario(group, ident: str, workload: Workload, spec: Spec) -> Scenario:
    """The scenario a cell is modelled (and measured) under."""
    scenario = group.to_scenario()
    if ident in spec.measure and scenario.kind is ScenarioKind.OFFLINE and scenario.batch is None:
        # a measured run uses one batch (the workload's): model that batch too, so the two compare
        scenario = attrs.evolve(scenario, batch=workload.batch)
    return scenario


def _check_columns(spec: Spec, rows: Iterable[Result], catalogue: Catalogue, text: str, where: str) -> None:
    """A group's ``columns`` must name metrics: a misspelt one is an error suggesting the name meant.

    Known: every metric the registry knows (:func:`chipfit.metrics.registry`), the plugins' derived
    metrics, those only measurement adds, and any metric the group's modelled rows hold.
    """
    from chipfit.errors import suggest
    known = {*derived_metrics.registry(), *catalogue.metrics, *claim_checks.MEASURED_ONLY, "count"}
    present: dict[str, set[str]] = {}
    for row in rows:
        present.setdefault(row.group, set()).update(row.metrics)
    for index, group in enumerate(spec.groups):
        names = known | present.get(group.id, set())
        for position, column in enumerate(group.columns or ()):
            if column not in names:
                close = suggest(column, sorted(names))
                hint = f"; did you mean {close[0]!r}?" if close else " (see --format json for the metric names)"
                raise SpecError(f"groups[{index}].columns[{position}]: {column!r} is not a metric{hint}",
                                path=where or None, line=tomlfile.locate(text, ["groups", index, "columns"]))


def _check_claims(spec: Spec, claim_cells: list[tuple], rows: Iterable[Result], text: str, where: str, *,
                  defer: frozenset[str] = frozenset()) -> list:
    """Every claim checked against the report's modelled cells (one pass, however many claims).

    :param defer: metrics only measurement adds (``model_error``): a claim that needs one the cell lacks yet
        is left for the check after measuring, instead of failing.
    :raises SpecError: a claim whose arithmetic does not compute (naming the spec's line).
    """
    by_cell = {(row.group, row.device, row.workload): row for row in rows if row.source is not Source.MEASURED}
    checks = []
    for index, claim in enumerate(spec.claims):
        found = [None if key is None else by_cell.get(key) for key in claim_cells[index]]
        try:
            checks.append(claim_checks.check(claim, found[0], found[1], defer=defer))
        except claim_checks.Deferred:
            continue
        except SpecError as error:
            line = tomlfile.locate(text, ["claims", index, "value"])
            raise SpecError(str(error).removeprefix("<spec>: "), path=where or None, line=line) from None
    return checks


def _checked(executor: Executor, task, row: object) -> Result:
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


def _claim_cells(spec: Spec, entries: dict[str, dict[str, str]], text: str, where: str) -> list[tuple]:
    """Each claim's (cell, versus) as (group, device, workload id) keys, resolved before anything runs.

    :raises UnknownIdError: a claim naming a device or workload its group lacks (file, line, key).
    """
    groups = {group.id: group for group in spec.groups}
    out = []
    for index, claim in enumerate(spec.claims):
        at = ["claims", index]
        keys = []
        for key, ref in (("cell", claim.cell), ("versus", claim.versus)):
            if ref is None:
                keys.append(None)
                continue
            _resolve(ref.device, dict.fromkeys(groups[ref.group].devices), "device", text, where,
                     [*at, key, "device"])
            workload_id = _resolve(ref.workload, entries[ref.group], "workload", text, where, [*at, key, "workload"])
            keys.append((ref.group, ref.device, workload_id))
        out.append(tuple(keys))
    return out


def _asking(executor: Executor, method: str, *args):
    """An executor's answer; one that raises is an error naming it (exit 2), not a traceback."""
    try:
        return getattr(executor, method)(*args)
    except ChipfitError:
        raise
    except Exception as error:
        raise PluginError(f"executor {executor.name!r}: {method}() failed: {type(error).__name__}: {error}") from None


def _by(executor: Executor) -> str:
    """Where an executor measures, for messages."""
    return "on this machine" if executor.name == "local" else f"by the {executor.name} executor"
