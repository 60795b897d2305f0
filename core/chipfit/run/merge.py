"""A run's rows made whole and put together: costs and derived metrics on each row, each measured row
beside its modelled twin, and ``model_error`` where both are in."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from chipfit import metrics as derived_metrics
from chipfit import tco
from chipfit.catalogue import Catalogue
from chipfit.records import Device, Result, Source, Status, Workload
from chipfit.run.baselines import headline


def complete_row(row: Result, device: Device | None, catalogue: Catalogue, costs: tco.CostInputs) -> Result:
    """A row as a report holds it: with its cost metrics (:mod:`chipfit.tco`) and the plugins' derived metrics."""
    return _with_derived(tco.priced(row, device, costs), catalogue)


def _with_derived(row: Result, catalogue: Catalogue) -> Result:
    """The row with the plugins' derived metrics; a metric that raises fails the row, naming its plugin."""
    if not row.ok:
        return row
    try:
        return attrs.evolve(row, metrics=derived_metrics.apply(row.metrics, catalogue.metrics))
    except derived_metrics.MetricFailure as failure:
        plugin = catalogue.plugin_of("metric", failure.metric) or "?"
        return attrs.evolve(row, status=Status.FAILED, metrics={}, explain=(), plugin=plugin,
                            reason=f"plugin {plugin!r}: {failure}")


def interleave(modelled: list[Result], measured: Mapping[int, Result]) -> list[Result]:
    """The report's order: each modelled row, then the measured row of the same cell (by cell index)."""
    rows = []
    for index, row in enumerate(modelled):
        rows.append(row)
        if index in measured:
            rows.append(measured[index])
    return rows


def with_model_error(rows: list[Result], workloads: dict[str, Workload]) -> list[Result]:
    """Add ``model_error`` to modelled and calibrated rows that have a measured twin.

    ``model_error`` = (model - measured) / measured on the row's headline metric (latency for
    single-stream, throughput for offline and server): +0.2 means the model says 20% more.
    """
    measured = {(row.group, row.device, row.workload): row for row in rows
                if row.source is Source.MEASURED and row.ok}
    out = []
    for row in rows:
        twin = measured.get((row.group, row.device, row.workload))
        if twin is not None and row.ok and row.source is not Source.MEASURED:
            metric, _ = headline(row.scenario, workloads.get(row.workload))
            mine, theirs = row.metrics.get(metric), twin.metrics.get(metric)
            if mine and theirs:
                row = attrs.evolve(row, metrics={**row.metrics, "model_error": mine / theirs - 1})
        out.append(row)
    return out
