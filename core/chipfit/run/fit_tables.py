"""A spec's ``[[fit]]`` tables in a run: the top rows of each fit search, in a group of their own."""

from __future__ import annotations

import attrs

from chipfit.errors import ChipfitError
from chipfit.records import Result
from chipfit.run.dispatch import RowSink
from chipfit.run.plan import Plan


def fit_rows(plan: Plan, sink: RowSink) -> list[Result]:
    """The top rows of each ``[[fit]]`` table, in a group named by its id (``fit-N`` without one).

    :raises ChipfitError: a fit whose constraints are bad or leave nothing, naming its table and line.
    """
    from chipfit import fit

    evaluate = fit.evaluator(plan.pm, plan.catalogue, plan.costs)

    out = []
    for index, entry in enumerate(plan.spec.fit):
        try:
            answer = fit.search(entry.to_query(plan.costs), plan.catalogue, evaluate)
        except (ChipfitError, ValueError) as error:
            raise ChipfitError(f"{plan.place(['fit', index])}: fit[{index}]: {error}") from None
        group = entry.id or f"fit-{index + 1}"
        out += [sink.keep(attrs.evolve(row, group=group)) for row in answer.ranked[:entry.top]]
    return out
