"""Derived metrics: values computed from a row's other metrics, registered by plugins.

The core registers the ones every report wants (performance per watt); a plugin adds its own
through ``chipfit_register_metrics``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from chipfit.hookspecs import hookimpl


@attrs.frozen
class DerivedMetric:
    """A metric computed from a row's metrics (SI units, JSON keys), or None where it does not apply."""

    id: str
    unit: str
    higher_is_better: bool
    function: Callable[[Mapping[str, Any]], float | None]
    description: str = ""


def _ratio(numerator: str, denominator: str) -> Callable[[Mapping[str, Any]], float | None]:
    def compute(metrics: Mapping[str, Any]) -> float | None:
        top, bottom = metrics.get(numerator), metrics.get(denominator)
        if top is None or not bottom:
            return None
        return top / bottom

    return compute


def _peak_per_watt(metrics: Mapping[str, Any]) -> float | None:
    # peak_ops_per_s is per device, power_w covers all `count` devices of the row
    peak, power = metrics.get("peak_ops_per_s"), metrics.get("power_w")
    if peak is None or not power:
        return None
    return peak * metrics.get("count", 1) / power


@hookimpl
def chipfit_register_metrics(register) -> None:
    """Performance per watt and per dollar."""
    register(DerivedMetric(
        "ops_per_w", "ops/s/W", True, _ratio("ops_available_per_s", "power_w"),
        "sustained ops/s per watt of device power (= ops per joule)",
    ))
    register(DerivedMetric(
        "peak_ops_per_w", "ops/s/W", True, _peak_per_watt,
        "datasheet peak ops/s per watt, at the row's precision",
    ))
    register(DerivedMetric(
        "ops_per_s_per_usd", "ops/s/$", True, _ratio("ops_available_per_s", "hardware_cost_usd"),
        "sustained ops/s per dollar of hardware",
    ))


class MetricFailure(Exception):
    """A derived metric's function raised: ``metric`` names it, ``error`` is what it raised."""

    def __init__(self, metric: str, error: Exception) -> None:
        super().__init__(f"derived metric {metric!r} raised {type(error).__name__}: {error}")
        self.metric = metric


def apply(metrics: dict[str, Any], derived: Mapping[str, DerivedMetric]) -> dict[str, Any]:
    """A copy of ``metrics`` with every derived metric added (None where it does not apply).

    :raises MetricFailure: a metric's function raised.
    """
    out = dict(metrics)
    for ident, metric in derived.items():
        try:
            out[ident] = metric.function(out)
        except Exception as error:
            raise MetricFailure(ident, error) from error
    return out
