"""A results store written by an older chipfit opens, is upgraded in place and reads back right;
one written by a newer chipfit is refused (exit 2, naming the file) and left as it is.

The old file is built here with sqlite3 from the version 1 schema as that chipfit wrote it (no
``runs.finished``; rows whose scenario had only kind, batch, precision, count and latency target).
"""

from __future__ import annotations

import json
import math
import sqlite3

import pytest

from chipfit.records import ClaimCheck, Report, Result, Scenario
from chipfit.store import SCHEMA_VERSION, Store, StoreError
from support import assert_bad_input

#: The schema of version 1, as chipfit wrote it before runs were recorded as they ran.
SCHEMA_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    saved TEXT NOT NULL,
    command TEXT NOT NULL,
    title TEXT NOT NULL,
    host TEXT NOT NULL,
    interrupted INTEGER NOT NULL,
    spec TEXT NOT NULL,
    environment TEXT NOT NULL,
    report TEXT NOT NULL,
    imported_from TEXT NOT NULL DEFAULT ''
);
CREATE TABLE rows (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    grp TEXT NOT NULL,
    device TEXT NOT NULL,
    workload TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE INDEX rows_by_device ON rows (device, workload);
"""

#: Rows as version 1's ``--format json`` wrote them: a NaN metric kept, a failed row with its reason.
OLD_ROWS = [
    {"group": "g", "device": "acme-a", "workload": "w",
     "scenario": {"kind": "single-stream", "batch": None, "precision": "int8", "count": 1, "latency_target_s": 0.04},
     "source": "modelled", "status": "ok", "reason": "", "plugin": "acme",
     "metrics": {"latency_s": 0.01, "energy_per_sample_j": float("nan"), "bound": "compute", "meets_target": True},
     "explain": ["one", "two"], "measurement": {}},
    {"group": "g", "device": "acme-x", "workload": "w",
     "scenario": {"kind": "offline", "batch": 8, "precision": None, "count": 2, "latency_target_s": None},
     "source": "measured", "status": "failed", "reason": "boom", "plugin": "", "metrics": {}, "explain": [],
     "measurement": {"samples": [1.0, 2.0], "node": {"host": "bench-1"}}},
]
OLD_REST = {"title": "old run", "description": "d", "created": "2025-01-02T03:04:05+00:00", "baseline": "acme-a",
            "interrupted": False,
            "claims": [{"text": "c", "expected": 2.0, "value": 1.9, "formula": "a / b", "arithmetic": "1.9 / 1",
                        "verdict": "agrees", "tolerance": 0.25, "source": "s", "why": "w", "ratio": 0.95}]}
OLD_SPEC = {"title": "old run", "groups": [{"id": "g", "title": "G", "columns": ["latency_s"]}]}


def _version_1_store(path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_1)
        db.execute("INSERT INTO schema_version (version) VALUES (1)")
        db.execute("INSERT INTO runs (uid, created, saved, command, title, host, interrupted, spec, environment, report)"
                   " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                   ("ab" * 16, OLD_REST["created"], OLD_REST["created"], "chipfit run old.toml", "old run", "bench-1",
                    json.dumps(OLD_SPEC), json.dumps({"host": "bench-1"}), json.dumps(OLD_REST)))
        db.executemany("INSERT INTO rows VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                       [(position, row["group"], row["device"], row["workload"], row["source"], row["status"],
                         json.dumps(row)) for position, row in enumerate(OLD_ROWS)])
    db.close()


def test_a_version_1_store_is_upgraded_and_reads_back_right(tmp_path):
    path = tmp_path / "runs.sqlite"
    _version_1_store(path)
    with Store(path, create=False) as store:
        (run,) = store.runs()
        report = store.report("latest")
    assert run.finished and (run.title, run.rows, run.failed, run.measured) == ("old run", 2, 1, 1)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert db.execute("SELECT finished FROM runs").fetchall() == [(1,)]
    db.close()
    ok, failed = report.rows
    assert ok.scenario == Scenario("single-stream", precision="int8", latency_target=0.04)
    assert failed.scenario == Scenario("offline", batch=8, count=2)
    assert math.isnan(ok.metrics["energy_per_sample_j"])
    assert {**ok.metrics, "energy_per_sample_j": None} == {"latency_s": 0.01, "energy_per_sample_j": None,
                                                           "bound": "compute", "meets_target": True}
    assert (ok.explain, ok.plugin, failed.reason) == (("one", "two"), "acme", "boom")
    assert failed.measurement == {"samples": (1.0, 2.0), "node": {"host": "bench-1"}}
    assert (report.title, report.baseline, report.environment, report.spec["groups"][0]["columns"]) == \
        ("old run", "acme-a", {"host": "bench-1"}, ("latency_s",))
    assert report.claims == (ClaimCheck("c", 2.0, 1.9, "a / b", "1.9 / 1", "agrees", 0.25, source="s", why="w"),)


def test_an_upgraded_store_takes_new_runs_and_records_them_as_they_run(tmp_path):
    path = tmp_path / "runs.sqlite"
    _version_1_store(path)
    row = Result("acme-b", "w", Scenario("offline", tensor_parallel=2), "modelled", "ok", {"latency_s": 1.0}, group="g")
    with Store(path) as store:
        started = store.begin(Report("new", []), command="x")
        store.append(started, row)
        assert not store.run(str(started.id)).finished
        store.finish(started, Report("new", [row]))
        assert [run.title for run in store.runs()] == ["new", "old run"]
        assert store.report(str(started.id)).rows == (row,)


def test_opening_an_old_store_twice_upgrades_it_once(tmp_path):
    path = tmp_path / "runs.sqlite"
    _version_1_store(path)
    Store(path).close()
    with Store(path) as store:
        assert len(store.runs()) == 1
    with sqlite3.connect(path) as db:
        columns = [name for _, name, *_ in db.execute("PRAGMA table_info(runs)")]
    db.close()
    assert columns.count("finished") == 1


def _newer_store(path) -> bytes:
    with Store(path) as store:
        store.save(Report("r", [Result("acme-a", "w", Scenario(), "modelled", "ok", group="g")]), command="x")
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.close()
    return path.read_bytes()


def test_a_newer_store_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "runs.sqlite"
    before = _newer_store(path)
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer than this chipfit's"):
        Store(path, create=False)
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", [("runs", "list"), ("runs", "show", "latest"), ("runs", "export")])
def test_a_newer_store_is_bad_input_for_every_command_that_reads_it(cli, tmp_path, command):
    path = tmp_path / "runs.sqlite"
    before = _newer_store(path)
    result = cli("--store", path, *command)
    assert_bad_input(result, str(path), f"schema version {SCHEMA_VERSION + 1} is newer", "upgrade chipfit")
    assert path.read_bytes() == before

