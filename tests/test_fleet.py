"""The ray executor on a real local Ray cluster: a head and other node processes on this machine, each
holding different bench devices (``tests/fleet_bench.py``), and chipfit's driver run as a user runs it.

Skipped, with the reason, where Ray is not installed (``pip install 'chipfit[cluster]'``; the test
extra installs it, so CI runs these).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from support import ROOT, assert_bad_input

pytest.importorskip("ray", reason="the ray executor needs Ray: pip install 'chipfit[cluster]'")

TESTS = Path(__file__).parent
RAY = Path(sys.executable).parent / "ray"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(base: dict, **extra: str) -> dict:
    env = {**base, **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), *filter(None, [base.get("PYTHONPATH")])])
    env.pop("RAY_ADDRESS", None)
    return env


class Cluster:
    """Ray node processes started with ``ray start --block`` (each in its own process group)."""

    def __init__(self, base_env: dict) -> None:
        self.base_env = {
            **base_env, "CHIPFIT_PLUGINS": "fleet_bench", "RAY_USAGE_STATS_ENABLED": "0",
            # notice a dead node in about a second, not thirty
            "RAY_health_check_period_ms": "300", "RAY_health_check_failure_threshold": "3",
            "RAY_health_check_initial_delay_ms": "0", "RAY_health_check_timeout_ms": "300",
        }
        self.temp = tempfile.mkdtemp(prefix="cfray", dir="/tmp")  # socket paths must stay short
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: dict[str, subprocess.Popen] = {}

    def _resources(self, env: dict, name: str) -> str:
        result = subprocess.run([sys.executable, "-m", "chipfit", "node-resources", "--node", name], env=env,
                                capture_output=True, text=True, check=True)
        return result.stdout.strip()

    def start(self, name: str, devices: str, *, head: bool = False, **extra: str) -> None:
        env = _env(self.base_env, CHIPFIT_BENCH_DEVICES=devices, **extra)
        command = [str(RAY), "start", "--block", "--num-cpus", "1", "--resources", self._resources(env, name)]
        if head:
            command += ["--head", "--port", str(self.port), "--temp-dir", self.temp, "--include-dashboard=false",
                        "--disable-usage-stats"]
        else:
            command += ["--address", self.address]
        log = open(Path(self.temp) / f"{name}.log", "w")  # noqa: SIM115 - kept open for the node's life
        self.nodes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.wait_for(lambda names: name in names, f"node {name} to join")

    def alive(self) -> set[str]:
        script = ("import json, ray; ray.init(address=%r, logging_level='ERROR', log_to_driver=False); "
                  "print(json.dumps([k.split(':', 1)[1] for n in ray.nodes() if n['Alive'] "
                  "for k in n['Resources'] if k.startswith('chipfit-node:')]))" % self.address)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                env=_env(self.base_env), timeout=60)
        return set(json.loads(result.stdout.strip().splitlines()[-1])) if result.returncode == 0 else set()

    def wait_for(self, condition, what: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self.alive()):
                return
            time.sleep(0.5)
        logs = {path.name: path.read_text()[-2000:] for path in Path(self.temp).glob("*.log")}
        raise AssertionError(f"timed out waiting for {what}; logs: {logs}")

    def kill(self, name: str) -> None:
        process = self.nodes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for name in [name for name in self.nodes if name != "head"] + ["head"]:
            if name in self.nodes:
                process = self.nodes.pop(name)
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster():
    """A head holding bench-a and a second node holding bench-b and bench-c."""
    running = Cluster(dict(os.environ))
    try:
        running.start("head", "bench-a", head=True)
        running.start("worker", "bench-b,bench-c", CHIPFIT_BENCH_CRASH_ON="bert-base-128")
        yield running
    finally:
        running.stop()


def _chipfit(cluster: Cluster, tmp_path: Path, *args: str, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    """The driver, as a user runs it: a chipfit process that holds no bench device itself."""
    env = _env(cluster.base_env, CHIPFIT_BENCH_DEVICES="", CHIPFIT_STORE=str(tmp_path / "runs.sqlite"))
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


def test_a_node_killed_mid_run_fails_only_its_cells(cluster, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    cluster.start("doomed", "bench-c", CHIPFIT_BENCH_SLEEP_S="120", CHIPFIT_BENCH_MARKERS=str(markers))
    spec = _spec(tmp_path, ["bench-a", "bench-b", "bench-c@doomed"], ["gemm-4096", "resnet-50", "mobilenet-v2"])
    driver = _chipfit(cluster, tmp_path, "run", str(spec), "--executor", "ray", "--address", cluster.address,
                      "--format", "json", background=True)
    try:
        deadline = time.monotonic() + 120
        while not list(markers.glob("bench-c-*")) and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.2)
        assert list(markers.glob("bench-c-*")), "the bench-c cell never started on node doomed"
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


def test_the_ray_executor_needs_an_address(cli, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert_bad_input(cli("measure", "localhost-cpu", "gemm-4096", "--executor", "ray"), "--address HOST:PORT",
                     "RAY_ADDRESS")


def test_no_cluster_at_the_address_is_bad_input(cli):
    assert_bad_input(cli("measure", "localhost-cpu", "gemm-4096", "--executor", "ray", "--address",
                         f"127.0.0.1:{_free_port()}"), "cannot join a Ray cluster there")


def test_the_shipped_fleet_spec_runs_and_says_which_nodes_are_missing(cluster, tmp_path):
    result = _chipfit(cluster, tmp_path, "run", str(ROOT / "specs" / "fleet.toml"), "--address", cluster.address,
                      "--format", "json")
    assert result.returncode == 0, result.stderr
    measured = _measured(json.loads(result.stdout))
    assert "no node named laptop in the Ray cluster" in measured[("localhost-cpu@laptop", "resnet-50")]["reason"]
    assert "head: " in measured[("localhost-cpu@laptop", "resnet-50")]["reason"]  # the nodes there are
