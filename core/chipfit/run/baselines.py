"""Rows against a baseline device: ``vs_baseline``, how many times better on the row's headline metric."""

from __future__ import annotations

import attrs

from chipfit import metrics as derived_metrics
from chipfit.records import Result, Scenario, Source, Workload


def headline(scenario: Scenario, workload: Workload | None = None) -> tuple[str, bool]:
    """The metric that ranks rows of a scenario, and whether higher is better (the metric registry's headline)."""
    chosen = derived_metrics.headline(scenario, workload)
    return chosen.key, bool(chosen.higher_is_better)


def with_baseline(rows: list[Result], baseline: str | None, workloads: dict[str, Workload]) -> list[Result]:
    """Add ``vs_baseline`` (how many times better than the baseline device) to each ok row."""
    if baseline is None:
        return rows
    base = {(row.group, row.workload): row for row in rows
            if row.device == baseline and row.ok and row.source is not Source.MEASURED}
    out = []
    for row in rows:
        reference = base.get((row.group, row.workload))
        if row.ok and reference is not None and row.source is not Source.MEASURED:
            metric, higher = headline(row.scenario, workloads.get(row.workload))
            mine, theirs = row.metrics.get(metric), reference.metrics.get(metric)
            if mine and theirs:
                ratio = mine / theirs if higher else theirs / mine
                row = attrs.evolve(row, metrics={**row.metrics, "vs_baseline": ratio})
        out.append(row)
    return out
