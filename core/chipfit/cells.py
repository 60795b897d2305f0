"""One cell of a report: a device, a workload and a scenario, modelled or measured.

Both ask a firstresult hook (``chipfit_estimate``, ``chipfit_measure``). A plugin that raises, or
returns something that is not a result for that cell, costs only that cell: it becomes a
``failed`` row naming the plugin and the reason. Executors (:mod:`chipfit.executors`) call
:func:`measure_cell` wherever the device is: in this process, or on a node of a cluster.
"""

from __future__ import annotations

import json
import math
import os

import attrs
import pluggy

from chipfit.hookcall import HookFailure, call_first
from chipfit.errors import ChipfitError
from chipfit.metrics import value_problem
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


#: Metrics whose value is a word: what bounds the time, and a training plan's activation recomputation.

#: The axes of the ``parallelism`` metric, the one metric that is an object (DESIGN: every multi-device row).
PARALLELISM_AXES = ("data", "tensor", "pipeline", "expert")


def malformed(result: object, device: Device, workload: Workload, *, name: str | None = None) -> str | None:
    """What is wrong with a plugin's answer for a cell (not a Result, another cell's, a bad metric), or None.

    ``name``: the device name the row must carry where it is not the device's id (one node's device of
    a cluster, ``ID@NODE``: :class:`chipfit.fleet.Placement`).
    """
    if result is None:
        return "no plugin answered chipfit_estimate"
    if not isinstance(result, Result):
        return f"returned a {type(result).__name__}, not a Result"
    if not isinstance(result.scenario, Scenario):
        return f"returned a result whose scenario is a {type(result.scenario).__name__}, not a Scenario"
    name = name or device.id
    if (result.device, result.workload) != (name, workload.id):
        return f"returned a result for {result.device} x {result.workload}, not {name} x {workload.id}"
    for key, value in result.metrics.items():
        if key == "parallelism":
            if not (isinstance(value, dict) and set(value) == set(PARALLELISM_AXES) and all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value.values())):
                return f"returned metric 'parallelism' = {value!r}: not a {{data, tensor, pipeline, expert}} object"
            continue
        if problem := value_problem(key, value):
            return f"returned {problem}"
    try:  # the measurement is kept in the store and in --format json: finite JSON only
        json.dumps(result.measurement, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        return f"returned a measurement that is not finite JSON ({error})"
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
