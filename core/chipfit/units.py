"""Display units: the one place where SI floats become ms, GB/s or TOPS, and back.

Records hold SI base units. Data files and specs state display units in their key names
(``power_w``, ``memory_bandwidth_gb_s``, ``latency_target_ms``); renderers format with the
functions here, so a figure is converted in exactly one place.
"""

from __future__ import annotations

import math

TERA = 1e12
GIGA = 1e9
MEGA = 1e6
MILLI = 1e-3

#: Scale from a display unit named in a key suffix to SI.
SUFFIX_SCALE = {
    "tops": TERA,
    "gb_s": GIGA,
    "gb": GIGA,
    "mb": MEGA,
    "ms": MILLI,
    "w": 1.0,
    "usd": 1.0,
    "s": 1.0,
}


def si_number(value: float | None, unit: str = "", digits: int = 3) -> str:
    """Format with an SI prefix: ``si_number(3.35e12, 'B/s') == '3.35 TB/s'``."""
    if value is None:
        return "n/a"
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    prefixes = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")]
    magnitude = abs(value)
    for scale, prefix in prefixes:
        if magnitude >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def duration(seconds: float | None) -> str:
    """Format a time in the unit a person would pick: µs, ms, s, min, h or days."""
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.3g} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.3g} days"


def money(usd: float | None) -> str:
    """Format US dollars: ``$1,999``."""
    return "n/a" if usd is None else f"${usd:,.0f}"


def ratio(value: float | None) -> str:
    """Format a ratio against a baseline: ``12.5x``."""
    if value is None:
        return ""
    if value >= 100:
        return f"{value:,.0f}x"
    return f"{value:.3g}x"


def display(metric: str, value) -> str:
    """One metric value as a person reads it (the metric registry, :func:`chipfit.metrics.display`)."""
    from chipfit.metrics import display as shown

    return shown(metric, value)


def label(metric: str) -> str:
    """The column label for a metric (the metric registry, :func:`chipfit.metrics.label`)."""
    from chipfit.metrics import label as labelled

    return labelled(metric)
