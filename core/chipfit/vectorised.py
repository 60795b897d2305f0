"""The roofline model over arrays: many devices x precisions x batches x counts at once, with numpy.

The scalar model (:mod:`chipfit.model`) stays the reference and the one explanations describe; this
module evaluates the same arithmetic on arrays so a search can cover millions of configurations a
second. Per kernel ``k`` and configuration ``c`` (a device at a precision and batch)::

    compute_s[c, k] = ops_k x batch_c x work / (peak_c x efficiency_c[class_k])
    moved[c, k]     = (weights_k x scale_c x (not resident_c)
                       + activations_k x scale_c x batch_c, zero where it fits in free on-chip bytes) x work
    roof[c, k]      = max(compute_s, moved / (bandwidth_c x memory efficiency_c))
    time_s[c]       = sum_k repeat_k x (max(roof, overhead_c) if launches overlap, else roof + overhead_c)

over the kernels the workload lowers to, and training on ``n`` devices: ``samples / (batch x n) x (step +
2 (n-1)/n x gradient bytes / interconnect + 2 (n-1) x message latency)``.
Everything per device (efficiencies, on-chip residency, the memory footprint) comes from the scalar
model's own functions; a hypothesis property (``tests/test_vectorised.py``) checks that both paths
give the same numbers within floating-point rounding, so a change to one that is not made to the
other fails.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from chipfit import model
from chipfit.records import Device, Precision, Workload

#: Configurations evaluated per numpy block (bounds the C x K temporaries to a few tens of MB).
BLOCK = 2048


@attrs.frozen
class KernelArrays:
    """A workload's operators as arrays (per sample, at the workload's precision)."""

    ops: np.ndarray
    weight_bytes: np.ndarray
    activation_bytes: np.ndarray
    repeat: np.ndarray
    op_class: tuple[str, ...]  # per kernel
    classes: tuple[str, ...]  # the distinct classes, in order
    class_index: np.ndarray  # per kernel: its index in ``classes``
    splittable: np.ndarray | None = None  # per kernel: a tensor split divides it (chipfit.model.inference)
    reduced_bytes: float = 0.0  # per sample: the sum of the all-reduces a tensor split adds
    reductions: int = 0  # how many all-reduces (messages) a tensor split adds

    @classmethod
    def of(cls, workload: Workload, training: bool = False) -> KernelArrays:
        """The arrays of a workload's kernels (its operators lowered with every fusion, as the scalar model
        lowers them for a device that declares none; no BatchNormalization folding in training), classes
        as the scalar model assigns them."""
        from chipfit.model.inference import all_reduced, tensor_splits

        fusions = model.FUSIONS - {"fold-batch-norm"} if training else model.FUSIONS
        ops = model.lower(workload.operators, fusions)
        names = tuple(model.op_class(op) for op in ops)
        classes = tuple(dict.fromkeys(names))
        reduced = all_reduced(ops)
        return cls(
            np.array([op.ops for op in ops], dtype=float), np.array([op.weight_bytes for op in ops], dtype=float),
            np.array([op.activation_bytes for op in ops], dtype=float), np.array([op.repeat for op in ops], dtype=float),
            names, classes, np.array([classes.index(name) for name in names], dtype=np.intp),
            np.array([tensor_splits(op) for op in ops], dtype=bool), float(sum(reduced)), len(reduced))

    def split(self, tensor: int) -> KernelArrays:
        """The kernels one of ``tensor`` devices runs: those a tensor split divides, over ``tensor``."""
        if tensor == 1:
            return self
        factor = np.where(self.splittable, float(tensor), 1.0)
        return attrs.evolve(self, ops=self.ops / factor, weight_bytes=self.weight_bytes / factor,
                            activation_bytes=self.activation_bytes / factor)


@attrs.frozen
class DeviceArrays:
    """Per (device, precision) figures the roofline needs, from the scalar model's own functions.

    Rows are ``devices x precisions`` flattened (device-major); ``valid`` is False where the device
    does not compute in that precision (its other entries are then placeholders).
    """

    rate: np.ndarray  # (rows, classes): peak x compute efficiency for each kernel class
    memory_rate: np.ndarray  # (rows,)
    overhead_s: np.ndarray  # (rows,)
    scale: np.ndarray  # (rows,): bytes per value at the precision / at the workload's
    resident: np.ndarray  # (rows,) bool: weights stay on chip
    free: np.ndarray  # (rows,): on-chip bytes left for activations
    capacity: np.ndarray  # (rows,): device memory (inf: none of its own)
    interconnect: np.ndarray  # (rows,): per direction (nan: none)
    valid: np.ndarray  # (rows,) bool
    overlap: np.ndarray  # (rows,) bool: the per-kernel overhead overlaps the work (asynchronous launches)
    invocation_s: np.ndarray | None = None  # (rows,): fixed time per batch (Device.invocation_overhead; 0: none)

    @classmethod
    def of(cls, devices: Sequence[Device], workload: Workload, precisions: Sequence[Precision],
           kernels: KernelArrays, training: bool = False) -> DeviceArrays:
        """The arrays of each device at each precision (``training``: the efficiencies training uses)."""
        from chipfit.model.roofline import overlaps_overhead
        from chipfit.model.training import training_device

        rows = len(devices) * len(precisions)
        rate = np.ones((rows, len(kernels.classes)))
        memory_rate, overhead, scale, free = (np.ones(rows) for _ in range(4))
        invocation = np.zeros(rows)
        resident, valid, overlap = (np.zeros(rows, dtype=bool) for _ in range(3))
        capacity, interconnect = np.full(rows, np.inf), np.full(rows, np.nan)
        row = 0
        for device in devices:
            efficiency, _ = model.efficiency_for(training_device(device) if training else device)
            for precision in precisions:
                if precision in device.peak_ops:
                    peak = device.peak_ops[precision]
                    overall = peak * efficiency.compute_for(precision)
                    rate[row] = [peak * efficiency.compute_for(precision, name) if efficiency.by_op_class else overall
                                 for name in kernels.classes]
                    memory_rate[row] = device.memory_bandwidth * efficiency.memory
                    overhead[row] = efficiency.overhead_s
                    scale[row] = precision.bytes_per_value / workload.precision.bytes_per_value
                    resident[row], free[row] = model.on_chip(device, workload, precision)
                    if device.memory_capacity is not None:
                        capacity[row] = device.memory_capacity
                    if device.interconnect_bandwidth is not None:
                        interconnect[row] = device.interconnect_bandwidth
                    valid[row] = True
                    overlap[row] = overlaps_overhead(device)
                    invocation[row] = device.invocation_overhead or 0.0
                row += 1
        return cls(rate, memory_rate, overhead, scale, resident, free, capacity, interconnect, valid, overlap,
                   invocation)


def batch_times(device_rows: DeviceArrays, kernels: KernelArrays, batches: np.ndarray,
                work_factor: float = 1.0) -> np.ndarray:
    """Seconds per batch for every (device-precision row, batch): shape ``(rows, len(batches))``; nan where invalid."""
    batches = np.asarray(batches, dtype=float)
    rows = len(device_rows.valid)
    out = np.full((rows, len(batches)), np.nan)
    rate_per_kernel = device_rows.rate[:, kernels.class_index]  # (rows, K)
    for start in range(0, rows, max(1, BLOCK // max(1, len(batches)))):
        stop = min(rows, start + max(1, BLOCK // max(1, len(batches))))
        block = slice(start, stop)
        scale = device_rows.scale[block, None, None]  # (r, 1, 1)
        b = batches[None, :, None]  # (1, B, 1)
        compute_s = kernels.ops[None, None, :] * b * work_factor / rate_per_kernel[block, None, :]
        weights = np.where(device_rows.resident[block, None, None], 0.0, kernels.weight_bytes[None, None, :] * scale)
        activations = kernels.activation_bytes[None, None, :] * scale * b
        activations = np.where(activations <= device_rows.free[block, None, None], 0.0, activations)
        memory_s = (weights + activations) * work_factor / device_rows.memory_rate[block, None, None]
        roof = np.maximum(compute_s, memory_s)
        overhead = device_rows.overhead_s[block, None, None]
        per_kernel = np.where(device_rows.overlap[block, None, None], np.maximum(roof, overhead), roof + overhead)
        time_s = (per_kernel * kernels.repeat[None, None, :]).sum(axis=2)
        if device_rows.invocation_s is not None:
            time_s = time_s + device_rows.invocation_s[block, None]
        out[block] = np.where(device_rows.valid[block, None], time_s, np.nan)
    return out


def footprints(workload: Workload, precisions: Sequence[Precision], batches: Sequence[int],
               training: bool) -> np.ndarray:
    """Bytes a device must hold per (precision, batch): the scalar model's :func:`chipfit.model.memory_footprint`."""
    return np.array([[model.memory_footprint(workload, precision, int(batch), training) for batch in batches]
                     for precision in precisions])


