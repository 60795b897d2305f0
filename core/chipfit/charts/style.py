"""What the charts share: their matplotlib style, SVG output with ids unique in a page, colours per device,
axes and tick labels as people read them, and names wrapped for labels."""

from __future__ import annotations

import io
import math
import re
from typing import Any

import attrs

from chipfit.records import Report, Source

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


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "group"
