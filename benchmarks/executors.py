"""The overhead per measured cell of the ray executor, against the local one, in the same run.

A measured cell here is a bench device (``tests/fleet_bench.py``) whose "measurement" takes no time,
so what is timed is the executor alone: the local executor calls ``chipfit_measure`` in this
process; the ray executor sends each cell as a task to a one-node Ray cluster started on this
machine (``ray start --head``, the bench devices as its resources) and waits for its row. The cluster
and this driver run in a private network namespace whose only interface is loopback
(``tests/netns.py``: the script re-runs itself under ``unshare --net``), so nothing talks over the
machine's address; where no namespace can be made it says why and stops. Printed:
seconds per cell for one device (cells in series, as a device measures one at a time) and for
three devices on the node (in parallel), the first cell, and the one-off costs of joining the cluster
and of asking the node for its devices (a worker starting and loading chipfit's plugins).
Run: python benchmarks/executors.py [--cells N]   (needs pip install 'chipfit[cluster]')
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICES = "bench-a,bench-b,bench-c"
os.environ.update(CHIPFIT_PLUGINS="fleet_bench", CHIPFIT_BENCH_DEVICES=DEVICES, RAY_USAGE_STATS_ENABLED="0")
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")]))
sys.path.insert(0, str(ROOT / "tests"))

from chipfit.catalogue import collect  # noqa: E402 - the environment above selects the plugins
from chipfit.executors import ExecutorOptions, LocalExecutor, MeasureTask  # noqa: E402
from chipfit.plugins import get_plugin_manager  # noqa: E402
from chipfit.records import Scenario  # noqa: E402
import netns  # noqa: E402 - tests/: the private network namespace


def tasks(devices, workload, count: int) -> list[MeasureTask]:
    """``count`` cells spread over ``devices`` in turn."""
    scenario = Scenario("single-stream")
    return [MeasureTask(index, "g", devices[index % len(devices)], workload, scenario, 0.1) for index in range(count)]


def timed(executor, cells: list[MeasureTask]) -> float:
    """Seconds to run every cell (every row must be ok)."""
    start = time.perf_counter()
    rows = [row for _, row in executor.run(cells)]
    elapsed = time.perf_counter() - start
    bad = [row.reason for row in rows if not row.ok]
    if bad:
        raise SystemExit(f"cells failed: {bad[:3]}")
    return elapsed


def line(label: str, cells: int, seconds: float, reference: float | None) -> float:
    """Print one figure: milliseconds per cell and the ratio to the reference."""
    per_cell = seconds / cells
    ratio = f"{per_cell / reference:8.1f}x" if reference else "      ref"
    print(f"{label:58} {cells:5d} cells {per_cell * 1e3:9.2f} ms/cell {ratio}")
    return per_cell


def main() -> None:
    """Start the cluster, time both executors, print the figures, stop the cluster."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=60)
    args = parser.parse_args()
    if not netns.isolated():  # run again, cluster and driver, in a network namespace of their own
        command = netns.prefix()
        if isinstance(command, str):
            raise SystemExit(f"benchmarks/executors.py: {command}")
        os.execvp(command[0], [*command, sys.executable, *sys.argv])
    from ray_cluster import Cluster

    try:
        from chipfit_ray.executor import RayExecutor
    except ImportError as error:
        raise SystemExit(f"needs Ray: pip install 'chipfit[cluster]' ({error})") from None
    pm = get_plugin_manager()
    catalogue = collect(pm)
    workload = catalogue.workloads["gemm-4096"]
    local = LocalExecutor(pm, catalogue)
    here = [catalogue.devices[ident] for ident in DEVICES.split(",")]
    timed(local, tasks(here, workload, 3))  # warm
    reference = line("local executor, this process", args.cells, timed(local, tasks(here, workload, args.cells)),
                     None)
    cluster = Cluster(dict(os.environ), num_cpus=2)
    try:
        cluster.start("bench", DEVICES, head=True)
        started = time.perf_counter()
        ray = RayExecutor(pm, catalogue, ExecutorOptions(address=cluster.address))
        joined = time.perf_counter() - started
        started = time.perf_counter()
        remote = ray.devices()
        described = time.perf_counter() - started
        one = [remote["bench-a"]]
        three = [remote[ident] for ident in DEVICES.split(",")]
        first = timed(ray, tasks(one, workload, 1))
        timed(ray, tasks(three, workload, 6))  # a worker per device warmed
        line("ray executor, one device (cells in series)", args.cells, timed(ray, tasks(one, workload, args.cells)),
             reference)
        line("ray executor, three devices on the node (in parallel)", args.cells,
             timed(ray, tasks(three, workload, args.cells)), reference)
        print(f"{'one-off: join the cluster':58} {joined * 1e3:9.0f} ms")
        print(f"{'one-off: ask the node for its devices (worker start)':58} {described * 1e3:9.0f} ms")
        print(f"{'first cell (on the worker that described the node)':58} {first * 1e3:9.0f} ms")
        ray.close()
    finally:
        cluster.stop()  # only the processes it started, by PID
        left = [pid for pid in netns.members(netns.namespace_of()) if pid != os.getpid()]
        if left:
            print(f"processes left in the namespace after the cluster stopped: {left}", file=sys.stderr)


if __name__ == "__main__":
    main()
