"""AMD devices for chipfit: Instinct MI250X and MI300A.

Every figure, with its source, is in ``devices.toml`` beside this module.
"""

import chipfit


@chipfit.hookimpl
def chipfit_register_devices(register):
    """Register the AMD devices of devices.toml."""
    from chipfit.datasheets import register_datasheet  # when devices are asked for, not at import

    register_datasheet(register, __name__)
