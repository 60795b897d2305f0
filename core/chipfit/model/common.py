"""Pieces every kind of result shares: sources, figures in explanations, power, cost and energy metrics."""

from __future__ import annotations

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


def _energy(metrics: dict, throughput: float) -> None:
    """Energy metrics from power x time; None (unavailable) when the device's power is unknown."""
    power = metrics["power_w"]
    metrics["energy_per_sample_j"] = power / throughput if power else None
    metrics["samples_per_j"] = throughput / power if power else None
    cost = metrics["hardware_cost_usd"]
    metrics["samples_per_s_per_usd"] = throughput / cost if cost else None
