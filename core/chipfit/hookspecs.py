"""The hooks a chipfit plugin implements: the page a plugin author reads first.

Implement a hook by decorating a module-level function with ``@chipfit.hookimpl`` and naming it
exactly as below; the arguments are passed by name, so an implementation may ask for fewer
arguments than the spec lists (never give them defaults: pluggy does not pass them).

Catalogue hooks (``chipfit_register_*``) take a ``register`` callback: call it once per record.
The host checks each record as it arrives, remembers which plugin gave it, and rejects a duplicate
id naming both plugins. Call hooks (``chipfit_estimate``, ``chipfit_measure``,
``chipfit_load_workload``) stop at the first non-None result; the core's roofline model answers
``chipfit_estimate`` last, so a vendor's own model, registered normally, answers first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:
    from chipfit.records import Device, Result, Scenario, Workload

hookspec = pluggy.HookspecMarker("chipfit")
hookimpl = pluggy.HookimplMarker("chipfit")

#: The version of this set of hooks, ``"MAJOR.MINOR"``. MINOR grows when a hook or a hook argument
#: is added (plugins written for an older MINOR still work: pluggy passes only the arguments an
#: implementation asks for); MAJOR grows when a hook or an argument is removed or changes meaning.
#: A plugin module may declare the versions it works with, ``CHIPFIT_API = ">=1.0,<2"``; a plugin
#: whose range excludes this version is not loaded, with a message naming it (docs/api-version.md).
#: 1.0: the registration hooks (devices, workloads, metrics, renderers), chipfit_load_workload,
#: chipfit_estimate, chipfit_measure. 1.1 adds chipfit_register_executors and chipfit_register_commands.
API_VERSION = "1.1"


@hookspec
def chipfit_register_devices(register: Callable[[Device], None]) -> None:
    """Register the devices this plugin describes.

    :param register: call ``register(device)`` once per :class:`chipfit.records.Device`. Figures
        are in SI units (ops/s, bytes/s, bytes, watts, USD); every figure should carry a citation
        in ``device.sources`` (``chipfit.datasheets.load_devices`` reads a cited TOML file).
        A device id already registered by another plugin is an error naming both plugins.
    """


@hookspec
def chipfit_register_workloads(register: Callable[[Workload], None]) -> None:
    """Register the workloads this plugin provides.

    :param register: call ``register(workload)`` once per :class:`chipfit.records.Workload`,
        whose ``operators`` give the per-sample cost of each operator (ops, weight bytes,
        activation bytes) at the workload's ``precision``. A duplicate id is an error naming both
        plugins.
    """


@hookspec
def chipfit_register_metrics(register: Callable[[Any], None]) -> None:
    """Register derived metrics, computed from the metrics of each ``ok`` row.

    :param register: call ``register(chipfit.metrics.DerivedMetric(id, unit, higher_is_better,
        function, description))``; ``function(metrics: dict) -> float | None`` gets the row's
        metrics (SI units, the JSON keys) and returns the new value, or None where it does not
        apply. The value is stored under ``id`` in every row.
    """


@hookspec
def chipfit_register_renderers(register: Callable[[Any], None]) -> None:
    """Register report formats (``--format NAME``).

    :param register: call ``register(chipfit.render.Renderer(name, function, extension,
        description))``; ``function(report: Report) -> str`` returns the whole document.
    """


@hookspec
def chipfit_register_executors(register: Callable[[Any], None]) -> None:
    """Register executors: where a run's measured cells run (``--executor NAME``).

    :param register: call ``register(chipfit.executors.ExecutorType(name, open, description))``;
        ``open(pm, catalogue, options)`` returns an open executor (see :mod:`chipfit.executors`),
        or raises :class:`chipfit.errors.ChipfitError` saying why it cannot start. The core
        registers ``local``; ``chipfit_ray`` registers ``ray``.
    """


@hookspec(firstresult=True)
def chipfit_load_workload(source: str, dims: dict[str, int]) -> Workload | None:
    """Turn a model file (``model.onnx`` or another format) into a workload.

    :param source: a path or URI naming the model, as the user typed it (relative paths are
        relative to the current directory, or to the spec file that names them).
    :param dims: sizes for the model's symbolic dimensions other than the batch
        (``{"sequence": 128}``); the batch dimension is the workload's batch, costed per sample.
    :return: a :class:`chipfit.records.Workload`, or None if this plugin does not read that
        format. Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def chipfit_estimate(device: Device, workload: Workload, scenario: Scenario) -> Result | None:
    """Model how a device runs a workload in a scenario, without running it.

    :param device: the device, figures in SI units.
    :param workload: the workload, per-sample operator costs.
    :param scenario: single-stream, offline, server or training, with batch, precision and count.
    :return: a :class:`chipfit.records.Result` with ``source="modelled"`` and status ``ok`` (with
        metrics in SI units under the JSON keys of the design) or ``unsupported`` (with a reason),
        or None to let the next plugin answer. Stops at the first non-None result; the core's
        roofline model is the ``trylast`` default.
    """


@hookspec(firstresult=True)
def chipfit_measure(device: Device, workload: Workload, scenario: Scenario, budget: float) -> Result | None:
    """Run a workload for real on a device this machine has, and time it.

    :param device: a device this plugin owns on this machine (others: return None).
    :param workload: the workload to run.
    :param scenario: the scenario to run it in.
    :param budget: the most wall-clock seconds the measurement may take.
    :return: a :class:`chipfit.records.Result` with ``source="measured"``; energy metrics only
        where a sensor measured them (never modelled into a measured row). None if this plugin
        cannot measure that device. Stops at the first non-None result.
    """


@hookspec
def chipfit_register_commands(cli: Any) -> None:
    """Add commands to the ``chipfit`` command line (as llm's ``register_commands``).

    :param cli: a :class:`click.Group` to add commands to: decorate functions with
        ``@cli.command()`` (or call ``cli.add_command(command)``). chipfit shows them in
        ``chipfit --help`` and runs them as its own; a command that raises
        :class:`chipfit.errors.ChipfitError` gets the message and exit status 2, as chipfit's own
        commands do. A name that a chipfit command or another plugin already uses is an error naming
        the plugin. The localhost plugin registers ``calibrate`` this way.
    """
