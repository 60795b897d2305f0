"""Running comparison specs, one module per job.

- :mod:`chipfit.run.plan` — resolution: a spec and the catalogue to resolved cells, errors located in the spec;
- :mod:`chipfit.run.dispatch` — modelled cells through ``chipfit_estimate``, measured cells to the executor;
- :mod:`chipfit.run.merge` — rows made whole (costs, derived metrics), interleaved, ``model_error``;
- :mod:`chipfit.run.baselines` — ``vs_baseline`` and the headline metric;
- :mod:`chipfit.run.claims` and :mod:`chipfit.run.columns` — a spec's claims and columns, checked;
- :mod:`chipfit.run.fit_tables` — a spec's ``[[fit]]`` tables;
- :mod:`chipfit.run.execute` — a plan executed into a report;
- :mod:`chipfit.run.record` — the run kept in the results store as it runs, and resume;
- :mod:`chipfit.run.session` — all of it for a script, as ``chipfit run`` does it: :class:`Session`.

The classes below are imported on first use, so ``import chipfit.run`` stays light (the functions
``plan`` and ``execute`` are in their modules, which share their names).
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "Session": "chipfit.run.session",
    "Outcome": "chipfit.run.session",
    "Plan": "chipfit.run.plan",
    "Cell": "chipfit.run.plan",
    "Recorder": "chipfit.run.record",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    """A public name of the package, imported from its module on first use."""
    if name not in _NAMES:
        raise AttributeError(f"module 'chipfit.run' has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)
