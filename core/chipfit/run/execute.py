"""Executing a planned run: model every cell, check the spec's columns and claims, measure what the spec
measures, add its fit tables, and put the rows together in a :class:`~chipfit.records.Report`."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from chipfit import claims as claim_checks
from chipfit import tomlfile
from chipfit.records import Report, Result
from chipfit.run.baselines import with_baseline
from chipfit.run.claims import check_claims
from chipfit.run.columns import check_columns
from chipfit.run.dispatch import RowSink, asking, measure_cells, model_cells
from chipfit.run.environment import environment
from chipfit.run.fit_tables import fit_rows
from chipfit.run.merge import interleave, with_model_error
from chipfit.run.plan import Plan

if TYPE_CHECKING:
    from chipfit.executors import Executor


def execute(plan: Plan, *, executor: Executor | None = None, progress: Callable[[str], None] | None = None,
            on_row: Callable[[Result], None] | None = None, done: Iterable[Result] = ()) -> Report:
    """Run a plan's cells (and measure those of the devices in ``spec.measure``); check its claims.

    Modelled cells run here; measured cells go to ``executor`` (default: the local one). ``on_row`` sees
    every new row as it is made, once the spec's columns and claims have been checked against the
    modelled rows. ``done`` holds rows of an earlier, unfinished run of the same spec: its ``ok`` measured
    rows are kept and their cells not run again (resume).

    An interrupt (Ctrl-C) while measuring keeps the rows already finished: the report is marked
    ``interrupted`` and the claims are not checked.

    :raises SpecError: a column that names no metric, or a claim whose arithmetic does not compute.
    """
    from chipfit.executors import LocalExecutor

    spec, catalogue = plan.spec, plan.catalogue
    executor = executor or LocalExecutor(plan.pm, catalogue)
    sink = RowSink(plan, on_row)
    modelled: list[Result] = []
    measured: dict[int, Result] = {}
    interrupted = False
    try:
        for row in model_cells(plan, sink):  # one at a time: an interrupt keeps the rows made
            modelled.append(row)
        check_columns(spec, modelled, catalogue, plan.text, plan.where)
        # claims read modelled cells only: check them now, before anything is kept or measured
        check_claims(spec, plan.claim_cells, with_baseline(modelled, spec.baseline, catalogue.workloads),
                     plan.text, plan.where, defer=claim_checks.MEASURED_ONLY)
        for row in modelled:
            sink.keep(row)
        for index, row in measure_cells(plan, executor, sink, done, progress):
            measured[index] = row
        modelled += fit_rows(plan, sink)
    except KeyboardInterrupt:
        interrupted = True
    rows = with_model_error(with_baseline(interleave(modelled, measured), spec.baseline, catalogue.workloads),
                            catalogue.workloads)
    checks = [] if interrupted else check_claims(spec, plan.claim_cells, rows, plan.text, plan.where)
    env = environment(plan.pm)
    if spec.measure:
        env = {**env, "executor": executor.name, **asking(executor, "environment")}
    return Report(
        title=spec.title,
        description=spec.description,
        rows=tuple(rows),
        baseline=spec.baseline,
        spec=tomlfile.unstructure(spec),
        environment=env,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        claims=tuple(checks),
        interrupted=interrupted,
    )
