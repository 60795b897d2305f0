"""Promises under attack (issue 17): each case an adversarial pass broke, reproduced, with its fix's test.

Each test failed before its fix. The fuzz tests that look for the next ones are in ``test_fuzz_inputs.py``.
"""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from support import TWO_GPUS, assert_bad_input, assert_clean


def _store_with_runs(cli, write_spec, tmp_path, runs: int = 3):
    spec = write_spec(TWO_GPUS)
    store = tmp_path / "runs.sqlite"
    for _ in range(runs):
        assert cli("--store", store, "run", spec).exit_code == 0
    return spec, store


def _damage_last_page(path) -> bytes:
    """Random bytes over the last 4 KiB page, as the audit did; the file's bytes afterwards."""
    data = bytearray(path.read_bytes())
    data[-4096:] = random.Random(17).randbytes(4096)
    path.write_bytes(bytes(data))
    with pytest.raises(sqlite3.DatabaseError):
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    return bytes(data)


# --- 2. a damaged store is never written to ------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "resume", "import"])
def test_a_store_that_fails_its_integrity_check_is_never_written_to(cli, write_spec, tmp_path, command):
    spec, store = _store_with_runs(cli, write_spec, tmp_path)
    export = tmp_path / "export.json"
    assert cli("--store", store, "runs", "export", "-o", export).exit_code == 0
    data = json.loads(export.read_text())
    for entry in data["runs"]:
        entry["uid"] = "f" * 31 + entry["uid"][-1]
    export.write_text(json.dumps(data))
    damaged = _damage_last_page(store)
    args = {"run": ["run", spec], "resume": ["run", spec, "--resume", "1"], "import": ["runs", "import", export]}
    result = cli("--store", store, *args[command])
    assert_bad_input(result, str(store), "damaged results store")
    assert store.read_bytes() == damaged


# --- 3. a measuring budget must be a finite number of seconds above zero ----------------------------


@pytest.mark.parametrize("budget", ["nan", "inf", "-inf", "0", "-1", "1e400"])
def test_a_spec_measuring_budget_that_is_not_finite_and_positive_is_refused(cli, write_spec, budget):
    spec = write_spec(TWO_GPUS.replace('title = "t"', f'title = "t"\nmeasure_budget_s = {budget}'))
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), "line 2", "measure_budget_s",
                     "finite number of seconds > 0")


# --- 4. claim values that used to raise from deep inside Python -----------------------------------

CLAIM = """
[[claims]]
text = "a claim"
cell = { group = "g", device = "nvidia-h100-sxm5", workload = "gemm-4096" }
value = "VALUE"
"""


@pytest.mark.parametrize("value, fragment", [
    ("1" + " + 1" * 1000, "too long"),
    ("2" + " ** 1" * 1000, "too long"),
    ("-" * 100_000 + "1", "too long"),
    ("-" * 400 + "1", "nested too deeply"),
    ("-(" * 100 + "1" + ")" * 100, "nested too deeply"),
    ("1e400 * latency_s", "1e400 is not finite"),
    ("10 ** 400", "too large"),
])
def test_a_claim_value_that_is_too_big_for_python_is_bad_input(cli, write_spec, value, fragment):
    spec = write_spec(TWO_GPUS + CLAIM.replace("VALUE", value))
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), "claim 'a claim'", fragment)


@pytest.mark.parametrize("operator", ["//", "%", "&", "|", "^", "@", "<<", ">>"])
def test_a_claim_operator_that_is_refused_is_named(cli, write_spec, operator):
    spec = write_spec(TWO_GPUS + CLAIM.replace("VALUE", f"latency_s {operator} 2"))
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), f"operator {operator!r} is not allowed")
