"""The results store: every report ``chipfit run`` and ``chipfit measure`` make, kept in one SQLite file.

Runs from different days and machines are compared (``chipfit runs diff``) and merged into one
report (``chipfit report --runs``). The file lives in the user's data dir
(``$CHIPFIT_DATA_DIR/runs.sqlite``, default ``~/.local/share/chipfit/runs.sqlite``); ``--store PATH``
or ``CHIPFIT_STORE`` moves it.

Safety, in the order things can go wrong:

- Each save (and each import) is one transaction: a write interrupted by Ctrl-C, a crash or a kill
  leaves nothing half-saved (SQLite rolls the transaction back; in WAL mode uncommitted frames are
  never read).
- Two processes saving at once both succeed: WAL mode lets readers run beside a writer, a write
  transaction starts with ``BEGIN IMMEDIATE`` and waits for the other writer (busy timeout), and a
  lock that outlasts the timeout is retried until :data:`LOCK_WAIT_S` has passed.
- A run is kept as it runs: :meth:`Store.begin` saves its header, :meth:`Store.append` each row as
  it completes (one small transaction each), :meth:`Store.finish` the final report (rows, claims,
  model error) in one transaction. A run whose driver died stays ``finished = 0`` with the rows it
  had; ``chipfit run SPEC --resume ID`` picks it up (:meth:`Store.restart`) and runs only the cells
  it lacks.
- A file that is not a chipfit store (damaged, not SQLite, another program's database) or that a
  newer chipfit wrote (schema version above :data:`SCHEMA_VERSION`) is a :class:`StoreError`
  naming the file; such a file is never written to.

Rows are kept as the JSON objects of ``--format json`` (:func:`chipfit.serialize.unstructure`), with
their group, device, workload and source as columns for queries; a run keeps its spec, its
environment and the rest of its report; they are read back through the same converter
(:func:`chipfit.serialize.structure`). Opening, checking and upgrading the file is
:mod:`chipfit.storefile`'s job.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from chipfit import serialize
from chipfit.records import Report, Result
from chipfit.storefile import BUSY_TIMEOUT_S, LOCK_WAIT_S, SCHEMA_VERSION, StoreError, StoreFile, _text

__all__ = ["BUSY_TIMEOUT_S", "EXPORT_FORMAT", "EXPORT_VERSION", "LOCK_WAIT_S", "SCHEMA_VERSION", "ExportedRun",
           "RunsExport", "Store", "StoreError", "StoredRun", "default_path", "report_from_dict"]

#: The format name and version of ``chipfit runs export`` files.
EXPORT_FORMAT = "chipfit-runs"
EXPORT_VERSION = 1


def _uid(_instance, _attribute, value: str) -> None:
    if not value:
        raise ValueError("a run's uid must not be empty")


@attrs.frozen
class ExportedRun:
    """One run of a ``chipfit runs export`` file: its uid (kept on import, so a run is imported once),
    when it was saved, the command that made it, whether it finished, and its report."""

    uid: str = attrs.field(validator=_uid)
    report: Report
    saved: str = ""
    command: str = ""
    finished: bool = True


@attrs.frozen
class RunsExport:
    """A ``chipfit runs export`` file: ``format`` (:data:`EXPORT_FORMAT`), ``version``
    (:data:`EXPORT_VERSION`), when it was exported, and its runs. Written and read through
    :mod:`chipfit.serialize`, as every other record is."""

    format: str
    version: int
    runs: tuple[ExportedRun, ...]
    exported: str = ""


@attrs.frozen
class StoredRun:
    """One saved run as ``chipfit runs list`` shows it."""

    id: int
    uid: str
    created: str
    saved: str
    command: str
    title: str
    host: str
    interrupted: bool
    rows: int
    failed: int
    measured: int
    imported_from: str = ""
    finished: bool = True


def default_path() -> Path:
    """Where runs are saved unless told otherwise: ``CHIPFIT_STORE``, else the data folder's ``runs.sqlite``
    (:func:`chipfit.paths.data_dir`)."""
    if os.environ.get("CHIPFIT_STORE"):
        return Path(os.environ["CHIPFIT_STORE"])
    from chipfit.paths import data_dir

    return data_dir() / "runs.sqlite"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class Store(StoreFile):
    """A results store file: its runs, saved, read, exported and imported (see the module's docs).

    Opened and checked on construction (:class:`chipfit.storefile.StoreFile`); use as a context manager.

    :param create: make the file (and its folder) if it does not exist; otherwise a missing file
        is a :class:`StoreError`.
    :raises StoreError: the file is not a chipfit store, is damaged, or has a newer schema.
    """

    # --- writing ----------------------------------------------------------------------------

    def save(self, report: Report, *, command: str) -> StoredRun:
        """Save a report as a new run, in one transaction; returns it (with its id here)."""
        with self.transaction() as db:
            run_id = self._insert(db, serialize.unstructure(report), uid=uuid.uuid4().hex, command=command, saved=_now(),
                                  imported_from="")
        return self.run(str(run_id))

    def begin(self, report: Report, *, command: str) -> StoredRun:
        """Save the start of a run (its header and any rows so far) as an unfinished run."""
        with self.transaction() as db:
            run_id = self._insert(db, serialize.unstructure(report), uid=uuid.uuid4().hex, command=command, saved=_now(),
                                  imported_from="", finished=False)
        return self.run(str(run_id))

    def append(self, run: StoredRun, row: Result) -> None:
        """Add one finished row to an unfinished run (one transaction: the row is kept, or nothing is)."""
        data = serialize.unstructure(row)
        with self.transaction() as db:
            (position,) = db.execute("SELECT coalesce(max(position) + 1, 0) FROM rows WHERE run_id = ?",
                                     (run.id,)).fetchone()
            self._insert_rows(db, run.id, [data], start=position)

    def finish(self, run: StoredRun, report: Report) -> StoredRun:
        """Replace a run's rows and report with the final ones and mark it finished, in one transaction."""
        data = serialize.unstructure(report)
        with self.transaction() as db:
            db.execute("DELETE FROM rows WHERE run_id = ?", (run.id,))
            db.execute("UPDATE runs SET title = ?, interrupted = ?, spec = ?, environment = ?, report = ?, "
                       "finished = 1 WHERE id = ?", (data["title"], int(bool(data.get("interrupted"))),
                                                     *self._columns(data), run.id))
            self._insert_rows(db, run.id, data["rows"])
        return self.run(str(run.id))

    def restart(self, run: StoredRun, keep: Iterable[Result]) -> StoredRun:
        """Carry on an earlier run: keep only the rows in ``keep``, mark it unfinished again (with a new uid,
        so that a copy exported before is not taken for it)."""
        with self.transaction() as db:
            db.execute("DELETE FROM rows WHERE run_id = ?", (run.id,))
            # a resumed run is another run than the one exported before: it gets a new uid
            db.execute("UPDATE runs SET finished = 0, uid = ? WHERE id = ?", (uuid.uuid4().hex, run.id))
            self._insert_rows(db, run.id, [serialize.unstructure(row) for row in keep])
        return self.run(str(run.id))

    # --- reading ----------------------------------------------------------------------------

    _SUMMARY = ("SELECT runs.id, uid, created, saved, command, title, host, interrupted, "
                "(SELECT count(*) FROM rows WHERE rows.run_id = runs.id), "
                "(SELECT count(*) FROM rows WHERE rows.run_id = runs.id AND status = 'failed'), "
                "(SELECT count(*) FROM rows WHERE rows.run_id = runs.id AND source = 'measured'), "
                "imported_from, finished FROM runs")

    def runs(self, limit: int | None = None) -> list[StoredRun]:
        """Saved runs, newest first."""
        with self._errors("read"):
            query = self._SUMMARY + " ORDER BY runs.id DESC" + (" LIMIT ?" if limit else "")
            found = self._db.execute(query, (limit,) if limit else ()).fetchall()
        return [_stored(row) for row in found]

    def run(self, ident: str) -> StoredRun:
        """One run by its id here, ``latest``, or a prefix (4 characters or more) of its uid."""
        ident = str(ident).strip()
        with self._errors("read"):
            if ident == "latest":
                found = self._db.execute(self._SUMMARY + " ORDER BY runs.id DESC LIMIT 1").fetchall()
            else:
                found = []
                if re.fullmatch(r"[0-9]+", ident):
                    number = int(ident)  # an id beyond SQLite's integers is no run here
                    found = (self._db.execute(self._SUMMARY + " WHERE runs.id = ?", (number,)).fetchall()
                             if number < 2 ** 63 else [])
                # a uid's prefix may be all digits (86867246...): no run with that id, so a uid it is
                if not found and len(ident) >= 4 and all(c in "0123456789abcdef" for c in ident.lower()):
                    found = self._db.execute(self._SUMMARY + " WHERE uid LIKE ? ORDER BY runs.id",
                                             (ident.lower() + "%",)).fetchall()
        if not found:
            raise StoreError(f"{self.path}: no run {ident!r} (see 'chipfit runs list')")
        if len(found) > 1:
            raise StoreError(f"{self.path}: run {ident!r} is ambiguous: runs {', '.join(str(r[0]) for r in found)}")
        return _stored(found[0])

    def report_data(self, ident: str) -> dict[str, Any]:
        """A run's report as the JSON object ``--format json`` writes."""
        run = self.run(ident)
        with self._errors("read"):
            self._db.text_factory = bytes  # a flipped byte is a damaged run, not a UnicodeDecodeError
            try:
                spec, environment, rest = self._db.execute(
                    "SELECT spec, environment, report FROM runs WHERE id = ?", (run.id,)).fetchone()
                rows = [(position, text) for position, text in self._db.execute(
                    "SELECT position, row FROM rows WHERE run_id = ? ORDER BY position", (run.id,))]
            finally:
                self._db.text_factory = _text
        data = self._stored_json(rest, dict, run, "its report")
        data.update(spec=self._stored_json(spec, dict, run, "its spec"),
                    environment=self._stored_json(environment, dict, run, "its environment"),
                    rows=[self._stored_json(text, dict, run, f"row {position}") for position, text in rows])
        return data

    def _stored_json(self, text: bytes | str, kind: type, run: StoredRun, what: str) -> Any:
        """One JSON column of a run as it was saved; damaged bytes are a :class:`StoreError` naming the run."""
        try:
            value = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, TypeError) as error:
            detail = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
            raise StoreError(f"{self.path}: damaged run {run.id}: {what} is not the JSON it was saved as "
                             f"({detail}); 'chipfit runs list' shows the others") from None
        if not isinstance(value, kind):
            raise StoreError(f"{self.path}: damaged run {run.id}: {what} is a {type(value).__name__}, "
                             f"not a JSON object")
        return value

    def report(self, ident: str) -> Report:
        """A run's report, as records."""
        run = self.run(ident)
        return report_from_dict(self.report_data(str(run.id)), where=f"{self.path}: run {run.id}")

    # --- export and import --------------------------------------------------------------------

    def export(self, idents: Iterable[str] = ()) -> dict[str, Any]:
        """Runs (all of them when none are named) as one JSON-ready object, for ``chipfit runs import``."""
        runs = [self.run(ident) for ident in idents] or list(reversed(self.runs()))
        return serialize.unstructure(RunsExport(
            EXPORT_FORMAT, EXPORT_VERSION, exported=_now(),
            runs=tuple(ExportedRun(run.uid, self.report(str(run.id)), saved=run.saved, command=run.command,
                                   finished=run.finished) for run in runs)))

    def import_runs(self, data: Any, *, where: str) -> tuple[list[StoredRun], int]:
        """Add the runs of an export; runs already here (same uid) are skipped. All or nothing.

        :returns: the runs added, and how many were already here.
        :raises StoreError: the data is not a chipfit runs export, or a run in it is malformed
            (naming ``where`` and the run); nothing is imported then.
        """
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise StoreError(f"{where}: not a chipfit runs export (no \"format\": \"{EXPORT_FORMAT}\")")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise StoreError(f"{where}: \"version\" must be a whole number (this chipfit writes {EXPORT_VERSION}), "
                             f"got {version!r}")
        if version > EXPORT_VERSION:
            raise StoreError(f"{where}: export format version {version!r} is newer than this chipfit's "
                             f"({EXPORT_VERSION}): upgrade chipfit to import it")
        try:  # every run and row is checked before anything is saved
            export = serialize.structure(data, RunsExport, where=where)
        except serialize.WireError as error:
            raise StoreError(str(error)) from None
        checked = [(entry, serialize.unstructure(entry.report)) for entry in export.runs]
        skipped = 0
        source = Path(where).name
        ids = []
        with self.transaction() as db:
            # read inside the write transaction: another import of the same file may have just committed
            known = {uid for (uid,) in db.execute("SELECT uid FROM runs")}
            for entry, report in checked:
                if entry.uid in known:
                    skipped += 1
                    continue
                known.add(entry.uid)
                ids.append(self._insert(db, report, uid=entry.uid, command=entry.command,
                                        saved=entry.saved or _now(), imported_from=source,
                                        finished=entry.finished))
        added = [self.run(str(run_id)) for run_id in ids]
        return added, skipped

    def _insert(self, db: sqlite3.Connection, data: dict[str, Any], *, uid: str, command: str, saved: str,
                imported_from: str, finished: bool = True) -> int:
        """Insert one run (the JSON object of its report) inside an open transaction; returns its id."""
        environment = data.get("environment") or {}
        cursor = db.execute(
            "INSERT INTO runs (uid, created, saved, command, title, host, interrupted, spec, environment, report,"
            " imported_from, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uid, data.get("created") or saved, saved, command, data["title"], str(environment.get("host") or ""),
             int(bool(data.get("interrupted"))), *self._columns(data), imported_from, int(finished)))
        run_id = cursor.lastrowid
        self._insert_rows(db, run_id, data["rows"])
        return run_id

    @staticmethod
    def _columns(data: dict[str, Any]) -> tuple[str, str, str]:
        """The spec, environment and rest of a report's JSON object, as the runs table keeps them."""
        rest = {key: value for key, value in data.items() if key not in ("rows", "spec", "environment")}
        return json.dumps(data.get("spec") or {}), json.dumps(data.get("environment") or {}), json.dumps(rest)

    @staticmethod
    def _insert_rows(db: sqlite3.Connection, run_id: int, rows: list[dict[str, Any]], *, start: int = 0) -> None:
        """Insert rows (JSON objects of ``--format json``) of a run from position ``start``."""
        db.executemany(
            "INSERT INTO rows (run_id, position, grp, device, workload, source, status, row)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((run_id, position, row["group"], row["device"], row["workload"], row["source"], row["status"],
              json.dumps(row)) for position, row in enumerate(rows, start)))


def _stored(row: tuple) -> StoredRun:
    """A row of the runs summary query as a :class:`StoredRun`."""
    return StoredRun(*row[:7], bool(row[7]), *row[8:12], bool(row[12]))


def report_from_dict(data: Any, *, where: str) -> Report:
    """A report from the JSON object ``--format json`` writes (the inverse of :func:`chipfit.serialize.unstructure`).

    :raises StoreError: a missing or mistyped field, naming ``where`` and the path to it.
    """
    try:
        return serialize.structure(data, Report, where=where)
    except serialize.WireError as error:
        raise StoreError(str(error)) from None
