"""The model against the public record: what ``chipfit validate --published`` prints, and the
derivation of the default parameters that rest on published results.

Run: python benchmarks/published.py [--format json] [--derive]

``--derive`` re-derives each parameter of :data:`chipfit.model.defaults.DERIVATIONS` in order, by
bisection: the value at which the model reproduces its published row, every earlier parameter
already set to its derived value (a pair of rows: slope and intercept, see :func:`derive_pair`).
It prints the derived value beside the one shipped in
``core/chipfit/model/defaults.py``, and the time the derivation took.
"""

from __future__ import annotations

import argparse
import json
import time

import attrs

from chipfit import published, published_check
from chipfit.catalogue import collect
from chipfit.model import defaults
from chipfit.plugins import get_plugin_manager


def _set(name: str, value: float) -> None:
    setattr(defaults, name, value)
    defaults.refresh()


def _predicted(catalogue, pm, row) -> float:
    [checked] = published_check.check(catalogue, pm, [row])
    if checked.predicted is None:
        raise SystemExit(f"{row.id}: not checked: {checked.reason}")
    return checked.predicted


def derive(catalogue, pm, name: str, row, low: float = 0.01, high: float = 1.0, steps: int = 40) -> float:
    """The value of parameter ``name`` in [low, high] at which the model's prediction of ``row`` equals
    the published value (rates grow and times shrink with every parameter derived here)."""
    slower = published.METRICS[row.metric] == "s"  # a time: the prediction falls as the parameter grows
    for _ in range(steps):
        middle = (low + high) / 2
        _set(name, middle)
        if (_predicted(catalogue, pm, row) < row.value) != slower:
            low = middle
        else:
            high = middle
    _set(name, (low + high) / 2)
    return (low + high) / 2


def derive_pair(catalogue, pm, name: str, first, second, low: float = 0.01, high: float = 1.0,
                steps: int = 40) -> tuple[float, float]:
    """Slope and intercept from two rows of one device's latency table: the value of parameter ``name``
    at which the model's ``second - first`` latency equals the published difference (the device's fixed
    time per invocation cancels), then the invocation overhead that makes ``first`` match (seconds)."""
    device_id = first.device
    device = catalogue.devices[device_id]
    catalogue.devices[device_id] = attrs.evolve(device, invocation_overhead=None)
    try:
        for _ in range(steps):
            middle = (low + high) / 2
            _set(name, middle)
            gap = _predicted(catalogue, pm, second) - _predicted(catalogue, pm, first)
            if gap > second.value - first.value:  # too slow on the larger network: more efficiency
                low = middle
            else:
                high = middle
        _set(name, (low + high) / 2)
        overhead = first.value - _predicted(catalogue, pm, first)
    finally:
        catalogue.devices[device_id] = device
    return (low + high) / 2, overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--derive", action="store_true", help="re-derive the defaults from their rows")
    args = parser.parse_args()
    pm = get_plugin_manager()
    catalogue = collect(pm)
    if args.derive:
        rows = {row.id: row for row in published.load()}
        shipped = {name: getattr(defaults, name) for name in defaults.DERIVATIONS}
        start = time.perf_counter()
        for name, (row_id, what) in defaults.DERIVATIONS.items():
            if not isinstance(row_id, str):
                first, second = (rows[r] for r in row_id)
                value, overhead = derive_pair(catalogue, pm, name, first, second)
                shipped_us = (catalogue.devices[first.device].invocation_overhead or 0.0) * 1e6
                print(f"{name} = {value:.4f}  (shipped {shipped[name]:.4f}) and {first.device} "
                      f"invocation_overhead_us = {overhead * 1e6:.0f}  (shipped {shipped_us:.0f}): {what}; from "
                      f"{first.id} ({first.value:g} {first.metric}) and {second.id} ({second.value:g} {second.metric})")
                continue
            value = derive(catalogue, pm, name, rows[row_id])
            print(f"{name} = {value:.4f}  (shipped {shipped[name]:.4f}): {what}; from {row_id} "
                  f"(published {rows[row_id].value:g} {rows[row_id].metric})")
        print(f"derivation took {time.perf_counter() - start:.1f} s (one run; the machine may be shared)")
        for name, value in shipped.items():
            _set(name, value)
        return
    start = time.perf_counter()
    checked = published_check.check(catalogue, pm)
    elapsed = time.perf_counter() - start
    if args.format == "json":
        print(json.dumps(published_check.as_json(checked, catalogue), indent=2))
    else:
        print(published_check.report(checked, catalogue), end="")
        print(f"checked {len(checked)} rows in {elapsed:.2f} s (one run; the machine may be shared)")


if __name__ == "__main__":
    main()
