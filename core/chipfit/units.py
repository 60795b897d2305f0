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


#: How each metric is shown to people: (column label, formatter). JSON and CSV keep SI.
METRIC_DISPLAY = {
    "latency_s": ("latency", duration),
    "throughput_sps": ("throughput", lambda v: si_number(v, "samples/s")),
    "time_to_train_s": ("time to train", duration),
    "ops_required_per_s": ("ops/s needed", lambda v: si_number(v, "ops/s")),
    "ops_available_per_s": ("ops/s sustained", lambda v: si_number(v, "ops/s")),
    "peak_ops_per_s": ("peak ops/s", lambda v: si_number(v, "ops/s")),
    "ops_total": ("ops", lambda v: si_number(v, "ops")),
    "power_w": ("power", lambda v: si_number(v, "W")),
    "energy_per_sample_j": ("energy/sample", lambda v: si_number(v, "J")),
    "energy_j": ("energy", lambda v: si_number(v, "J")),
    "samples_per_j": ("samples/J", lambda v: f"{v:.3g}"),
    "samples_per_s_per_usd": ("samples/s/$", lambda v: f"{v:.3g}"),
    "hardware_cost_usd": ("hardware cost", money),
    "meets_target": ("meets target", lambda v: "yes" if v else "no"),
    "bound": ("bound", str),
    "utilization": ("utilization", lambda v: f"{v:.0%}"),
    "train_to_infer_ops_ratio": ("train/infer ops", lambda v: si_number(v, "")),
    "batch": ("batch", lambda v: f"{v:g}"),
    "count": ("devices", lambda v: f"{v:g}"),
    "vs_baseline": ("vs baseline", ratio),
    "model_error": ("model error", lambda v: f"{v:+.0%}"),
    "latency_p90_s": ("latency p90", duration),
    "latency_p99_s": ("latency p99", duration),
    "latency_cv": ("latency CV", lambda v: f"{v:.1%}"),
    "ops_per_w": ("ops/s per W", lambda v: si_number(v, "ops/J")),
    "peak_ops_per_w": ("peak ops/s per W", lambda v: si_number(v, "ops/J")),
    "ops_per_s_per_usd": ("ops/s per $", lambda v: si_number(v, "ops/s/$")),
    "cloud_usd_per_hour": ("cloud $/h", lambda v: f"${v:,.2f}"),
    "tco_usd": ("owned cost", money),
    "energy_cost_usd": ("electricity cost", money),
    "usd_per_million_samples": ("$/M samples", lambda v: f"${v:.3g}"),
    "cloud_usd_per_million_samples": ("cloud $/M samples", lambda v: f"${v:.3g}"),
    "usd_per_million_tokens": ("$/M tokens", lambda v: f"${v:.3g}"),
    "cloud_usd_per_million_tokens": ("cloud $/M tokens", lambda v: f"${v:.3g}"),
    "cloud_train_cost_usd": ("cloud cost to train", money),
}


def display(metric: str, value) -> str:
    """One metric value as a person reads it; unknown metrics fall back to 3 significant digits."""
    if value is None:
        return "n/a"
    formatter = METRIC_DISPLAY.get(metric, (metric, None))[1]
    if formatter is None:
        return f"{value:.3g}" if isinstance(value, float) else str(value)
    return formatter(value)


def label(metric: str) -> str:
    """The column label for a metric."""
    return METRIC_DISPLAY.get(metric, (metric.replace("_", " "), None))[0]
