"""The ray executor on a real local Ray cluster, in a private network namespace, and its bad input.

The cluster cases (``tests/fleet_cases.py``: a head and other node processes, each holding
different bench devices, and chipfit's driver run as a user runs it) run in one pytest of their own
inside a fresh network namespace whose only interface is loopback (:mod:`netns`), so no Ray process
can bind to or talk over this machine's address; one of them checks every socket of the cluster and
its driver from inside. Each case is reported here as a test of its own, and afterwards no process
may be left in the namespace. The cluster tests are ``slow`` (``-m "not slow"`` leaves them out);
they skip, with the reason, where Ray is missing or no namespace can be made (``unshare`` refused).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

import netns
from ray_cluster import free_port
from support import ROOT, assert_bad_input

pytest.importorskip("ray", reason="the ray executor needs Ray: pip install 'chipfit[cluster]'")

CASES = Path(__file__).resolve().parent / "fleet_cases.py"

#: The longest the cluster cases may take together, in seconds.
CASES_TIMEOUT_S = 900


def _case_names() -> list[str]:
    tree = ast.parse(CASES.read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def _selected(session) -> list[str]:
    """The cases this pytest run selected (all of them where it selected none, e.g. only the leak check)."""
    chosen = [item.callspec.params["case"] for item in session.items
              if item.module.__name__ == __name__ and "case" in getattr(getattr(item, "callspec", None), "params", {})]
    return chosen or _case_names()


@pytest.fixture(scope="module")
def in_namespace(request, tmp_path_factory):
    """Run the cluster cases in a private network namespace; their outcomes by name, and what was left."""
    command = netns.prefix()
    if isinstance(command, str):
        pytest.skip(command)
    folder = tmp_path_factory.mktemp("fleet")
    junit, namespace_file = folder / "cases.xml", folder / "namespace"
    env = {**os.environ, netns.NAMESPACE_FILE: str(namespace_file)}
    cases = [f"{CASES}::{name}" for name in _selected(request.session)]
    try:
        run = subprocess.run([*command, sys.executable, "-m", "pytest", *cases, "-q", "-p", "no:cacheprovider",
                              "-o", "addopts=", f"--junitxml={junit}"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=CASES_TIMEOUT_S)
        output = run.stdout[-6000:] + run.stderr[-3000:]
    except subprocess.TimeoutExpired as error:
        output = f"the cluster cases ran past {CASES_TIMEOUT_S} s:\n{(error.stdout or b'')[-6000:]!r}"
    finally:  # whatever is still in the namespace was started by the cases: it is ours to end, by PID
        namespace = namespace_file.read_text() if namespace_file.exists() else None
        left = netns.descendants(netns.members(namespace)) if namespace else []
        for process in left:
            process.kill()
    outcomes: dict[str, tuple[str, str]] = {}
    if junit.exists():
        for case in ElementTree.parse(junit).iter("testcase"):
            problem = next(iter(case), None)
            outcomes[case.get("name")] = ((problem.tag, (problem.get("message") or "") + "\n" + (problem.text or ""))
                                          if problem is not None and problem.tag != "system-out" else ("passed", ""))
    return outcomes, [f"pid {process.pid}" for process in left], output


@pytest.mark.slow
@pytest.mark.parametrize("case", _case_names())
def test_on_a_cluster_in_a_private_network_namespace(in_namespace, case):
    outcomes, _, output = in_namespace
    assert case in outcomes, f"{case} did not run in the namespace:\n{output}"
    outcome, text = outcomes[case]
    if outcome == "skipped":
        pytest.skip(text.strip())
    assert outcome == "passed", f"{case} {outcome} in the namespace:\n{text[-6000:]}"


@pytest.mark.slow
def test_the_cluster_cases_leave_no_process_behind(in_namespace):
    outcomes, left, output = in_namespace
    assert outcomes, output
    assert left == [], f"processes left in the cluster's namespace (now killed): {left}"


def test_the_ray_executor_needs_an_address(cli, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert_bad_input(cli("measure", "localhost-cpu", "gemm-4096", "--executor", "ray"), "--address HOST:PORT",
                     "RAY_ADDRESS")


def test_no_cluster_at_the_address_is_bad_input(cli):
    assert_bad_input(cli("measure", "localhost-cpu", "gemm-4096", "--executor", "ray", "--address",
                         f"127.0.0.1:{free_port()}"), "cannot join a Ray cluster there")


def test_the_loopback_check_names_each_socket_outside_loopback():
    from collections import namedtuple

    address = namedtuple("addr", "ip port")
    connection = namedtuple("sconn", "laddr raddr status")

    class Process:
        pid = 7

        def name(self):
            return "raylet"

        def net_connections(self, kind):
            return [connection(address("::ffff:127.0.0.1", 1), address("127.0.0.1", 2), "ESTABLISHED"),
                    connection(address("::1", 3), (), "LISTEN"),
                    connection(address("192.0.2.2", 4), (), "LISTEN"),
                    connection(address("127.0.0.1", 5), address("192.0.2.9", 6), "ESTABLISHED")]

    problems = netns.outside_loopback([Process()])
    assert [problem.split(":")[0] for problem in problems] == ["pid 7 (raylet)"] * 2
    assert "192.0.2.2" in problems[0] and "192.0.2.9" in problems[1]


def test_loopback_comes_up_without_iproute2():
    command = netns.prefix()
    if isinstance(command, str):
        pytest.skip(command)
    unshare = command[:command.index(sys.executable)]  # a bare namespace: lo still down
    check = ("import sys; sys.path.insert(0, %r); import netns; assert not netns.isolated(); "
             "netns.shutil.which = lambda name: None; netns.os.access = lambda path, mode: False; "
             "netns.bring_loopback_up(); sys.exit(0 if netns.isolated() else 3)" % str(Path(netns.__file__).parent))
    result = subprocess.run([*unshare, sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
