"""One cell of a report: a device, a workload and a scenario, modelled or measured.

Both ask a firstresult hook (``chipfit_estimate``, ``chipfit_measure``). A plugin that raises, or
returns something that is not a result for that cell, costs only that cell: it becomes a
``failed`` row naming the plugin and the reason. Executors (:mod:`chipfit.executors`) call
:func:`measure_cell` wherever the device is: in this process, or on a node of a cluster.
"""

from __future__ import annotations

import math
import os

import attrs
import pluggy

from chipfit.hookcall import HookFailure, call_first
from chipfit.errors import ChipfitError
from chipfit.records import Device, Result, Scenario, Source, Status, Workload


#: Seconds one ``chipfit_estimate`` call may take before its cell fails, naming the plugin that was
#: running (``CHIPFIT_ESTIMATE_TIME_LIMIT_S`` overrides it). The roofline takes microseconds.
ESTIMATE_TIME_LIMIT_S = 60.0


def estimate_time_limit() -> float:
    """The time limit of one estimate: ``$CHIPFIT_ESTIMATE_TIME_LIMIT_S`` if it is a positive number, else the default."""
    try:
        limit = float(os.environ.get("CHIPFIT_ESTIMATE_TIME_LIMIT_S", ""))
    except ValueError:
        return ESTIMATE_TIME_LIMIT_S
    return limit if limit > 0 and math.isfinite(limit) else ESTIMATE_TIME_LIMIT_S


def estimate_cell(pm: pluggy.PluginManager, device: Device, workload: Workload, scenario: Scenario) -> Result:
    """One modelled cell; a plugin's failure (raising, or running past the time limit) becomes a ``failed``
    row naming it."""
    try:
        result, plugin = call_first(pm, "chipfit_estimate", time_limit=estimate_time_limit(), device=device,
                                    workload=workload, scenario=scenario)
    except HookFailure as failure:
        return Result(device.id, workload.id, scenario, Source.MODELLED, Status.FAILED,
                      reason=str(failure), plugin=failure.plugin)
    problem = malformed(result, device, workload)
    if problem:
        return Result(device.id, workload.id, scenario, Source.MODELLED, Status.FAILED,
                      reason=f"plugin {plugin!r} {problem}", plugin=plugin or "")
    return attrs.evolve(result, plugin=result.plugin or plugin)


def malformed(result: object, device: Device, workload: Workload) -> str | None:
    """What is wrong with a plugin's answer for a cell (not a Result, another cell's, a bad metric), or None."""
    if result is None:
        return "no plugin answered chipfit_estimate"
    if not isinstance(result, Result):
        return f"returned a {type(result).__name__}, not a Result"
    if not isinstance(result.scenario, Scenario):
        return f"returned a result whose scenario is a {type(result.scenario).__name__}, not a Scenario"
    if (result.device, result.workload) != (device.id, workload.id):
        return f"returned a result for {result.device} x {result.workload}, not {device.id} x {workload.id}"
    for key, value in result.metrics.items():
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and not isinstance(value, (bool, str)) and not (numeric and math.isfinite(value)):
            return f"returned metric {key!r} = {value!r}: not a finite number"
        if isinstance(value, str) and key not in ("bound",):
            return f"returned metric {key!r} = {value!r}: a number was expected"
    return None


def measure_cell(pm: pluggy.PluginManager, device: Device, workload: Workload, scenario: Scenario,
                 budget: float) -> Result:
    """One measured cell; no plugin able to measure the device, or one that raises, gives a failed row.

    A plugin that raises :class:`~chipfit.errors.ChipfitError` says this machine cannot measure at all
    (a missing extra: "pip install 'chipfit[run]'"): that is bad input, raised on, not a failed row.
    """
    try:
        result, plugin = call_first(pm, "chipfit_measure", device=device, workload=workload, scenario=scenario,
                                    budget=budget)
    except HookFailure as failure:
        if isinstance(failure.error, ChipfitError):
            raise failure.error from None
        return Result(device.id, workload.id, scenario, Source.MEASURED, Status.FAILED,
                      reason=str(failure), plugin=failure.plugin)
    if result is None:
        return Result(device.id, workload.id, scenario, Source.MEASURED, Status.FAILED,
                      reason=f"no plugin can measure {device.id} on this machine")
    problem = malformed(result, device, workload)
    if problem:
        return Result(device.id, workload.id, scenario, Source.MEASURED, Status.FAILED,
                      reason=f"plugin {plugin!r} {problem}", plugin=plugin or "")
    return attrs.evolve(result, plugin=result.plugin or plugin)
