"""Where a report was made: the machine, Python, and each plugin's distribution and version."""

from __future__ import annotations

import platform
from importlib import metadata

import pluggy


def environment(pm: pluggy.PluginManager) -> dict:
    """Where a report was made: platform, Python, and each plugin's distribution and version."""
    from chipfit.plugins import ChipfitPluginManager

    plugins = {}
    if isinstance(pm, ChipfitPluginManager):
        plugins = {info.name: info.version for info in pm.info()}
    try:
        version = metadata.version("chipfit")
    except metadata.PackageNotFoundError:
        version = None
    return {
        "chipfit": version,
        "python": platform.python_version(),
        "host": platform.node(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "plugins": plugins,
    }
