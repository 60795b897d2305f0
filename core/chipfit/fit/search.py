"""The search: every configuration modelled, the feasible ones ranked, the Pareto front, why the rest fail."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from chipfit import query
from chipfit.errors import ChipfitError
from chipfit.fit.question import (
    DEFAULT_OBJECTIVE,
    OBJECTIVES,
    Configuration,
    Constraint,
    FitQuery,
)
from chipfit.records import (
    Device,
    Result,
    Scenario,
    ScenarioKind,
    Workload,
    to_precision,
)
from chipfit.tco import CostInputs

#: Configurations kept for the Pareto picture (the first ones evaluated; enough for a scatter).
MAX_POINTS = 5000


@attrs.frozen
class FitResult:
    """The answer: ranked feasible rows, the Pareto front, the infeasible devices and why, and what was counted."""

    query: FitQuery
    objective: str
    ranked: tuple[Result, ...]
    pareto: tuple[Result, ...]
    infeasible: dict[str, str]
    configurations_evaluated: int
    devices_considered: int
    points: tuple[dict[str, Any], ...] = ()  # every modelled configuration on the two Pareto objectives
    redundant: int = 0  # feasible configurations left out: more devices that buy nothing (see fewest_devices)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready summary (``configurations_evaluated``, infeasible devices, the Pareto front)."""
        return {
            "workload": self.query.workload,
            "scenario": str(self.query.scenario),
            "objective": self.objective,
            "constraints": [c.option for c in self.query.constraints()] + ([f"--where {self.query.where}"]
                                                                         if self.query.where else []),
            "configurations_evaluated": self.configurations_evaluated,
            "devices_considered": self.devices_considered,
            "feasible": len(self.ranked) + self.redundant,
            "ranked": len(self.ranked),
            "left_out_more_devices_no_better": self.redundant,
            "pareto": None if self.query.pareto is None else {
                "objectives": list(self.pareto_keys), "front": [_point(row) for row in self.pareto],
                "points": list(self.points),
                "limits": {c.key: c.limit for c in self.query.constraints() if c.key in self.pareto_keys}},
            "infeasible": self.infeasible,
            "modelled": True,
            "costs": self.query.costs.describe(),
        }

    @property
    def pareto_keys(self) -> tuple[str, ...]:
        """The metric keys of the two Pareto objectives."""
        if self.query.pareto is None:
            return ()
        rows = list(self.ranked)
        return tuple(objective_key(name, rows) for name in self.query.pareto)


def _point(row: Result) -> dict[str, Any]:
    return {"device": row.device, "count": row.scenario.count, "precision": str(row.scenario.precision),
            "batch": row.metrics.get("batch")}


def objective_key(name: str, rows: Sequence[Result], known: Iterable[str] = ()) -> str:
    """The metric key an objective word (``cost``, ``latency`` …) or key means for these rows.

    :raises query.QueryError: a word that is neither an objective nor a known metric key.
    """
    if name in OBJECTIVES:
        present = {key for row in rows for key in row.metrics}
        return next((key for key in OBJECTIVES[name] if key in present), OBJECTIVES[name][0])
    allowed = set(known) | {key for row in rows for key in row.metrics}
    if name not in allowed:
        from chipfit.errors import suggest

        close = suggest(name, [*OBJECTIVES, *allowed])
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise query.QueryError(f"--by {name!r}: not an objective ({', '.join(OBJECTIVES)}) nor a metric key{hint}")
    return name


def select_devices(devices: Mapping[str, Device], fit: FitQuery) -> list[Device]:
    """The devices the filters leave, in id order.

    :raises ChipfitError: a filter left none; the message names the filter that emptied the set.
    """
    from chipfit.listing import keeps as matches

    left = sorted(devices.values(), key=lambda device: device.id)
    steps: list[str] = [f"{len(left)} devices"]
    filters: list[tuple[str, Callable[[Device], bool]]] = [
        (f"--segment {','.join(fit.segments)}", lambda d: matches(str(d.segment), fit.segments)),
        (f"--vendor {','.join(fit.vendors)}", lambda d: matches(d.vendor, fit.vendors)),
        (f"--kind {','.join(fit.kinds)}", lambda d: matches(str(d.kind), fit.kinds)),
    ]
    explicit = [p for p in fit.precisions if p != "any"]
    if explicit:
        wanted = {to_precision(p) for p in explicit}
        filters.append((f"--precision {','.join(explicit)}", lambda d: bool(wanted & set(d.peak_ops))))
    for option, keep in filters:
        if option.split(" ", 1)[1] == "":
            continue
        left = [device for device in left if keep(device)]
        steps.append(f"{option} leaves {len(left)}")
        if not left:
            raise ChipfitError(f"no device left after the filters: {', '.join(steps)}")
    return left


