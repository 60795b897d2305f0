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


def significant(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures in plain notation (no exponent), trailing zeros dropped.

    ``significant(562.341) == '562'``, ``significant(1130.2) == '1130'``, ``significant(0.012345) == '0.0123'``.
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    rounded = float(f"{value:.{digits}g}")
    exponent = math.floor(math.log10(abs(rounded)))
    text = f"{rounded:.{max(digits - 1 - exponent, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def si_number(value: float | None, unit: str = "", digits: int = 3) -> str:
    """Format with an SI prefix: ``si_number(3.35e12, 'B/s') == '3.35 TB/s'``, never an exponent."""
    if value is None:
        return "n/a"
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    prefixes = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")]
    rounded = float(f"{value:.{digits}g}")  # 999.96e9 rounds to 1e12: shown as 1 T, not 1e+03 G
    magnitude = abs(rounded)
    for scale, prefix in prefixes:
        if magnitude >= scale:
            return f"{significant(rounded / scale, digits)} {prefix}{unit}".strip()
    return f"{significant(rounded, digits)} {unit}".strip()


#: Time units a person picks, smallest first: (below this many seconds, seconds per unit, name).
_TIME_UNITS = ((1e-6, 1e-9, "ns"), (1e-3, 1e-6, "µs"), (1.0, 1e-3, "ms"), (120.0, 1.0, "s"),
               (7200.0, 60.0, "min"), (3 * 86400.0, 3600.0, "h"), (math.inf, 86400.0, "days"))


def duration(seconds: float | None, digits: int = 3) -> str:
    """A time in the unit a person would pick (ns, µs, ms, s, min, h, days), to 3 significant figures."""
    if seconds is None:
        return "n/a"
    if seconds == 0 or not math.isfinite(seconds):
        return f"{seconds:g} s"
    rounded = float(f"{seconds:.{digits}g}")  # 0.99996 s is 1 s, not 1e+03 ms
    for below, scale, name in _TIME_UNITS:
        if abs(rounded) < below:
            return f"{significant(rounded / scale, digits)} {name}"
    return f"{significant(rounded / 86400.0, digits)} days"


def money(usd: float | None) -> str:
    """Format US dollars: ``$1,999``."""
    return "n/a" if usd is None else f"${usd:,.0f}"


def ratio(value: float | None) -> str:
    """Format a ratio against a baseline: ``12.5x``."""
    if value is None:
        return ""
    if value >= 1000:
        return f"{value:,.0f}x"
    return f"{significant(value)}x"


def display(metric: str, value) -> str:
    """One metric value as a person reads it (the metric registry, :func:`chipfit.metrics.display`)."""
    from chipfit.metrics import display as shown

    return shown(metric, value)


def label(metric: str) -> str:
    """The column label for a metric (the metric registry, :func:`chipfit.metrics.label`)."""
    from chipfit.metrics import label as labelled

    return labelled(metric)
