"""A report's charts, drawn with matplotlib (the ``report`` extra) as SVG text, for any renderer.

A core module, not a plugin's, so that every renderer (the core's markdown, the html plugin, a
third party's) draws the same charts without importing a plugin; matplotlib is imported only by the
functions that draw (:func:`missing` says when it is not installed). Metric units, better
directions and which metrics are worth a bar come from the metric registry (:mod:`chipfit.metrics`).
It is near 500 lines because the three charts share their styling, axes and label helpers.

- **Roofline** (log-log, arithmetic intensity in ops/byte against ops/s): each device of the report
  gets one roof per precision its rows use, ``min(peak x compute efficiency, bandwidth x memory
  efficiency x intensity)`` with the efficiencies the model uses (:func:`chipfit.model.efficiency_for`);
  below it, each workload's operators as points at their intensity (batch 1, the precision the report
  runs it in), sized by their share of the workload's ops.
- **Bars** per group: the group's headline metric and, of its columns, energy and cost efficiency
  (samples/J is frames per second per watt).
- **Predicted against measured**, where a report holds measured rows and their modelled twins.
- **Pareto front** of a ``chipfit fit --pareto A,B`` answer: every modelled configuration on the two
  objectives, the feasible ones coloured by device, the infeasible ones grey, the front joined and
  labelled, and the target drawn where it bounds an axis.

Importing this module is light; matplotlib is imported by the functions that draw. Text from plugins
and specs reaches the SVG only as glyph outlines (``svg.fonttype = path``) or escaped by matplotlib;
mathtext is off, so a ``$`` in a device name is just a dollar sign.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable
from typing import Any

import attrs

from chipfit.metrics import CORE_METRICS
from chipfit.records import Phase, Precision, Report, Result, Source

#: Metrics worth a bar chart, in the order they are picked (at most :data:`MAX_BARS` per group): the
#: core metrics whose chart kind is ``bar`` (chipfit.metrics).
BAR_METRICS = tuple(item.key for item in CORE_METRICS if item.chart == "bar")
MAX_BARS = 3

_SOURCE_NOTE = {Source.MEASURED: " (measured)", Source.CALIBRATED: " (calibrated)"}
_LINESTYLES = ("-", "--", ":", "-.")
_RC = {
    "svg.fonttype": "path",
    "svg.hashsalt": "chipfit",
    "text.parse_math": False,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@attrs.frozen
class Chart:
    """One drawn chart: ``name`` is its file stem and anchor; ``svg`` the ``<svg>`` element's text."""

    name: str
    title: str
    caption: str
    svg: str
    group: str = ""


def missing() -> str | None:
    """Why charts cannot be drawn here (matplotlib not installed), or None when they can."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "charts need matplotlib: pip install 'chipfit[report]'"
    return None


def charts(report: Report, catalogue: Any = None) -> list[Chart]:
    """Every chart the report has data for: the bar charts of each group, the roofline, predicted vs measured."""
    from chipfit.render import report_groups

    names = _names(catalogue)
    colours = _colours(report)
    out = []
    for group, rows in report_groups(report):
        chart = bars(report, group, rows, names=names, colours=colours)
        if chart is not None:
            out.append(chart)
    for chart in (pareto_front(report, names=names, colours=colours), roofline(report, catalogue, colours=colours),
                  predicted_vs_measured(report, names=names)):
        if chart is not None:
            out.append(chart)
    return out


# --- shared ---------------------------------------------------------------------------------------


def _names(catalogue: Any) -> dict[str, str]:
    devices = getattr(catalogue, "devices", None) or {}
    return {ident: device.name for ident, device in devices.items()}


def _short(text: str, limit: int = 34) -> str:
    """A name on lines of at most ``limit`` characters: wrapped between words, never cut."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width=limit, break_long_words=False)) or text


def log_scale(values: list[float], target: float | None = None) -> bool:
    """Whether a bar axis is logarithmic: its values (and the target line drawn on it) span decades.

    A linear axis up to a 40 ms target leaves 600 µs bars invisible and piles their labels at the origin.
    """
    span = [value for value in values if value > 0] + ([target] if target and values else [])
    return len(span) > 1 and max(span) / min(span) > 30


def _colours(report: Report) -> dict[str, str]:
    """One colour per device, the same in every chart, in order of first appearance."""
    from matplotlib import colormaps

    devices = list(dict.fromkeys(row.device for row in report.rows))
    palette = colormaps["tab10" if len(devices) <= 10 else "tab20"]
    return {device: _hex(palette(index % palette.N)) for index, device in enumerate(devices)}


