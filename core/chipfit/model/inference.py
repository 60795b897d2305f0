"""Inference: single-stream, offline and server, on one device or split over ``count`` devices.

The workload is lowered to kernels (:mod:`chipfit.model.lowering`) and costed per kernel. On
``count`` devices the model tries every split (:func:`chipfit.model.parallelism.candidate_splits`)
that fits in each device's memory and keeps the best for the scenario (the fastest offline or
server throughput, the lowest single-stream latency), unless the scenario names the tensor and
pipeline degrees. Devices a split cannot use stay idle (``count`` 6 with tensor 4 uses 4), so adding
devices never lowers throughput.

- **data** parallel: ``data`` replicas each run whole batches; throughput adds up, latency is one
  replica's.
- **tensor** parallel (Megatron-style): each weighted matmul/convolution and each attention kernel is
  split ``tensor`` ways (ops, weights and activations over ``tensor``); the other kernels run whole on
  every device; every second weighted kernel (a column-parallel then a row-parallel one) ends with
  an all-reduce of its output over the interconnect (:func:`chipfit.model.collectives.all_reduce_time`).
- **pipeline** parallel: the kernels are cut into ``pipeline`` stages of equal time, each on its own
  devices, with a point-to-point transfer of the activations between stages. A stream of batches
  keeps every stage busy, so offline and server throughput is that of one stage; one request goes
  through every stage in turn, so its latency gains nothing (the bubble is the whole pipeline).
"""

from __future__ import annotations

import attrs

from chipfit.model import collectives, defaults
from chipfit.model.common import _common, _energy, _figure, _on_chip_note, _source
from chipfit.model.defaults import BATCH_GAIN, MAX_BATCH, efficiency_for
from chipfit.model.lowering import Kernel, workload_kernels
from chipfit.model.memory import inference_memory
from chipfit.model.parallelism import Split, candidate_splits
from chipfit.model.roofline import BatchCost, batch_cost
from chipfit.records import Device, Precision, Result, Scenario, ScenarioKind, Status, Workload
from chipfit.units import duration, si_number

_SPLIT_CLASSES = frozenset({"conv", "matmul", "attention"})


@attrs.frozen
class Plan:
    """One split at one batch: its time, throughput and memory per device."""

    split: Split
    batch: int  # per replica
    cost: BatchCost  # one device's kernels for one batch (all stages in turn)
    communication_s: float  # tensor all-reduces and pipeline transfers for one batch
    latency_s: float
    throughput: float
    memory_bytes: float  # per device


def tensor_splits(kernel: Kernel) -> bool:
    """Whether a tensor split divides this kernel ``tensor`` ways (weighted matmuls, convolutions, attention)."""
    return kernel.op_class in _SPLIT_CLASSES or kernel.op_type in ("Conv", "MatMul", "Gemm", "Attention")


def all_reduced(kernels: tuple[Kernel, ...]) -> list[float]:
    """The per-sample bytes of each all-reduce a tensor split adds: after every second weighted kernel it
    divides (a column-parallel then a row-parallel one), that kernel's whole output, once per repeat."""
    reduced, weighted = [], 0
    for kernel in kernels:
        if tensor_splits(kernel) and kernel.weight_bytes:
            weighted += 1
            if weighted % 2 == 0:  # row-parallel: its (whole) output is summed over the devices
                reduced.extend([kernel.activation_bytes / 2] * kernel.repeat)
    return reduced


def _tensor_split(kernels: tuple[Kernel, ...], tensor: int) -> tuple[tuple[Kernel, ...], list[float]]:
    """The kernels one of ``tensor`` devices runs, and the per-sample bytes of each all-reduce."""
    if tensor == 1:
        return kernels, []
    mine = tuple(attrs.evolve(kernel, ops=kernel.ops / tensor, weight_bytes=kernel.weight_bytes / tensor,
                              activation_bytes=kernel.activation_bytes / tensor) if tensor_splits(kernel) else kernel
                 for kernel in kernels)
    return mine, all_reduced(kernels)


