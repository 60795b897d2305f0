"""A report's charts, drawn with matplotlib (the ``report`` extra) as SVG text, for any renderer.

A core module, not a plugin's, so that every renderer (the core's markdown, the html plugin, a
third party's) draws the same charts without importing a plugin; matplotlib is imported only by the
functions that draw (:func:`missing` says when it is not installed). Metric units, better
directions and which metrics are worth a bar come from the metric registry (:mod:`chipfit.metrics`).
One module per chart (:mod:`~chipfit.charts.bar_charts`, :mod:`~chipfit.charts.roofline_chart`,
:mod:`~chipfit.charts.measured_chart`, :mod:`~chipfit.charts.pareto_chart`) and one for what they share
(:mod:`~chipfit.charts.style`); their names stay importable from here.

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

from collections.abc import Iterable
from typing import Any

from chipfit.charts.bar_charts import BAR_METRICS, MAX_BARS, _bar_unit, bar_metrics, bars
from chipfit.charts.measured_chart import measured_pairs, predicted_vs_measured
from chipfit.charts.pareto_chart import pareto_front
from chipfit.charts.roofline_chart import OperatorPoint, Roof, operator_points, roofline, roofs
from chipfit.charts.style import Chart, _colours, _names, _short, log_scale
from chipfit.records import Report

__all__ = [
    "BAR_METRICS", "MAX_BARS", "Chart", "OperatorPoint", "Roof", "_bar_unit", "_short", "bar_metrics", "bars",
    "chart_files", "charts", "log_scale", "measured_pairs", "missing", "operator_points", "pareto_front",
    "predicted_vs_measured", "roofline", "roofs",
]


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


def chart_files(charts_: Iterable[Chart]) -> dict[str, str]:
    """Charts as standalone SVG files: name -> file text (with the XML declaration a viewer expects)."""
    header = '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
    return {f"{chart.name}.svg": header + chart.svg + "\n" for chart in charts_}
