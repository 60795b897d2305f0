"""The core's default ``chipfit_estimate``: the roofline model, answering after every other plugin."""

from __future__ import annotations

from chipfit.hookspecs import hookimpl
from chipfit.records import Device, Result, Scenario, Workload


@hookimpl(trylast=True)
def chipfit_estimate(device: Device, workload: Workload, scenario: Scenario) -> Result:
    """Model any device on any workload with :func:`chipfit.model.estimate`."""
    from chipfit import model  # here, not at import: a command that models nothing (--help, devices) skips it

    return model.estimate(device, workload, scenario)
