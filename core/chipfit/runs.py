"""Saved runs: what ``chipfit runs list | show | export | import`` and ``chipfit report --runs`` do.

Every ``chipfit run`` and ``chipfit measure`` is saved in the results store (:mod:`chipfit.store`), by
the run's recorder (:mod:`chipfit.run.record`). A merged report puts the rows of several runs (from
several machines, through export and import) in one report. Diffs are :mod:`chipfit.diff`, progress
:mod:`chipfit.progress`; their names stay importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from chipfit.diff import Change, Diff, RowKey, diff_dict, diff_reports, diff_text, parse_threshold, row_key
from chipfit.errors import ChipfitError
from chipfit.progress import Progress
from chipfit.records import Report, Result
from chipfit.run.record import Recorder, open_store, resumable, save, store_path
from chipfit.store import StoredRun

__all__ = [
    "Change", "Diff", "Progress", "Recorder", "RowKey", "describe", "diff_dict", "diff_reports", "diff_text",
    "list_rows", "merge", "open_store", "parse_threshold", "read_export", "resumable", "row_key", "save",
    "store_path",
]


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