def fits_memory(device_rows: DeviceArrays, need: np.ndarray, n_precisions: int) -> np.ndarray:
    """Whether each (row, batch) fits the device's memory (``need``: precisions x batches, rows device-major)."""
    per_row = np.tile(need, (len(device_rows.valid) // n_precisions, 1))
    return per_row <= device_rows.capacity[:, None]


def training_times(device_rows: DeviceArrays, step_s: np.ndarray, workload: Workload,
                   precisions: Sequence[Precision], batches: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Time to train for every (row, batch, count): shape ``(rows, B, N)``; nan where a count > 1 has no interconnect.

    The same arithmetic as the scalar model's training: steps of ``batch x count`` samples, each the
    step time plus a ring all-reduce of the gradients (:func:`chipfit.model.allreduce_time`).
    """
    samples = workload.dataset_samples * workload.epochs
    counts = np.asarray(counts, dtype=float)
    per_precision = np.array([workload.weight_bytes * p.bytes_per_value / workload.precision.bytes_per_value
                              for p in precisions])
    gradient = np.tile(per_precision, len(device_rows.valid) // len(precisions))  # (rows,)
    ring = np.where(counts > 1, 2 * (counts - 1) / counts, 0.0)  # (N,)
    messages = np.where(counts > 1, 2 * (counts - 1), 0.0) * model.collectives.MESSAGE_LATENCY_S  # (N,)
    sync = np.where(counts[None, :] > 1, ring[None, :] * gradient[:, None] / device_rows.interconnect[:, None]
                    + messages[None, :], 0.0)
    steps = samples / (np.asarray(batches, dtype=float)[None, :, None] * counts[None, None, :])
    return steps * (step_s[:, :, None] + sync[:, None, :])


@attrs.frozen
class SplitTimes:
    """Inference on a split, for every (device-precision row, batch, tensor degree, pipeline degree).

    ``latency_s`` is one batch through every stage (with the tensor all-reduces and the pipeline
    hand-offs); ``replica_throughput`` one replica's samples/s (a stream of batches keeps every stage
    busy: ``batch x pipeline / latency``); ``fits`` whether a device holds its share. Nan where the
    split is not possible (no precision, no interconnect for a split). The model's own search tries at most
    as many stages as kernels; a named split may have more (a stage then idles).
    """

    latency_s: np.ndarray  # (rows, B, T, P)
    replica_throughput: np.ndarray  # (rows, B, T, P)
    fits: np.ndarray  # (rows, B, T, P) bool
    tensors: np.ndarray
    pipelines: np.ndarray

    def throughput(self, count: int) -> np.ndarray:
        """Samples/s on ``count`` devices: ``count // (tensor x pipeline)`` replicas (the rest idle, as
        the scalar model leaves them); nan where a split needs more devices or does not fit."""
        group = self.tensors[:, None] * self.pipelines[None, :]  # (T, P)
        data = count // group
        out = self.replica_throughput * data[None, None, :, :]
        return np.where((data[None, None] >= 1) & self.fits, out, np.nan)


def split_inference(device_rows: DeviceArrays, kernels: KernelArrays, workload: Workload,
                    precisions: Sequence[Precision], batches: np.ndarray, tensors: Sequence[int],
                    pipelines: Sequence[int], load: float = 1.0) -> SplitTimes:
    """The scalar model's inference plan (:func:`chipfit.model.inference`) over arrays of devices,
    precisions, batches and tensor x pipeline degrees (``load``: the server scenario's, else 1).

    Per split: the batch time of one device's kernels (those a tensor split divides, over ``tensor``),
    plus ``2 (t-1)/t x`` the all-reduced bytes ``/ interconnect + 2 (t-1)`` message latencies per
    all-reduce, plus ``(p-1)`` hand-offs of half the largest kernel's activations; all over ``load``.
    Memory per device: ``weights / (t p) +`` the live activations of the largest kernel it runs.
    """
    from chipfit.model import collectives
    from chipfit.model.memory import LIVE_FACTOR

    batches = np.asarray(batches, dtype=float)
    tensors_a, pipelines_a = np.asarray(tensors, dtype=float), np.asarray(pipelines, dtype=float)
    rows = len(device_rows.valid)
    shape = (rows, len(batches), len(tensors_a), len(pipelines_a))
    latency, fits = np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    scale = device_rows.scale[:, None]  # (rows, 1)
    link = device_rows.interconnect[:, None]
    per_precision = np.array([p.bytes_per_value / workload.precision.bytes_per_value for p in precisions])
    message = collectives.MESSAGE_LATENCY_S
    for ti, tensor in enumerate(tensors):
        mine = kernels.split(tensor)
        time_s = batch_times(device_rows, mine, batches)  # (rows, B)
        reduce_s = 0.0
        if tensor > 1:
            reduce_s = (2 * (tensor - 1) / tensor * kernels.reduced_bytes * scale * batches[None, :] / link
                        + kernels.reductions * 2 * (tensor - 1) * message)
        largest = float(mine.activation_bytes.max()) if len(mine.activation_bytes) else 0.0
        for pi, pipeline in enumerate(pipelines):
            handoff = 0.0
            if pipeline > 1:
                handoff = (pipeline - 1) * (largest / 2 * scale * batches[None, :] / link + message)
            usable = np.repeat(device_rows.valid[:, None], len(batches), axis=1)  # (rows, B)
            if tensor > 1 or pipeline > 1:
                usable = usable & ~np.isnan(link)
            latency[:, :, ti, pi] = np.where(usable, (time_s + reduce_s + handoff) / load, np.nan)
            need = np.array([workload.weight_bytes * s / (tensor * pipeline)
                             + (LIVE_FACTOR * largest + workload.kv_cache_bytes_per_sample) * s * batches
                             for s in per_precision])  # (precisions, B)
            fits[:, :, ti, pi] = fits_memory(device_rows, need, len(precisions)) & usable
    throughput = batches[None, :, None, None] * pipelines_a[None, None, None, :] / latency
    return SplitTimes(latency, throughput, fits, tensors_a, pipelines_a)