def _hex(rgba: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in rgba[:3])


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element whose ids are unique in a page that holds several."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "chipfit"})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # several charts share one HTML page: matplotlib's ids repeat between figures
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{prefix}-{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{prefix}-{m.group(1)}"', text)
    return text.strip()


def _draw(width: float, height: float, draw, prefix: str) -> str:
    import matplotlib

    with matplotlib.rc_context(_RC):
        figure = _figure(width, height)
        draw(figure)
        return _svg(figure, prefix)


def _ticks(unit: str):
    """Tick labels as people read them: durations in ms/s/h, other figures with an SI prefix."""
    from chipfit.units import duration, si_number
    from matplotlib.ticker import FuncFormatter

    if unit == "s":
        return FuncFormatter(lambda value, _: duration(value) if value > 0 else "0")
    return FuncFormatter(lambda value, _: si_number(value, "", digits=3) if value > 0 else "0")


#: Units for a linear time axis, by the largest time on it: (below this many seconds, seconds per unit, name).
_TIME_UNITS = ((1e-3, 1e-6, "µs"), (1.0, 1e-3, "ms"), (120.0, 1.0, "s"), (7200.0, 60.0, "min"),
               (3 * 86400.0, 3600.0, "h"), (math.inf, 86400.0, "days"))


def _time_axis(axis, largest: float) -> None:
    """Round ticks in one unit on a linear time axis (0, 30, 60, 90 min rather than 41.7 min, 83.3 min)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    scale, name = next((scale, name) for below, scale, name in _TIME_UNITS if largest < below)
    ticks = [t * scale for t in MaxNLocator(4, steps=[1, 2, 5, 10]).tick_values(0, largest / scale) if t >= 0]
    axis.set_xticks(ticks)
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / scale:g} {name}" if value else "0"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "group"


# --- bars -----------------------------------------------------------------------------------------


def bar_metrics(report: Report, group: str, rows: list[Result]) -> list[str]:
    """The metrics a group's bar chart shows: its headline first, then energy and cost, from its columns."""
    from chipfit.render import table_columns
    from chipfit.runner import headline

    columns = table_columns(report, group, rows)
    first, _ = headline(rows[0].scenario)
    wanted = [first] if first in columns else []
    wanted += [metric for metric in BAR_METRICS if metric in columns and metric not in wanted]
    if {"latency_s", "throughput_sps"} <= set(wanted):  # one is the other's inverse in a group
        wanted.remove("throughput_sps" if first != "throughput_sps" else "latency_s")
    present = [metric for metric in wanted
               if any(_number(row.metrics.get(metric)) for row in rows if row.ok)]
    return present[:MAX_BARS]


def _bar_unit(key: str) -> tuple[str, bool]:
    """A metric's unit and whether higher is better, from the metric registry (unknown: no unit, higher)."""
    from chipfit.metrics import registry

    known = registry().get(key)
    if known is None:
        return "", True
    return known.unit, known.higher_is_better is not False


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def bars(report: Report, group: str, rows: list[Result], *, names: dict[str, str],
         colours: dict[str, str]) -> Chart | None:
    """Horizontal bars of a group's chosen metrics, one panel per metric, the rows in table order."""
    metrics = bar_metrics(report, group, rows)
    if not metrics:
        return None
    from chipfit.render import group_spec
    from chipfit.units import display, label

    several = len({row.workload for row in rows}) > 1
    labels = [_short(names.get(row.device, row.device), 30) + (f" · {row.workload}" if several else "")
              + _SOURCE_NOTE.get(row.source, "") for row in rows]
    target = rows[0].scenario.latency_target

    def draw(figure) -> None:
        from matplotlib.ticker import MaxNLocator, NullFormatter

        axes = figure.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
        positions = list(range(len(rows)))
        for axis, metric in zip(axes, metrics):
            values = [row.metrics.get(metric) if row.ok else None for row in rows]
            shown = [v for v in values if _number(v)]
            unit, higher = _bar_unit(metric)
            log = log_scale(shown, target if metric == "latency_s" else None)
            drawn = axis.barh(positions, [v if _number(v) else 0 for v in values],
                              color=[colours.get(row.device, "#888888") for row in rows], height=0.7)
            for bar, row in zip(drawn, rows):
                if row.source is not Source.MODELLED:  # measured and calibrated bars are hatched
                    bar.set_hatch("////" if row.source is Source.MEASURED else "...")
                    bar.set_edgecolor("white")
            if log:
                axis.set_xscale("log")
                axis.xaxis.set_major_formatter(_ticks(unit))
            elif unit == "s" and shown:
                _time_axis(axis, max(shown))
            else:
                axis.xaxis.set_major_locator(MaxNLocator(4))
                axis.xaxis.set_major_formatter(_ticks(unit))
            axis.xaxis.set_minor_formatter(NullFormatter())
            for position, value, row in zip(positions, values, rows):
                if _number(value):
                    axis.annotate(display(metric, value), (value, position), xytext=(3, 0),
                                  textcoords="offset points", va="center", fontsize=8)
                else:
                    axis.annotate("n/a" if row.ok else str(row.status), (0, position),
                                  xycoords=("axes fraction", "data"), xytext=(3, 0), textcoords="offset points",
                                  va="center", fontsize=8, color="#666666")
            if metric == "latency_s" and target:
                axis.axvline(target, color="#c0392b", linestyle="--", linewidth=1)
                axis.annotate(f"target {display('latency_s', target)}", (target, 1.0),
                              xycoords=("data", "axes fraction"), xytext=(2, -2), textcoords="offset points",
                              va="top", fontsize=8, color="#c0392b")
            shown_unit = "" if unit == "s" or unit in label(metric) else f", {unit}"
            axis.set_title(f"{label(metric)}{shown_unit} ({'higher' if higher else 'lower'} is better)")
            axis.margins(x=0.25)
            axis.grid(axis="x", color="#dddddd", linewidth=0.6)
            axis.set_axisbelow(True)
        axes[0].set_yticks(positions, labels)
        axes[0].invert_yaxis()

    title = group_spec(report, group).get("title") or group
    height = 1.0 + 0.16 * sum(1 + label.count("\n") for label in labels) + 0.16 * len(rows)
    svg = _draw(11.5, height, draw, f"bars-{_slug(group)}")
    caption = (f"{', '.join(label(m) for m in metrics)} per device; rows without numbers (unsupported, failed) "
               f"have no bar." + (" Measured (hatched) and calibrated (dotted) rows are marked." if any(
                   row.source is not Source.MODELLED for row in rows) else ""))
    return Chart(f"bars-{_slug(group)}", title, caption, svg, group=group)


# --- roofline -------------------------------------------------------------------------------------


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


# --- predicted against measured -------------------------------------------------------------------


def measured_pairs(report: Report) -> list[tuple[Result, Result, str]]:
    """(measured row, its modelled or calibrated twin, the metric compared), where a report has both."""
    from chipfit.runner import headline

    measured = {(row.group, row.device, row.workload): row for row in report.rows
                if row.source is Source.MEASURED and row.ok}
    pairs = []
    for row in report.rows:
        twin = measured.get((row.group, row.device, row.workload))
        if twin is None or row.source is Source.MEASURED or not row.ok:
            continue
        metric, _ = headline(row.scenario)
        if _number(row.metrics.get(metric)) and _number(twin.metrics.get(metric)):
            pairs.append((twin, row, metric))
    return pairs


def predicted_vs_measured(report: Report, *, names: dict[str, str]) -> Chart | None:
    """Model against measurement on log-log axes, one panel per metric; the diagonal is a perfect model."""
    pairs = measured_pairs(report)
    if not pairs:
        return None
    from chipfit.units import label

    metrics = list(dict.fromkeys(metric for _, _, metric in pairs))

    def draw(figure) -> None:
        axes = figure.subplots(1, len(metrics), squeeze=False)[0]
        for axis, metric in zip(axes, metrics):
            mine = [(m, p) for m, p, which in pairs if which == metric]
            values = [m.metrics[metric] for m, _ in mine] + [p.metrics[metric] for _, p in mine]
            lo, hi = min(values) / 2, max(values) * 2
            axis.plot([lo, hi], [lo, hi], color="#555555", linewidth=1, label="model = measured")
            axis.fill_between([lo, hi], [lo * 0.8, hi * 0.8], [lo * 1.25, hi * 1.25], color="#cccccc", alpha=0.4,
                              linewidth=0, label="within 25%")
            for source, marker in ((Source.MODELLED, "o"), (Source.CALIBRATED, "s")):
                chosen = [(m, p) for m, p in mine if p.source is source]
                if chosen:
                    axis.scatter([m.metrics[metric] for m, _ in chosen], [p.metrics[metric] for _, p in chosen],
                                 marker=marker, s=30, zorder=3, label=str(source))
            for m, p in mine:
                axis.annotate(_short(m.workload, 24), (m.metrics[metric], p.metrics[metric]), xytext=(4, 2),
                              textcoords="offset points", fontsize=7)
            unit = _bar_unit(metric)[0]
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_xlim(lo, hi)
            axis.set_ylim(lo, hi)
            axis.xaxis.set_major_formatter(_ticks(unit))
            axis.yaxis.set_major_formatter(_ticks(unit))
            axis.set_xlabel(f"measured {label(metric)}")
            axis.set_ylabel(f"model's {label(metric)}")
            axis.set_aspect("equal")
            axis.legend(fontsize=8, frameon=False, loc="upper left")

    devices = sorted({names.get(m.device, m.device) for m, _, _ in pairs})
    svg = _draw(5.5 * len(metrics) + 0.5, 5.0, draw, "predicted-vs-measured")
    caption = (f"Measured on {', '.join(devices)} against the model's figure for the same cell. Above the "
               f"diagonal the model says more than was measured: a longer latency, or a higher throughput.")
    return Chart("predicted-vs-measured", "Predicted against measured", caption, svg)


#: The unit a metric key's last part names, for the axes of the Pareto chart.
_AXIS_UNITS = {"s": "s", "w": "W", "j": "J", "usd": "$", "sps": "samples/s", "bytes": "B"}


def pareto_front(report: Report, *, names: dict[str, str], colours: dict[str, str]) -> Chart | None:
    """The Pareto front of a fit's two objectives (``report.spec["fit"]["pareto"]``), or None without one."""
    summary = (report.spec.get("fit") or {}).get("pareto") if isinstance(report.spec, dict) else None
    if not summary or not summary.get("points"):
        return None
    from chipfit.query import higher_is_better
    from chipfit.units import label

    x_key, y_key = summary["objectives"]
    points = summary["points"]
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    extra = [d for d in dict.fromkeys(p["device"] for p in points) if d not in colours]
    colours = {**colours, **{d: _hex(palette((len(colours) + i) % palette.N)) for i, d in enumerate(extra)}}
    front = {(p["device"], p["count"], p["precision"]) for p in summary["front"]}

    def draw(figure) -> None:
        axis = figure.subplots()
        grey = [p for p in points if not p["feasible"]]
        if grey:
            axis.scatter([p[x_key] for p in grey], [p[y_key] for p in grey], s=14, color="#bbbbbb", zorder=1,
                         label="infeasible")
        for device in dict.fromkeys(p["device"] for p in points if p["feasible"]):
            mine = [p for p in points if p["feasible"] and p["device"] == device]
            axis.scatter([p[x_key] for p in mine], [p[y_key] for p in mine], s=22, zorder=2,
                         color=colours.get(device), label=_short(names.get(device, device), 28))
        on_front = sorted((p for p in points if (p["device"], p["count"], p["precision"]) in front),
                          key=lambda p: p[x_key])
        axis.plot([p[x_key] for p in on_front], [p[y_key] for p in on_front], color="#333333", linewidth=1,
                  zorder=3, label="Pareto front")
        for p in on_front:
            axis.annotate(f"{p['count']} x {_short(names.get(p['device'], p['device']), 20)} {p['precision']}",
                          (p[x_key], p[y_key]), xytext=(4, 3), textcoords="offset points", fontsize=7)
        for key, limit in (summary.get("limits") or {}).items():
            line = axis.axvline if key == x_key else axis.axhline
            line(limit, color="#c0392b", linestyle="--", linewidth=1, label=f"target ({label(key)})")
        for key, set_scale, side in ((x_key, axis.set_xscale, axis.xaxis), (y_key, axis.set_yscale, axis.yaxis)):
            values = [p[key] for p in points if p[key] > 0]
            if values and max(values) / min(values) > 30:
                set_scale("log")
            side.set_major_formatter(_ticks(_AXIS_UNITS.get(key.rsplit("_", 1)[-1], "")))
        better = lambda key: "higher" if higher_is_better(key) else "lower"  # noqa: E731
        axis.set_xlabel(f"{label(x_key)} ({x_key}, {better(x_key)} is better)")
        axis.set_ylabel(f"{label(y_key)} ({y_key}, {better(y_key)} is better)")
        axis.legend(fontsize=7, frameon=False, loc="best")

    svg = _draw(7.5, 5.0, draw, "pareto-front")
    caption = (f"Every configuration modelled ({len(points)}), on {label(x_key)} and {label(y_key)}: coloured where it "
               "meets every constraint, grey where it does not; the line joins the Pareto front (no feasible "
               "configuration is better on both). Modelled, not measured.")
    return Chart("pareto-front", "Pareto front", caption, svg)


def chart_files(charts_: Iterable[Chart]) -> dict[str, str]:
    """Charts as standalone SVG files: name -> file text (with the XML declaration a viewer expects)."""
    header = '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
    return {f"{chart.name}.svg": header + chart.svg + "\n" for chart in charts_}
