"""The results store: round trips, concurrent writers, interrupted writes, damaged and newer files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import types

import pytest

import chipfit.store as store_module
from chipfit.records import ClaimCheck, Report, Result, Scenario
from chipfit.render import report_dict
from chipfit.store import SCHEMA_VERSION, Store, StoreError, report_from_dict


def _report(title: str = "t", rows: int = 3, power: float = 10.0) -> Report:
    scenario = Scenario("single-stream", precision="int8", latency_target=0.04)
    return Report(
        title=title,
        description="d",
        baseline="acme-a",
        rows=[Result(f"acme-{index}", "yolov3-416", scenario, "modelled", "ok",
                     {"latency_s": 0.01 * (index + 1), "power_w": power, "bound": "compute", "meets_target": True},
                     explain=("line one", "line two"), group="g", plugin="acme")
              for index in range(rows)]
        + [Result("acme-x", "yolov3-416", scenario, "measured", "failed", reason="boom", group="g")],
        spec={"title": title, "groups": [{"id": "g", "title": "G"}]},
        environment={"host": "bench-1", "chipfit": "0.1.0"},
        created="2025-01-02T03:04:05+00:00",
        claims=[ClaimCheck("a claim", 2.0, 1.9, "a / b", "1.9 / 1", "agrees", 0.25, source="s", why="w")],
    )


def _rows_in(path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        return (db.execute("SELECT count(*) FROM runs").fetchone()[0],
                db.execute("SELECT count(*) FROM rows").fetchone()[0])


def test_a_saved_report_comes_back_the_same(tmp_path):
    report = _report()
    with Store(tmp_path / "runs.sqlite") as store:
        saved = store.save(report, command="chipfit run spec.toml")
        again = store.report(str(saved.id))
        assert store.run("latest") == saved
        assert store.run(saved.uid[:8]) == saved
    assert report_dict(again) == report_dict(report)
    assert (saved.rows, saved.failed, saved.measured, saved.host) == (4, 1, 1, "bench-1")


def test_the_store_is_in_wal_mode_with_a_schema_version(tmp_path):
    path = tmp_path / "runs.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_an_unknown_run_names_the_store_and_the_id(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        with pytest.raises(StoreError, match=r"runs\.sqlite: no run '7'"):
            store.run("7")


_WRITER = textwrap.dedent("""
    import os, sys, time
    from chipfit.records import Report, Result, Scenario
    from chipfit.store import Store

    path, go, who, count = sys.argv[1:5]
    while not os.path.exists(go):
        time.sleep(0.002)
    for index in range(int(count)):
        rows = [Result(f"acme-{n}", "w", Scenario("offline"), "modelled", "ok", {"latency_s": 0.001 * n}, group="g")
                for n in range(40)]
        with Store(path) as store:  # a fresh connection each time: creation races too
            store.save(Report(title=f"{who}-{index}", rows=rows), command=f"writer {who}")
