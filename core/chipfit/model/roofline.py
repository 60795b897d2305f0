"""The roofline per kernel and per batch, and the on-chip memory tier."""

from __future__ import annotations

import attrs

from chipfit.model.defaults import efficiency_for, op_class
from chipfit.records import Bound, Device, Kind, Precision, Workload

#: Kinds whose runtimes launch kernels asynchronously (a queue, CUDA/HIP graphs, a compiled program):
#: the per-kernel overhead overlaps the previous kernel's work. CPUs dispatch in line: it adds.
ASYNCHRONOUS = frozenset({Kind.GPU, Kind.APU, Kind.NPU, Kind.ASIC, Kind.FPGA})


def overlaps_overhead(device: Device) -> bool:
    """Whether the device's per-kernel overhead overlaps compute (asynchronous launches)."""
    return device.kind in ASYNCHRONOUS


@attrs.frozen
class KernelTime:
    """The modelled time of one kernel: its compute and memory roofs, its overhead, the total, the bound."""

    compute_s: float
    memory_s: float
    overhead_s: float
    time_s: float
    bound: Bound


def kernel_time(device: Device, precision: Precision, op_class: str, ops: float, dram_bytes: float,
                on_chip_bytes: float = 0.0) -> KernelTime:
    """The time one kernel takes on ``device`` at ``precision``: the public per-kernel roofline.

    :param device: the device (its peak at ``precision``, memory bandwidth and efficiencies are used)
    :param precision: the precision the kernel computes in (must be in ``device.peak_ops``)
    :param op_class: the kernel's class for per-class efficiencies (``"matmul"``, ``"conv"``,
        ``"attention"``, ``"elementwise"``, ``"other"`` ...)
    :param ops: operations the kernel performs (a multiply-add is two)
    :param dram_bytes: bytes it moves to or from device memory (DRAM/HBM)
    :param on_chip_bytes: bytes it moves to or from on-chip memory (SRAM/L2/cache), not crossing DRAM
    :returns: a :class:`KernelTime`: ``compute_s = ops / (peak x compute efficiency)``,
        ``memory_s = dram_bytes / (memory_bandwidth x memory efficiency)``, ``overhead_s`` the
        per-kernel overhead, ``time_s = max(compute_s, memory_s, overhead_s)`` on a device that launches
        asynchronously (:func:`overlaps_overhead`) and ``max(compute_s, memory_s) + overhead_s`` on one
        that dispatches in line (CPUs), and the ``bound`` (``overhead`` when the overhead exceeds both
        roofs). ``on_chip_bytes`` cost nothing yet (on-chip memory has no bandwidth figure).

    The signature is stable; how the roofs and overhead are computed may be refined.
    """
    efficiency, _ = efficiency_for(device)
    peak = device.peak_ops[precision]
    compute_s = ops / (peak * efficiency.compute_for(precision, op_class))
    memory_s = dram_bytes / (device.memory_bandwidth * efficiency.memory)
    roof_s = max(compute_s, memory_s)
    overhead_s = efficiency.overhead_s
    if overhead_s > roof_s:
        bound = Bound.OVERHEAD
    else:
        bound = Bound.COMPUTE if compute_s >= memory_s else Bound.MEMORY
    time_s = max(roof_s, overhead_s) if overlaps_overhead(device) else roof_s + overhead_s
    return KernelTime(compute_s, memory_s, overhead_s, time_s, bound)


@attrs.frozen
class BatchCost:
    """The modelled time of one batch, and what bounds it."""

    time_s: float
    ops: float
    bytes: float
    bound: Bound
    bound_share: float  # share of the time spent in operators with that bound


def batch_cost(
    device: Device, workload: Workload, precision: Precision, batch: int, work_factor: float = 1.0,
    kernels=None,
) -> BatchCost:
    """Roofline time for one batch: the sum of :func:`kernel_time` over the workload's kernels, plus the
    device's fixed ``invocation_overhead`` once per batch (counted as overhead-bound time).

    ``kernels``: what runs (default: the workload lowered for the device's runtime,
    :func:`chipfit.model.lowering.workload_kernels`). ``work_factor`` multiplies each kernel's ops and
    bytes (``1 + backward_factor`` in training).
    """
    from chipfit.model.lowering import workload_kernels

    kernels = workload_kernels(device, workload) if kernels is None else kernels
    scale = precision.bytes_per_value / workload.precision.bytes_per_value
    resident, free = on_chip(device, workload, precision)  # the whole model's weights, as the arrays do
    by_bound = {Bound.COMPUTE: 0.0, Bound.MEMORY: 0.0, Bound.OVERHEAD: 0.0}
    total_ops = total_bytes = 0.0
    for op in kernels:
        ops = op.ops * batch * work_factor
        weights = 0.0 if resident else op.weight_bytes * scale
        activations = op.activation_bytes * scale * batch
        if activations <= free:
            activations = 0.0
        moved = (weights + activations) * work_factor
        kernel = kernel_time(device, precision, op_class(op), ops, moved)
        by_bound[kernel.bound] += kernel.time_s * op.repeat
        total_ops += ops * op.repeat
        total_bytes += moved * op.repeat
    by_bound[Bound.OVERHEAD] += device.invocation_overhead or 0.0
    time_s = sum(by_bound.values())
    bound = max(by_bound, key=by_bound.__getitem__)
    return BatchCost(time_s, total_ops, total_bytes, bound, by_bound[bound] / time_s if time_s else 1.0)


def on_chip(device: Device, workload: Workload, precision: Precision, kernels=None) -> tuple[bool, float]:
    """Whether the weights stay resident on chip, and the on-chip bytes left for an operator's activations.

    The weights are those the kernels read (``kernels``, default the whole workload lowered for the
    device's runtime, as :func:`batch_cost` and the vectorised model use): a batch normalisation folded
    into its convolution leaves no parameters of its own on chip.
    """
    from chipfit.model.lowering import workload_kernels

    capacity = device.on_chip_memory or 0.0
    if not capacity:
        return False, 0.0
    kernels = workload_kernels(device, workload) if kernels is None else kernels
    weights = sum(k.weight_bytes * k.repeat for k in kernels) \
        * precision.bytes_per_value / workload.precision.bytes_per_value
    resident = 0 < weights <= capacity
    return resident, capacity - weights if resident else capacity
