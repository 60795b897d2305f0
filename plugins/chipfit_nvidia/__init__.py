"""NVIDIA devices for chipfit: GeForce GTX 1080 Ti, Jetson AGX Xavier and AGX Orin, H100 SXM5.

Every figure, with its source, is in ``devices.toml`` beside this module.
"""

import chipfit


@chipfit.hookimpl
def chipfit_register_devices(register):
    """Register the NVIDIA devices of devices.toml."""
    from chipfit.datasheets import register_datasheet  # when devices are asked for, not at import

    register_datasheet(register, __name__)