def _plan(device: Device, workload: Workload, precision: Precision, kernels: tuple[Kernel, ...], split: Split,
          batch: int, load: float = 1.0) -> Plan:
    scale = precision.bytes_per_value / workload.precision.bytes_per_value
    mine, reduced = _tensor_split(kernels, split.tensor)
    cost = batch_cost(device, workload, precision, batch, kernels=mine)
    bandwidth = device.interconnect_bandwidth
    latency = collectives.MESSAGE_LATENCY_S
    communication = 0.0
    if reduced:
        communication += sum(collectives.all_reduce_time(size * scale * batch, split.tensor, bandwidth, latency)
                             for size in reduced)
    if split.pipeline > 1:
        boundary = max(k.activation_bytes for k in mine) / 2 * scale * batch
        communication += (split.pipeline - 1) * collectives.point_to_point_time(boundary, bandwidth, latency)
    latency_s = (cost.time_s + communication) / load  # server: queueing at load < 1 stretches the time
    stage_s = latency_s / split.pipeline
    memory = inference_memory(workload, precision, batch, kernels=mine,
                              weight_fraction=1 / (split.tensor * split.pipeline))
    return Plan(split, batch, cost, communication, latency_s, split.data * batch / stage_s, memory)


def _fits(device: Device, plan: Plan) -> bool:
    return device.memory_capacity is None or plan.memory_bytes <= device.memory_capacity


def _best_batch(device, workload, precision, kernels, split, kind, target, fixed) -> Plan | None:
    """The batch for one split: fixed, 1 (single-stream), or searched by doubling up to the memory limit."""
    load = defaults.SERVER_LOAD if kind is ScenarioKind.SERVER else 1.0
    if fixed is not None or kind is ScenarioKind.SINGLE_STREAM:
        plan = _plan(device, workload, precision, kernels, split, 1 if kind is ScenarioKind.SINGLE_STREAM else fixed,
                     load)
        return plan if _fits(device, plan) else None
    best = None
    batch = 1
    while batch <= MAX_BATCH:
        plan = _plan(device, workload, precision, kernels, split, batch, load)
        if not _fits(device, plan):
            break
        if target is not None and plan.latency_s > target:
            if best is None and batch == 1:  # nothing meets the target: batch 1, flagged by meets_target
                best = plan
            break
        if best is not None and plan.throughput < best.throughput * (1 + BATCH_GAIN):
            if plan.throughput > best.throughput:
                best = plan
            break
        best = plan
        batch *= 2
    return best


