"""The runner: a comparison spec and the plugins in, a :class:`~chipfit.records.Report` out.

Each cell asks ``chipfit_estimate`` (the first plugin that answers wins; the roofline model
answers last). A plugin that raises or returns something that is not a result for that cell
costs only that cell: it becomes a ``failed`` row naming the plugin and the reason.

:func:`run` is a plan (:mod:`chipfit.run.plan`) executed (:mod:`chipfit.run.execute`); the jobs it is made
of live in :mod:`chipfit.run`, and their names stay importable from here. :func:`run` records nothing: a
script that wants what ``chipfit run`` does (the results store, resume, the executor opened and closed)
uses :class:`chipfit.run.Session`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import pluggy

from chipfit.catalogue import Catalogue
from chipfit.records import Report, Result
from chipfit.run.baselines import headline, with_baseline
from chipfit.run.environment import environment
from chipfit.run.execute import execute
from chipfit.run.merge import complete_row, with_model_error
from chipfit.run.plan import is_model_file, load_workload, plan
from chipfit.spec import Spec

if TYPE_CHECKING:
    from chipfit.executors import Executor

__all__ = ["complete_row", "environment", "headline", "is_model_file", "load_workload", "run", "with_baseline",
           "with_model_error"]


def run(spec: Spec, catalogue: Catalogue, pm: pluggy.PluginManager, *, text: str = "", where: str = "",
        progress: Callable[[str], None] | None = None, executor: Executor | None = None,
        on_row: Callable[[Result], None] | None = None, done: Iterable[Result] = ()) -> Report:
    """Run every cell of a spec (and measure the cells of the devices in ``spec.measure``); check its claims.

    Modelled cells run here; measured cells go to ``executor`` (default: the local one), which
    may run them anywhere and hands each row back as it completes. ``on_row`` sees every new row
    as it is made (the results store keeps them as they come). ``done`` holds rows of an earlier,
    unfinished run of the same spec: its ``ok`` measured rows are kept and their cells not run
    again (resume).

    An interrupt (Ctrl-C) while measuring keeps the rows already finished: the report is marked
    ``interrupted`` and the claims are not checked.

    :raises UnknownIdError: a device or workload id no plugin registered (closest ids suggested).
    :raises SpecError: a claim whose arithmetic does not compute.
    """
    from chipfit.executors import LocalExecutor

    executor = executor or LocalExecutor(pm, catalogue)
    planned = plan(spec, catalogue, pm, executor=executor, text=text, where=where)
    return execute(planned, executor=executor, progress=progress, on_row=on_row, done=done)
