"""How far to trust the model on this machine: calibrate, then validate on held-out workloads, N times.

Each cycle calibrates into a temporary data folder (the user's profile and cache are untouched):
micro-benchmarks, a fit on the calibration workloads, the held-out check that keeps the fit only where
it beats the defaults; then validates, measuring the held-out workloads again with what was kept.
It prints, per cycle, the held-out geometric-mean absolute error (exp(mean |ln(model/measured)|) - 1)
of the defaults and of the fit at calibration, which was kept, the warnings, and validation's errors;
then the spread over the cycles and the machine's load. A shared or busy machine makes the spread
wide: the figures say so rather than hide it.

Run: python benchmarks/calibration.py [--budget S] [--repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.1%}" if values else "-"
    return f"median {statistics.median(values):.1%}, range {min(values):.1%}..{max(values):.1%}"


def main() -> None:
    """Calibrate and validate ``--repeat`` times; print each cycle's figures and the spread."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timing per workload and round")
    parser.add_argument("--repeat", type=int, default=1, help="calibrate-and-validate cycles")
    parser.add_argument("--json", help="also write every cycle's profile and validation to this file")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="chipfit-calibration-")
    os.environ["CHIPFIT_DATA_DIR"] = scratch
    os.environ["CHIPFIT_CACHE_DIR"] = os.path.join(scratch, "cache")

    from chipfit.catalogue import collect
    from chipfit.measured_validation import validate_measured
    from chipfit.plugins import get_plugin_manager
    from chipfit_localhost.calibration import calibrate
    from chipfit_localhost.load import describe, load_average

    def progress(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    cycles = []
    print(f"machine load before: {load_average():.2g} (1-minute average) on {os.cpu_count()} CPUs")
    for cycle in range(1, args.repeat + 1):
        pm = get_plugin_manager()
        profile = calibrate(collect(pm), budget=args.budget, progress=progress)
        pm = get_plugin_manager()
        validation = validate_measured(pm, collect(pm), devices=["localhost-cpu"],
                                       workloads=profile["held_out_set"], budget=args.budget, progress=progress)
        held = profile["held_out_error"]
        fitted = profile["fitted_efficiency"]
        print(f"cycle {cycle}: fitted on {', '.join(profile['calibration_set'])}: scale gives fp32 compute "
              f"{fitted['compute']:.3g}, overhead {fitted['overhead_s'] * 1e6:.3g} µs/operator")
        print(f"  {'held-out workload':18} {'measured':>10} {'default':>10} {'error':>8} {'fitted':>10} {'error':>8}")
        for row in profile["held_out"]:
            print(f"  {row['workload']:18} {row['measured_s'] * 1e3:8.3g}ms {row['default_s'] * 1e3:8.3g}ms "
                  f"{row['default_error']:+8.1%} {row['calibrated_s'] * 1e3:8.3g}ms {row['calibrated_error']:+8.1%}")
        print(f"  at calibration, held-out error: defaults {held['default']['geomean_abs_error']:.1%}, "
              f"fitted {held['calibrated']['geomean_abs_error']:.1%} -> kept {profile['kept']}")
        for warning in profile["warnings"]:
            print(f"  warning: {warning}")
        model, default = validation["model"], validation["default"]
        print(f"  validate (held-out measured again): kept profile ({'calibrated' if validation['calibrated'] else 'defaults'}) "
              f"{model['geomean_abs_error']:.1%}, defaults {default['geomean_abs_error']:.1%}; "
              f"{validation['busy_rows']} of {len(validation['rows'])} runs on a busy machine")
        loads = [row["load"] for row in validation["rows"] if row.get("load")]
        if loads:
            print(f"  load during validation: {describe(max(loads, key=lambda l: l.get('load_1m') or 0))} (worst)")
        kept = held["calibrated"] if profile["kept"] == "calibrated" else held["default"]
        cycles.append({"profile": profile, "validation": validation,
                       "kept_error": kept["geomean_abs_error"], "default_error": held["default"]["geomean_abs_error"],
                       "fitted_error": held["calibrated"]["geomean_abs_error"]})
    worse = [i + 1 for i, c in enumerate(cycles) if c["kept_error"] > c["default_error"]]
    print(f"over {len(cycles)} cycles, held-out error at calibration: defaults {_spread([c['default_error'] for c in cycles])}; "
          f"fitted {_spread([c['fitted_error'] for c in cycles])}; kept {_spread([c['kept_error'] for c in cycles])}")
    print(f"kept: {', '.join(c['profile']['kept'] for c in cycles)}; cycles whose kept profile is worse than the "
          f"defaults on the held-out set: {worse or 'none'}")
    print(f"validation error of what was kept: {_spread([c['validation']['model']['geomean_abs_error'] for c in cycles])}; "
          f"defaults {_spread([c['validation']['default']['geomean_abs_error'] for c in cycles])}")
    print(f"machine load after: {load_average():.2g}; the machine was shared while this ran, so the spread is the "
          "machine's noise as much as the model's")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(cycles, file, indent=2, default=str)


if __name__ == "__main__":
    main()