def configurations(devices: Sequence[Device], workload: Workload, fit: FitQuery) -> list[Configuration]:
    """Every device x count x precision the search models (counts 1, 2, 4 … up to ``max_count``)."""
    counts = sorted({*(2 ** k for k in range(int(math.log2(fit.max_count)) + 1)), fit.max_count})
    out = []
    for device in devices:
        if "any" in fit.precisions:
            precisions = list(device.peak_ops) or [workload.precision]
        elif fit.precisions:
            precisions = [p for p in map(to_precision, fit.precisions) if p in device.peak_ops]
        else:
            precisions = [workload.precision]
        out += [Configuration(device, count, precision) for precision in precisions for count in counts]
    return out


def search(fit: FitQuery, catalogue: Any, evaluate: Callable[[Device, Workload, Scenario], Result]) -> FitResult:
    """Model every configuration, keep those that meet every constraint, rank them by the objective.

    ``evaluate`` models one cell as a report holds it (``chipfit estimate``'s path).

    :raises ChipfitError: bad constraints, a filter or constraint that leaves nothing (naming it).
    """
    fit.check()
    workload = catalogue.workload(fit.workload)
    devices = select_devices(catalogue.devices, fit)
    constraints = fit.constraints()
    known = query.known_keys((), query.registered_keys(catalogue))
    condition = query.parse_filter(fit.where, known) if fit.where else None
    for name in (fit.by, *(fit.pareto or ())):  # a misspelt objective fails before anything is modelled
        if name is not None:
            objective_key(name, [], known)
    rows = [evaluate(config.device, workload, scenario_of(fit, config)) for config in configurations(devices, workload, fit)]
    objective = objective_key(fit.by or DEFAULT_OBJECTIVE[fit.scenario], [r for r in rows if r.ok], known)
    feasible, failures = [], {}
    passed = {c.option: 0 for c in constraints}
    for row in rows:
        if not row.ok:
            failures.setdefault(row.device, []).append((math.inf, row.scenario.count, row.reason))
            continue
        values = query.row_values(row)
        worst, why = 0.0, ""
        for constraint in constraints:
            ok, reason = constraint.check(values)
            if ok:
                passed[constraint.option] += 1
            else:
                value = values.get(constraint.key)
                ratio = constraint.ratio(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    else math.inf
                if ratio >= worst:
                    worst, why = ratio, reason
        if not why and condition is not None and not condition.matches(values):
            worst, why = 1.0, f"--where {fit.where!r} is false"
        if why:
            failures.setdefault(row.device, []).append((worst, row.scenario.count, f"{why} at {_config_text(row)}"))
        else:
            feasible.append(row)
    if not feasible:
        ok_rows = sum(row.ok for row in rows)
        counts = ", ".join(f"{option} is met by {count}" for option, count in passed.items())
        raise ChipfitError(
            f"no configuration of {workload.id} fits: {len(rows)} evaluated on {len(devices)} devices, {ok_rows} "
            f"modelled" + (f"; {counts}" if counts else "") + (f"; --where {fit.where!r} left none" if fit.where
                                                               else "")
            + ". Closest per device: " + "; ".join(f"{device}: {min(reasons)[2]}"
                                                   for device, reasons in sorted(failures.items())[:8]))
    pareto_front: list[Result] = []
    points: list[dict[str, Any]] = []
    if fit.pareto is not None:  # over every feasible configuration, before any is left out of the ranking
        keys = [objective_key(name, feasible, known) for name in fit.pareto]
        pareto_front = pareto(feasible, keys)
        feasible_ids = {id(row) for row in feasible}
        for row in rows[:MAX_POINTS]:
            a, b = (row.metrics.get(key) for key in keys)
            if row.ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
                points.append({**_point(row), keys[0]: a, keys[1]: b, "feasible": id(row) in feasible_ids})
    kept, _ = fewest_devices(feasible, objective)
    kept_ids = {id(row) for row in kept}
    kept += [row for row in pareto_front if id(row) not in kept_ids]  # a front row is always ranked
    redundant = len(feasible) - len(kept)
    ranked = rank(kept, objective)
    front_ids = {id(row) for row in pareto_front}
    feasible_devices = {row.device for row in feasible}
    infeasible = {device: _hint(min(reasons)[2], fit) for device, reasons in sorted(failures.items())
                  if device not in feasible_devices}
    shown = [_annotated(row, index + 1, constraints, id(row) in front_ids) for index, row in enumerate(ranked)]
    front = [row for row in shown if row.metrics.get("pareto")]
    return FitResult(fit, objective, tuple(shown), tuple(front), infeasible, len(rows), len(devices), tuple(points),
                     redundant)


def evaluator(pm: Any, catalogue: Any, costs: CostInputs) -> Callable[[Device, Workload, Scenario], Result]:
    """Model one configuration as ``chipfit estimate`` does: the ``chipfit_estimate`` hook (through pluggy,
    a misbehaving plugin failing only its row), then costs and derived metrics."""
    from chipfit.cells import estimate_cell
    from chipfit.run.merge import complete_row

    def evaluate(device: Device, workload: Workload, scenario: Scenario) -> Result:
        return complete_row(estimate_cell(pm, device, workload, scenario), device, catalogue, costs)

    return evaluate


def scenario_of(fit: FitQuery, config: Configuration) -> Scenario:
    """The scenario one configuration is modelled in: ``chipfit estimate``'s for the same options.

    The latency target goes to every scenario but training (whose target is the time to train, a
    constraint on the row); TTFT and TPOT limits go to the server scenario, where the model picks the
    batch and split that meet them (in the other scenarios they constrain the row).
    """
    target = fit.latency_target() if fit.scenario is not ScenarioKind.TRAINING else None
    server = fit.scenario is ScenarioKind.SERVER
    return Scenario(fit.scenario, None, config.precision, config.count, target,
                    ttft_target=fit.ttft_s if server else None, tpot_target=fit.tpot_s if server else None)


def fewest_devices(rows: Sequence[Result], objective: str) -> tuple[list[Result], int]:
    """The rows where more devices buy something: of one device at one precision, a configuration with
    more devices is kept only if it beats, on the objective, every feasible one with fewer.

    "How many" is then the fewest devices that meet the limits, plus the larger counts that improve the
    objective (more throughput, a shorter time to train); two Orin Nanos drawing twice the power for the
    same latency are left out. Returns the rows kept and how many were left out.
    """
    better = query.higher_is_better(objective)
    best: dict[tuple[str, str], float] = {}
    kept = []
    for row in sorted(rows, key=lambda r: (r.device, str(r.scenario.precision), r.scenario.count)):
        value = row.metrics.get(objective)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            kept.append(row)
            continue
        key = (row.device, str(row.scenario.precision))
        so_far = best.get(key)
        if so_far is None or (value > so_far if better else value < so_far):
            best[key] = value
            kept.append(row)
    return kept, len(rows) - len(kept)


def _hint(reason: str, fit: FitQuery) -> str:
    """A reason with what to try where the workload's own precision kept a device out."""
    if not fit.precisions and "does not compute in" in reason:
        return reason + " (--precision any tries every precision each device has)"
    return reason


def _config_text(row: Result) -> str:
    batch = row.metrics.get("batch")
    return (f"{row.scenario.count} x {row.device}, {row.scenario.precision}"
            + (f", batch {batch:g}" if isinstance(batch, (int, float)) else ""))


def rank(rows: Sequence[Result], objective: str) -> list[Result]:
    """Rows best first by the objective (its better direction), then cheaper, then fewer devices."""
    better = query.higher_is_better(objective)
    keys = [query.SortKey(objective, bool(better)), query.SortKey("hardware_cost_usd", False),
            query.SortKey("count", False)]
    return query.sort_rows(rows, keys, query.row_values)


def pareto(rows: Sequence[Result], keys: Sequence[str]) -> list[Result]:
    """The rows no other row beats on both objectives (each in its better direction); rows lacking one are out."""
    signs = [1.0 if query.higher_is_better(key) else -1.0 for key in keys]  # maximise sign x value

    def point(row: Result) -> tuple[float, ...] | None:
        values = [row.metrics.get(key) for key in keys]
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in values):
            return None
        return tuple(sign * float(v) for sign, v in zip(signs, values))

    points = [(point(row), row) for row in rows]
    points = [(p, row) for p, row in points if p is not None]
    points.sort(key=lambda item: (-item[0][0], -item[0][1]))
    front, best_second = [], -math.inf
    for p, row in points:  # sorted by the first objective, best first: a row is on the front if it beats all before
        if p[1] > best_second:
            front.append(row)
            best_second = p[1]
    return front


def _annotated(row: Result, rank_: int, constraints: Sequence[Constraint], on_front: bool) -> Result:
    """A ranked row with its rank, what binds it, whether it is on the Pareto front, and its configuration."""
    values = query.row_values(row)
    tightest, ratio = None, -math.inf
    for constraint in constraints:
        value = values.get(constraint.key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and constraint.ratio(value) > ratio:
            tightest, ratio = constraint, constraint.ratio(value)
    if tightest is not None:
        binding = f"{tightest.what} ({ratio:.0%} of {tightest.option})"
    else:
        binding = str(row.metrics.get("bound", ""))
    return attrs.evolve(row, group="fit", metrics={
        **row.metrics, "rank": rank_, "binding_limit": binding, "pareto": on_front,
        "precision": str(row.scenario.precision), "count": row.scenario.count})
