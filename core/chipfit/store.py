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

Rows are kept as the JSON objects of ``--format json`` (:func:`chipfit.render.row_dict`), with
their group, device, workload and source as columns for queries; a run keeps its spec, its
environment and the rest of its report.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from chipfit.errors import ChipfitError
from chipfit.records import ClaimCheck, Report, Result, Scenario

#: The schema this chipfit writes; a store with a higher version is refused, never written to.
#: Version 2 added ``runs.finished`` (a version 1 store is upgraded in place when opened).
SCHEMA_VERSION = 2

#: The first 16 bytes of every SQLite 3 database file.
_SQLITE_HEADER = b"SQLite format 3\x00"

#: How long one statement waits for another process's lock (SQLite's busy timeout), in seconds.
BUSY_TIMEOUT_S = 10.0

#: How long a write waits in all for the lock (retrying past the busy timeout), in seconds.
LOCK_WAIT_S = 60.0

#: The format name and version of ``chipfit runs export`` files.
EXPORT_FORMAT = "chipfit-runs"
EXPORT_VERSION = 1

_SCHEMA = """
CREATE TABLE schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,           -- the same on every machine the run is imported into
    created TEXT NOT NULL,              -- when the report was made (UTC, ISO 8601)
    saved TEXT NOT NULL,                -- when it was stored here
    command TEXT NOT NULL,              -- what made it: 'chipfit run specs/x.toml', 'chipfit measure ...'
    title TEXT NOT NULL,
    host TEXT NOT NULL,
    interrupted INTEGER NOT NULL,
    spec TEXT NOT NULL,                 -- JSON
    environment TEXT NOT NULL,          -- JSON
    report TEXT NOT NULL,               -- JSON: title, description, baseline, claims (rows are below)
    imported_from TEXT NOT NULL DEFAULT '',
    finished INTEGER NOT NULL DEFAULT 1 -- 0 while it runs, and after a driver that died mid-run
);
CREATE TABLE rows (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    grp TEXT NOT NULL,
    device TEXT NOT NULL,
    workload TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    row TEXT NOT NULL,                  -- JSON: the row as --format json writes it
    PRIMARY KEY (run_id, position)
);
CREATE INDEX rows_by_device ON rows (device, workload);
"""


