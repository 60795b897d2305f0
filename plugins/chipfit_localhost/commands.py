"""``chipfit calibrate``, registered through ``chipfit_register_commands``: the core imports nothing of this plugin.

The command measures this machine, fits the model on the calibration workloads, checks the fit on
held-out ones, and keeps the fitted profile only where it beats the defaults there
(:func:`chipfit_localhost.calibration.calibrate`). Its output says which was kept, why, and every
warning (a fit at an edge, an efficiency at its bound, a noisy machine); ``--format json`` prints the
whole profile.
"""

from __future__ import annotations

from chipfit.units import duration

import json

import click

from chipfit.errors import ChipfitError


def _progress(message: str) -> None:
    context = click.get_current_context(silent=True)
    progress = getattr(getattr(context, "obj", None), "progress", None)
    if progress is not None:
        progress(message)


def calibration_text(profile: dict) -> str:
    """The profile as a person reads it: what was fitted, the held-out check, what was kept, the warnings."""
    fitted = profile["fitted_efficiency"]
    lines = [f"fitted on {', '.join(profile['calibration_set'])} ({profile['machine']}): compute efficiency "
             f"{fitted['compute']:.3g} (fp32), memory {fitted['memory']:.3g}, overhead "
             f"{duration(fitted['overhead_s'])}/operator"]
    for ident, fit in profile["fit"].items():
        lines.append(f"  {ident}: measured {duration(fit['measured_s'])}, fitted model {duration(fit['calibrated_s'])} "
                     f"({fit['calibrated_s'] / fit['measured_s'] - 1:+.1%}), default model {duration(fit['default_s'])} "
                     f"({fit['default_s'] / fit['measured_s'] - 1:+.1%})")
    lines.append(f"held out (not fitted on): {', '.join(profile['held_out_set'])}")
    for row in profile["held_out"]:
        lines.append(f"  {row['workload']}: measured {duration(row['measured_s'])}, fitted model "
                     f"{duration(row['calibrated_s'])} ({row['calibrated_error']:+.1%}), default model "
                     f"{duration(row['default_s'])} ({row['default_error']:+.1%})")
    errors = profile["held_out_error"]
    lines.append(f"held-out geometric-mean absolute error, exp(mean |ln(model/measured)|) - 1: fitted "
                 f"{errors['calibrated']['geomean_abs_error']:.1%}, defaults {errors['default']['geomean_abs_error']:.1%}")
    lines.append("kept: the fitted profile (localhost-cpu estimates are now calibrated)" if profile["kept"] == "calibrated"
                 else "kept: the defaults (the fit did not beat them on the held-out workloads)")
    lines += [f"warning: {text}" for text in profile["warnings"]]
    lines.append(f"saved {profile['path']}")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--budget", type=float, default=2.0, show_default=True, help="Seconds of timing per workload and round.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def calibrate(obj, budget: float, fmt: str) -> None:
    """Fit the model to this machine: micro-benchmarks and real runs; keeps the fit only if it beats the defaults on held-out workloads."""
    from chipfit_localhost import require_run_extra
    from chipfit_localhost.calibration import calibrate as run_calibration

    require_run_extra()
    try:
        profile = run_calibration(obj.catalogue, budget=budget, progress=_progress)
    except RuntimeError as error:  # a calibration run that failed: named, no traceback
        raise ChipfitError(f"calibration failed: {error}") from None
    if hasattr(obj, "stop_progress"):
        obj.stop_progress()
    click.echo(json.dumps(profile, indent=2) if fmt == "json" else calibration_text(profile), nl=fmt == "json")