""")


def test_two_processes_saving_at_once_both_succeed(tmp_path):
    path, go = tmp_path / "runs.sqlite", tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(go), who, "15"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for who in ("a", "b")]
    time.sleep(0.3)  # both started and waiting: the store does not exist yet
    go.write_text("go")
    for writer in writers:
        _, stderr = writer.communicate(timeout=60)
        assert writer.returncode == 0, stderr
    assert _rows_in(path) == (30, 30 * 40)
    with Store(path) as store:
        titles = {run.title for run in store.runs()}
    assert titles == {f"{who}-{index}" for who in "ab" for index in range(15)}


def test_an_interrupted_save_leaves_nothing_half_saved(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        store.save(_report("first"), command="x")
    before = _rows_in(path)
    calls = []

    def dumps(value, *args, **kwargs):
        calls.append(1)
        if len(calls) == 6:  # the run and a few of its rows are written by now
            raise KeyboardInterrupt
        return json.dumps(value, *args, **kwargs)

    monkeypatch.setattr(store_module, "json", types.SimpleNamespace(dumps=dumps, loads=json.loads,
                                                                    JSONDecodeError=json.JSONDecodeError))
    with Store(path) as store, pytest.raises(KeyboardInterrupt):
        store.save(_report("second", rows=20), command="x")
    monkeypatch.undo()
    assert len(calls) == 6
    assert _rows_in(path) == before
    with Store(path) as store:
        assert [run.title for run in store.runs()] == ["first"]
        store.save(_report("third"), command="x")  # and the store still takes new runs
        assert [run.title for run in store.runs()] == ["third", "first"]


_KILLED = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import chipfit.store as store_module
    from chipfit.records import Report, Result, Scenario

    calls = []
    real = json.dumps

    def dumps(value, *args, **kwargs):
        calls.append(1)
        if len(calls) == 30:  # mid-transaction: the run row and some of its rows are written
            Path(sys.argv[2]).write_text("inside")
            time.sleep(120)
        return real(value, *args, **kwargs)

    store_module.json.dumps = dumps
    rows = [Result(f"acme-{n}", "w", Scenario("offline"), "modelled", "ok", {"latency_s": 1.0}, group="g")
            for n in range(100)]
    with store_module.Store(sys.argv[1]) as store:
        store.save(Report(title="killed", rows=rows), command="x")
""")