def plans(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> tuple[list[Plan], str]:
    """Every feasible split's best plan for the scenario, and why none is feasible when the list is empty."""
    kernels = workload_kernels(device, workload)
    kind = scenario.kind
    target = (scenario.latency_target or workload.latency_target) if kind is ScenarioKind.SERVER else None
    named = scenario.tensor_parallel is not None or scenario.pipeline_parallel is not None
    if not device.interconnect_bandwidth and scenario.count > 1:
        splits = [Split(data=scenario.count)] if not named else []
    else:
        splits = list(candidate_splits(scenario.count, tensor=scenario.tensor_parallel,
                                       pipeline=scenario.pipeline_parallel, max_pipeline=len(kernels), exact=False))
    found = [plan for split in splits
             if (plan := _best_batch(device, workload, precision, kernels, split, kind, target, scenario.batch))]
    if found:
        return found, ""
    if not splits:
        return [], (f"{device.name} has no interconnect figure for a split over {scenario.count} devices"
                    if named else f"no split of {scenario.count} devices")
    return [], "no split fits in memory" + (" within the latency target" if target else "")


def choose(found: list[Plan], kind: ScenarioKind) -> Plan:
    """The best plan: lowest latency for single-stream, highest throughput otherwise (fewer devices on ties)."""
    if kind is ScenarioKind.SINGLE_STREAM:
        return min(found, key=lambda p: (p.latency_s, p.split.count))
    return max(found, key=lambda p: (p.throughput, -p.split.count))


def _inference(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> Result:
    target = scenario.latency_target or workload.latency_target
    efficiency, efficiency_from = efficiency_for(device)
    found, reason = plans(device, workload, scenario, precision)
    if not found:
        return Result(device.id, workload.id, scenario, _source(device), Status.UNSUPPORTED,
                      reason=f"{workload.name} on {scenario.count} x {device.name}: {reason}")
    plan = choose(found, scenario.kind)
    cost, batch, split = plan.cost, plan.batch, plan.split
    peak = device.peak_ops[precision]
    ops_per_sample = workload.ops_per_sample
    used = split.count
    sustained = ops_per_sample * plan.throughput
    metrics = {
        "latency_s": plan.latency_s,
        "throughput_sps": plan.throughput,
        "batch": batch,
        "count": scenario.count,
        "ops_total": ops_per_sample,
        "ops_available_per_s": sustained,
        "peak_ops_per_s": peak,
        "bound": str(cost.bound),
        "utilization": sustained / (peak * scenario.count),
        "memory_per_device_bytes": plan.memory_bytes,
        **_common(device, scenario.count),
    }
    if scenario.count > 1:
        metrics["parallelism"] = split.as_dict()
    energy_line = _energy(metrics, plan.throughput, _busy(device, precision, plan), used / scenario.count)
    kernels = workload_kernels(device, workload)
    explain = [
        f"{workload.name}: {si_number(ops_per_sample, 'ops')}/sample, "
        f"{si_number(workload.weight_bytes * precision.bytes_per_value / workload.precision.bytes_per_value, 'B')} "
        f"of weights in {precision}; {len(workload.operators)} graph operators lowered to {len(kernels)} kernels",
        f"{device.name}: peak {_figure(device, f'peak_ops.{precision}', peak, 'ops/s')} x "
        f"{efficiency.compute_for(precision):.3g} "
        f"compute efficiency, {_figure(device, 'memory_bandwidth', device.memory_bandwidth, 'B/s')} x "
        f"{efficiency.memory:g} memory efficiency, "
        f"{duration(efficiency.overhead_s)}/kernel, {_overhead_words(device)} ({efficiency_from})",
        *_on_chip_note(device, workload, precision),
        f"batch {batch}: sum over the kernels of max(compute, memory) and overhead"
        + (f" + {duration(device.invocation_overhead)} per invocation"
           + (" (unconfirmed)" if "invocation_overhead" in device.unconfirmed else "")
           if device.invocation_overhead else "")
        + f" = {duration(cost.time_s)}, "
        f"{cost.bound}-bound ({cost.bound_share:.0%} of the time)",
    ]
    if scenario.count > 1:
        idle = scenario.count - used
        explain.append(
            f"{scenario.count} devices split {split}" + (f" ({idle} idle: no split uses them)" if idle else "")
            + (f"; communication per batch {duration(plan.communication_s)}" if plan.communication_s else "")
            + f"; throughput = {split.data} x {batch} / {duration(plan.latency_s / split.pipeline)}"
            + f" = {si_number(plan.throughput, 'samples/s')}")
    if scenario.kind is ScenarioKind.SERVER:
        explain.append(f"{defaults.server_load_note()}: a batch's time {duration(plan.cost.time_s + plan.communication_s)} / "
                       f"{defaults.SERVER_LOAD:.3g} = {duration(plan.latency_s)}")
    if target is not None:
        required = ops_per_sample / target
        metrics["ops_required_per_s"] = required
        if scenario.kind is ScenarioKind.OFFLINE:
            metrics["meets_target"] = plan.throughput >= 1 / target
        else:
            metrics["meets_target"] = plan.latency_s <= target
        explain.append(
            f"one sample every {duration(target)} needs {si_number(ops_per_sample, 'ops')} / "
            f"{duration(target)} = {si_number(required, 'ops/s')}; sustained "
            f"{si_number(metrics['ops_available_per_s'], 'ops/s')}"
        )
    explain.append(energy_line)
    return Result(device.id, workload.id, scenario, _source(device), Status.OK, metrics, explain=tuple(explain))


def _overhead_words(device: Device) -> str:
    from chipfit.model.roofline import overlaps_overhead

    return "overlapped with compute (asynchronous launches)" if overlaps_overhead(device) else "added per kernel"


def _busy(device: Device, precision: Precision, plan: Plan) -> float:
    """The share of the time the used devices' compute or memory is busy (0..1), for the power model."""
    time_s = plan.cost.time_s or 1.0
    compute = plan.cost.ops / time_s / device.peak_ops[precision]
    memory = plan.cost.bytes / time_s / device.memory_bandwidth
    return min(1.0, max(compute, memory))
