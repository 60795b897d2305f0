"""The core's default ``chipfit_estimate``: the roofline model, answering after every other plugin."""

from __future__ import annotations

from chipfit import model
from chipfit.hookspecs import hookimpl
from chipfit.records import Device, Result, Scenario, Workload


@hookimpl(trylast=True)
def chipfit_estimate(device: Device, workload: Workload, scenario: Scenario) -> Result:
    """Model any device on any workload with :func:`chipfit.model.estimate`."""
    return model.estimate(device, workload, scenario)
