"""``chipfit calibrate`` and ``chipfit validate``: fit the model to this machine and check it.
"""

from __future__ import annotations

import json

import click

from chipfit.errors import ChipfitError
from chipfit.units import duration
from chipfit.cli.app import Context, emit, table, show_progress, localhost_calibration, cli


@cli.command()
@click.option("--budget", type=float, default=2.0, show_default=True, help="Seconds of timing per workload.")
@click.pass_obj
def calibrate(obj: Context, budget: float) -> None:
    """Fit the model to this machine: micro-benchmarks and real runs; saves a calibration profile."""
    calibration = localhost_calibration()
    try:
        profile = calibration.calibrate(obj.catalogue, budget=budget, progress=show_progress)
    except RuntimeError as error:  # a calibration run that failed: named, no traceback
        raise ChipfitError(f"calibration failed: {error}") from None
    efficiency = profile["efficiency"]
    click.echo(f"calibrated {profile['machine']}: compute efficiency {efficiency['compute']:.3g} (fp32), "
               f"memory {efficiency['memory']:.3g}, overhead {duration(efficiency['overhead_s'])}/operator")
    for ident, fit in profile["fit"].items():
        click.echo(f"  {ident}: measured {duration(fit['measured_s'])}, calibrated model "
                   f"{duration(fit['calibrated_s'])} ({fit['calibrated_s'] / fit['measured_s'] - 1:+.1%})")
    click.echo(f"saved {profile['path']}")


@cli.command()
@click.option("--budget", type=float, default=2.0, show_default=True, help="Seconds of timing per workload.")
@click.option("--published", is_flag=True,
              help="Check the model against published results (MLPerf ...) instead of measuring this machine.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def validate(obj: Context, budget: float, published: bool, fmt: str) -> None:
    """Measure held-out workloads; show the default and calibrated model's errors against them.

    With --published: predict every published result of chipfit's data file (the same system, count,
    scenario and precision) and print predicted against published, the signed error per row, and the
    error summaries (all rows, rows held out from any fit, per benchmark)."""
    if published:
        from chipfit import published_check

        checked = published_check.check(obj.catalogue, obj.pm)
        if fmt == "json":
            emit(json.dumps(published_check.as_json(checked, obj.catalogue), indent=2) + "\n", None)
        else:
            emit(published_check.report(checked, obj.catalogue), None)
        return
    calibration = localhost_calibration()
    try:
        summary = calibration.validate(obj.catalogue, budget=budget, progress=show_progress)
    except RuntimeError as error:
        raise ChipfitError(f"validation failed: {error}") from None
    if fmt == "json":
        emit(json.dumps(summary, indent=2) + "\n", None)
        return
    headers = ["workload", "measured", "default model", "error", "calibrated model", "error"]
    rows = [[r["workload"], duration(r['measured_s']), duration(r['default_s']),
             f"{r['default_error']:+.1%}",
             duration(r['calibrated_s']) if "calibrated_s" in r else "-",
             f"{r['calibrated_error']:+.1%}" if "calibrated_error" in r else "-"] for r in summary["rows"]]
    text = table(rows, headers, "text")
    text += f"\ngeometric-mean absolute error: default {summary['default_geomean_abs_error']:.1%}"
    if summary["calibrated"]:
        text += (f", calibrated {summary['calibrated_geomean_abs_error']:.1%} "
                 f"(fitted on {', '.join(summary['calibration_set'])})\n")
    else:
        text += " (no calibration profile yet: run chipfit calibrate)\n"
    emit(text, None)
