"""The answer of a fit search as a report every renderer prints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chipfit import query
from chipfit.fit.search import FitResult
from chipfit.records import (
    Report,
)
from chipfit.units import display


def report(result: FitResult, *, environment: Mapping[str, Any] | None = None, created: str = "") -> Report:
    """The answer as a report (every renderer prints it): the top rows, and the search's summary in ``spec.fit``."""
    fit = result.query
    constraints = [c.option for c in fit.constraints()] + ([f"--where {fit.where!r}"] if fit.where else [])
    title = f"Which chip fits {fit.workload} ({fit.scenario})" + (f": {', '.join(constraints)}" if constraints else "")
    objective = result.objective
    columns = [objective, *[key for key in ("count", "parallelism", "precision", "batch", "time_to_train_s", "latency_s", "throughput_sps",
                                            "output_tokens_per_s", "ttft_s", "tpot_s", "power_w",
                                            "hardware_cost_usd", "usd_per_million_samples", "usd_per_million_tokens",
                                            "binding_limit") if key != objective]]
    present = {key for row in result.ranked for key in row.metrics}
    columns = [key for key in columns if key in present]
    lines = [
        f"Modelled (roofline model, datasheet figures), not measured: {result.configurations_evaluated} "
        f"configurations of {result.devices_considered} devices evaluated, {len(result.ranked) + result.redundant} "
        f"feasible" + (f" ({result.redundant} left out: more of a device that does no better on {objective})"
                       if result.redundant else "") + "; "
        f"ranked by {objective} ({'highest' if query.higher_is_better(objective) else 'lowest'} first); "
        f"the top {min(fit.top, len(result.ranked))} shown.",
    ]
    if result.pareto:
        a, b = result.pareto_keys
        lines.append(f"Pareto front of {a} and {b}: " + "; ".join(
            f"{row.scenario.count} x {row.device} {row.scenario.precision} ({display(a, row.metrics.get(a))}, "
            f"{display(b, row.metrics.get(b))})" for row in result.pareto))
    if result.infeasible:
        lines.append("Infeasible devices: " + "; ".join(f"{device}: {why}" for device, why in result.infeasible.items()))
    rows = list(result.ranked[:fit.top])
    spec = {"title": title, "groups": [{"id": "fit", "title": f"Top {len(rows)} by {objective}",
                                        "columns": columns}],
            "electricity_usd_per_kwh": fit.costs.electricity_usd_per_kwh,
            "service_life_years": fit.costs.service_life_years,
            "fit": result.summary()}
    return Report(title=title, rows=rows, spec=spec, description="\n\n".join(lines),
                  environment=dict(environment or {}), created=created)
