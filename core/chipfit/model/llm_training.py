"""Training a language model at scale: 3D parallelism (data, tensor, pipeline; experts too), ZeRO stages,
activation recomputation, micro-batches and the pipeline bubble; step time, time to train, MFU.

A step trains ``global_batch`` sequences of ``sequence_length`` tokens. Each of ``data`` replicas takes
``global_batch / data`` of them in micro-batches of ``m`` sequences; a pipeline of ``p`` stages runs
them 1F1B, so a step takes ``(micro-batches + p - 1)`` stage-times (the bubble: Narayanan et al.,
"Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", SC'21,
arXiv:2104.04473, section 2.2.1). A stage-time is the forward and backward of its layers (backward =
2 x forward; full recomputation adds one more forward) plus the tensor-parallel all-reduces (two per
layer forward, two backward). Gradients are all-reduced (ZeRO: reduce-scattered, parameters
all-gathered) over the data-parallel group; that traffic overlaps the backward pass (Megatron-LM's
``--overlap-grad-reduce``) and only what exceeds it adds to the step.

Memory per device (Rajbhandari et al., "ZeRO", SC'20, section 5): 16-bit weights (2 bytes) and
gradients (2) and Adam's FP32 master, momentum and variance (12) per parameter of its share; ZeRO
stage 1 divides the 12 by ``data``, stage 2 also the gradients, stage 3 also the weights. Activations
(Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models",
arXiv:2205.05198, section 4, with sequence parallelism): ``s b h (34 + 5 a s / h) / t`` bytes per layer
without recomputation, ``34 s b h / t`` with selective recomputation (attention recomputed), ``2 s b h``
with full recomputation; the first stage keeps ``p`` micro-batches in flight. The search takes the
fastest split, micro-batch, ZeRO stage and recomputation that fit.

MFU = model FLOPs / (time x peak x devices), model FLOPs per token = ``6 N + 12 L H Q T`` (Chowdhery et
al., "PaLM", arXiv:2204.02311, appendix B), recomputation not counted. LoRA trains a small fraction:
frozen weights need no weight gradients or optimizer state (``4 N`` FLOPs per token plus the adapters').
"""

from __future__ import annotations

import itertools

import attrs

from chipfit.model.collectives import all_gather_time, all_reduce_time, reduce_scatter_time
from chipfit.model.common import _common, _figure, _source, _unsupported
from chipfit.model.defaults import efficiency_for, training_defaults
from chipfit.model.parallelism import Split, candidate_splits
from chipfit.model.transformer_cost import (
    NODE_SIZE,
    RUNTIME_RESERVE,
    group_bandwidth,
    stage_forward,
    stage_handoff_s,
    usable_memory,
)
from chipfit.records import Device, Precision, Result, Scenario, Status, Workload
from chipfit.transformer import TokenBudget, TransformerConfig
from chipfit.units import duration, si_number

#: Bytes of optimizer state (FP32 master weights, Adam momentum and variance) per trained parameter.
OPTIMIZER_BYTES = 12.0
#: Bytes of a 16-bit weight and of its gradient.
WEIGHT_BYTES = GRADIENT_BYTES = 2.0

RECOMPUTE = ("none", "selective", "full")
VIRTUAL_STAGES = (1, 2, 4, 8)
MICRO_BATCHES = (1, 2, 4, 8)


@attrs.frozen
class TrainingPlan:
    """One way to train: the split, micro-batch, ZeRO stage and recomputation, and what it costs."""

    split: Split
    micro_batch: int
    zero_stage: int
    recompute: str
    memory_bytes: float
    step_s: float
    compute_s: float
    tensor_comm_s: float
    pipeline_comm_s: float
    data_comm_s: float
    bubble: float
    virtual_stages: int = 1


def model_flops_per_token(config: TransformerConfig, budget: TokenBudget) -> float:
    """Model FLOPs of one token forward and backward (PaLM's ``6 N + 12 L H Q T``; LoRA ``4 N`` + adapters)."""
    weights = config.matmul_flops_per_token() / 2  # multiply-accumulate weights one token uses
    attention = 12 * config.layers * config.heads * config.head_width * budget.sequence_length
    factor = 4 + 2 * budget.trainable_fraction if budget.trainable_fraction < 1 else 6
    return factor * weights + attention


def _memory(config: TransformerConfig, budget: TokenBudget, split: Split, precision: Precision, micro: int,
            zero: int, recompute: str) -> float:
    parameters = config.parameters() / (split.tensor * split.pipeline)
    if config.moe:
        experts = config.layers * config.experts * config.expert_parameters()
        parameters = (config.parameters() - experts) / (split.tensor * split.pipeline) \
            + experts / (split.tensor * split.pipeline * split.expert)
    trained = parameters * budget.trainable_fraction
    d = split.data
    weight_bytes = max(precision.bytes_per_value, 1.0) if budget.trainable_fraction < 1 else WEIGHT_BYTES
    weights = parameters * weight_bytes / (d if zero >= 3 else 1)
    gradients = trained * GRADIENT_BYTES / (d if zero >= 2 else 1)
    optimizer = trained * OPTIMIZER_BYTES / (d if zero >= 1 else 1)
    s, h, a = budget.sequence_length, config.hidden, config.heads
    per_layer = {"none": s * micro * h * (34 + 5 * a * s / h) / split.tensor,
                 "selective": 34 * s * micro * h / split.tensor,
                 "full": 2 * s * micro * h}[recompute]
    in_flight = split.pipeline  # 1F1B: the first stage holds p micro-batches
    layers = config.layers / split.pipeline
    activations = per_layer * layers * in_flight
    logits = micro * s * config.vocab / split.tensor * 4  # FP32 logits for the loss, on the last stage
    return weights + gradients + optimizer + activations + logits


