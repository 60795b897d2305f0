"""The cost of a transformer's forward pass on one device of a split: the kernels of its layers, the
collectives the split adds, and what each device holds.

A :class:`~chipfit.model.parallelism.Split` places ``layers / pipeline`` layers on each stage and
divides every weight matrix of a layer ``tensor`` ways (Megatron-LM: Shoeybi et al., arXiv:1909.08053,
section 3: column- then row-parallel matmuls, so attention and the FFN each end in one all-reduce of
the layer's activations: two per layer forward); a mixture of experts spreads its experts ``expert``
ways and exchanges routed tokens by two all-to-alls per layer (Lepikhin et al., "GShard",
arXiv:2006.16668, section 2.2). Key/value heads divide over ``tensor`` as far as there are heads;
beyond that each device keeps a copy.

Each kernel is timed by :func:`chipfit.model.roofline.kernel_time`; weights and KV cache cross device
memory (DRAM/HBM) unless everything a device holds fits in its on-chip memory.
"""

from __future__ import annotations

import math

import attrs

from chipfit.model.collectives import all_reduce_time, all_to_all_time, point_to_point_time
from chipfit.model.parallelism import Split
from chipfit.model.roofline import kernel_time
from chipfit.records import Bound, Device, Precision
from chipfit.transformer import TransformerConfig

#: Bytes per activation value: activations stay in 16-bit even where weights and KV cache are FP8 or
#: INT8/INT4 (the usual weight-only or FP8-GEMM recipes: TensorRT-LLM, vLLM).
ACTIVATION_BYTES = 2.0

#: Accelerators per node: a tensor-parallel group stays inside one (NVLink/Infinity Fabric domain of an
#: 8-GPU HGX/OAM board: NVIDIA DGX H100 and AMD Instinct MI300X platform datasheets).
NODE_SIZE = 8

#: Per-accelerator bandwidth between nodes, one direction, in bytes/s, used by collectives whose
#: group spans nodes: one 400 Gb/s InfiniBand NDR or RoCE NIC per GPU (NVIDIA DGX H100 datasheet:
#: 8 x ConnectX-7 400 Gb/s for 8 GPUs) = 50 GB/s. A labelled assumption for every device: the catalogue
#: has no scale-out figure.
SCALE_OUT_BANDWIDTH = 50e9

#: Fraction of device memory kept back for the runtime (CUDA context, allocator fragmentation,
#: workspace): vLLM's default ``gpu_memory_utilization = 0.9`` (vLLM engine arguments) leaves 10%.
RUNTIME_RESERVE = 0.10


def group_bandwidth(device: Device, size: int, stride: int) -> float | None:
    """The per-direction bandwidth a collective over ``size`` devices ``stride`` apart gets: the device's
    interconnect inside a node, :data:`SCALE_OUT_BANDWIDTH` (or the interconnect, if slower) across nodes."""
    if size <= 1:
        return device.interconnect_bandwidth
    inside = device.interconnect_bandwidth
    if size * stride <= NODE_SIZE:
        return inside
    return min(inside, SCALE_OUT_BANDWIDTH) if inside else None


@attrs.frozen
class Holdings:
    """Bytes one device holds: weights, KV cache, activations; the usable capacity after the reserve."""

    weights: float
    kv_cache: float
    activations: float
    usable: float | None

    @property
    def total(self) -> float:
        """Everything the device holds."""
        return self.weights + self.kv_cache + self.activations

    @property
    def fits(self) -> bool:
        """Whether it fits in the usable memory (always, for a device with no memory of its own)."""
        return self.usable is None or self.total <= self.usable


def usable_memory(device: Device) -> float | None:
    """Device memory left after the runtime reserve (None: the device streams weights from the host)."""
    if device.memory_capacity is None:
        return None
    return device.memory_capacity * (1 - RUNTIME_RESERVE)


def kv_heads_per_device(config: TransformerConfig, split: Split) -> float:
    """KV heads one device keeps: ``kv_heads / tensor``, at least one (copies beyond the KV-head count)."""
    return max(1.0, config.key_value_heads / split.tensor)


def kv_bytes_per_token(config: TransformerConfig, split: Split, precision: Precision) -> float:
    """KV cache one token adds on one device: its stage's layers x K and V x the device's KV heads."""
    layers = config.layers / split.pipeline
    return 2 * layers * kv_heads_per_device(config, split) * config.head_width * precision.bytes_per_value


def weight_bytes_per_device(config: TransformerConfig, split: Split, precision: Precision) -> float:
    """Weights one device holds: a ``1 / (tensor x pipeline)`` share of the dense weights (embedding and
    output head on the first and last stages, counted as if spread), experts also divided ``expert`` ways."""
    experts = config.layers * config.experts * config.expert_parameters()
    dense = config.parameters() - experts
    per_device = dense / (split.tensor * split.pipeline) + experts / (split.tensor * split.pipeline * split.expert)
    return per_device * precision.bytes_per_value


@attrs.frozen
class StepCost:
    """One forward step of a pipeline stage: seconds in kernels and in collectives, ops, and the bound."""

    kernel_s: float
    comm_s: float
    ops: float
    bound: Bound

    @property
    def time_s(self) -> float:
        """Kernels then collectives (not overlapped: the next layer needs the reduced activations)."""
        return self.kernel_s + self.comm_s


