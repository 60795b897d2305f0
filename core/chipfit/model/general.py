"""General-purpose (non-AI) work at the device's sustained ``general_ops``."""

from __future__ import annotations

from chipfit.model.common import _common, _energy, _figure, _source
from chipfit.records import Bound, Device, Result, Scenario, Status, Workload
from chipfit.units import duration, si_number


def _general(device: Device, workload: Workload, scenario: Scenario) -> Result:
    ops = workload.ops_per_sample
    latency = ops / device.general_ops
    metrics = {
        "latency_s": latency,
        "throughput_sps": 1 / latency,
        "ops_total": ops,
        "ops_available_per_s": device.general_ops,
        "peak_ops_per_s": device.general_ops,
        "bound": str(Bound.COMPUTE),
        "utilization": 1.0,
        **_common(device, 1),
    }
    _energy(metrics, 1 / latency)
    metrics["energy_j"] = metrics["energy_per_sample_j"] if metrics["energy_per_sample_j"] else None
    explain = (
        f"general-purpose work: {si_number(ops, 'ops')} / {_figure(device, 'general_ops', device.general_ops, 'ops/s')} "
        f"sustained (general_ops) = {duration(latency)}",
        f"energy = {_figure(device, 'power', device.power, 'W')} x {duration(latency)} = "
        f"{si_number(metrics['energy_j'], 'J')}" if device.power else "energy: unavailable (power not known)",
    )
    return Result(device.id, workload.id, scenario, _source(device), Status.OK, metrics, explain=explain)
