"""The results store's file: opening it, checking it is a chipfit store and intact, its schema and its upgrades,
and the plumbing of its transactions (locks, retries, SQLite's errors as :class:`StoreError`).

:class:`chipfit.store.Store` builds on :class:`StoreFile` with what is kept in it (runs and their
rows). Schema versions: 1 (the first), 2 (``runs.finished``). A file of an older version is
upgraded in place when opened, in one transaction; a file of a newer version than
:data:`SCHEMA_VERSION` is refused and never written to.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chipfit.errors import ChipfitError

#: The schema this chipfit writes; a store with a higher version is refused, never written to.
#: Version 2 added ``runs.finished`` (a version 1 store is upgraded in place when opened).
SCHEMA_VERSION = 2

#: The first 16 bytes of every SQLite 3 database file.
_SQLITE_HEADER = b"SQLite format 3\x00"

#: How long one statement waits for another process's lock (SQLite's busy timeout), in seconds.
BUSY_TIMEOUT_S = 10.0

#: How long a write waits in all for the lock (retrying past the busy timeout), in seconds.
LOCK_WAIT_S = 60.0

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


def _locked(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class StoreFile:
    """A results store file, opened (and checked, and upgraded) on construction; use as a context manager.

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

    def __enter__(self) -> StoreFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()



def _text(data: bytes) -> str:
    """SQLite text as Python text; bytes that are not UTF-8 (a damaged file) become U+FFFD."""
    return data.decode("utf-8", "replace")
