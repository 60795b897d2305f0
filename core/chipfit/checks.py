"""Catalogue checks: what every device record must satisfy beyond its validators.

The same checks serve chipfit's own plugins (its test suite), third-party authors (``chipfit check``
or :func:`check_device` in their tests) and data files (:func:`check_datasheet`, which names the
file and line). A check finds:

- a figure outside plausible bounds (:data:`PLAUSIBLE`), unless the record lists it in ``unusual``;
- a peak that is implausible for the device's power: ops per watt outside :data:`OPS_PER_WATT`
  (50 POPS on a 10 W edge NPU is a unit slip), unless ``unusual`` lists ``ops_per_w``;
- a sparse peak that is not between 1x and 2x its dense peak (sparse given as dense, or a typo);
- a figure without a citation (a source or a derivation);
- a general-purpose rate on a device that is not general-purpose, or the reverse.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from chipfit.records import Capability, Device
from chipfit.units import significant

#: Plausible bounds, SI units, for figures of real devices (edge module to data-centre package).
PLAUSIBLE = {
    "memory_bandwidth": (1e8, 100e12),
    "memory_capacity": (1e5, 10e12),
    "power": (0.1, 20e3),
    "price": (1.0, 10e6),
    "cloud_price_per_hour": (0.01, 1e3),
    "year": (1990, 2035),
    "interconnect_bandwidth": (1e8, 100e12),
    "general_ops": (1e8, 1e15),
    "on_chip_memory": (1e4, 1e11),
    "invocation_overhead": (1e-7, 1.0),
    "peak_ops": (1e9, 1e17),
}

#: Plausible peak ops per joule (ops/s per watt), dense or sparse, any precision: from an FP64 peak on a
#: desktop GPU (~1e9) to the most efficient edge inference chips (Hailo-8: 26 TOPS at 2.5 W, ~1e13).
#: A device truly beyond it (analog in-memory compute …) lists ``ops_per_w`` in ``unusual``.
OPS_PER_WATT = (1e8, 50e12)

#: Figures every device must cite when it sets them.
CITED = ("memory_bandwidth", "memory_capacity", "power", "year", "price", "interconnect_bandwidth", "general_ops",
         "on_chip_memory", "cloud_price_per_hour", "invocation_overhead")


@attrs.frozen
class Problem:
    """One thing wrong with one figure of one device."""

    device: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.device}: {self.field}: {self.message}"


def _figures(device: Device):
    for field in CITED:
        value = getattr(device, field)
        if value is not None:
            yield field, value, PLAUSIBLE.get(field)
    for precision, ops in device.peak_ops.items():
        yield f"peak_ops.{precision}", ops, PLAUSIBLE["peak_ops"]
    for precision, ops in device.sparse_peak_ops.items():
        yield f"sparse_peak_ops.{precision}", ops, PLAUSIBLE["peak_ops"]


def check_device(device: Device) -> list[Problem]:
    """Every problem with one device (an empty list when it passes)."""
    problems = []
    for field, value, bounds in _figures(device):
        if bounds and not bounds[0] <= value <= bounds[1] and field not in device.unusual:
            problems.append(Problem(device.id, field, f"{value:g} is outside the plausible range "
                                    f"{bounds[0]:g}..{bounds[1]:g} (SI units); list it in 'unusual' if it is right"))
        if device.citation(field) is None:
            problems.append(Problem(device.id, field, "has no source and no derivation"))
    for precision, sparse in device.sparse_peak_ops.items():
        dense = device.peak_ops.get(precision)
        if dense is None:
            problems.append(Problem(device.id, f"sparse_peak_ops.{precision}",
                                    "a sparse figure with no dense figure for the same precision"))
        elif not dense * 0.999 <= sparse <= dense * 2.001:
            problems.append(Problem(device.id, f"sparse_peak_ops.{precision}",
                                    f"sparse {sparse:g} is not 1x-2x dense {dense:g}: is a dense figure sparse?"))
        elif sparse <= dense * 1.001:
            problems.append(Problem(device.id, f"peak_ops.{precision}",
                                    f"dense equals sparse ({dense:g}): the dense figure is probably the sparse one"))
    problems += _efficiency_problems(device)
    general = device.can(Capability.GENERAL_PURPOSE)
    if device.general_ops is not None and not general:
        problems.append(Problem(device.id, "general_ops", "set on a device without the general-purpose capability"))
    return problems


def _efficiency_problems(device: Device) -> list[Problem]:
    """Peaks that no chip of the device's power could reach (or so low they must be a unit slip)."""
    if not device.power or {"ops_per_w", "power"} & set(device.unusual):
        return []
    low, high = OPS_PER_WATT
    problems = []
    for kind, peaks in (("peak_ops", device.peak_ops), ("sparse_peak_ops", device.sparse_peak_ops)):
        for precision, ops in peaks.items():
            field = f"{kind}.{precision}"
            per_watt = ops / device.power
            if field in device.unusual or f"ops_per_w.{precision}" in device.unusual or low <= per_watt <= high:
                continue
            problems.append(Problem(device.id, field, (
                f"{significant(ops / 1e12)} TOPS at {significant(device.power)} W is {significant(per_watt / 1e12)} "
                f"TOPS/W, outside the plausible "
                f"{low / 1e12:g}..{high / 1e12:g} TOPS/W (a unit slip, GOPS for TOPS or mW for W?); list 'ops_per_w' "
                "in 'unusual' if it is right")))
    return problems


def check_catalogue(devices) -> list[Problem]:
    """Problems across devices (an iterable of :class:`Device`)."""
    return [problem for device in devices for problem in check_device(device)]


def check_datasheet(path: str | Path) -> list[Problem]:
    """Problems in a datasheet file, each with the line of the figure (file errors raise SpecError)."""
    from chipfit import tomlfile
    from chipfit.datasheets import datasheet_key, load_devices

    devices = load_devices(path)
    text = Path(path).read_text(encoding="utf-8")
    problems = []
    for index, device in enumerate(devices):
        for problem in check_device(device):
            key = datasheet_key(problem.field)
            line = tomlfile.locate(text, ["device", index, *key.split(".", 1)])
            problems.append(attrs.evolve(problem, field=key, line=line))
    return problems
