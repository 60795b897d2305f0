"""Predicted against measured: each measured row against its modelled twin, on the diagonal where the model
is right."""

from __future__ import annotations

from chipfit.charts.bar_charts import _bar_unit
from chipfit.charts.style import Chart, _draw, _number, _short, _ticks
from chipfit.records import Report, Result, Source


def measured_pairs(report: Report) -> list[tuple[Result, Result, str]]:
    """(measured row, its modelled or calibrated twin, the metric compared), where a report has both."""
    from chipfit.run.baselines import headline

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
