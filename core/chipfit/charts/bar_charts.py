"""Bar charts, one per group: the group's headline metric and, of its columns, energy and cost efficiency
(samples/J is frames per second per watt); units and better directions from the metric registry."""

from __future__ import annotations

from chipfit.charts.style import Chart, _draw, log_scale, _number, _short, _slug, _SOURCE_NOTE, _ticks, _time_axis
from chipfit.metrics import CORE_METRICS
from chipfit.records import Report, Result, Source

#: Metrics worth a bar chart, in the order they are picked (at most :data:`MAX_BARS` per group): the
#: core metrics whose chart kind is ``bar`` (chipfit.metrics).
BAR_METRICS = tuple(item.key for item in CORE_METRICS if item.chart == "bar")
MAX_BARS = 3


def bar_metrics(report: Report, group: str, rows: list[Result]) -> list[str]:
    """The metrics a group's bar chart shows: its headline first, then energy and cost, from its columns."""
    from chipfit.render import table_columns
    from chipfit.run.baselines import headline

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
