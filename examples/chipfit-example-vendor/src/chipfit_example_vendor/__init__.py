"""An example chipfit plugin, as a hardware vendor ships one: a cited device, a workload, and its own model.

- ``chipfit_register_devices``: the Tenstorrent Wormhole n150s card, every figure cited in ``devices.toml``.
- ``chipfit_register_workloads``: one token through one Llama 3 8B feed-forward block, in FP16.
- ``chipfit_estimate``: the vendor's model of its own card (:mod:`chipfit_example_vendor.model`), which
  answers before chipfit's roofline for that card and returns None for every other device.

It is an example for plugin authors (chipfit's docs/writing-a-plugin.md walks through it); it is not
made or endorsed by Tenstorrent.
"""

import chipfit
from chipfit.datasheets import register_datasheet

from chipfit_example_vendor.model import DEVICE_ID, estimate
from chipfit_example_vendor.workloads import llama_3_8b_ffn_token

#: The chipfit plugin API versions this plugin works with (``chipfit.hookspecs.API_VERSION``).
CHIPFIT_API = ">=1.0,<2"


@chipfit.hookimpl
def chipfit_register_devices(register):
    """The devices of devices.toml, beside this module."""
    register_datasheet(register, __name__)


@chipfit.hookimpl
def chipfit_register_workloads(register):
    """One Llama 3 8B feed-forward block, one token."""
    register(llama_3_8b_ffn_token())


@chipfit.hookimpl
def chipfit_estimate(device, workload, scenario):
    """The vendor's model for its own card; None for other devices, so their model answers."""
    if device.id != DEVICE_ID:
        return None
    return estimate(device, workload, scenario)
