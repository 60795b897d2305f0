"""What the results store records of a run: the command as typed, and which run ``--resume latest`` means."""

from __future__ import annotations

import json

from support import TWO_GPUS, assert_bad_input, assert_clean

OTHER = TWO_GPUS.replace('title = "t"', 'title = "another spec"')


def _runs(cli, store):
    result = cli("--store", store, "runs", "list", "--format", "json")
    assert_clean(result)
    return json.loads(result.stdout)


def test_runs_list_keeps_the_options_of_the_recorded_command(cli, write_spec, tmp_path):
    store, spec, out = tmp_path / "runs.sqlite", write_spec(TWO_GPUS), tmp_path / "report.json"
    assert_clean(cli("--store", store, "-q", "run", spec, "--format", "json", "-o", out))
    [run] = _runs(cli, store)
    command = run["command"]
    assert command.startswith("chipfit ")
    for part in ("--quiet", "run", "--format json", f"--output {out}", str(spec)):
        assert part in command, command


def test_resume_latest_is_the_latest_run_of_this_spec(cli, write_spec, tmp_path):
    store = tmp_path / "runs.sqlite"
    mine, other = write_spec(TWO_GPUS, "mine.toml"), write_spec(OTHER, "other.toml")
    assert_clean(cli("--store", store, "-q", "run", mine))
    assert_clean(cli("--store", store, "-q", "run", other))       # the latest run of any spec
    result = cli("--store", store, "-q", "run", mine, "--resume", "latest")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    runs = {run["id"]: run for run in _runs(cli, store)}
    assert len(runs) == 2                                           # run 1 was carried on in place
    assert runs[1]["title"] == "t" and runs[2]["title"] == "another spec"


def test_resume_latest_without_a_run_of_this_spec_names_the_rule(cli, write_spec, tmp_path):
    store = tmp_path / "runs.sqlite"
    assert_clean(cli("--store", store, "-q", "run", write_spec(OTHER, "other.toml")))
    result = cli("--store", store, "-q", "run", write_spec(TWO_GPUS, "mine.toml"), "--resume", "latest")
    assert_bad_input(result, "no earlier run of this spec")


def test_resume_help_says_latest_is_of_this_spec(cli):
    result = cli("run", "--help")
    assert "latest run of this same spec" in " ".join(result.stdout.split())
