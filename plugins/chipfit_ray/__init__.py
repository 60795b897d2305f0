"""The ``ray`` executor: a run's measured cells on the nodes of a Ray cluster that hold their devices.

Each node advertises the devices it can measure as custom resources (``chipfit node-resources``
prints them for ``ray start --resources``); each measured cell becomes a Ray task that needs its
device's resource, so Ray runs it on the node that holds the device, where the node's own chipfit
and plugins measure it. Modelled cells stay on the driver. Ray is an optional extra:
``pip install 'chipfit[cluster]'``; this module imports it only when the executor is opened.
"""

from __future__ import annotations

import chipfit
from chipfit.executors import ExecutorType

#: Uses chipfit_register_executors (plugin API 1.1).
CHIPFIT_API = ">=1.1,<2"


def _open(pm, catalogue, options):
    from chipfit_ray.executor import RayExecutor

    return RayExecutor(pm, catalogue, options)


@chipfit.hookimpl
def chipfit_register_executors(register):
    """``ray``: the nodes of a Ray cluster (``--executor ray --address HOST:PORT``)."""
    register(ExecutorType("ray", _open, "the nodes of a Ray cluster that hold the devices "
                                        "(pip install 'chipfit[cluster]'; --address HOST:PORT)"))
