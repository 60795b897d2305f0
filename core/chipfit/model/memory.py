"""What a device must hold to run a workload."""

from __future__ import annotations

from chipfit.model.defaults import TRAINING_BYTES_PER_PARAMETER
from chipfit.records import Precision, Workload


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
