"""Planning a run: a spec and the catalogue in, resolved cells out, every error located in the spec.

Resolution looks up each device and workload id (reading model files through
``chipfit_load_workload``), finds which measured devices the executor reaches, and resolves every
claim's cells, all before a cell runs: a misspelt id is an error naming the spec file, the line,
the key and the closest known ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pluggy

from chipfit import fleet, tco, tomlfile
from chipfit.catalogue import Catalogue
from chipfit.errors import ChipfitError, PluginError, UnknownIdError
from chipfit.hookcall import HookFailure, call_first
from chipfit.records import Device, Scenario, ScenarioKind, Workload
from chipfit.run.claims import claim_cells
from chipfit.spec import GroupSpec, Spec

if TYPE_CHECKING:
    from chipfit.executors import Executor


@attrs.frozen
class Cell:
    """One cell of a group: a device (None where no node holds it now) running a workload."""

    index: int
    group: GroupSpec
    ident: str  # the device id as the spec names it
    device: Device | None
    workload: Workload
    scenario: Scenario


@attrs.frozen(eq=False)
class Plan:
    """A spec resolved against the catalogue: what a run runs, every id already checked.

    ``known`` holds the devices a row's figures come from (a measured device's record is the one its node
    gives); ``absent`` the measured devices the executor does not reach now, with why.
    """

    spec: Spec
    catalogue: Catalogue
    pm: pluggy.PluginManager
    text: str
    where: str
    known: dict[str, Device]
    absent: dict[str, str]
    cells: tuple[Cell, ...]
    claim_cells: tuple[tuple, ...]
    costs: tco.CostInputs

    def place(self, path: list) -> str:
        """``spec.toml, line N`` for a key path of the spec (the file alone where the line is unknown)."""
        line = tomlfile.locate(self.text, path)
        return f"{self.where}, line {line}" if line else self.where


def plan(spec: Spec, catalogue: Catalogue, pm: pluggy.PluginManager, *, executor: Executor | None = None,
         text: str = "", where: str = "") -> Plan:
    """Resolve every cell of a spec (and its claims) before anything runs.

    :param executor: where measured cells would run (default: this machine); asked which devices it reaches.
    :param text: the spec's TOML text, so errors name a line; ``where`` names the file.
    :raises UnknownIdError: a device or workload id no plugin registered (closest ids suggested).
    :raises ChipfitError: a measured device the executor cannot measure, or a model file no plugin reads.
    """
    from chipfit.executors import LocalExecutor
    from chipfit.run.dispatch import asking, by

    executor = executor or LocalExecutor(pm, catalogue)
    reachable = asking(executor, "devices") if spec.measure else {}
    absent: dict[str, str] = {}  # measured devices the executor does not reach now -> why
    for index, ident in enumerate(spec.measure):
        if ident in reachable:
            continue
        reason = asking(executor, "unreachable", ident)
        if reason is None:
            device = resolve(ident, catalogue.devices, "device", text, where, ["measure", index])
            line = tomlfile.locate(text, ["measure", index])
            place = f"{where}, line {line}: measure[{index}]" if line else where
            raise ChipfitError(f"{place}: {device.id} cannot be measured {by(executor)} "
                               f"(measurable: {', '.join(reachable) or 'none'})")
        absent[ident] = reason
    # a measured device's figures are those of the device measured (a node's own record, calibration included)
    known = {**catalogue.devices, **{ident: device for ident, device in reachable.items() if ident in spec.measure}}
    for ident in absent:  # DEVICE@NODE of a node that is not there: a datasheet device is still modelled
        placed = fleet.Placement.parse(ident)
        if placed.node and placed.device in catalogue.devices and not catalogue.devices[placed.device].measurable:
            known[ident] = catalogue.devices[placed.device]
    if spec.baseline is not None:
        resolve(spec.baseline, known, "device", text, where, ["baseline"])
    cells: list[Cell] = []
    entries: dict[str, dict[str, str]] = {}  # per group: workload entry in the spec -> workload id
    files: dict[str, tuple[str, str]] = {}  # workload id -> (graph, place) of each model file read
    for index, group in enumerate(spec.groups):
        at = ["groups", index]
        devices = [(ident, None) if ident in absent and ident not in known
                   else (ident, resolve(ident, known, "device", text, where, [*at, "devices", i]))
                   for i, ident in enumerate(group.devices)]
        workloads = group_workloads(group, catalogue, pm, text, where, [*at, "workloads"], files)
        entries[group.id] = {entry: workload.id for entry, workload in zip(group.workloads, workloads)}
        for workload in workloads:
            for ident, device in devices:
                cells.append(Cell(len(cells), group, ident, device, workload,
                                  cell_scenario(group, ident, workload, spec)))
    claims = claim_cells(spec, entries, text, where)  # a bad claim is found before any cell runs
    return Plan(spec=spec, catalogue=catalogue, pm=pm, text=text, where=where, known=known, absent=absent,
                cells=tuple(cells), claim_cells=tuple(claims), costs=spec.costs())


def resolve(ident: str, known: dict, kind: str, text: str, where: str, path: list):
    """Look up an id; an unknown one names the spec file, the line, the key and the closest known ids."""
    if ident not in known:
        line = tomlfile.locate(text, path)
        place = f"{where}, line {line}" if line else where
        raise UnknownIdError(kind, ident, known, where=f"{place}: {tomlfile.dotted(path)}")
    return known[ident]


def cell_scenario(group: GroupSpec, ident: str, workload: Workload, spec: Spec) -> Scenario:
    """The scenario a cell is modelled (and measured) under."""
    scenario = group.to_scenario()
    if ident in spec.measure and scenario.kind is ScenarioKind.OFFLINE and scenario.batch is None:
        # a measured run uses one batch (the workload's): model that batch too, so the two compare
        scenario = attrs.evolve(scenario, batch=workload.batch)
    return scenario


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


def group_workloads(group: GroupSpec, catalogue: Catalogue, pm: pluggy.PluginManager, text: str, where: str,
                    at: list, files: dict[str, tuple[str, str]] | None = None) -> list[Workload]:
    """A group's workloads: catalogue ids, or model files read through ``chipfit_load_workload``.

    :param files: workload id -> (graph, place) of the model files read so far in this spec; two files
        (or one file under other dims) that would become one id are an error naming both.
    """
    files = {} if files is None else files
    out = []
    base = Path(where).parent if where and where != "command line" else Path(".")
    for index, ident in enumerate(group.workloads):
        if ident in catalogue.workloads or not is_model_file(ident):
            out.append(resolve(ident, catalogue.workloads, "workload", text, where, [*at, index]))
            continue
        path = Path(ident) if Path(ident).is_absolute() else base / ident
        line = tomlfile.locate(text, [*at, index])
        try:
            workload = load_workload(pm, str(path), group.dims_for(ident), where=where)
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
