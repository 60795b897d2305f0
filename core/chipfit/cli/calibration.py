"""``chipfit validate``: how far the model is from real runs on this machine.

``chipfit calibrate`` is not here: the localhost plugin registers it through ``chipfit_register_commands``,
so the core imports no plugin. ``validate`` measures through the ``chipfit_measure`` hook
(:mod:`chipfit.measured_validation`), so any plugin that measures a device takes part.
"""

from __future__ import annotations

import json

import click

from chipfit.cli.app import Context, cli, emit, show_progress


@cli.command()
@click.option("--device", "devices", multiple=True, metavar="ID",
              help="Validate on this measurable device (repeatable; default: every device measurable here).")
@click.option("--workload", "workloads", multiple=True, metavar="ID",
              help="Measure this workload (repeatable; default: mobilenet-v2, yolov3-416, bert-base-384, which "
                   "chipfit calibrate holds out).")
@click.option("--budget", type=float, default=2.0, show_default=True, help="Seconds of timing per workload.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def validate(obj: Context, devices, workloads, budget: float, fmt: str) -> None:
    """Measure held-out workloads here; show each row's signed error for the model (calibrated where a
    calibration was kept) and the default model, and the error summary of each."""
    from chipfit.measured_validation import DEFAULT_WORKLOADS, validate_measured, validation_text

    summary = validate_measured(obj.pm, obj.catalogue, devices=devices, workloads=workloads or DEFAULT_WORKLOADS,
                                budget=budget, progress=show_progress)
    emit(json.dumps(summary, indent=2) + "\n" if fmt == "json" else validation_text(summary), None)
