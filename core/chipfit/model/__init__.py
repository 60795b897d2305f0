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

Efficiencies come from the device (``Device.efficiency``), else from a product line's default
(:data:`chipfit.model.defaults.DEFAULT_LINE_EFFICIENCY`: AMD Instinct), else from :data:`DEFAULT_EFFICIENCY`
per kind. Most compute defaults are derived from published rows (:data:`chipfit.model.defaults.DERIVATIONS`,
each named in a row's explanation); the memory efficiencies, overheads and the NPU/FPGA figures are
assumptions, labelled so; calibration against real runs replaces them for this machine.
"""

from __future__ import annotations

from chipfit.model.collectives import (
    MESSAGE_LATENCY_S,
    all_gather_time,
    all_reduce_time,
    all_to_all_time,
    allreduce_time,
    point_to_point_time,
    reduce_scatter_time,
)
from chipfit.model.common import _unsupported
from chipfit.model.defaults import (
    DEFAULT_EFFICIENCY,
    MAX_BATCH,
    OP_CLASSES,
    TRAINING_BYTES_PER_PARAMETER,
    efficiency_for,
    op_class,
)
from chipfit.model.general import _general
from chipfit.model.inference import Plan, _inference, choose, plans
from chipfit.model.lowering import FUSIONS, Kernel, fusions_for, lower, workload_kernels
from chipfit.model.memory import inference_memory, memory_footprint
from chipfit.model.parallelism import Split, candidate_splits
from chipfit.model.roofline import BatchCost, KernelTime, batch_cost, kernel_time, on_chip
from chipfit.model.training import _training
from chipfit.records import Capability, Device, Phase, Precision, Result, Scenario, ScenarioKind, Workload
from chipfit.units import si_number

__all__ = [
    "DEFAULT_EFFICIENCY", "MAX_BATCH", "MESSAGE_LATENCY_S", "OP_CLASSES", "TRAINING_BYTES_PER_PARAMETER",
    "FUSIONS", "BatchCost", "Kernel", "KernelTime", "Plan", "Split", "choose", "fusions_for", "inference_memory",
    "lower", "plans", "workload_kernels", "all_gather_time", "all_reduce_time", "all_to_all_time", "allreduce_time",
    "batch_cost", "candidate_splits", "efficiency_for", "estimate", "kernel_time", "memory_footprint", "on_chip",
    "op_class", "point_to_point_time", "reduce_scatter_time",
]


def _generates(workload: Workload) -> bool:
    """Whether the workload is a language model serving requests (costed by :mod:`chipfit.model.generation`)."""
    return workload.transformer is not None and workload.requests is not None


def _has_token_targets(workload: Workload, scenario: Scenario) -> bool:
    """Whether a language model's server row has a TTFT or TPOT target (the scenario's, or its requests')."""
    requests = workload.requests if _generates(workload) else None
    return requests is not None and bool(scenario.ttft_target or scenario.tpot_target
                                         or requests.ttft_target or requests.tpot_target)


def _check(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> str | None:
    """Why the device cannot run the workload at all, or None."""
    if workload.phase is Phase.GENERAL:
        if not device.can(Capability.GENERAL_PURPOSE) or device.general_ops is None:
            return f"{device.name} is not general-purpose: it cannot run {workload.name}"
        return None
    if scenario.kind is ScenarioKind.TRAINING and (scenario.tensor_parallel or scenario.pipeline_parallel) \
            and workload.token_budget is None:
        return "training is modelled data-parallel only: tensor_parallel and pipeline_parallel are for inference"
    if scenario.kind is ScenarioKind.SERVER and scenario.latency_target is None and workload.latency_target is None \
            and not _has_token_targets(workload, scenario):
        return "the server scenario needs a latency target (latency_target_ms / --target-ms)"
    needed = Capability.TRAINING if scenario.kind is ScenarioKind.TRAINING else Capability.INFERENCE
    if not device.can(needed):
        return f"{device.name} has no {needed} capability"
    if precision not in device.peak_ops:
        has = ", ".join(str(p) for p in device.peak_ops) or "none"
        return f"{device.name} does not compute in {precision} (has: {has})"
    if scenario.kind is ScenarioKind.TRAINING and workload.phase is not Phase.TRAINING:
        return f"{workload.name} is an inference workload: it has no training recipe"
    if scenario.count > 1 and scenario.kind is ScenarioKind.TRAINING and not device.interconnect_bandwidth \
            and workload.token_budget is None:
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
    if _generates(workload) and scenario.kind is not ScenarioKind.TRAINING:
        from chipfit.model.generation import estimate_generation

        return estimate_generation(device, workload, scenario, precision)
    if workload.transformer is not None and workload.token_budget is not None \
            and scenario.kind is ScenarioKind.TRAINING:
        from chipfit.model.llm_training import estimate_llm_training

        return estimate_llm_training(device, workload, scenario, precision)
    training = scenario.kind is ScenarioKind.TRAINING
    batch = 1 if scenario.kind is ScenarioKind.SINGLE_STREAM else (scenario.batch or workload.batch)
    needed = memory_footprint(workload, precision, batch, training)
    split = scenario.count > 1 and not training  # a split's memory is checked per device, split by split
    if device.memory_capacity is not None and needed > device.memory_capacity and not split:
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
