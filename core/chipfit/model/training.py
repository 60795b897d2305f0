"""Training: samples x epochs forward and backward, data-parallel over ``count`` devices."""

from __future__ import annotations

import attrs

from chipfit.model import collectives
from chipfit.model.common import _common, _energy, _figure, _source
from chipfit.model.lowering import fusions_for, lower
from chipfit.model.roofline import batch_cost
from chipfit.records import Device, Precision, Result, Scenario, Status, Workload
from chipfit.units import duration, si_number


def training_device(device: Device) -> Device:
    """The device as training sees it: its kind's own training default where there is one
    (:func:`chipfit.model.defaults.training_defaults`: ASICs, derived from a published training row),
    else its compute efficiencies x :data:`chipfit.model.defaults.TRAINING_EFFICIENCY` (derived from a
    published training result)."""
    from chipfit.model import defaults

    trained = defaults.training_defaults(device)
    if trained is not None:
        return trained
    efficiency, origin = defaults.efficiency_for(device)
    share = defaults.TRAINING_EFFICIENCY
    scaled = attrs.evolve(efficiency, compute=efficiency.compute * share,
                          by_precision={p: v * share for p, v in efficiency.by_precision.items()},
                          by_op_class={c: v * share for c, v in efficiency.by_op_class.items()},
                          origin=f"{origin}; x {share:.3g} in training")
    return attrs.evolve(device, efficiency=scaled)


def _training(device: Device, workload: Workload, scenario: Scenario, precision: Precision, batch: int) -> Result:
    count = scenario.count
    work_factor = 1 + workload.backward_factor
    samples = workload.dataset_samples * workload.epochs
    fusions = fusions_for(device) - {"fold-batch-norm"}  # training computes batch statistics
    step = batch_cost(training_device(device), workload, precision, batch, work_factor,
                      kernels=lower(workload.operators, fusions))
    gradient_bytes = workload.weight_bytes * precision.bytes_per_value / workload.precision.bytes_per_value
    latency_s = collectives.MESSAGE_LATENCY_S
    sync_s = collectives.allreduce_time(gradient_bytes, count, device.interconnect_bandwidth, latency_s)
    steps = samples / (batch * count)
    time_s = steps * (step.time_s + sync_s)
    ops_total = samples * workload.ops_per_sample * work_factor
    peak = device.peak_ops[precision]
    metrics = {
        "time_to_train_s": time_s,
        "count": count,
        "throughput_sps": samples / time_s,
        "latency_s": step.time_s + sync_s,
        "batch": batch,
        "ops_total": ops_total,
        "ops_available_per_s": ops_total / time_s,
        "peak_ops_per_s": peak,
        "bound": str(step.bound),
        "utilization": ops_total / time_s / (peak * count),
        "train_to_infer_ops_ratio": ops_total / workload.ops_per_sample,
        **_common(device, count),
    }
    busy = max(step.ops / step.time_s / peak, step.bytes / step.time_s / device.memory_bandwidth) \
        * step.time_s / (step.time_s + sync_s) if step.time_s else 1.0
    energy_line = _energy(metrics, samples / time_s, busy)
    metrics["energy_j"] = metrics["energy_per_sample_j"] * samples if metrics["energy_per_sample_j"] else None
    explain = (
        f"samples = {si_number(workload.dataset_samples, '')} x {workload.epochs:.4g} epochs = {si_number(samples, '')}",
        f"ops = {si_number(samples, '')} samples x {si_number(workload.ops_per_sample, 'ops')} forward x "
        f"(1 + {workload.backward_factor:g} backward) = {si_number(ops_total, 'ops')} "
        f"= {metrics['train_to_infer_ops_ratio']:.3g} x one inference",
        f"step of {batch} samples on one device: {duration(step.time_s)} ({step.bound}-bound)"
        + (f"; ring all-reduce of {si_number(gradient_bytes, 'B')} of gradients over {count} devices at "
           f"{_figure(device, 'interconnect_bandwidth', device.interconnect_bandwidth, 'B/s')} per direction "
           f"+ {2 * (count - 1)} x {duration(latency_s)} per message (assumed): {duration(sync_s)}"
           if count > 1 else ""),
        f"time = {steps:.4g} steps x {duration(step.time_s + sync_s)} = {duration(time_s)} on {count} x {device.name}",
        f"capacity used: {si_number(ops_total, 'ops')} / ({count} x "
        f"{_figure(device, f'peak_ops.{precision}', peak, 'ops/s')} x {duration(time_s)}) "
        f"= {metrics['utilization']:.0%} of peak",
        energy_line,
    )
    return Result(device.id, workload.id, scenario, _source(device), Status.OK, metrics, explain=explain)
