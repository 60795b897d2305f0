"""How far to trust the model on this machine: calibrate, then validate on held-out workloads.

Calibrates into a temporary data folder (the user's profile is untouched), then measures the
held-out networks and prints predicted (default and calibrated) against measured latency, and the
geometric-mean absolute error of each. Run: python benchmarks/calibration.py [--budget S] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile


def main() -> None:
    """Calibrate and validate ``--repeat`` times; print each table and the errors."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timing per workload and round")
    parser.add_argument("--repeat", type=int, default=1, help="calibrate-and-validate cycles")
    args = parser.parse_args()
    os.environ["CHIPFIT_DATA_DIR"] = tempfile.mkdtemp(prefix="chipfit-calibration-")

    from chipfit.catalogue import collect
    from chipfit.plugins import get_plugin_manager
    from chipfit_localhost.calibration import CALIBRATION_SET, calibrate, validate

    def progress(message: str) -> None:
        print(f"  {message}", file=sys.stderr)

    errors = []
    for cycle in range(1, args.repeat + 1):
        catalogue = collect(get_plugin_manager())
        profile = calibrate(catalogue, budget=args.budget, progress=progress)
        catalogue = collect(get_plugin_manager())  # the device now carries the new profile
        summary = validate(catalogue, budget=args.budget, progress=progress)
        print(f"cycle {cycle}: fitted on {', '.join(CALIBRATION_SET)}; per-class efficiency "
              f"{ {k: round(v, 2) for k, v in profile['efficiency']['by_op_class'].items()} }, "
              f"overhead {profile['efficiency']['overhead_s'] * 1e6:.3g} µs/operator")
        print(f"  {'held-out workload':16} {'measured':>10} {'default':>10} {'error':>8} {'calibrated':>11} {'error':>8}")
        for row in summary["rows"]:
            print(f"  {row['workload']:16} {row['measured_s'] * 1e3:8.3g}ms {row['default_s'] * 1e3:8.3g}ms "
                  f"{row['default_error']:+8.1%} {row['calibrated_s'] * 1e3:9.3g}ms {row['calibrated_error']:+8.1%}")
        print(f"  geometric-mean absolute error: default {summary['default_geomean_abs_error']:.1%}, "
              f"calibrated {summary['calibrated_geomean_abs_error']:.1%}")
        errors.append(summary["calibrated_geomean_abs_error"])
    if len(errors) > 1:
        print(f"calibrated error over {len(errors)} cycles: {', '.join(f'{e:.1%}' for e in errors)}")


if __name__ == "__main__":
    main()