class StoreError(ChipfitError):
    """The results store cannot be used: damaged, newer, locked for too long, or unwritable."""


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
    """Where runs are saved unless told otherwise: ``CHIPFIT_STORE``, else the data dir's ``runs.sqlite``."""
    if os.environ.get("CHIPFIT_STORE"):
        return Path(os.environ["CHIPFIT_STORE"])
    data = os.environ.get("CHIPFIT_DATA_DIR") or Path.home() / ".local" / "share" / "chipfit"
    return Path(data) / "runs.sqlite"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _locked(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class Store:
    """A results store file, opened (and checked) on construction; use as a context manager.

    :param create: make the file (and its folder) if it does not exist; otherwise a missing file
        is a :class:`StoreError`.
    :raises StoreError: the file is not a chipfit store, is damaged, or has a newer schema.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        if not self.path.exists():
            if not create:
                raise StoreError(f"{self.path}: no results store here yet ('chipfit run' saves one)")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"{self.path}: cannot create the results store's folder: {error.strerror}") from None
        elif self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a results store file")
        else:
            self._check_header()
        try:
            with self._errors("open"):
                self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                self._db.text_factory = _text  # a flipped byte in a title shows as such, not as a traceback
                self._db.execute("PRAGMA foreign_keys = ON")
                self._check_intact()
                self._prepare()
        except BaseException:
            self.close()
            raise

    # --- opening ----------------------------------------------------------------------------

    def _check_header(self) -> None:
        """Refuse a file that is not SQLite before SQLite touches it (an empty file is a new store)."""
        try:
            with open(self.path, "rb") as file:
                header = file.read(len(_SQLITE_HEADER))
        except OSError as error:
            raise StoreError(f"{self.path}: cannot read the results store: {error.strerror}") from None
        if header and header != _SQLITE_HEADER:
            raise StoreError(f"{self.path}: not a chipfit results store (not an SQLite database: damaged, or "
                             f"another kind of file); it is left as it is: move it away or use --store PATH")

    def _check_intact(self) -> None:
        """Refuse a damaged file before anything is written to it (SQLite's ``quick_check`` of every page).

        A damaged page elsewhere than the schema lets SQLite open the file and even start a write; a
        write there could spread the damage, so no command writes to a file that fails this check.
        """
        try:
            problems = [text for (text,) in self._db.execute("PRAGMA quick_check(3)")]
        except sqlite3.DatabaseError as error:
            problems = [str(error)]
        if problems and problems != ["ok"]:
            raise StoreError(f"{self.path}: damaged results store ({'; '.join(problems)}); it is left as it is: "
                             f"move it away or use --store PATH")

    def _version(self) -> int | None:
        """The schema version of the file; None for an empty database. Raises for a foreign one."""
        tables = {name for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return None
        if "schema_version" not in tables:
            raise StoreError(f"{self.path}: an SQLite database that is not a chipfit results store (no "
                             f"schema_version table); it is left as it is: use --store PATH")
        versions = [version for (version,) in self._db.execute("SELECT version FROM schema_version")]
        if len(versions) != 1 or not isinstance(versions[0], int):
            raise StoreError(f"{self.path}: damaged results store (schema_version holds {versions!r}); "
                             f"it is left as it is")
        return versions[0]

    def _prepare(self) -> None:
        """Check the schema; create it in a new (empty) file, once even when two processes race."""
        version = self._version()
        if version is None:
            self._retry(lambda: self._db.execute("PRAGMA journal_mode = WAL"))
            with self.transaction():
                if self._version() is None:  # another process may have created it while we waited
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            version = self._version()
        if version == 1:
            self._upgrade_from_1()
            version = self._version()
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: results store schema version {version} is newer than this chipfit's "
                             f"({SCHEMA_VERSION}): upgrade chipfit to read it; the file is left as it is")
        if version < 1:
            raise StoreError(f"{self.path}: damaged results store (schema version {version}); it is left as it is")

    def _upgrade_from_1(self) -> None:
        """Version 1 -> 2: runs gain ``finished`` (every run saved by version 1 was saved whole)."""
        with self.transaction() as db:
            if self._version() == 1:  # another process may have upgraded it while we waited
                db.execute("ALTER TABLE runs ADD COLUMN finished INTEGER NOT NULL DEFAULT 1")
                db.execute("UPDATE schema_version SET version = 2")

    # --- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """SQLite's errors as a :class:`StoreError` naming the file (no traceback for the user)."""
        try:
            yield
        except StoreError:
            raise
        except sqlite3.DatabaseError as error:
            detail = str(error)
            if "not a database" in detail or "malformed" in detail or "corrupt" in detail:
                raise StoreError(f"{self.path}: damaged results store ({detail}); it is left as it is: move it "
                                 f"away or use --store PATH") from None
            raise StoreError(f"{self.path}: cannot {doing} the results store: {detail}") from None

    def _retry(self, action):
        """Run ``action``, retrying while another process holds the lock, up to :data:`LOCK_WAIT_S`."""
        deadline = time.monotonic() + LOCK_WAIT_S
        delay = 0.01
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if not _locked(error) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything in it is saved, or (on any error or interrupt) nothing."""
        with self._errors("write to"):
            self._retry(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                yield self._db
                self._retry(lambda: self._db.execute("COMMIT"))
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the file (a store is also a context manager that closes on exit)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- writing ----------------------------------------------------------------------------

    def save(self, report: Report, *, command: str) -> StoredRun:
        """Save a report as a new run, in one transaction; returns it (with its id here)."""
        from chipfit.render import report_dict

        with self.transaction() as db:
            run_id = self._insert(db, report_dict(report), uid=uuid.uuid4().hex, command=command, saved=_now(),
                                  imported_from="")
        return self.run(str(run_id))

    def begin(self, report: Report, *, command: str) -> StoredRun:
        """Save the start of a run (its header and any rows so far) as an unfinished run."""
        from chipfit.render import report_dict

        with self.transaction() as db:
            run_id = self._insert(db, report_dict(report), uid=uuid.uuid4().hex, command=command, saved=_now(),
                                  imported_from="", finished=False)
        return self.run(str(run_id))

    def append(self, run: StoredRun, row: Result) -> None:
        """Add one finished row to an unfinished run (one transaction: the row is kept, or nothing is)."""
        from chipfit.render import row_dict

        data = row_dict(row)
        with self.transaction() as db:
            (position,) = db.execute("SELECT coalesce(max(position) + 1, 0) FROM rows WHERE run_id = ?",
                                     (run.id,)).fetchone()
            self._insert_rows(db, run.id, [data], start=position)

    def finish(self, run: StoredRun, report: Report) -> StoredRun:
        """Replace a run's rows and report with the final ones and mark it finished, in one transaction."""
        from chipfit.render import report_dict

        data = report_dict(report)
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
        from chipfit.render import row_dict

        with self.transaction() as db:
            db.execute("DELETE FROM rows WHERE run_id = ?", (run.id,))
            # a resumed run is another run than the one exported before: it gets a new uid
            db.execute("UPDATE runs SET finished = 0, uid = ? WHERE id = ?", (uuid.uuid4().hex, run.id))
            self._insert_rows(db, run.id, [row_dict(row) for row in keep])
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
            elif re.fullmatch(r"[0-9]+", ident):
                number = int(ident)  # an id beyond SQLite's integers is no run here
                found = (self._db.execute(self._SUMMARY + " WHERE runs.id = ?", (number,)).fetchall()
                         if number < 2 ** 63 else [])
            elif len(ident) >= 4 and all(c in "0123456789abcdef" for c in ident.lower()):
                found = self._db.execute(self._SUMMARY + " WHERE uid LIKE ? ORDER BY runs.id",
                                         (ident.lower() + "%",)).fetchall()
            else:
                found = []
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
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported": _now(),
            "runs": [{"uid": run.uid, "saved": run.saved, "command": run.command, "finished": run.finished,
                      "report": self.report_data(str(run.id))} for run in runs],
        }

    def import_runs(self, data: Any, *, where: str) -> tuple[list[StoredRun], int]:
        """Add the runs of an export; runs already here (same uid) are skipped. All or nothing.

        :returns: the runs added, and how many were already here.
        :raises StoreError: the data is not a chipfit runs export, or a run in it is malformed
            (naming ``where`` and the run); nothing is imported then.
        """
        from chipfit.render import report_dict

        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise StoreError(f"{where}: not a chipfit runs export (no \"format\": \"{EXPORT_FORMAT}\")")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise StoreError(f"{where}: \"version\" must be a whole number (this chipfit writes {EXPORT_VERSION}), "
                             f"got {version!r}")
        if version > EXPORT_VERSION:
            raise StoreError(f"{where}: export format version {version!r} is newer than this chipfit's "
                             f"({EXPORT_VERSION}): upgrade chipfit to import it")
        entries = data.get("runs")
        if not isinstance(entries, list):
            raise StoreError(f"{where}: \"runs\" must be a list")
        checked = []
        for index, entry in enumerate(entries):
            at = f"{where}: runs[{index}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("uid"), str) or not entry["uid"]:
                raise StoreError(f"{at}: each run needs a \"uid\" string")
            report = report_from_dict(entry.get("report"), where=at)  # checks every row before anything is saved
            checked.append((entry, report_dict(report)))
        skipped = 0
        source = Path(where).name
        ids = []
        with self.transaction() as db:
            # read inside the write transaction: another import of the same file may have just committed
            known = {uid for (uid,) in db.execute("SELECT uid FROM runs")}
            for entry, report in checked:
                if entry["uid"] in known:
                    skipped += 1
                    continue
                known.add(entry["uid"])
                ids.append(self._insert(db, report, uid=entry["uid"], command=str(entry.get("command") or ""),
                                        saved=str(entry.get("saved") or _now()), imported_from=source,
                                        finished=entry.get("finished") is not False))
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


def _text(data: bytes) -> str:
    """SQLite text as Python text; bytes that are not UTF-8 (a damaged file) become U+FFFD."""
    return data.decode("utf-8", "replace")


def _stored(row: tuple) -> StoredRun:
    """A row of the runs summary query as a :class:`StoredRun`."""
    return StoredRun(*row[:7], bool(row[7]), *row[8:12], bool(row[12]))


# --- JSON back to records ---------------------------------------------------------------------


def _get(data: Any, key: str, types: type | tuple[type, ...], where: str, *, optional: bool = False) -> Any:
    if not isinstance(data, dict):
        raise StoreError(f"{where}: expected an object, got {type(data).__name__}")
    if key not in data or data[key] is None:
        if optional:
            return None
        raise StoreError(f"{where}: missing {key!r}")
    value = data[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise StoreError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _result(data: Any, where: str) -> Result:
    scenario = _get(data, "scenario", dict, where)
    at = f"{where}.scenario"
    try:
        return Result(
            device=_get(data, "device", str, where),
            workload=_get(data, "workload", str, where),
            scenario=Scenario(
                kind=_get(scenario, "kind", str, at),
                batch=_get(scenario, "batch", int, at, optional=True),
                precision=_get(scenario, "precision", str, at, optional=True),
                count=_get(scenario, "count", int, at),
                latency_target=_get(scenario, "latency_target_s", (int, float), at, optional=True),
                tensor_parallel=_get(scenario, "tensor_parallel", int, at, optional=True),
                pipeline_parallel=_get(scenario, "pipeline_parallel", int, at, optional=True),
                expert_parallel=_get(scenario, "expert_parallel", int, at, optional=True),
                ttft_target=_get(scenario, "ttft_target_s", (int, float), at, optional=True),
                tpot_target=_get(scenario, "tpot_target_s", (int, float), at, optional=True),
            ),
            source=_get(data, "source", str, where),
            status=_get(data, "status", str, where),
            metrics=_get(data, "metrics", dict, where),
            reason=_get(data, "reason", str, where, optional=True) or "",
            plugin=_get(data, "plugin", str, where, optional=True) or "",
            explain=_get(data, "explain", list, where, optional=True) or (),
            group=_get(data, "group", str, where),
            measurement=_get(data, "measurement", dict, where, optional=True) or {},
        )
    except (ValueError, TypeError, OverflowError) as error:
        raise StoreError(f"{where}: {error}") from None


def _claim(data: Any, where: str) -> ClaimCheck:
    number = (int, float)
    try:
        return ClaimCheck(
            text=_get(data, "text", str, where),
            expected=_get(data, "expected", number, where, optional=True),
            value=_get(data, "value", number, where, optional=True),
            formula=_get(data, "formula", str, where),
            arithmetic=_get(data, "arithmetic", str, where),
            verdict=_get(data, "verdict", str, where),
            tolerance=_get(data, "tolerance", number, where),
            source=_get(data, "source", str, where, optional=True) or "",
            why=_get(data, "why", str, where, optional=True) or "",
        )
    except (ValueError, TypeError, OverflowError) as error:
        raise StoreError(f"{where}: {error}") from None


def _spec(data: dict[str, Any], where: str) -> dict[str, Any]:
    """A report's spec, checked where reports read it: ``groups`` a list of objects with a string ``id``,
    ``columns`` a list of strings."""
    groups = _get(data, "groups", list, where, optional=True) or []
    for index, group in enumerate(groups):
        at = f"{where}.groups[{index}]"
        _get(group, "id", str, at)
        columns = _get(group, "columns", list, at, optional=True) or []
        if not all(isinstance(column, str) for column in columns):
            raise StoreError(f"{at}: 'columns' must be a list of metric names")
        for key in ("title", "note"):
            _get(group, key, str, at, optional=True)
    return data


def report_from_dict(data: Any, *, where: str) -> Report:
    """A report from the JSON object ``--format json`` writes (the inverse of :func:`chipfit.render.report_dict`).

    :raises StoreError: a missing or mistyped field, naming ``where`` and the path to it.
    """
    rows = _get(data, "rows", list, where)
    claims = _get(data, "claims", list, where, optional=True) or []
    return Report(
        title=_get(data, "title", str, where),
        description=_get(data, "description", str, where, optional=True) or "",
        rows=[_result(row, f"{where}: rows[{index}]") for index, row in enumerate(rows)],
        baseline=_get(data, "baseline", str, where, optional=True),
        spec=_spec(_get(data, "spec", dict, where, optional=True) or {}, f"{where}: spec"),
        environment=_get(data, "environment", dict, where, optional=True) or {},
        created=_get(data, "created", str, where, optional=True) or "",
        claims=[_claim(claim, f"{where}: claims[{index}]") for index, claim in enumerate(claims)],
        interrupted=bool(_get(data, "interrupted", bool, where, optional=True)),
    )
