"""Filters and sorting on report rows: ``--where "meets_target and power_w < 20"`` and ``--sort``.

What a filter sees of a row, which keys it may name and which way each is better, and a report's rows
chosen and ordered (:func:`select`). The expression language is :mod:`chipfit.filters` (its grammar is
there), sorting :mod:`chipfit.sorting`; their names stay importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from chipfit.filters import (
    UNITS,
    Compare,
    Filter,
    Junction,
    Literal,
    Name,
    Not,
    QueryError,
    key_dimension,
    parse_filter,
    truth,
)
from chipfit.sorting import SortKey, parse_sort, sort_rows

__all__ = [
    "ROW_FIELDS", "UNITS", "Compare", "Filter", "Junction", "Literal", "Name", "Not", "QueryError", "SortKey",
    "check", "higher_is_better", "key_dimension", "known_keys", "parse_filter", "parse_sort", "registered_keys",
    "row_values", "select", "sort_rows", "truth",
]

#: Row fields a filter or sort may name beside the metrics.
ROW_FIELDS = ("device", "workload", "group", "scenario", "source", "status", "precision", "count", "batch", "reason")


def row_values(row: Any) -> dict[str, Any]:
    """What a filter sees of a report row (a :class:`chipfit.records.Result`): its metrics and fields."""
    scenario = row.scenario
    values = dict(row.metrics)
    for key, value in row.metrics.items():  # {"parallelism": {"tensor": 2}} is also parallelism.tensor
        if isinstance(value, Mapping):
            values.update({f"{key}.{part}": inner for part, inner in value.items()})
    values.setdefault("count", scenario.count)
    if scenario.batch is not None:
        values.setdefault("batch", scenario.batch)
    values.update(device=row.device, workload=row.workload, group=row.group, scenario=str(scenario.kind),
                  source=str(row.source), status=str(row.status), reason=row.reason)
    if scenario.precision is not None:
        values["precision"] = str(scenario.precision)
    return values


def known_keys(rows: Iterable[Any] = (), registered: Iterable[str] = ()) -> set[str]:
    """The names a filter may use: row fields, registered metric keys, and the keys the rows hold."""
    known = set(ROW_FIELDS) | set(registered)
    for row in rows:
        known |= set(row.metrics)
    return known


#: Keys whose name does not say which way is better (the rest: see :func:`higher_is_better`).
_HIGHER = {"throughput_sps", "utilization", "mfu", "meets_target", "samples_per_j", "batch", "count"}
_LOWER = {"ops_required_per_s", "kv_cache_bytes"}


def higher_is_better(key: str, derived: Mapping[str, Any] | None = None) -> bool | None:
    """Whether a higher value of a metric is better; None for row fields and keys with no direction.

    A plugin's derived metric says so itself; the core's keys say it by their names: times, power,
    energy and money are better lower, rates and ratios per something better higher.
    """
    if derived and key in derived:
        return bool(derived[key].higher_is_better)
    if key in ROW_FIELDS[:7] or key in ("bound", "reason"):
        return None
    if key in _HIGHER:
        return True
    if key in _LOWER or key.startswith("usd_per_"):
        return False
    if "_per_" in key:
        return True
    if key.endswith(("_s", "_w", "_j", "_usd", "_bytes")):
        return False
    return None


def registered_keys(catalogue: Any = None) -> set[str]:
    """Every metric key a report may hold: the core's, the cost keys, LLM and training keys, plugins' derived ones."""
    from chipfit.metrics import registry
    from chipfit.tco import COST_KEYS

    derived = getattr(catalogue, "metrics", None) or {}
    return {*registry(), *COST_KEYS, *derived, "ttft_s", "tpot_s", "output_tokens_per_s", "kv_cache_bytes", "mfu",
            "parallelism", "parallelism.data", "parallelism.tensor", "parallelism.pipeline", "parallelism.expert"}


def check(where: str | None, sort: str | None, catalogue: Any = None) -> None:
    """Parse ``--where`` and ``--sort`` against the registered keys, before anything runs.

    :raises QueryError: a filter or sort that does not parse or names an unknown key.
    """
    known = known_keys((), registered_keys(catalogue))
    derived = getattr(catalogue, "metrics", None) or {}
    if where:
        parse_filter(where, known)
    if sort:
        parse_sort(sort, known, lambda key: higher_is_better(key, derived))


def select(report: Any, *, where: str | None = None, sort: str | None = None,
           derived: Mapping[str, Any] | None = None) -> Any:
    """A report with only the rows ``where`` passes (all rows when None), ordered by ``sort`` within each group.

    Rows keep their group; groups keep their order. The report's other parts are unchanged.

    :raises QueryError: a filter or sort that does not parse or names an unknown key.
    """
    if not where and not sort:
        return report
    known = known_keys(report.rows, [*registered_keys(), *(derived or ())])
    rows = list(report.rows)
    if where:
        condition = parse_filter(where, known)
        rows = [row for row in rows if condition.matches(row_values(row))]
    if sort:
        keys = parse_sort(sort, known, lambda key: higher_is_better(key, derived))
        order = list(dict.fromkeys(row.group for row in rows))
        rows = [row for group in order
                for row in sort_rows([r for r in rows if r.group == group], keys, row_values)]
    return attrs.evolve(report, rows=tuple(rows))
