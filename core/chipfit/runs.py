"""Saved runs: what ``chipfit runs list | show | diff | export | import`` and ``chipfit report --runs`` do,
and the progress shown while a run runs.

Every ``chipfit run`` and ``chipfit measure`` is saved in the results store (:mod:`chipfit.store`).
A diff matches rows by (group, device, workload, scenario, source) and reports each metric that
changed, by how much, flagging changes beyond a threshold. A merged report puts the rows of several
runs (from several machines, through export and import) in one report.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

import attrs

from chipfit.errors import ChipfitError
from chipfit.records import Report, Result
from chipfit.store import Store, StoredRun, StoreError, default_path
from chipfit.units import display


def store_path(option: str | None) -> tuple[Path, bool]:
    """The store to use, and whether the user chose it (``--store`` or ``CHIPFIT_STORE``) or it is the default."""
    import os

    if option:
        return Path(option), True
    return default_path(), bool(os.environ.get("CHIPFIT_STORE"))


def save(report: Report, *, command: str, path: Path) -> StoredRun:
    """Save a report in the store at ``path`` (created if need be)."""
    with Store(path) as store:
        return store.save(report, command=command)


class Recorder:
    """Keeps one run in the results store while it runs: its header first, each row as it completes,
    the final report at the end; or carries on an earlier run (resume).

    Recording never breaks a run: where the store fails, ``warn`` is told once and the run goes on
    unsaved; where the user chose the store (``chosen``), a store that cannot be opened stops the run
    before it starts, and one that fails later is raised by :meth:`finish`, once the report is out
    (exit 2).
    """

    def __init__(self, path: Path, *, chosen: bool, warn: Callable[[str], None]) -> None:
        self.path = path
        self.chosen = chosen
        self.warn = warn
        self.store: Store | None = None
        self.run: StoredRun | None = None
        self._start: tuple = ()
        self.error: str | None = None

    def begin(self, header: Report, *, command: str, resume: StoredRun | None = None,
              keep: Iterable[Result] = ()) -> None:
        """Open the store; the run itself is saved with its first row (a spec that turns out bad saves nothing).

        :param header: the report before any row: title, spec, environment.
        :param resume: an earlier run to carry on, keeping only its rows in ``keep``.
        """
        self._start = (header, command, resume, list(keep))
        try:
            self.store = Store(self.path)
        except Exception as error:  # noqa: BLE001 - the store's trouble must not cost the run
            self._failed(error, before_run=True)

    def row(self, row: Result) -> None:
        """Keep one row as it completes (``runner.run``'s ``on_row``)."""
        if self.store is None:
            return
        try:
            if self.run is None:
                header, command, resume, keep = self._start
                self.run = (self.store.restart(resume, keep) if resume is not None
                            else self.store.begin(header, command=command))
            self.store.append(self.run, row)
        except Exception as error:  # noqa: BLE001
            self._failed(error, before_run=False)

    def finish(self, report: Report) -> StoredRun | None:
        """Save the final report over the rows kept so far; the saved run, or None where it was not saved.

        :raises ChipfitError: a store the user chose failed while the run ran (the report is out by then).
        """
        if self.error is not None:
            raise ChipfitError(f"run not saved: {self.error}")
        if self.store is None:
            return None
        try:
            if self.run is None:  # no row was made (an empty report): save it whole
                header, command, resume, _ = self._start
                return self.store.save(report, command=command) if resume is None else self.store.finish(resume, report)
            return self.store.finish(self.run, report)
        except Exception as error:  # noqa: BLE001
            self._failed(error, before_run=False)
            if self.error is not None:
                raise ChipfitError(f"run not saved: {self.error}") from None
            return None
        finally:
            self.close()

    def close(self) -> None:
        """Close the store file."""
        if self.store is not None:
            self.store.close()

    def _failed(self, error: Exception, *, before_run: bool) -> None:
        message = str(error) if isinstance(error, ChipfitError) else f"{self.path}: {type(error).__name__}: {error}"
        self.run = None
        self.close()
        self.store = None
        if self.chosen and before_run:
            raise ChipfitError(f"run not saved: {message}") from None
        if self.chosen:  # the user asked for this store: exit 2 once the report is out
            self.error = message
            return
        self.warn(f"run not saved: {message}")


#: Spec keys that do not change which cells a run has or how they are measured (``--resume`` ignores them).
_NOT_CELLS = frozenset({"claims", "title", "description", "baseline"})


def resumable(store: Store, ident: str, spec: dict[str, Any]) -> tuple[StoredRun, Report]:
    """The earlier run ``ident`` and its report, checked to be a run of the same spec.

    ``latest`` is the latest run of this same spec (runs of other specs in between are skipped).

    :raises StoreError: no such run, or it was made from a different spec (naming what differs).
    """
    import json

    # claims are checked again at the end, and title, description and baseline are the report's words:
    # a spec fixed in those still carries on the run (its cells are the same)
    now = {key: value for key, value in json.loads(json.dumps(spec)).items() if key not in _NOT_CELLS}

    def differs(run: StoredRun, report: Report) -> str:
        before = {key: value for key, value in json.loads(json.dumps(report.spec)).items() if key not in _NOT_CELLS}
        keys = sorted(key for key in {*before, *now} if before.get(key) != now.get(key))
        return f"run {run.id} was made from a different spec (it differs in {', '.join(keys)})" if keys else ""

    if str(ident).strip() == "latest":  # the latest run of this spec, not the latest run of any
        runs = store.runs()
        for run in runs:
            if run.title == spec.get("title"):
                report = store.report(str(run.id))
                if not differs(run, report):
                    return run, report
        latest = f"; the latest run of any spec: {differs(runs[0], store.report(str(runs[0].id)))}" if runs else ""
        raise StoreError(f"{store.path}: no earlier run of this spec to resume ('latest' is the latest run of the "
                         f"same spec; see 'chipfit runs list'){latest}")
    run = store.run(ident)
    report = store.report(str(run.id))
    difference = differs(run, report)
    if difference:
        raise StoreError(f"{difference}: --resume carries on a run of the same spec")
    return run, report


# --- list and show ------------------------------------------------------------------------------


def list_rows(runs: Iterable[StoredRun], *, machine: bool = False) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of ``chipfit runs list``; ``machine`` (json, csv) keeps every field whole."""
    if machine:
        headers = ["id", "uid", "created", "saved", "command", "title", "host", "interrupted", "rows", "failed",
                   "measured", "imported_from", "finished"]
        return headers, [[getattr(run, field) for field in headers] for run in runs]
    headers = ["id", "created", "command", "title", "host", "rows", "failed", "measured", "imported from"]
    rows = [[run.id, run.created.replace("T", " ").removesuffix("+00:00") + (" UTC" if run.created.endswith(
        "+00:00") else ""), run.command + (" (interrupted)" if run.interrupted else "")
             + ("" if run.finished else " (unfinished)"), _clip(run.title, 48),
             run.host, run.rows, run.failed, run.measured, run.imported_from] for run in runs]
    return headers, rows


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(run: StoredRun, path: Path) -> str:
    """A run's header for ``chipfit runs show``."""
    lines = [f"run {run.id} ({run.uid}) in {path}",
             f"  {run.command}  ·  made {run.created} on {run.host or 'an unknown host'}  ·  saved {run.saved}"]
    if run.imported_from:
        lines.append(f"  imported from {run.imported_from}")
    if not run.finished:
        lines.append(f"  unfinished: the run stopped (or is still running) with {run.rows} row(s) kept; "
                     f"'chipfit run SPEC --resume {run.id}' carries it on")
    return "\n".join(lines) + "\n\n"


# --- diff ---------------------------------------------------------------------------------------


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
        from chipfit.render import row_dict

        data = row_dict(row)
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


# --- merge --------------------------------------------------------------------------------------


def merge(runs: list[tuple[StoredRun, Report]], *, title: str | None = None) -> Report:
    """One report from several saved runs: their rows, groups and claims, in the order given.

    A row whose (group, device, workload, scenario, source) is already in the merged report (the
    same cell run on two machines, or twice) keeps its own group, renamed ``GROUP@run ID`` and titled
    with the run's host, so no row hides another.
    """
    import datetime

    from chipfit.render import group_spec

    if not runs:
        raise ChipfitError("report --runs: name at least one run")
    seen: set[RowKey] = set()
    rows: list[Result] = []
    groups: dict[str, dict[str, Any]] = {}
    claims = []
    for run, report in runs:
        colliding = {row.group for row in report.rows if row_key(row) in seen}
        mine = []
        for row in report.rows:
            group = f"{row.group}@run{run.id}" if row.group in colliding else row.group
            mine.append(attrs.evolve(row, group=group))
            if group not in groups:
                entry = dict(group_spec(report, row.group)) or {"id": row.group}
                if group != row.group:
                    entry["title"] = f"{entry.get('title') or row.group} (run {run.id}, {run.host or 'unknown host'})"
                entry["id"] = group
                groups[group] = entry
        seen |= {row_key(row) for row in mine}
        rows += mine
        claims += list(report.claims)
    baselines = {report.baseline for _, report in runs}
    hosts = list(dict.fromkeys(run.host for run, _ in runs if run.host))
    description = "Merged from saved runs: " + "; ".join(
        f"run {run.id} ({run.command}, {run.created}{', on ' + run.host if run.host else ''})" for run, _ in runs) + "."
    return Report(
        title=title or (runs[0][1].title if len({r.title for _, r in runs}) == 1 else
                        f"{len(runs)} runs: " + "; ".join(dict.fromkeys(r.title for _, r in runs))),
        description=description,
        rows=rows,
        baseline=baselines.pop() if len(baselines) == 1 else None,
        spec={"title": title or "", "groups": list(groups.values())},
        environment={"host": ", ".join(hosts), "chipfit": runs[-1][1].environment.get("chipfit"),
                     "runs": [{"id": run.id, "uid": run.uid, "command": run.command, "created": run.created,
                               "host": run.host, "environment": report.environment} for run, report in runs]},
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        claims=claims,
        interrupted=any(report.interrupted for _, report in runs),
    )


# --- progress -----------------------------------------------------------------------------------


class Progress:
    """Progress of a long job on stderr, one step per message: a spinner and each step's time (rich).

    Silent when ``enabled`` is false (``--quiet``, or stderr is not a terminal); rich is imported
    only when there is something to show. Call with a message to start a step (finishing the one
    before); :meth:`stop` finishes the last.
    """

    def __init__(self, enabled: bool, *, console: Any = None) -> None:
        self.enabled = enabled
        self._console = console
        self._live = None
        self._task = None

    @classmethod
    def for_stream(cls, stream: TextIO | None = None, *, quiet: bool = False) -> Progress:
        """Progress that shows only on a terminal, and never when ``quiet``."""
        stream = sys.stderr if stream is None else stream
        isatty = getattr(stream, "isatty", None)
        return cls(not quiet and bool(isatty and isatty()))

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        if self._live is None:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            console = self._console or Console(stderr=True)
            self._live = RichProgress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
                                      TimeElapsedColumn(), console=console, transient=False)
            self._live.start()
        self._finish_step()
        self._task = self._live.add_task(message, total=1)

    def _finish_step(self) -> None:
        if self._task is not None:
            self._live.update(self._task, completed=1)
            self._task = None

    def stop(self) -> None:
        """Finish the last step and stop drawing (before the report is printed)."""
        if self._live is not None:
            self._finish_step()
            self._live.stop()
            self._live = None



def read_export(path: str) -> Any:
    """The JSON of an export file; an unreadable file or bad JSON names the file (and line)."""
    import json

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ChipfitError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ChipfitError(f"{path}: not a chipfit runs export (not UTF-8 text: {error.reason} at byte "
                           f"{error.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ChipfitError(f"{path}, line {error.lineno}: not JSON: {error.msg}") from None
    except RecursionError:
        raise ChipfitError(f"{path}: not a chipfit runs export (JSON nested too deeply)") from None


def open_store(option: str | None) -> Store:
    """The results store, for reading saved runs (a missing store is an error saying where it was looked for)."""
    path, _ = store_path(option)
    return Store(path, create=False)
