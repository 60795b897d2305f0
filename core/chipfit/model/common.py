"""Pieces every kind of result shares: sources, figures in explanations, power, cost and energy metrics."""

from __future__ import annotations

from chipfit.model.defaults import IDLE_POWER_FRACTION
from chipfit.model.roofline import on_chip
from chipfit.records import Device, Precision, Result, Scenario, Source, Status, Workload
from chipfit.units import si_number


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


def _common(device: Device, count: int) -> dict:
    cost = device.price * count if device.price is not None else None
    power = device.power * count if device.power is not None else None
    return {"power_w": power, "hardware_cost_usd": cost}


def average_power(rated_w: float | None, busy: float, used_share: float = 1.0) -> float | None:
    """Average power of devices rated ``rated_w`` in all: idle power plus the dynamic rest in proportion
    to how busy they are (``busy``: the share of the time their compute or memory is busy, 0..1;
    ``used_share``: the share of the devices doing the work, the others idle). Never below idle."""
    if not rated_w:
        return None
    idle = rated_w * IDLE_POWER_FRACTION
    return idle + (rated_w - idle) * min(max(busy, 0.0), 1.0) * min(max(used_share, 0.0), 1.0)


def _energy(metrics: dict, throughput: float, busy: float = 1.0, used_share: float = 1.0) -> str:
    """``power_w`` becomes the modelled average power (:func:`average_power` of the rated power it held),
    and the energy metrics follow from it; None (unavailable) when the device's power is unknown.
    Returns the explanation line."""
    rated = metrics["power_w"]
    power = average_power(rated, busy, used_share)
    metrics["power_w"] = power
    metrics["energy_per_sample_j"] = power / throughput if power else None
    metrics["samples_per_j"] = throughput / power if power else None
    cost = metrics["hardware_cost_usd"]
    metrics["samples_per_s_per_usd"] = throughput / cost if cost else None
    if not power:
        return "energy: unavailable (power not known)"
    return (f"power: idle {IDLE_POWER_FRACTION:.0%} of rated (assumed) + the rest x {min(busy, 1.0):.0%} busy"
            + (f" x {used_share:.0%} of the devices used" if used_share < 1 else "")
            + f" = {si_number(power, 'W')} of {si_number(rated, 'W')} rated; "
            f"{si_number(power / throughput, 'J')}/sample")