def plan(device: Device, config: TransformerConfig, budget: TokenBudget, split: Split, precision: Precision,
         micro: int, zero: int, recompute: str, virtual: int = 1) -> TrainingPlan | None:
    """Cost one way to train; None when the global batch does not divide into its micro-batches.

    ``virtual`` > 1 is the interleaved 1F1B schedule: each device holds ``virtual`` chunks of layers, the
    bubble shrinks to ``(p - 1) / (virtual x micro-batches)`` and hand-offs grow ``virtual``-fold
    (Narayanan et al. 2021, section 2.2.2); it needs as many micro-batches as stages."""
    per_replica = budget.global_batch / split.data
    if per_replica < micro or per_replica % micro:
        return None
    micro_batches = int(per_replica // micro)
    if virtual > 1 and (micro_batches % split.pipeline or config.layers < split.pipeline * virtual):
        return None
    memory = _memory(config, budget, split, precision, micro, zero, recompute)

    forward = stage_forward(device, config, split, precision, sequences=micro, new_tokens=budget.sequence_length,
                            context=0.0, resident=False, work_factor=1.0)
    # forward + backward (2x forward), plus what is recomputed: the whole forward (full), or only the
    # attention's softmax and dropout, a few percent of it (selective; Korthikanti et al., Table 4: 2.7%
    # overhead on GPT-3 175B) charged here as a ninth of a forward, conservatively
    passes = {"none": 3.0, "selective": 3.0 + 1 / 9, "full": 4.0}[recompute]
    kernel_s = forward.kernel_s * passes
    tensor_s = forward.comm_s * (2 if recompute != "full" else 3)
    handoff = 2 * virtual * stage_handoff_s(device, config, split, micro * budget.sequence_length)
    stage_s = kernel_s + tensor_s + handoff
    slots = micro_batches + (split.pipeline - 1) / virtual
    pipeline_s = slots * stage_s
    gradient_bytes = config.parameters() * budget.trainable_fraction / (split.tensor * split.pipeline) * GRADIENT_BYTES
    bandwidth = group_bandwidth(device, split.data, split.tensor * split.pipeline)
    data_s = 0.0
    if split.data > 1 and bandwidth:
        if zero >= 2:
            data_s = reduce_scatter_time(gradient_bytes, split.data, bandwidth) \
                + all_gather_time(gradient_bytes, split.data, bandwidth)
        else:
            data_s = all_reduce_time(gradient_bytes, split.data, bandwidth)
        if zero >= 3:  # parameters gathered for forward and again for backward
            data_s += 2 * all_gather_time(gradient_bytes, split.data, bandwidth) * micro_batches
    backward_s = micro_batches * forward.kernel_s * 2
    exposed = max(0.0, data_s - backward_s)
    step_s = pipeline_s + exposed
    return TrainingPlan(split, micro, zero, recompute, memory, step_s, slots * kernel_s, slots * tensor_s,
                        slots * handoff, exposed, (split.pipeline - 1) / virtual / slots, virtual)


def training_splits(device: Device, config: TransformerConfig, scenario: Scenario) -> list[Split]:
    """Splits of ``count`` devices for training: named degrees fixed, tensor parallelism within a node."""
    splits = candidate_splits(scenario.count, tensor=scenario.tensor_parallel, pipeline=scenario.pipeline_parallel,
                              expert=scenario.expert_parallel, max_tensor=min(NODE_SIZE, config.heads),
                              max_pipeline=config.layers, max_expert=config.experts if config.moe else 1)
    if device.interconnect_bandwidth is None:
        splits = [s for s in splits if s.tensor == s.pipeline == s.expert == 1]
    return [s for s in splits if config.heads % s.tensor == 0]


def best_plan(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> TrainingPlan | str:
    """The fastest plan that fits in memory, or why none does (at the kind's training efficiency where it
    has one: :func:`chipfit.model.defaults.training_defaults`)."""
    device = training_defaults(device) or device
    config, budget = workload.transformer, workload.token_budget
    usable = usable_memory(device)
    best, smallest = None, None
    splits = training_splits(device, config, scenario)
    if not splits:
        return (f"no split of {scenario.count} devices matches tensor={scenario.tensor_parallel}, "
                f"pipeline={scenario.pipeline_parallel}, expert={scenario.expert_parallel}")
    for split in splits:
        for micro in MICRO_BATCHES:
            for zero, recompute, virtual in itertools.product((1, 2, 3), RECOMPUTE, VIRTUAL_STAGES):
                if virtual > 1 and split.pipeline == 1:
                    continue
                candidate = plan(device, config, budget, split, precision, micro, zero, recompute, virtual)
                if candidate is None:
                    continue
                if usable is not None and candidate.memory_bytes > usable:
                    if smallest is None or candidate.memory_bytes < smallest.memory_bytes:
                        smallest = candidate
                    continue
                if best is None or candidate.step_s < best.step_s:
                    best = candidate
    if best is not None:
        return best
    if smallest is None:
        return (f"the global batch of {budget.global_batch} sequences does not divide over the data-parallel "
                f"replicas of any split of {scenario.count} devices")
    return (f"no split fits: the smallest need is {si_number(smallest.memory_bytes, 'B')} per device "
            f"({smallest.split}, micro-batch {smallest.micro_batch}, ZeRO-{smallest.zero_stage}, "
            f"{smallest.recompute} recomputation); {device.name} has {si_number(device.memory_capacity, 'B')} "
            f"less a {RUNTIME_RESERVE:.0%} runtime reserve")


def estimate_llm_training(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> Result:
    """A training row: step time, time to train, MFU, memory per device, the split (or unsupported, why)."""
    found = best_plan(device, workload, scenario, precision)
    if isinstance(found, str):
        return _unsupported(device, workload, scenario, found)
    config, budget, p = workload.transformer, workload.token_budget, found
    steps = budget.steps
    time_s = steps * p.step_s
    flops_per_token = model_flops_per_token(config, budget)
    model_flops = flops_per_token * budget.tokens
    peak = device.peak_ops[precision]
    count = scenario.count
    mfu = model_flops / (time_s * peak * count)
    metrics = {
        "time_to_train_s": time_s,
        "mfu": mfu,
        "latency_s": p.step_s,
        "throughput_sps": budget.sequences / time_s,
        "tokens_per_s": budget.tokens / time_s,
        "count": count,
        "batch": budget.global_batch,
        "micro_batch": p.micro_batch,
        "zero_stage": p.zero_stage,
        "recompute": p.recompute,
        "memory_per_device_bytes": p.memory_bytes,
        "parallelism": p.split.as_dict(),
        "pipeline_bubble": p.bubble,
        "ops_total": model_flops,
        "ops_available_per_s": model_flops / time_s,
        "peak_ops_per_s": peak,
        "bound": "compute",
        "utilization": mfu,
        "train_to_infer_ops_ratio": model_flops / workload.ops_per_sample,
        **_common(device, count),
    }
    power = metrics["power_w"]
    metrics["energy_j"] = power * time_s if power else None
    throughput = budget.sequences / time_s
    metrics["energy_per_sample_j"] = power / throughput if power else None
    metrics["samples_per_j"] = throughput / power if power else None
    cost = metrics["hardware_cost_usd"]
    metrics["samples_per_s_per_usd"] = throughput / cost if cost else None
    _, efficiency_from = efficiency_for(training_defaults(device) or device)
    explain = (
        f"{workload.name}: {si_number(budget.tokens, 'tokens')} in sequences of {budget.sequence_length}, "
        f"{budget.global_batch} a step = {steps:.4g} steps"
        + (f"; LoRA trains {budget.trainable_fraction:.3%} of the weights" if budget.trainable_fraction < 1 else ""),
        f"split of {count} x {device.name}: {p.split}; micro-batch {p.micro_batch}, ZeRO-{p.zero_stage}, "
        f"{p.recompute} recomputation" + (f", {p.virtual_stages} interleaved stages a device" if p.virtual_stages > 1
                                            else "") + f"; {si_number(p.memory_bytes, 'B')} per device of "
        + (f"{_figure(device, 'memory_capacity', device.memory_capacity, 'B')} less {RUNTIME_RESERVE:.0%}"
           if device.memory_capacity else "host memory"),
        f"step = {duration(p.compute_s)} kernels + {duration(p.tensor_comm_s)} tensor all-reduces + "
        f"{duration(p.pipeline_comm_s)} stage hand-offs (pipeline bubble {p.bubble:.1%}) + "
        f"{duration(p.data_comm_s)} exposed gradient sync = {duration(p.step_s)}; efficiencies {efficiency_from}",
        f"time to train = {steps:.4g} x {duration(p.step_s)} = {duration(time_s)}",
        f"MFU = {si_number(flops_per_token, 'FLOP')}/token (6N + 12 L H Q T) x {si_number(budget.tokens, 'tokens')} / "
        f"({duration(time_s)} x {count} x {_figure(device, f'peak_ops.{precision}', peak, 'ops/s')}) = {mfu:.1%}",
    )
    return Result(device.id, workload.id, scenario, _source(device), Status.OK, metrics, explain=explain)


__all__ = ["TrainingPlan", "best_plan", "estimate_llm_training", "model_flops_per_token", "plan", "training_splits"]
