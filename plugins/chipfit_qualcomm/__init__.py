"""Qualcomm devices for chipfit: Cloud AI 100.

Every figure, with its source, is in ``devices.toml`` beside this module.
"""

import chipfit
from chipfit.datasheets import register_datasheet


@chipfit.hookimpl
def chipfit_register_devices(register):
    """Register the Qualcomm devices of devices.toml."""
    register_datasheet(register, __name__)
