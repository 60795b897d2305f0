"""The ray executor on a real local Ray cluster, run by ``tests/test_fleet.py`` in a private network
namespace (:mod:`netns`): a head and other node processes on this machine, each holding different
bench devices (``tests/fleet_bench.py``), and chipfit's driver run as a user runs it.

Not collected on its own (the file name is not ``test_*``); run directly, outside a namespace, it
skips: a Ray cluster on this machine's network would bind to its address.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import netns
from ray_cluster import FAST_HEALTH_CHECKS, Cluster, environment
from support import ROOT

if not netns.isolated():
    pytest.skip("the Ray-cluster cases run only inside a private network namespace: run tests/test_fleet.py",
                allow_module_level=True)
pytest.importorskip("ray", reason="the ray executor needs Ray: pip install 'chipfit[cluster]'")


@pytest.fixture(scope="module")
def cluster():
    """A head holding bench-a and a second node holding bench-b and bench-c."""
    running = Cluster(dict(os.environ), health=FAST_HEALTH_CHECKS)
    try:
        running.start("head", "bench-a", head=True)
        running.start("worker", "bench-b,bench-c", CHIPFIT_BENCH_CRASH_ON="bert-base-128")
        yield running
    finally:
        running.stop()


def _chipfit(cluster: Cluster, tmp_path: Path, *args: str, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    """The driver, as a user runs it: a chipfit process that holds no bench device itself."""
    env = environment(cluster.base_env, CHIPFIT_BENCH_DEVICES="", CHIPFIT_STORE=str(tmp_path / "runs.sqlite"))
    command = [sys.executable, "-m", "chipfit", *args]
    if kwargs.pop("background", False):
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)


def _on_cluster(cluster: Cluster, tmp_path: Path, spec: Path, *options: str) -> subprocess.CompletedProcess:
    """``chipfit run SPEC --executor ray`` against the test cluster, the report as JSON on stdout."""
    return _chipfit(cluster, tmp_path, "run", str(spec), "--executor", "ray", "--address", cluster.address,
                    "--format", "json", *options)


def _spec(tmp_path: Path, measure: list[str], workloads: list[str], name: str = "fleet.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'title = "Fleet"\nmeasure = {json.dumps(measure)}\n\n[[groups]]\nid = "g"\n'
                    f"devices = {json.dumps(measure)}\nworkloads = {json.dumps(workloads)}\n")
    return path


def _measured(report: dict) -> dict[tuple[str, str], dict]:
    return {(row["device"], row["workload"]): row for row in report["rows"] if row["source"] == "measured"}


def test_cells_land_on_the_node_that_holds_their_device(cluster, tmp_path):
    spec = _spec(tmp_path, ["bench-a", "bench-b", "bench-c@worker", "bench-c@head"], ["gemm-4096", "resnet-50"])
    result = _on_cluster(cluster, tmp_path, spec)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    measured = _measured(report)
    for workload in ("gemm-4096", "resnet-50"):
        assert measured[("bench-a", workload)]["measurement"]["node"]["node"] == "head"
        assert measured[("bench-a", workload)]["measurement"]["held"] == ["bench-a"]
        assert measured[("bench-b", workload)]["measurement"]["node"]["node"] == "worker"
        assert measured[("bench-c@worker", workload)]["measurement"]["held"] == ["bench-b", "bench-c"]
        head_c = measured[("bench-c@head", workload)]
        assert head_c["status"] == "unsupported" and "node head does not hold bench-c" in head_c["reason"]
    # modelled cells stayed on the driver; the report says where it measured
    assert all("node" not in row.get("measurement", {}) for row in report["rows"] if row["source"] != "measured")
    assert set(report["environment"]["nodes"]) >= {"head", "worker"}
    assert report["environment"]["executor"] == "ray"
    stored = json.loads(_chipfit(cluster, tmp_path, "runs", "list", "--format", "json").stdout)
    assert stored[0]["finished"] and stored[0]["measured"] == 8
    text = _chipfit(cluster, tmp_path, "runs", "show", "latest").stdout
    assert "measured on head" in text and "measured on worker" in text


def _wait_for_the_cell(markers, driver, node: str, timeout_s: float = 120) -> None:
    """Until the bench-c cell has started on ``node`` (its marker file is there), or fail saying so."""
    deadline = time.monotonic() + timeout_s
    while not list(markers.glob("bench-c-*")) and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.2)
    assert list(markers.glob("bench-c-*")), f"the bench-c cell never started on node {node}"


def test_a_node_killed_mid_run_fails_only_its_cells(cluster, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    cluster.start("doomed", "bench-c", CHIPFIT_BENCH_SLEEP_S="120", CHIPFIT_BENCH_MARKERS=str(markers))
    spec = _spec(tmp_path, ["bench-a", "bench-b", "bench-c@doomed"], ["gemm-4096", "resnet-50", "mobilenet-v2"])
    driver = _chipfit(cluster, tmp_path, "run", str(spec), "--executor", "ray", "--address", cluster.address,
                      "--format", "json", background=True)
    try:
        _wait_for_the_cell(markers, driver, "doomed")
        cluster.kill("doomed")
        out, err = driver.communicate(timeout=180)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 1, err
    assert "Traceback" not in err
    report = json.loads(out)
    measured = _measured(report)
    for workload in ("gemm-4096", "resnet-50", "mobilenet-v2"):
        assert measured[("bench-a", workload)]["status"] == "ok"
        assert measured[("bench-b", workload)]["status"] == "ok"
        doomed = measured[("bench-c@doomed", workload)]
        assert doomed["status"] == "failed"
        assert "doomed" in doomed["reason"] or "NodeDied" in doomed["reason"], doomed["reason"]
    # everything finished is stored: the run is whole and its failed rows say why
    (run,) = json.loads(_chipfit(cluster, tmp_path, "runs", "list", "--format", "json").stdout)
    assert run["finished"] and run["measured"] == 9 and run["failed"] == 3
    # a re-run resumes: the kept rows are not measured again, the node's cells are now unsupported
    before = {path.name for path in markers.iterdir()}
    again = _on_cluster(cluster, tmp_path, spec, "--resume", "latest")
    assert again.returncode == 0, again.stderr
    rows = _measured(json.loads(again.stdout))
    assert rows[("bench-c@doomed", "gemm-4096")]["status"] == "unsupported"
    assert "no node named doomed" in rows[("bench-c@doomed", "gemm-4096")]["reason"]
    assert rows[("bench-a", "gemm-4096")]["measurement"]["pid"] == measured[("bench-a", "gemm-4096")]["measurement"][
        "pid"]
    assert {path.name for path in markers.iterdir()} == before


def test_a_worker_that_dies_mid_cell_fails_only_that_cell(cluster, tmp_path):
    spec = _spec(tmp_path, ["bench-b"], ["bert-base-128", "gemm-4096"])
    result = _on_cluster(cluster, tmp_path, spec)
    assert result.returncode == 1, result.stderr
    measured = _measured(json.loads(result.stdout))
    crashed = measured[("bench-b", "bert-base-128")]
    assert crashed["status"] == "failed" and crashed["plugin"] == "chipfit_ray"
    assert "Error" in crashed["reason"]  # Ray's kind of failure (the worker died), first line of its message
    assert measured[("bench-b", "gemm-4096")]["status"] == "ok"  # the node goes on with the next cell


def test_a_cell_that_outlives_its_timeout_is_cancelled_and_failed(cluster, tmp_path):
    cluster.start("slow", "bench-c", CHIPFIT_BENCH_SLEEP_S="600")
    try:
        spec = _spec(tmp_path, ["bench-c@slow"], ["gemm-4096"])
        result = _on_cluster(cluster, tmp_path, spec, "--cell-timeout", "8")
        assert result.returncode == 1, result.stderr
        measured = _measured(json.loads(result.stdout))
        assert measured[("bench-c@slow", "gemm-4096")]["status"] == "failed"
        assert "timed out after 8 s" in measured[("bench-c@slow", "gemm-4096")]["reason"]
    finally:
        cluster.kill("slow")


def test_a_misspelt_fleet_device_is_bad_input(cluster, tmp_path):
    spec = _spec(tmp_path, ["bnech-a@head"], ["gemm-4096"])
    result = _chipfit(cluster, tmp_path, "run", str(spec), "--executor", "ray", "--address", cluster.address)
    assert result.returncode == 2, result.stderr
    assert "unknown device 'bnech-a@head'" in result.stderr and "Traceback" not in result.stderr


def test_the_shipped_fleet_spec_runs_and_says_which_nodes_are_missing(cluster, tmp_path):
    result = _chipfit(cluster, tmp_path, "run", str(ROOT / "specs" / "fleet.toml"), "--address", cluster.address,
                      "--format", "json")
    assert result.returncode == 0, result.stderr
    measured = _measured(json.loads(result.stdout))
    assert "no node named laptop in the Ray cluster" in measured[("localhost-cpu@laptop", "resnet-50")]["reason"]
    assert "head: " in measured[("localhost-cpu@laptop", "resnet-50")]["reason"]  # the nodes there are


def test_every_socket_of_the_cluster_and_its_driver_is_on_loopback(cluster, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    cluster.start("sleepy", "bench-c", CHIPFIT_BENCH_SLEEP_S="5", CHIPFIT_BENCH_MARKERS=str(markers))
    try:
        assert set(cluster.ask("[n['NodeManagerAddress'] for n in ray.nodes() if n['Alive']]")) == {"127.0.0.1"}
        spec = _spec(tmp_path, ["bench-a", "bench-c@sleepy"], ["gemm-4096"])
        driver = _chipfit(cluster, tmp_path, "run", str(spec), "--executor", "ray", "--address", cluster.address,
                          "--format", "json", background=True)
        try:
            _wait_for_the_cell(markers, driver, "sleepy")
            # mid-cell: the driver is joined, a worker of node sleepy measures; look at every socket
            processes = cluster.processes() + netns.descendants([driver.pid])
            names = {process.name() for process in processes}
            assert {"gcs_server", "raylet"} <= names and any(name.startswith("ray::") for name in names), names
            sockets = sum(len(process.net_connections(kind="inet")) for process in processes)
            assert sockets > 10  # the check looked at a cluster that talks, not at idle processes
            assert netns.outside_loopback(processes) == []
            out, err = driver.communicate(timeout=180)
        finally:
            if driver.poll() is None:
                driver.kill()
        assert driver.returncode == 0, err
        assert _measured(json.loads(out))[("bench-c@sleepy", "gemm-4096")]["status"] == "ok"
    finally:
        cluster.kill("sleepy")