def expected_experts_touched(config: TransformerConfig, tokens: float) -> float:
    """Experts that at least one of ``tokens`` routes to, on average, routing uniformly at random:
    ``E (1 - (1 - k/E)^tokens)``."""
    if not config.moe:
        return 1.0
    return config.experts * (1 - (1 - config.experts_per_token / config.experts) ** tokens)


def stage_forward(device: Device, config: TransformerConfig, split: Split, precision: Precision, *,
                  sequences: float, new_tokens: float, context: float, resident: bool,
                  last_stage: bool = True, work_factor: float = 1.0) -> StepCost:
    """One forward pass of one pipeline stage over ``sequences`` sequences of ``new_tokens`` new tokens
    each, attending over ``context`` positions on average (``work_factor`` scales ops and activation
    traffic, not weight reads: 3 for forward and backward in training).

    ``resident``: weights and KV cache stay in on-chip memory (only when all of it fits there).
    """
    t, bytes_per_value = split.tensor, precision.bytes_per_value
    tokens = sequences * new_tokens
    layers = config.layers / split.pipeline
    head = config.head_width
    kernels: list = []

    def kernel(op_class: str, ops: float, weight_bytes: float, activation_bytes: float) -> None:
        moved = weight_bytes + activation_bytes * work_factor
        dram, on_chip = (0.0, moved) if resident else (moved, 0.0)
        kernels.append(kernel_time(device, precision, op_class, ops * work_factor, dram, on_chip))

    activation = tokens * config.hidden * ACTIVATION_BYTES
    qkv_width = (config.heads + 2 * config.key_value_heads) * head
    # attention projections: QKV, then the output projection
    kernel("matmul", 2 * tokens * config.hidden * qkv_width / t, config.hidden * qkv_width / t * bytes_per_value,
           activation + tokens * qkv_width / t * ACTIVATION_BYTES)
    kernel("matmul", 2 * tokens * config.heads * head * config.hidden / t,
           config.heads * head * config.hidden / t * bytes_per_value, 2 * activation)
    # attention itself: reads every sequence's KV cache once (a fused, flash-style kernel)
    kv_read = sequences * (context + new_tokens) * 2 * kv_heads_per_device(config, split) * head * bytes_per_value
    kernel("attention", 4 * tokens * config.heads / t * head * (context + new_tokens / 2), 0.0, kv_read + activation)
    # the FFN (or the experts this device holds that tokens route to)
    matrices = 3 if config.ffn_gated else 2
    expert_weights = matrices * config.hidden * config.ffn / t * bytes_per_value
    routed = tokens * config.experts_per_token / split.expert
    touched = expected_experts_touched(config, tokens) / split.expert if config.moe else 1.0
    kernel("matmul", 2 * routed * matrices * config.hidden * config.ffn / t, touched * expert_weights,
           routed * (config.hidden + config.ffn * (matrices - 1) / t) * ACTIVATION_BYTES)
    kernel_s = sum(k.time_s for k in kernels) * layers
    ops = layers * (2 * tokens * config.hidden * qkv_width / t + 2 * tokens * config.heads * head * config.hidden / t
                    + 4 * tokens * config.heads / t * head * (context + new_tokens / 2)
                    + 2 * routed * matrices * config.hidden * config.ffn / t) * work_factor
    by_bound = {}
    for k in kernels:
        by_bound[k.bound] = by_bound.get(k.bound, 0.0) + k.time_s
    if last_stage:  # the output projection to the vocabulary, for the new tokens' logits
        head_kernel = kernel_time(device, precision, "matmul", 2 * sequences * config.vocab * config.hidden / t
                                  * work_factor, config.vocab * config.hidden / t * bytes_per_value, 0.0)
        kernel_s += head_kernel.time_s
        ops += 2 * sequences * config.vocab * config.hidden / t * work_factor
    comm_s = 0.0
    if t > 1:
        bandwidth = group_bandwidth(device, t, 1)
        comm_s += 2 * layers * all_reduce_time(activation, t, bandwidth) * work_factor
    if split.expert > 1 and config.moe:
        bandwidth = group_bandwidth(device, split.expert, t * split.pipeline)
        exchanged = tokens * config.experts_per_token * config.hidden * ACTIVATION_BYTES / t
        comm_s += 2 * layers * all_to_all_time(exchanged, split.expert, bandwidth) * work_factor
    bound = max(by_bound, key=by_bound.__getitem__) if by_bound else Bound.COMPUTE
    return StepCost(kernel_s, comm_s, ops, bound)


def stage_handoff_s(device: Device, config: TransformerConfig, split: Split, tokens: float) -> float:
    """Sending one micro-batch's activations from a pipeline stage to the next (0 without a pipeline)."""
    if split.pipeline <= 1:
        return 0.0
    bandwidth = group_bandwidth(device, 2, split.tensor)
    return point_to_point_time(tokens * config.hidden * ACTIVATION_BYTES / split.tensor, bandwidth)


def whole_divisor_count(value: int, limit: int) -> list[int]:
    """Divisors of ``value`` up to ``limit`` (the tensor-parallel degrees a head count allows)."""
    return [d for d in range(1, min(value, limit) + 1) if value % d == 0]


def ceil_div(a: float, b: float) -> int:
    """``ceil(a / b)`` for positive numbers."""
    return int(math.ceil(a / b - 1e-12))
