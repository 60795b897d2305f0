"""Recording a run in the results store while it runs, and finding the earlier run a resumed run carries on.

Every ``chipfit run`` and ``chipfit measure`` (and every :class:`chipfit.run.Session` that records) is saved
in the results store (:mod:`chipfit.store`): its header first, each row as it completes, the final report
at the end, so an interrupted run keeps what it finished and ``--resume`` carries it on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from chipfit.errors import ChipfitError
from chipfit.records import Report, Result
from chipfit.store import Store, StoredRun, StoreError, default_path


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
        """Keep one row as it completes (an execution's ``on_row``, :func:`chipfit.run.execute.execute`)."""
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

    ``latest`` is the latest run of this same spec: the same title and the same cells (runs of other specs
    in between are skipped). A run ``ident`` named by its id needs only the same cells: a spec whose
    title, description, baseline or claims were fixed since carries on the run (``--resume ID``).

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


def open_store(option: str | None) -> Store:
    """The results store, for reading saved runs (a missing store is an error saying where it was looked for)."""
    path, _ = store_path(option)
    return Store(path, create=False)
