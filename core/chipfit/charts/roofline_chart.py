"""The roofline chart (log-log, arithmetic intensity in ops/byte against ops/s): one roof per device and
precision with the model's efficiencies, each workload's operators as points below it."""

from __future__ import annotations

import math
from typing import Any

import attrs

from chipfit.charts.style import Chart, _draw, _LINESTYLES, _short, _ticks
from chipfit.records import Phase, Precision, Report


@attrs.frozen
class Roof:
    """One device's roof at one precision: sustained compute (ops/s) and memory (bytes/s) rates."""

    device: str
    name: str
    precision: Precision
    compute: float
    memory: float

    @property
    def ridge(self) -> float:
        """The arithmetic intensity (ops/byte) where the memory slope meets the compute roof."""
        return self.compute / self.memory


def roofs(report: Report, catalogue: Any) -> list[Roof]:
    """The roofs of the report's devices, at the precisions their rows use (efficiencies as the model's)."""
    from chipfit.model import efficiency_for

    devices = getattr(catalogue, "devices", None) or {}
    workloads = getattr(catalogue, "workloads", None) or {}
    used: dict[str, list[Precision]] = {}
    for row in report.rows:
        workload = workloads.get(row.workload)
        if row.device not in devices or workload is None or workload.phase is Phase.GENERAL:
            continue
        precision = row.scenario.precision or workload.precision
        if precision in devices[row.device].peak_ops and precision not in used.setdefault(row.device, []):
            used[row.device].append(precision)
    out = []
    for ident, precisions in used.items():
        device = devices[ident]
        efficiency, _ = efficiency_for(device)
        for precision in precisions:
            out.append(Roof(ident, device.name, precision,
                            device.peak_ops[precision] * efficiency.compute_for(precision),
                            device.memory_bandwidth * efficiency.memory))
    return out


@attrs.frozen
class OperatorPoint:
    """One operator of a workload at its arithmetic intensity, with its share of the workload's ops."""

    workload: str
    name: str
    intensity: float
    share: float


def operator_points(report: Report, catalogue: Any) -> tuple[list[OperatorPoint], dict[str, float]]:
    """Each (non-general) workload's operators at their intensity, batch 1, in the precision the report runs it in.

    Intensity is ops / (weight bytes + activation bytes); operators with no ops or no bytes have none
    and are left out. Also returns each workload's own intensity (its totals).
    """
    workloads = getattr(catalogue, "workloads", None) or {}
    precision_of: dict[str, Precision] = {}
    for row in report.rows:
        workload = workloads.get(row.workload)
        if workload is not None and workload.phase is not Phase.GENERAL:
            precision_of.setdefault(row.workload, row.scenario.precision or workload.precision)
    points, whole = [], {}
    for ident, precision in precision_of.items():
        workload = workloads[ident]
        scale = precision.bytes_per_value / workload.precision.bytes_per_value
        total_ops = workload.ops_per_sample
        total_bytes = (workload.weight_bytes + workload.activation_bytes_per_sample) * scale
        if total_ops <= 0 or total_bytes <= 0:
            continue
        whole[ident] = total_ops / total_bytes
        for op in workload.operators:
            moved = (op.weight_bytes + op.activation_bytes) * scale
            if op.ops > 0 and moved > 0:
                points.append(OperatorPoint(ident, op.name or op.op_type, op.ops / moved,
                                            op.ops * op.repeat / total_ops))
    return points, whole


def roofline(report: Report, catalogue: Any, *, colours: dict[str, str]) -> Chart | None:
    """The roofline chart of the report's devices and workloads (None when it has neither)."""
    lines = roofs(report, catalogue)
    points, whole = operator_points(report, catalogue)
    if not lines:
        return None
    import numpy

    workloads = list(whole)
    names = {ident: catalogue.workloads[ident].name for ident in workloads}
    xs = [p.intensity for p in points] + [r.ridge for r in lines] + list(whole.values())
    x_lo = max(min(xs) / 3, 1e-3)
    x_hi = min(max(xs) * 3, 1e6)
    y_hi = max(r.compute for r in lines) * 3
    y_lo = max(min(r.memory * x_lo for r in lines) / 2, y_hi / 1e8)
    precisions = list(dict.fromkeys(r.precision for r in lines))

    def draw(figure) -> None:
        ratios = [4, max(1.0, 0.45 * len(workloads))] if workloads else [1]
        grid = figure.add_gridspec(len(ratios), 1, height_ratios=ratios)
        top = figure.add_subplot(grid[0])
        x = numpy.logspace(math.log10(x_lo), math.log10(x_hi), 256)
        for roof in lines:
            style = _LINESTYLES[precisions.index(roof.precision) % len(_LINESTYLES)]
            top.plot(x, numpy.minimum(roof.compute, roof.memory * x), color=colours.get(roof.device, "#444444"),
                     linestyle=style, linewidth=1.6,
                     label=f"{_short(roof.name)}" + (f" · {roof.precision}" if len(precisions) > 1 else ""))
            top.plot([roof.ridge], [roof.compute], marker="o", markersize=3, color=colours.get(roof.device, "#444"))
        top.set_xscale("log")
        top.set_yscale("log")
        top.set_xlim(x_lo, x_hi)
        top.set_ylim(y_lo, y_hi)
        top.yaxis.set_major_formatter(_ticks("ops/s"))
        top.xaxis.set_major_formatter(_ticks(""))
        top.set_ylabel("sustained ops/s (peak x efficiency)")
        top.grid(which="major", color="#e3e3e3", linewidth=0.6)
        precision_note = ", ".join(str(p) for p in precisions)
        top.set_title(f"Roofs of each device ({precision_note}): flat = compute, slope = memory bandwidth")
        top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                   title="device" + (" · precision" if len(precisions) > 1 else ""))
        if workloads:
            strip = figure.add_subplot(grid[1], sharex=top)
            for index, ident in enumerate(workloads):
                mine = [p for p in points if p.workload == ident]
                strip.scatter([p.intensity for p in mine], [index] * len(mine),
                              s=[12 + 500 * p.share for p in mine], alpha=0.45, color="#34495e", linewidths=0)
                strip.scatter([whole[ident]], [index], marker="D", s=36, color="#c0392b", zorder=3,
                              label="whole workload" if index == 0 else None)
            strip.set_yticks(range(len(workloads)), [_short(names[i], 28) for i in workloads])
            strip.set_ylim(len(workloads) - 0.5, -0.5)
            strip.set_xlabel("arithmetic intensity (ops/byte: ops / (weight + activation bytes), batch 1)")
            strip.grid(axis="x", which="major", color="#e3e3e3", linewidth=0.6)
            strip.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                         title="operators (size: share of ops)")
        else:
            top.set_xlabel("arithmetic intensity (ops/byte)")

    height = 5.2 + (0.5 * len(workloads) if workloads else 0)
    svg = _draw(11.5, height, draw, "roofline")
    caption = ("Each line is a device's roof: min(peak ops/s x compute efficiency, memory bandwidth x memory "
               "efficiency x intensity), with the efficiencies the model uses (dot: the ridge point). "
               "Operators left of a device's ridge point are memory-bound on it, right of it compute-bound. "
               "On-chip memory is not drawn: weights that stay on chip raise an operator's effective "
               "intensity (the tables account for it).")
    return Chart("roofline", "Roofline", caption, svg)
