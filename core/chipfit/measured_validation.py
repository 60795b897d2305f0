"""Validating the model against this machine: measure held-out workloads, set the model's latency beside them.

``chipfit validate`` (without ``--published``) runs here. For each measurable device (a plugin's
``chipfit_measure`` answers for it) and each workload, it measures single-stream latency through the
``chipfit_measure`` hook and models it through ``chipfit_estimate`` twice: with the device as
registered (calibrated where a calibration was kept) and with the default efficiencies
(``Device.efficiency`` unset). Each row carries both signed errors; the summary is
:func:`chipfit.validation.summarize`'s, one per model. The core imports no plugin: any plugin that
measures a device takes part.
"""

from __future__ import annotations

from chipfit.units import duration

from collections.abc import Callable, Iterable, Sequence

import attrs

from chipfit.cells import estimate_cell, measure_cell
from chipfit.errors import ChipfitError
from chipfit.records import Scenario

#: Workloads validated by default: reference networks with runnable graphs that the localhost plugin's
#: calibration does not fit on (it fits on resnet-50 and bert-base-128), so they are held out.
DEFAULT_WORKLOADS = ("mobilenet-v2", "yolov3-416", "bert-base-384")


def measurable_devices(catalogue) -> list[str]:
    """Ids of the devices a plugin can measure on this machine."""
    return sorted(ident for ident, device in catalogue.devices.items() if device.measurable)


def validate_measured(pm, catalogue, *, devices: Sequence[str] = (), workloads: Iterable[str] = DEFAULT_WORKLOADS,
                      budget: float = 2.0, progress: Callable[[str], None] = lambda message: None) -> dict:
    """Measured against modelled latency: rows with signed errors, and the error summary per model.

    Raises :class:`ChipfitError` for an unknown or unmeasurable device or workload, and where a
    measurement cannot run at all (the plugin names what to install).
    """
    from chipfit.validation import signed_error, summarize

    devices = list(devices) or measurable_devices(catalogue)
    if not devices:
        raise ChipfitError("validate: no device can be measured on this machine")
    scenario = Scenario("single-stream")
    rows, failures = [], []
    for ident in devices:
        device = catalogue.device(ident)
        if not device.measurable:
            raise ChipfitError(f"validate: {ident} cannot be measured on this machine (measurable devices: "
                               f"{', '.join(measurable_devices(catalogue)) or 'none'})")
        default = attrs.evolve(device, efficiency=None)
        for name in workloads:
            workload = catalogue.workload(name)
            progress(f"measuring {workload.id} on {ident} ({budget:g} s)")
            measured = measure_cell(pm, device, workload, scenario, budget)
            if not measured.ok:
                failures.append({"device": ident, "workload": workload.id, "status": str(measured.status),
                                 "reason": measured.reason})
                continue
            modelled = estimate_cell(pm, device, workload, scenario)
            defaulted = estimate_cell(pm, default, workload, scenario)
            if not (modelled.ok and defaulted.ok):
                failures.append({"device": ident, "workload": workload.id, "status": "unsupported",
                                 "reason": modelled.reason or defaulted.reason})
                continue
            actual = measured.metrics["latency_s"]
            row = {"device": ident, "workload": workload.id, "measured_s": actual,
                   "model_source": str(modelled.source), "model_s": modelled.metrics["latency_s"],
                   "default_s": defaulted.metrics["latency_s"],
                   "busy": bool(measured.measurement.get("busy")), "load": measured.measurement.get("load")}
            row["model_error"] = signed_error(row["model_s"], actual)
            row["default_error"] = signed_error(row["default_s"], actual)
            rows.append(row)
    summary = {
        "rows": rows,
        "failures": failures,
        "calibrated": any(row["model_source"] == "calibrated" for row in rows),
        "model": _summary(summarize((row["model_s"], row["measured_s"]) for row in rows)),
        "default": _summary(summarize((row["default_s"], row["measured_s"]) for row in rows)),
        "busy_rows": sum(row["busy"] for row in rows),
    }
    return summary


def _summary(errors) -> dict | None:
    return errors.as_dict() if errors is not None else None


def validation_text(summary: dict) -> str:
    """The validation as a table of rows with signed errors, then the summary, each figure named for what it is."""
    import tabulate

    def percent(value):
        return "-" if value is None else f"{value:+.1%}"

    table = [[r["device"], r["workload"], f"{duration(r['measured_s'])}" + (" (busy)" if r["busy"] else ""),
              f"{duration(r['model_s'])} ({r['model_source']})", percent(r["model_error"]),
              f"{duration(r['default_s'])}", percent(r["default_error"])] for r in summary["rows"]]
    text = tabulate.tabulate(table, headers=["device", "workload", "measured", "model", "signed error",
                                             "default model", "signed error"], disable_numparse=True) + "\n"
    for failure in summary["failures"]:
        text += f"{failure['device']} x {failure['workload']}: {failure['status']}: {failure['reason']}\n"
    for name, label in (("model", "model as registered" + (" (calibrated)" if summary["calibrated"] else "")),
                        ("default", "default model")):
        errors = summary[name]
        if errors:
            text += (f"{label}: geometric-mean absolute error {errors['geomean_abs_error']:.1%} "
                     f"(exp(mean |ln(model/measured)|) - 1), median |signed error| {errors['median_abs_error']:.1%}, "
                     f"max {errors['max_abs_error']:.1%}, bias {errors['bias']:+.1%}, over {errors['count']} rows\n")
    if summary["busy_rows"]:
        text += (f"warning: the machine was busy during {summary['busy_rows']} of the runs (see --format json for the "
                 "load): measured times are inflated\n")
    if not summary["calibrated"]:
        text += "no calibration kept for these devices: the model is the default (chipfit calibrate fits one)\n"
    return text
