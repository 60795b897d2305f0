"""The roofline performance model: how long a device takes on a workload, from datasheet figures.

Per operator, for a batch of ``b`` samples at precision ``p``::

    time = max(ops * b / (peak[p] * compute_efficiency),
               (weight_bytes + activation_bytes * b) / (memory_bandwidth * memory_efficiency))
           + overhead

A workload's batch time is the sum over its operators; weights are read once per batch, so
batching amortises them. Byte counts scale with the bytes per value of ``p``.

On-chip memory (``Device.on_chip_memory``: SRAM, L2, last-level cache) is a second tier: when all
the weights fit, they stay resident across batches and cost no memory traffic; an operator whose
activations fit in what remains keeps them on chip too. Only the rest crosses ``memory_bandwidth``.

Training runs ``dataset_samples * epochs`` samples forward and backward (compute and traffic
multiplied by ``1 + backward_factor``), split across ``count`` devices in steps of ``batch`` samples
each; after every step a ring all-reduce moves ``2 (n-1)/n`` gradient bytes per device over the
interconnect (not overlapped with compute: a conservative choice). General-purpose work runs at
the device's sustained ``general_ops``.

Efficiencies come from the device (``Device.efficiency``), else from :data:`DEFAULT_EFFICIENCY`
per kind. Those defaults are assumptions, not measurements: typical sustained fractions of peak
for well-tuned dense kernels, to be replaced by calibration against real runs.
"""

from __future__ import annotations

import attrs

from chipfit.records import (
    Bound,
    Capability,
    Device,
    Efficiency,
    Kind,
    Phase,
    Precision,
    Result,
    Scenario,
    ScenarioKind,
    Source,
    Status,
    Workload,
)
from chipfit.units import duration, si_number

#: Assumed sustained fractions of peak and per-operator overhead, by kind of device. Not measured:
#: CPUs reach about half of peak FLOPs on dense kernels and a few µs of dispatch per operator;
#: GPUs somewhat more with ~5 µs kernel launches; dataflow ASICs/NPUs/FPGAs keep their arrays
#: busier with little per-operator dispatch. Calibration (measured runs) replaces these.
DEFAULT_EFFICIENCY = {
    Kind.CPU: Efficiency(compute=0.5, memory=0.7, overhead_s=2e-6),
    Kind.GPU: Efficiency(compute=0.6, memory=0.8, overhead_s=5e-6),
    Kind.APU: Efficiency(compute=0.6, memory=0.8, overhead_s=5e-6),
    Kind.ASIC: Efficiency(compute=0.7, memory=0.8, overhead_s=1e-6),
    Kind.NPU: Efficiency(compute=0.7, memory=0.8, overhead_s=1e-6),
    Kind.FPGA: Efficiency(compute=0.6, memory=0.8, overhead_s=1e-6),
}

#: The largest batch the offline and server scenarios try (powers of two up to this).
MAX_BATCH = 256

#: Bytes of state per parameter when training with Adam in mixed precision: 16-bit weights (2) and
#: gradients (2), and the optimizer's FP32 master weights, momentum and variance (4 + 4 + 4). Source:
#: Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models"
#: (SC'20, arXiv:1910.02054), section 3.1: "2Ψ + 2Ψ + KΨ = 16Ψ bytes" with K = 12 for Adam. FP32
#: training holds the same 16 bytes (4 each: weights, gradients, momentum, variance).
TRAINING_BYTES_PER_PARAMETER = 16.0


#: Classes of operator that run alike, for per-class efficiencies (calibration measures each).
OP_CLASSES = {
    **dict.fromkeys(["conv", "Conv", "ConvInteger", "QLinearConv", "ConvTranspose"], "conv"),
    **dict.fromkeys(["matmul", "MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "Einsum", "Attention",
                     "MultiHeadAttention"], "matmul"),
}


def op_class(op) -> str:
    """The class an operator's efficiency comes from: its own ``op_class``, else by type, else "other"."""
    return op.op_class or OP_CLASSES.get(op.op_type, "other")


@attrs.frozen
class BatchCost:
    """The modelled time of one batch, and what bounds it."""

    time_s: float
    ops: float
    bytes: float
    bound: Bound
    bound_share: float  # share of the time spent in operators with that bound


def efficiency_for(device: Device) -> tuple[Efficiency, str]:
    """The efficiencies the model uses for a device, and where they came from."""
    if device.efficiency is not None:
        return device.efficiency, device.efficiency.origin or "device plugin"
    return DEFAULT_EFFICIENCY[device.kind], f"default for kind {device.kind} (assumed)"


