"""A local Ray cluster for the fleet tests and the executor benchmark: node processes on this machine.

Each node is ``ray start --block`` in a process group of its own, holding the bench devices
(``tests/fleet_bench.py``) that ``CHIPFIT_BENCH_DEVICES`` names. Run it only inside a private network
namespace (:mod:`netns`): :class:`Cluster` refuses to start elsewhere, so no Ray process ever listens
on, or talks over, the machine's own address. It stops only the processes it started (by their
PIDs, never ``ray stop``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import netns

TESTS = Path(__file__).resolve().parent
RAY = Path(sys.executable).parent / "ray"

#: Notice a dead node in about a second, not thirty.
FAST_HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "300", "RAY_health_check_failure_threshold": "3",
    "RAY_health_check_initial_delay_ms": "0", "RAY_health_check_timeout_ms": "300",
}


def free_port() -> int:
    """A TCP port nothing listens on now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(base: dict, **extra: str) -> dict:
    """``base`` and ``extra``, with the tests folder importable (the bench plugin) and no RAY_ADDRESS."""
    env = {**base, **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), *filter(None, [base.get("PYTHONPATH")])])
    env.pop("RAY_ADDRESS", None)
    return env


class Cluster:
    """Ray node processes started with ``ray start --block`` (each in its own process group)."""

    def __init__(self, base_env: dict, *, num_cpus: int = 1, health: dict | None = None) -> None:
        if not netns.isolated():
            raise RuntimeError("a test Ray cluster runs only in a private network namespace (tests/netns.py)")
        self.base_env = {**base_env, **(health or {}), "CHIPFIT_PLUGINS": "fleet_bench",
                         "RAY_USAGE_STATS_ENABLED": "0"}
        self.num_cpus = num_cpus
        self.temp = tempfile.mkdtemp(prefix="cfray", dir="/tmp")  # socket paths must stay short
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: dict[str, subprocess.Popen] = {}

    def _resources(self, env: dict, name: str) -> str:
        result = subprocess.run([sys.executable, "-m", "chipfit", "node-resources", "--node", name], env=env,
                                capture_output=True, text=True, check=True)
        return result.stdout.strip()

    def start(self, name: str, devices: str, *, head: bool = False, **extra: str) -> None:
        """Start node ``name`` holding ``devices`` (comma-separated) and wait until it has joined."""
        env = environment(self.base_env, CHIPFIT_BENCH_DEVICES=devices, **extra)
        command = [str(RAY), "start", "--block", "--num-cpus", str(self.num_cpus), "--node-ip-address",
                   "127.0.0.1", "--resources", self._resources(env, name)]
        if head:
            command += ["--head", "--port", str(self.port), "--temp-dir", self.temp, "--include-dashboard=false",
                        "--disable-usage-stats"]
        else:
            command += ["--address", self.address]
        log = open(Path(self.temp) / f"{name}.log", "w")  # noqa: SIM115 - kept open for the node's life
        self.nodes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.wait_for(lambda names: name in names, f"node {name} to join")

    def ask(self, expression: str) -> object:
        """The value (JSON) of a Python expression evaluated in a fresh driver joined to the cluster."""
        script = ("import json, ray; ray.init(address=%r, logging_level='ERROR', log_to_driver=False); "
                  "print(json.dumps(%s))" % (self.address, expression))
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                env=environment(self.base_env), timeout=60)
        if result.returncode != 0:
            raise RuntimeError(result.stderr[-2000:])
        return json.loads(result.stdout.strip().splitlines()[-1])

    def alive(self) -> set[str]:
        """The chipfit node names of the live nodes (empty while the cluster cannot be asked)."""
        try:
            return set(self.ask("[k.split(':', 1)[1] for n in ray.nodes() if n['Alive'] "
                                "for k in n['Resources'] if k.startswith('chipfit-node:')]"))
        except (RuntimeError, subprocess.TimeoutExpired):
            return set()

    def wait_for(self, condition, what: str, timeout: float = 90.0) -> None:
        """Wait until ``condition(alive node names)`` holds; the nodes' logs in the error otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self.alive()):
                return
            time.sleep(0.5)
        logs = {path.name: path.read_text()[-2000:] for path in Path(self.temp).glob("*.log")}
        raise AssertionError(f"timed out waiting for {what}; logs: {logs}")

    def processes(self) -> list:
        """Every process of the cluster now: the node processes and all their children (raylet, GCS, workers)."""
        return netns.descendants(process.pid for process in self.nodes.values())

    def kill(self, name: str) -> None:
        """Kill one node at once (SIGKILL to its process group), as a machine that loses power."""
        process = self.nodes.pop(name)
        children = netns.descendants([process.pid])
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        _kill(children)

    def stop(self) -> None:
        """Stop every node this cluster started (workers first, the head last) and whatever they started;
        remove its folder."""
        started = self.processes()
        for name in [name for name in self.nodes if name != "head"] + ["head"]:
            if name in self.nodes:
                process = self.nodes.pop(name)
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=20)
                except ProcessLookupError:
                    pass
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        _kill(started)
        shutil.rmtree(self.temp, ignore_errors=True)  # the nodes' logs and sockets: nothing outlives the cluster


def _kill(processes: list) -> None:
    """SIGKILL those of these processes (``psutil.Process``) still alive: a Ray process that outlived its node."""
    import psutil

    for process in processes:
        try:
            process.kill()  # psutil checks it is still the same process, not one that took its PID
        except psutil.NoSuchProcess:
            continue