def test_a_writer_killed_mid_save_leaves_nothing_half_saved(tmp_path):
    path, inside = tmp_path / "runs.sqlite", tmp_path / "inside"
    with Store(path) as store:
        store.save(_report("kept"), command="x")
    before = _rows_in(path)
    writer = subprocess.Popen([sys.executable, "-c", _KILLED, str(path), str(inside)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not inside.exists():
        assert writer.poll() is None, writer.communicate()[1].decode()
        assert time.monotonic() < deadline, "the writer never reached the middle of its save"
        time.sleep(0.01)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    assert _rows_in(path) == before
    with Store(path) as store:
        assert [run.title for run in store.runs()] == ["kept"]
        store.save(_report("after"), command="x")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_file_that_is_not_a_database_is_an_error_and_left_alone(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"these are my notes, not a database\n" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"runs\.sqlite: not a chipfit results store") as raised:
        Store(path)
    assert str(path) in str(raised.value)
    assert path.read_bytes() == before
    assert not (tmp_path / "runs.sqlite-wal").exists()


def test_a_damaged_database_is_an_error_and_left_alone(tmp_path):
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        for index in range(3):
            store.save(_report(str(index), rows=30), command="x")
    damaged = bytearray(path.read_bytes())
    damaged[100:3100] = b"\x07" * 3000  # the schema page
    path.write_bytes(bytes(damaged))
    with pytest.raises(StoreError, match="damaged results store") as raised:
        with Store(path) as store:
            store.save(_report("more"), command="x")
    assert str(path) in str(raised.value)
    assert path.read_bytes() == bytes(damaged)


def test_a_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        store.save(_report(), command="x")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    before = path.read_bytes()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer") as raised:
        Store(path)
    assert str(path) in str(raised.value)
    assert path.read_bytes() == before


def test_another_programs_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('mine')")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a chipfit results store"):
        Store(path)
    assert path.read_bytes() == before


def test_export_and_import_merge_runs_from_two_machines(tmp_path):
    here, there = tmp_path / "here.sqlite", tmp_path / "there.sqlite"
    with Store(there) as store:
        store.save(_report("there"), command="x")
        exported = store.export()
    with Store(here) as store:
        store.save(_report("here"), command="x")
        added, skipped = store.import_runs(exported, where="there.json")
        assert ([run.title for run in added], skipped) == (["there"], 0)
        assert added[0].imported_from == "there.json" and added[0].uid == exported["runs"][0]["uid"]
        assert report_dict(store.report(str(added[0].id))) == exported["runs"][0]["report"]
        assert store.import_runs(exported, where="there.json") == ([], 1)  # the same run is not added twice
        assert len(store.runs()) == 2


def test_a_malformed_export_imports_nothing_and_names_the_place(tmp_path):
    with Store(tmp_path / "a.sqlite") as store:
        store.save(_report("one"), command="x")
        store.save(_report("two"), command="x")
        exported = store.export()
    exported["runs"][1]["report"]["rows"][0]["scenario"]["kind"] = "sideways"
    with Store(tmp_path / "b.sqlite") as store:
        with pytest.raises(StoreError, match=r"export\.json: runs\[1\]\.report\.rows\[0\].*sideways"):
            store.import_runs(exported, where="export.json")
        assert store.runs() == []
        with pytest.raises(StoreError, match="newer"):
            store.import_runs({**exported, "version": 99}, where="export.json")
        with pytest.raises(StoreError, match="not a chipfit runs export"):
            store.import_runs([1, 2], where="export.json")


@pytest.mark.parametrize(("change", "says"), [
    (lambda entry: entry.pop("uid"), r"export\.json: runs\[0\]: missing 'uid'"),
    (lambda entry: entry.update(uid=""), r"export\.json: runs\[0\].*uid must not be empty"),
    (lambda entry: entry.update(uid=7), r"export\.json: runs\[0\]\.uid: expected text"),
    (lambda entry: entry.update(finished="yes"), r"export\.json: runs\[0\]\.finished"),
    (lambda entry: entry.update(command=None), r"export\.json: runs\[0\]\.command: expected text"),
    (lambda entry: entry.update(saved=None), r"export\.json: runs\[0\]\.saved: expected text"),
])
def test_a_malformed_run_entry_names_the_run_and_field(tmp_path, change, says):
    with Store(tmp_path / "a.sqlite") as store:
        store.save(_report("one"), command="x")
        exported = store.export()
    change(exported["runs"][0])
    with Store(tmp_path / "b.sqlite") as store:
        with pytest.raises(StoreError, match=says):
            store.import_runs(exported, where="export.json")
        assert store.runs() == []


@pytest.mark.parametrize(("change", "says"), [
    (lambda data: data.pop("runs"), r"export\.json: missing 'runs'"),
    (lambda data: data.update(runs=5), r"export\.json: runs: expected a list"),
])
def test_an_export_without_a_list_of_runs_is_refused(tmp_path, change, says):
    with Store(tmp_path / "a.sqlite") as store:
        store.save(_report("one"), command="x")
        exported = store.export()
    change(exported)
    with Store(tmp_path / "b.sqlite") as store:
        with pytest.raises(StoreError, match=says):
            store.import_runs(exported, where="export.json")
        assert store.runs() == []


def test_an_export_is_a_record_written_and_read_through_the_wire_format(tmp_path):
    from chipfit import serialize
    from chipfit.store import RunsExport

    with Store(tmp_path / "a.sqlite") as store:
        store.save(_report("one"), command="chipfit run a.toml")
        exported = store.export()
    export = serialize.structure(exported, RunsExport, where="x")
    assert export.format == store_module.EXPORT_FORMAT and export.version == store_module.EXPORT_VERSION
    assert [(run.command, run.finished, run.report.title) for run in export.runs] == [("chipfit run a.toml", True, "one")]
    assert serialize.unstructure(export) == exported


def test_report_from_dict_names_a_missing_field():
    data = report_dict(_report())
    del data["rows"][2]["device"]
    with pytest.raises(StoreError, match=r"here: rows\[2\]: missing 'device'"):
        report_from_dict(data, where="here")


def test_a_uid_prefix_of_digits_only_finds_its_run(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        saved = store.save(Report("r", []), command="x")
        store._db.execute("UPDATE runs SET uid = ? WHERE id = ?", ("86867246" + "a" * 24, saved.id))
        assert store.run("86867246").id == saved.id  # no run has id 86867246: the uid's prefix it is
        assert store.run(str(saved.id)).id == saved.id
        with pytest.raises(StoreError, match="no run '99999'"):
            store.run("99999")
