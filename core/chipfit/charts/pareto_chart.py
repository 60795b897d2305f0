"""The Pareto front of a ``chipfit fit --pareto A,B`` answer: every modelled configuration on the two
objectives, the feasible ones coloured by device, the front joined and labelled, the target drawn."""

from __future__ import annotations

from chipfit.charts.style import Chart, _draw, _hex, _short, _ticks
from chipfit.records import Report


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
