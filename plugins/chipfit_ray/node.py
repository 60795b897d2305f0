"""What runs on a node of the cluster: describing the devices it holds, and measuring one cell.

Ray runs these functions in worker processes on the node, which load the node's own chipfit
plugins (its entry points, ``CHIPFIT_PLUGINS``, ``CHIPFIT_LOAD_PLUGINS``) once per process. The
device measured is the node's own record of it (detected figures, its calibration profile), and
each row carries the node's environment back to the driver.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs

from chipfit.paths import cache_dir, write_atomically
from chipfit.records import Device, Result, Scenario, Source, Status, Workload, graph_locator, split_locator

_loaded: dict[str, Any] = {}


def _plugins():
    """The node's plugin manager and catalogue, built once per worker process."""
    if "catalogue" not in _loaded:
        from chipfit.catalogue import collect
        from chipfit.plugins import get_plugin_manager

        pm = get_plugin_manager()
        _loaded.update(pm=pm, catalogue=collect(pm))
    return _loaded["pm"], _loaded["catalogue"]


def this_node() -> str:
    """The name this node advertises (its ``chipfit-node:NAME`` resource), found through Ray."""
    if "node" not in _loaded:
        import ray

        from chipfit.fleet import held

        me = ray.get_runtime_context().get_node_id()
        names = [held(node["Resources"])[0] for node in ray.nodes() if node["NodeID"] == me]
        _loaded["node"] = names[0] if names and names[0] else platform.node()
    return _loaded["node"]


def environment(device: Device | None = None) -> dict[str, Any]:
    """Where a cell was measured: the node, its host, versions, plugins, and the device's calibration."""
    from chipfit.plugins import ChipfitPluginManager

    pm, _ = _plugins()
    try:
        version = metadata.version("chipfit")
    except metadata.PackageNotFoundError:
        version = None
    env = {
        "node": this_node(),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "chipfit": version,
        "plugins": {info.name: info.version for info in pm.info()} if isinstance(pm, ChipfitPluginManager) else {},
    }
    if device is not None:
        env["calibration"] = device.efficiency.origin if device.efficiency else "none (default efficiencies)"
    return env


def describe(advertised: list[str]) -> dict[str, Any]:
    """The records of the devices this node advertises and can measure (as wire data), and the node's environment."""
    from chipfit.serialize import unstructure

    _, catalogue = _plugins()
    devices = {ident: unstructure(catalogue.devices[ident]) for ident in advertised
               if ident in catalogue.devices and catalogue.devices[ident].measurable}
    return {"devices": devices, "environment": environment(), "missing": sorted(set(advertised) - set(devices))}


def _model_file(workload: Workload, model: bytes | None) -> Workload:
    """The workload with its model file written here (content-addressed) when the driver sent it."""
    if model is None:
        return workload
    target, dims = split_locator(workload.graph)
    digest = hashlib.sha256(model).hexdigest()[:24]
    path = cache_dir() / "fleet" / f"{digest}-{Path(target).name}"
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest()[:24] != digest:  # absent, or not whole
        write_atomically(path, model)
    return attrs.evolve(workload, graph=graph_locator(str(path), dims))


def measure(device_id: str, as_id: str, workload: dict[str, Any], scenario: dict[str, Any], budget: float,
            model: bytes | None = None) -> dict[str, Any]:
    """Measure one cell on this node with its own plugins; the row is named ``as_id`` and carries the node.

    The workload, the scenario and the row travel as wire data (:mod:`chipfit.serialize`), not as pickled
    records, so the driver and the node need not run the same chipfit.
    """
    from chipfit.serialize import structure, unstructure

    workload = structure(workload, Workload, where="the driver's workload")
    scenario = structure(scenario, Scenario, where="the driver's scenario")
    return unstructure(_measure(device_id, as_id, workload, scenario, budget, model))


def _measure(device_id: str, as_id: str, workload: Workload, scenario: Scenario, budget: float,
             model: bytes | None) -> Result:
    from chipfit.cells import measure_cell

    pm, catalogue = _plugins()
    device = catalogue.devices.get(device_id)
    if device is None or not device.measurable:
        measurable = sorted(ident for ident, known in catalogue.devices.items() if known.measurable)
        return Result(as_id, workload.id, scenario, Source.MEASURED, Status.FAILED,
                      reason=f"node {this_node()} advertises {device_id} but its plugins cannot measure it "
                             f"(measurable there: {', '.join(measurable) or 'none'})",
                      measurement={"node": environment()})
    row = measure_cell(pm, device, _model_file(workload, model), scenario, budget)
    return attrs.evolve(row, device=as_id, measurement={**row.measurement, "node": environment(device)})