def batch_cost(
    device: Device, workload: Workload, precision: Precision, batch: int, work_factor: float = 1.0
) -> BatchCost:
    """Roofline time for one batch: the sum of per-operator max(compute, memory) plus overhead.

    ``work_factor`` multiplies each operator's ops and bytes (``1 + backward_factor`` in training).
    """
    efficiency, _ = efficiency_for(device)
    peak = device.peak_ops[precision]
    compute_rate = peak * efficiency.compute_for(precision)
    memory_rate = device.memory_bandwidth * efficiency.memory
    scale = precision.bytes_per_value / workload.precision.bytes_per_value
    resident, free = on_chip(device, workload, precision)
    by_bound = {Bound.COMPUTE: 0.0, Bound.MEMORY: 0.0, Bound.OVERHEAD: 0.0}
    total_ops = total_bytes = 0.0
    for op in workload.operators:
        ops = op.ops * batch * work_factor
        weights = 0.0 if resident else op.weight_bytes * scale
        activations = op.activation_bytes * scale * batch
        if activations <= free:
            activations = 0.0
        moved = (weights + activations) * work_factor
        rate = peak * efficiency.compute_for(precision, op_class(op)) if efficiency.by_op_class else compute_rate
        compute_s = ops / rate
        memory_s = moved / memory_rate
        roof_s = max(compute_s, memory_s)
        if efficiency.overhead_s > roof_s:
            bound = Bound.OVERHEAD
        else:
            bound = Bound.COMPUTE if compute_s >= memory_s else Bound.MEMORY
        by_bound[bound] += (roof_s + efficiency.overhead_s) * op.repeat
        total_ops += ops * op.repeat
        total_bytes += moved * op.repeat
    time_s = sum(by_bound.values())
    bound = max(by_bound, key=by_bound.__getitem__)
    return BatchCost(time_s, total_ops, total_bytes, bound, by_bound[bound] / time_s if time_s else 1.0)


def on_chip(device: Device, workload: Workload, precision: Precision) -> tuple[bool, float]:
    """Whether the weights stay resident on chip, and the on-chip bytes left for an operator's activations."""
    capacity = device.on_chip_memory or 0.0
    weights = workload.weight_bytes * precision.bytes_per_value / workload.precision.bytes_per_value
    resident = 0 < weights <= capacity
    return resident, capacity - weights if resident else capacity


def memory_footprint(workload: Workload, precision: Precision, batch: int, training: bool) -> float:
    """Bytes a device must hold: weights (weights, gradients and optimizer state in training) and live
    activations."""
    scale = precision.bytes_per_value / workload.precision.bytes_per_value
    weights = workload.weight_bytes * scale
    if training:
        parameters = workload.weight_bytes / workload.precision.bytes_per_value
        # the backward pass needs every operator's output; an operator's activation traffic is
        # its input plus its output, and one's output is the next one's input: keep about half
        kept = workload.activation_bytes_per_sample / 2
        return max(weights, parameters * TRAINING_BYTES_PER_PARAMETER) + kept * scale * batch
    largest = max(op.activation_bytes for op in workload.operators)
    return weights + largest * scale * batch


def _on_chip_note(device: Device, workload: Workload, precision: Precision) -> list[str]:
    if not device.on_chip_memory:
        return []
    resident, free = on_chip(device, workload, precision)
    weights = "stay resident in" if resident else "do not fit in"
    return [f"weights {weights} {_figure(device, 'on_chip_memory', device.on_chip_memory, 'B')} of on-chip memory; "
            f"activations of operators under {si_number(free, 'B')} stay on chip"]


def _figure(device: Device, field: str, value: float, unit: str) -> str:
    """A datasheet figure for an explanation, marked where no primary source confirmed it."""
    return si_number(value, unit) + (" (unconfirmed)" if field in device.unconfirmed else "")


def _source(device: Device) -> Source:
    """Calibrated when the device's efficiencies were fitted to measurements, else modelled."""
    calibrated = device.efficiency is not None and device.efficiency.origin.startswith("calibrated")
    return Source.CALIBRATED if calibrated else Source.MODELLED


def _unsupported(device: Device, workload: Workload, scenario: Scenario, reason: str) -> Result:
    return Result(device.id, workload.id, scenario, Source.MODELLED, Status.UNSUPPORTED, reason=reason)


