"""The model against the public record: what ``chipfit validate --published`` prints, and the
derivation of the default parameters that rest on published results.

Run: python benchmarks/published.py [--format json] [--derive]

``--derive`` re-derives each parameter of :data:`chipfit.model.defaults.DERIVATIONS` in order, by
bisection: the value at which the model reproduces its published row, every earlier parameter
already set to its derived value. It prints the derived value beside the one shipped in
``core/chipfit/model/defaults.py``, and the time the derivation took.
"""

from __future__ import annotations

import argparse
import json
import time

from chipfit import published, published_check
from chipfit.catalogue import collect
from chipfit.model import defaults
from chipfit.plugins import get_plugin_manager


def _set(name: str, value: float) -> None:
    setattr(defaults, name, value)
    defaults.DEFAULT_EFFICIENCY.clear()
    defaults.DEFAULT_EFFICIENCY.update(defaults.default_efficiencies())


def _predicted(catalogue, pm, row) -> float:
    [checked] = published_check.check(catalogue, pm, [row])
    if checked.predicted is None:
        raise SystemExit(f"{row.id}: not checked: {checked.reason}")
    return checked.predicted


def derive(catalogue, pm, name: str, row, low: float = 0.01, high: float = 1.0, steps: int = 40) -> float:
    """The value of parameter ``name`` in [low, high] at which the model's prediction of ``row`` equals
    the published value (rates grow and times shrink with every parameter derived here)."""
    slower = row.metric.endswith("_s")  # a time: the prediction falls as the parameter grows
    for _ in range(steps):
        middle = (low + high) / 2
        _set(name, middle)
        if (_predicted(catalogue, pm, row) < row.value) != slower:
            low = middle
        else:
            high = middle
    _set(name, (low + high) / 2)
    return (low + high) / 2


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
