"""What a device must hold to run a workload."""

from __future__ import annotations

from chipfit.model.defaults import TRAINING_BYTES_PER_PARAMETER
from chipfit.records import Precision, Workload


def memory_footprint(workload: Workload, precision: Precision, batch: int, training: bool) -> float:
    """Bytes a device must hold: weights (weights, gradients and optimizer state in training), live
    activations, and in inference every sample's KV cache (``Workload.kv_cache_bytes_per_sample``)."""
    scale = precision.bytes_per_value / workload.precision.bytes_per_value
    weights = workload.weight_bytes * scale
    if training:
        parameters = workload.weight_bytes / workload.precision.bytes_per_value
        # the backward pass needs every operator's output; an operator's activation traffic is
        # its input plus its output, and one's output is the next one's input: keep about half
        kept = workload.activation_bytes_per_sample / 2
        return max(weights, parameters * TRAINING_BYTES_PER_PARAMETER) + kept * scale * batch
    return inference_memory(workload, precision, batch)


#: Live activations per sample, as a multiple of the largest kernel's inputs and outputs: the kernel's
#: own plus a tensor held for a later kernel (a residual, a skip connection, an FPN lateral).
LIVE_FACTOR = 1.5


def inference_memory(workload: Workload, precision: Precision, batch: int, kernels=None,
                     weight_fraction: float = 1.0) -> float:
    """Bytes one device holds at inference: its share of the weights and the live activations of a batch
    (:data:`LIVE_FACTOR` x the largest kernel's inputs and outputs, of ``kernels``, default the workload
    lowered with every fusion)."""
    from chipfit.model.lowering import lower

    scale = precision.bytes_per_value / workload.precision.bytes_per_value
    kernels = lower(workload.operators) if kernels is None else kernels
    largest = max((k.activation_bytes for k in kernels), default=0.0)
    # a sample's KV cache (Workload.kv_cache_bytes_per_sample) lives for its whole run, for every layer
    return workload.weight_bytes * scale * weight_fraction \
        + (LIVE_FACTOR * largest + workload.kv_cache_bytes_per_sample) * scale * batch