def _check(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> str | None:
    """Why the device cannot run the workload at all, or None."""
    if workload.phase is Phase.GENERAL:
        if not device.can(Capability.GENERAL_PURPOSE) or device.general_ops is None:
            return f"{device.name} is not general-purpose: it cannot run {workload.name}"
        return None
    if scenario.count > 1 and scenario.kind is not ScenarioKind.TRAINING:
        return f"{scenario.count} devices are modelled for training only; {scenario.kind} runs on one device"
    if scenario.kind is ScenarioKind.SERVER and scenario.latency_target is None and workload.latency_target is None:
        return "the server scenario needs a latency target (latency_target_ms / --target-ms)"
    needed = Capability.TRAINING if scenario.kind is ScenarioKind.TRAINING else Capability.INFERENCE
    if not device.can(needed):
        return f"{device.name} has no {needed} capability"
    if precision not in device.peak_ops:
        has = ", ".join(str(p) for p in device.peak_ops) or "none"
        return f"{device.name} does not compute in {precision} (has: {has})"
    if scenario.kind is ScenarioKind.TRAINING and workload.phase is not Phase.TRAINING:
        return f"{workload.name} is an inference workload: it has no training recipe"
    if scenario.count > 1 and scenario.kind is ScenarioKind.TRAINING and not device.interconnect_bandwidth:
        return f"{device.name} has no interconnect figure for training on {scenario.count} devices"
    return None


def estimate(device: Device, workload: Workload, scenario: Scenario) -> Result:
    """Model one cell: a :class:`Result` that is ``ok`` with metrics, or ``unsupported`` with a reason."""
    precision = scenario.precision or workload.precision
    reason = _check(device, workload, scenario, precision)
    if reason:
        return _unsupported(device, workload, scenario, reason)
    if workload.phase is Phase.GENERAL:
        return _general(device, workload, scenario)
    training = scenario.kind is ScenarioKind.TRAINING
    batch = 1 if scenario.kind is ScenarioKind.SINGLE_STREAM else (scenario.batch or workload.batch)
    needed = memory_footprint(workload, precision, batch, training)
    if device.memory_capacity is not None and needed > device.memory_capacity:
        return _unsupported(
            device, workload, scenario,
            f"needs {si_number(needed, 'B')} of memory at batch {batch} in {precision}; "
            f"{device.name} has {si_number(device.memory_capacity, 'B')}",
        )
    if batch_cost(device, workload, precision, 1).time_s <= 0:
        return _unsupported(device, workload, scenario,
                            f"{workload.name} has no modelled cost (no ops, no bytes) and {device.name} "
                            "no per-operator overhead: its time would be zero")
    if training:
        return _training(device, workload, scenario, precision, batch)
    return _inference(device, workload, scenario, precision)


def _common(device: Device, count: int) -> dict:
    cost = device.price * count if device.price is not None else None
    power = device.power * count if device.power is not None else None
    return {"power_w": power, "hardware_cost_usd": cost}


def _energy(metrics: dict, throughput: float) -> None:
    """Energy metrics from power x time; None (unavailable) when the device's power is unknown."""
    power = metrics["power_w"]
    metrics["energy_per_sample_j"] = power / throughput if power else None
    metrics["samples_per_j"] = throughput / power if power else None
    cost = metrics["hardware_cost_usd"]
    metrics["samples_per_s_per_usd"] = throughput / cost if cost else None


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
    metrics["energy_j"] = metrics["power_w"] * latency if metrics["power_w"] else None
    _energy(metrics, 1 / latency)
    explain = (
        f"general-purpose work: {si_number(ops, 'ops')} / {_figure(device, 'general_ops', device.general_ops, 'ops/s')} "
        f"sustained (general_ops) = {duration(latency)}",
        f"energy = {_figure(device, 'power', device.power, 'W')} x {duration(latency)} = "
        f"{si_number(metrics['energy_j'], 'J')}" if device.power else "energy: unavailable (power not known)",
    )
    return Result(device.id, workload.id, scenario, _source(device), Status.OK, metrics, explain=explain)


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


def allreduce_time(gradient_bytes: float, count: int, interconnect_bandwidth: float | None) -> float:
    """Ring all-reduce: each device sends and receives 2 (n-1)/n of the gradient bytes, both at once, so the
    time is that over the bandwidth of one direction (``Device.interconnect_bandwidth`` is per direction)."""
    if count <= 1 or interconnect_bandwidth is None:
        return 0.0
    return 2 * (count - 1) / count * gradient_bytes / interconnect_bandwidth


def _training(device: Device, workload: Workload, scenario: Scenario, precision: Precision, batch: int) -> Result:
    count = scenario.count
    work_factor = 1 + workload.backward_factor
    samples = workload.dataset_samples * workload.epochs
    step = batch_cost(device, workload, precision, batch, work_factor)
    gradient_bytes = workload.weight_bytes * precision.bytes_per_value / workload.precision.bytes_per_value
    sync_s = allreduce_time(gradient_bytes, count, device.interconnect_bandwidth)
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
    metrics["energy_j"] = metrics["power_w"] * time_s if metrics["power_w"] else None
    _energy(metrics, samples / time_s)
    explain = (
        f"samples = {si_number(workload.dataset_samples, '')} x {workload.epochs:.4g} epochs = {si_number(samples, '')}",
        f"ops = {si_number(samples, '')} samples x {si_number(workload.ops_per_sample, 'ops')} forward x "
        f"(1 + {workload.backward_factor:g} backward) = {si_number(ops_total, 'ops')} "
        f"= {metrics['train_to_infer_ops_ratio']:.3g} x one inference",
        f"step of {batch} samples on one device: {duration(step.time_s)} ({step.bound}-bound)"
        + (f"; ring all-reduce of {si_number(gradient_bytes, 'B')} of gradients over {count} devices at "
           f"{_figure(device, 'interconnect_bandwidth', device.interconnect_bandwidth, 'B/s')}: {duration(sync_s)}"
           if count > 1 else ""),
        f"time = {steps:.4g} steps x {duration(step.time_s + sync_s)} = {duration(time_s)} on {count} x {device.name}",
        f"capacity used: {si_number(ops_total, 'ops')} / ({count} x "
        f"{_figure(device, f'peak_ops.{precision}', peak, 'ops/s')} x {duration(time_s)}) "
        f"= {metrics['utilization']:.0%} of peak",
    )
    return Result(device.id, workload.id, scenario, _source(device), Status.OK, metrics, explain=explain)
