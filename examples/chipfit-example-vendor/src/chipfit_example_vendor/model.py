"""The vendor's model of its card: chipfit's roofline for the time on the device, plus the host's time per batch.

chipfit's roofline counts the time on the device only. Tenstorrent publishes both for ResNet-50 at
batch 16 (tenstorrent/tt-metal README.md, "Wormhole (WH) Models"): 4,300 images/s end to end
("observed from the host. Includes dispatch overhead and kernel execution time") and 5,550 images/s on
the device ("ignoring host overhead. Kernel execution time only"). The difference is the host's time
per batch::

    16 / 4,300 - 16 / 5,550 = 3.721 ms - 2.883 ms = 0.838 ms

This model adds that time to every batch of every workload: an assumption (the dispatch cost of a
model grows with its operators and its inputs) that a vendor with more measurements would refine.
Because the host's time is per batch, the best offline batch is searched again with it included.
"""

from __future__ import annotations

import attrs

from chipfit import Device, Result, Scenario, ScenarioKind, Workload, model
from chipfit.units import duration

DEVICE_ID = "tenstorrent-wormhole-n150s"

#: Host time per batch, from the published end-to-end and device throughputs of ResNet-50 at batch 16.
HOST_OVERHEAD_S = 16 / 4300 - 16 / 5550
HOST_OVERHEAD_SOURCE = ("tenstorrent/tt-metal README.md, 'Wormhole (WH) Models': ResNet-50 batch 16, end-to-end "
                        "4,300 fps, device 5,550 fps (numbers 'run or based off an N300 Wormhole card'): "
                        "16/4,300 - 16/5,550 s per batch, assumed the same for every workload")


def estimate(device: Device, workload: Workload, scenario: Scenario) -> Result:
    """The card's time on the device (chipfit's roofline) plus the host's time per batch."""
    if scenario.kind in (ScenarioKind.OFFLINE, ScenarioKind.SERVER) and scenario.batch is None:
        return _best_batch(device, workload, scenario)
    return _with_host(model.estimate(device, workload, scenario), workload, scenario)


def _with_host(result: Result, workload: Workload, scenario: Scenario) -> Result:
    """A roofline result with the host's time added to each batch, and every metric that depends on time."""
    if not result.ok or scenario.kind is ScenarioKind.TRAINING:
        return attrs.evolve(result, scenario=scenario)
    metrics = dict(result.metrics)
    device_s = metrics["latency_s"]
    latency = device_s + HOST_OVERHEAD_S
    batch = metrics.get("batch", 1)
    throughput = batch / latency
    slower = device_s / latency
    metrics.update(latency_s=latency, throughput_sps=throughput,
                   ops_available_per_s=metrics["ops_available_per_s"] * slower,
                   utilization=metrics["utilization"] * slower)
    if HOST_OVERHEAD_S > device_s:
        metrics["bound"] = "overhead"
    power, cost = metrics.get("power_w"), metrics.get("hardware_cost_usd")
    metrics["energy_per_sample_j"] = power / throughput if power else None
    metrics["samples_per_j"] = throughput / power if power else None
    metrics["samples_per_s_per_usd"] = throughput / cost if cost else None
    target = scenario.latency_target or workload.latency_target
    if target is not None:
        offline = scenario.kind is ScenarioKind.OFFLINE
        metrics["meets_target"] = throughput >= 1 / target if offline else latency <= target
    explain = (*result.explain,
               f"host: + {duration(HOST_OVERHEAD_S)} per batch ({HOST_OVERHEAD_SOURCE}) = {duration(latency)} "
               f"per batch of {batch}")
    return attrs.evolve(result, scenario=scenario, metrics=metrics, explain=explain)


def _best_batch(device: Device, workload: Workload, scenario: Scenario) -> Result:
    """Offline: the batch (a power of two) with the best throughput; server: the largest within the target."""
    target = scenario.latency_target or workload.latency_target
    best = None
    batch = 1
    while batch <= model.MAX_BATCH:
        result = _with_host(model.estimate(device, workload, attrs.evolve(scenario, batch=batch)), workload, scenario)
        if not result.ok:  # out of memory: larger batches are too
            best = best or result
            break
        if scenario.kind is ScenarioKind.SERVER and target is not None and result.metrics["latency_s"] > target:
            best = best or result
            break
        if best is None or result.metrics["throughput_sps"] > best.metrics["throughput_sps"]:
            best = result
        batch *= 2
    return best
