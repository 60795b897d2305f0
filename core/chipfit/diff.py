"""What changed between two runs: rows matched by (group, device, workload, scenario, source), each metric
that changed and by how much, flagged beyond a threshold (``chipfit runs diff``)."""

from __future__ import annotations

import math
from typing import Any

import attrs

from chipfit.errors import ChipfitError
from chipfit.records import Report, Result
from chipfit.store import StoredRun
from chipfit.units import display


RowKey = tuple[str, str, str, tuple, str]


def row_key(row: Result) -> RowKey:
    """What identifies a row across runs: group, device, workload, scenario and source."""
    scenario = row.scenario
    shape = (str(scenario.kind), scenario.batch, None if scenario.precision is None else str(scenario.precision),
             scenario.count, scenario.latency_target, scenario.tensor_parallel, scenario.pipeline_parallel,
             scenario.expert_parallel, scenario.ttft_target, scenario.tpot_target)
    return row.group, row.device, row.workload, shape, str(row.source)


@attrs.frozen
class Change:
    """One metric (or the status) of one row that differs between two runs."""

    row: Result  # the row in the second run
    metric: str
    before: Any
    after: Any
    relative: float | None  # (after - before) / |before|; None where it is not a number
    flagged: bool


@attrs.frozen
class Diff:
    """What changed from run ``a`` to run ``b``."""

    threshold: float
    matched: int
    changes: tuple[Change, ...]
    only_a: tuple[Result, ...]
    only_b: tuple[Result, ...]

    @property
    def flagged(self) -> tuple[Change, ...]:
        """Changes beyond the threshold (and every change of status or of a non-numeric metric)."""
        return tuple(change for change in self.changes if change.flagged)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _relative(before: Any, after: Any) -> float | None:
    if not (_number(before) and _number(after)):
        return None
    if before == after:
        return 0.0
    if before == 0:
        return math.copysign(math.inf, after)
    return (after - before) / abs(before)


def diff_reports(a: Report, b: Report, *, threshold: float = 0.05) -> Diff:
    """Match the rows of two reports by :func:`row_key` and list what changed.

    A numeric metric is flagged when its relative change is beyond ``threshold`` (0.05 = 5%); a
    change of status, or of a non-numeric metric (``bound``, ``meets_target``), is always flagged;
    a metric that appears or disappears is flagged too.
    """
    def keyed(report: Report) -> dict[tuple, Result]:
        out: dict[tuple, Result] = {}
        for row in report.rows:
            key = row_key(row)
            index = 0
            while (*key, index) in out:  # the same cell twice (a merged report): pair them in order
                index += 1
            out[(*key, index)] = row
        return out

    rows_a, rows_b = keyed(a), keyed(b)
    changes = []
    for key, after_row in rows_b.items():
        before_row = rows_a.get(key)
        if before_row is None:
            continue
        if before_row.status != after_row.status:
            changes.append(Change(after_row, "status", str(before_row.status), str(after_row.status), None, True))
        for metric in list(dict.fromkeys([*before_row.metrics, *after_row.metrics])):
            before, after = before_row.metrics.get(metric), after_row.metrics.get(metric)
            if before == after:
                continue
            relative = _relative(before, after)
            flagged = relative is None or abs(relative) > threshold
            changes.append(Change(after_row, metric, before, after, relative, flagged))
    return Diff(
        threshold=threshold,
        matched=len(rows_a.keys() & rows_b.keys()),
        changes=tuple(changes),
        only_a=tuple(row for key, row in rows_a.items() if key not in rows_b),
        only_b=tuple(row for key, row in rows_b.items() if key not in rows_a),
    )


def _shown(metric: str, value: Any) -> str:
    if value is None:
        return "-"
    if metric == "status":
        return str(value)
    try:
        return display(metric, value)
    except (TypeError, ValueError):
        return str(value)


def _change_text(change: Change) -> str:
    if change.relative is None:
        return "changed" if change.before is not None and change.after is not None else (
            "new" if change.before is None else "gone")
    if math.isinf(change.relative):
        return "from 0"
    return f"{change.relative:+.1%}"


def diff_text(diff: Diff, name_a: str, name_b: str) -> str:
    """A diff for people: one line per changed metric, flagged ``!`` beyond the threshold."""
    import tabulate

    flagged = diff.flagged
    rows_changed = len({id(change.row) for change in diff.changes})
    out = [f"{name_a} -> {name_b}: {diff.matched} row(s) matched; {len(diff.changes)} metric change(s) in "
           f"{rows_changed} row(s); {len(flagged)} beyond {diff.threshold * 100:g}%, marked !"]
    if diff.changes:
        body = [[change.row.group, change.row.device, change.row.workload, change.row.scenario.describe(),
                 str(change.row.source), change.metric, _shown(change.metric, change.before),
                 _shown(change.metric, change.after), _change_text(change), "!" if change.flagged else ""]
                for change in diff.changes]
        headers = ["group", "device", "workload", "scenario", "source", "metric", name_a, name_b, "change", ""]
        out += ["", tabulate.tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True)]
    else:
        out += ["", "no metric changed"]
    for rows, where in ((diff.only_a, name_a), (diff.only_b, name_b)):
        if rows:
            out += ["", f"only in {where}:"]
            out += [f"  {row.group}  {row.device} x {row.workload}  {row.scenario.describe()}  {row.source}  "
                    f"{row.status}" for row in rows]
    return "\n".join(out) + "\n"


def diff_dict(diff: Diff, a: StoredRun, b: StoredRun) -> dict[str, Any]:
    """A diff for scripts (SI units, relative changes as fractions)."""
    def cell(row: Result) -> dict[str, Any]:
        from chipfit.serialize import unstructure

        data = unstructure(row)
        return {key: data[key] for key in ("group", "device", "workload", "scenario", "source", "status")}

    return {
        "a": {"id": a.id, "uid": a.uid, "created": a.created, "command": a.command},
        "b": {"id": b.id, "uid": b.uid, "created": b.created, "command": b.command},
        "threshold": diff.threshold,
        "matched": diff.matched,
        "changes": [{**cell(change.row), "metric": change.metric, "before": change.before, "after": change.after,
                     "relative": None if change.relative is None or math.isinf(change.relative) else change.relative,
                     "flagged": change.flagged} for change in diff.changes],
        "only_a": [cell(row) for row in diff.only_a],
        "only_b": [cell(row) for row in diff.only_b],
    }


def parse_threshold(text: str) -> float:
    """``5``, ``5%`` or ``0.05%``: a percentage, as a fraction (5 -> 0.05)."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise ChipfitError(f"--threshold {text!r}: expected a percentage, e.g. 5 or 2.5%") from None
    if value < 0 or not math.isfinite(value):
        raise ChipfitError(f"--threshold {text!r}: expected a percentage of 0 or more")
    return value / 100
