"""Apple devices for chipfit: M2 Max.

Every figure, with its source, is in ``devices.toml`` beside this module.
"""

import chipfit


@chipfit.hookimpl
def chipfit_register_devices(register):
    """Register the Apple devices of devices.toml."""
    from chipfit.datasheets import register_datasheet  # when devices are asked for, not at import

    register_datasheet(register, __name__)
