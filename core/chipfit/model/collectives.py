"""Collective communication over ``count`` devices: ring all-reduce, all-gather, reduce-scatter,
all-to-all and point-to-point, each at a per-direction bandwidth plus a per-message latency.

A ring of ``n`` devices moves a buffer of ``B`` bytes in ``n - 1`` steps (all-gather, reduce-scatter)
or ``2 (n - 1)`` steps (all-reduce = reduce-scatter then all-gather); in each step every device sends
``B / n`` bytes to its neighbour and receives as much from the other, both at once, so a step takes
``B / n`` over the bandwidth of one direction (``Device.interconnect_bandwidth`` is per direction)
plus the latency of one message::

    all-reduce      2 (n-1)/n * B / bandwidth + 2 (n-1) * latency
    all-gather        (n-1)/n * B / bandwidth +   (n-1) * latency   (B: the gathered buffer)
    reduce-scatter    (n-1)/n * B / bandwidth +   (n-1) * latency   (B: the buffer before scattering)
    all-to-all        (n-1)/n * B / bandwidth +   (n-1) * latency   (B: what one device holds; it
                                                                     keeps 1/n and sends the rest)
    point-to-point          B / bandwidth     +           latency

These are the standard bandwidth-optimal ring costs (Patarasuk and Yuan, "Bandwidth optimal
all-reduce algorithms for clusters of workstations", J. Parallel Distrib. Comput. 69(2), 2009; and
Thakur, Rabenseifner and Gropp, "Optimization of Collective Communication Operations in MPICH",
IJHPCA 19(1), 2005, section 2's ``alpha + n beta`` cost model).
"""

from __future__ import annotations

#: Latency of one message (one ring step) between two accelerators, in seconds. A labelled
#: assumption of the right order, not a measured figure: NVIDIA's NCCL models the latency of a ring
#: step over NVLink as about 0.5-3.4 µs by protocol, plus a base latency of a few µs per collective
#: (``hwLat``/``baseLat`` in NCCL's ``src/graph/tuning.cc``, github.com/NVIDIA/nccl); 5 µs per step
#: sits at the conservative end of that and covers a PCIe hop.
MESSAGE_LATENCY_S = 5e-6


def _ring(steps: int, moved_bytes: float, bandwidth: float, latency_s: float) -> float:
    return moved_bytes / bandwidth + steps * latency_s


def _check(count: int, bandwidth: float) -> None:
    if count < 1:
        raise ValueError(f"a collective needs at least one device, not {count}")
    if not bandwidth > 0:
        raise ValueError(f"a collective needs a positive interconnect bandwidth, not {bandwidth}")


def all_reduce_time(buffer_bytes: float, count: int, bandwidth: float, latency_s: float = MESSAGE_LATENCY_S) -> float:
    """Seconds for a ring all-reduce of ``buffer_bytes`` over ``count`` devices at ``bandwidth`` bytes/s
    per direction: ``2 (n-1)/n * B / bandwidth + 2 (n-1) * latency_s``; zero on one device."""
    if count == 1:
        return 0.0
    _check(count, bandwidth)
    return _ring(2 * (count - 1), 2 * (count - 1) / count * buffer_bytes, bandwidth, latency_s)


def all_gather_time(buffer_bytes: float, count: int, bandwidth: float, latency_s: float = MESSAGE_LATENCY_S) -> float:
    """Seconds for a ring all-gather whose gathered buffer is ``buffer_bytes`` (each device contributes
    ``1/count`` of it): ``(n-1)/n * B / bandwidth + (n-1) * latency_s``; zero on one device."""
    if count == 1:
        return 0.0
    _check(count, bandwidth)
    return _ring(count - 1, (count - 1) / count * buffer_bytes, bandwidth, latency_s)


def reduce_scatter_time(buffer_bytes: float, count: int, bandwidth: float,
                        latency_s: float = MESSAGE_LATENCY_S) -> float:
    """Seconds for a ring reduce-scatter of a ``buffer_bytes`` buffer (each device ends with ``1/count``
    of the reduced buffer): the same cost as an all-gather of that buffer."""
    return all_gather_time(buffer_bytes, count, bandwidth, latency_s)


def all_to_all_time(buffer_bytes: float, count: int, bandwidth: float, latency_s: float = MESSAGE_LATENCY_S) -> float:
    """Seconds for an all-to-all where each device holds ``buffer_bytes`` and sends ``1/count`` of it to
    each other device: ``(n-1)/n * B / bandwidth + (n-1) * latency_s`` (one message per peer); zero on
    one device."""
    if count == 1:
        return 0.0
    _check(count, bandwidth)
    return _ring(count - 1, (count - 1) / count * buffer_bytes, bandwidth, latency_s)


def point_to_point_time(message_bytes: float, bandwidth: float, latency_s: float = MESSAGE_LATENCY_S) -> float:
    """Seconds to send ``message_bytes`` from one device to another: ``B / bandwidth + latency_s``."""
    _check(2, bandwidth)
    return _ring(1, message_bytes, bandwidth, latency_s)


def allreduce_time(gradient_bytes: float, count: int, interconnect_bandwidth: float | None,
                   latency_s: float = MESSAGE_LATENCY_S) -> float:
    """Ring all-reduce of a step's gradients (:func:`all_reduce_time`); zero on one device or when the
    device has no interconnect figure (callers refuse multi-device work without one)."""
    if count <= 1 or interconnect_bandwidth is None:
        return 0.0
    return all_reduce_time(gradient_bytes, count, interconnect_bandwidth, latency_s)
