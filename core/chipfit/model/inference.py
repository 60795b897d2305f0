"""Inference on one device: single-stream, offline and server."""

from __future__ import annotations

from chipfit.model.common import _common, _energy, _figure, _on_chip_note, _source
from chipfit.model.defaults import MAX_BATCH, efficiency_for
from chipfit.model.memory import memory_footprint
from chipfit.model.roofline import batch_cost
from chipfit.records import Device, Precision, Result, ScenarioKind, Scenario, Status, Workload
from chipfit.units import duration, si_number


def _inference(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> Result:
    target = scenario.latency_target or workload.latency_target
    efficiency, efficiency_from = efficiency_for(device)
    if scenario.kind is ScenarioKind.SINGLE_STREAM:
        batch = 1
    elif scenario.batch is not None:
        batch = scenario.batch
    else:
        batch = _search_batch(device, workload, precision, target if scenario.kind is ScenarioKind.SERVER else None)
    cost = batch_cost(device, workload, precision, batch)
    throughput = batch / cost.time_s
    peak = device.peak_ops[precision]
    ops_per_sample = workload.ops_per_sample
    metrics = {
        "latency_s": cost.time_s,
        "throughput_sps": throughput,
        "batch": batch,
        "ops_total": ops_per_sample,
        "ops_available_per_s": cost.ops / cost.time_s,
        "peak_ops_per_s": peak,
        "bound": str(cost.bound),
        "utilization": cost.ops / cost.time_s / peak,
        **_common(device, 1),
    }
    _energy(metrics, throughput)
    explain = [
        f"{workload.name}: {si_number(ops_per_sample, 'ops')}/sample, "
        f"{si_number(workload.weight_bytes * precision.bytes_per_value / workload.precision.bytes_per_value, 'B')} "
        f"of weights in {precision}",
        f"{device.name}: peak {_figure(device, f'peak_ops.{precision}', peak, 'ops/s')} x "
        f"{efficiency.compute_for(precision):.3g} "
        f"compute efficiency, {_figure(device, 'memory_bandwidth', device.memory_bandwidth, 'B/s')} x "
        f"{efficiency.memory:g} memory efficiency, "
        f"{duration(efficiency.overhead_s)}/operator ({efficiency_from})",
        *_on_chip_note(device, workload, precision),
        f"batch {batch}: sum over {len(workload.operators)} operators of max(compute, memory) + overhead "
        f"= {duration(cost.time_s)}, {cost.bound}-bound ({cost.bound_share:.0%} of the time)",
    ]
    if target is not None:
        required = ops_per_sample / target
        metrics["ops_required_per_s"] = required
        if scenario.kind is ScenarioKind.OFFLINE:
            metrics["meets_target"] = throughput >= 1 / target
        else:
            metrics["meets_target"] = cost.time_s <= target
        explain.append(
            f"one sample every {duration(target)} needs {si_number(ops_per_sample, 'ops')} / "
            f"{duration(target)} = {si_number(required, 'ops/s')}; sustained "
            f"{si_number(metrics['ops_available_per_s'], 'ops/s')}"
        )
    return Result(device.id, workload.id, scenario, _source(device), Status.OK, metrics, explain=tuple(explain))


def _search_batch(device: Device, workload: Workload, precision: Precision, target: float | None) -> int:
    """Offline: the batch (power of two) with the best throughput; server: the largest within target."""
    best, best_throughput = 1, 0.0
    batch = 1
    while batch <= MAX_BATCH:
        if device.memory_capacity is not None and \
                memory_footprint(workload, precision, batch, training=False) > device.memory_capacity:
            break
        time_s = batch_cost(device, workload, precision, batch).time_s
        if target is not None and time_s > target:
            break
        if batch / time_s > best_throughput:
            best, best_throughput = batch, batch / time_s
        batch *= 2
    return best
