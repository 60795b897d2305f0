"""A spec's ``columns``: each must name a metric a row can hold (checked once the modelled rows are in)."""

from __future__ import annotations

from collections.abc import Iterable

from chipfit import claims as claim_checks
from chipfit import metrics as derived_metrics
from chipfit import tomlfile
from chipfit.catalogue import Catalogue
from chipfit.errors import SpecError, suggest
from chipfit.records import Result
from chipfit.spec import Spec


def check_columns(spec: Spec, rows: Iterable[Result], catalogue: Catalogue, text: str, where: str) -> None:
    """A group's ``columns`` must name metrics: a misspelt one is an error suggesting the name meant.

    Known: every metric the registry knows (:func:`chipfit.metrics.registry`), the plugins' derived
    metrics, those only measurement adds, and any metric the group's modelled rows hold.
    """
    known = {*derived_metrics.registry(), *catalogue.metrics, *claim_checks.MEASURED_ONLY, "count"}
    present: dict[str, set[str]] = {}
    for row in rows:
        present.setdefault(row.group, set()).update(row.metrics)
    for index, group in enumerate(spec.groups):
        names = known | present.get(group.id, set())
        for position, column in enumerate(group.columns or ()):
            if column not in names:
                close = suggest(column, sorted(names))
                hint = f"; did you mean {close[0]!r}?" if close else " (see --format json for the metric names)"
                raise SpecError(f"groups[{index}].columns[{position}]: {column!r} is not a metric{hint}",
                                path=where or None, line=tomlfile.locate(text, ["groups", index, "columns"]))
