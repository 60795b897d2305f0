"""The ``ray`` executor: routes measured cells to the nodes that hold their devices.

The driver joins a running cluster (``--address``), reads which node holds which device from the
nodes' ``chipfit-*`` resources, and asks each node for its own records of them. Each measured cell
becomes a task needing ``chipfit-device:ID`` (one unit: a device measures one cell at a time), and
``chipfit-node:NAME`` too where the spec names a node (``ID@NODE``). At most one cell per device
is in flight, so a cell's time limit counts from when it could start. Faults become rows:

- a node that leaves the cluster: its cells in flight and those waiting for it are ``failed``;
- a task that raises, or whose worker dies: ``failed`` with Ray's reason;
- a cell that outlives its time limit (``--cell-timeout``): cancelled, ``failed``;
- a device no node holds: ``unsupported`` (the runner asks :meth:`RayExecutor.unreachable`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from chipfit import fleet
from chipfit.catalogue import Catalogue
from chipfit.errors import ChipfitError
from chipfit.executors import ExecutorOptions, MeasureTask
from chipfit.fleet import Placement
from chipfit.records import Device, Result, Source, Status, split_locator
from chipfit.serialize import WireError, structure, unstructure

#: How long the driver waits for every node to describe its devices, in seconds.
DESCRIBE_TIMEOUT_S = 120.0

#: How long the driver tries to reach the cluster's address before giving up, in seconds.
CONNECT_TIMEOUT_S = 10.0

#: How often the driver checks that the nodes it waits on are alive, in seconds.
POLL_S = 0.5

#: Fraction of a node's ``chipfit-node:NAME`` resource a pinned task takes (it only pins, never excludes).
_PIN = 0.001

#: Model files larger than this are not sent to nodes: they must be at the same path there.
MAX_SHIPPED_BYTES = 2 * 1024**3


def default_timeout(budget: float) -> float:
    """A cell's time limit on a node unless --cell-timeout says: room to start a worker and build the graph."""
    return 120.0 + 20.0 * budget


@attrs.define
class _Node:
    name: str
    ray_id: str
    devices: list[str]
    records: dict[str, Device] = attrs.field(factory=dict)
    environment: dict[str, Any] = attrs.field(factory=dict)
    problem: str = ""


@attrs.define
class _Running:
    task: MeasureTask
    route: Placement
    ref: Any
    limit: float
    deadline: float


class RayExecutor:
    """Measured cells on the nodes of a Ray cluster (see the module's docs)."""

    name = "ray"

    def __init__(self, pm, catalogue: Catalogue, options: ExecutorOptions) -> None:
        try:
            import ray
        except ImportError:
            raise ChipfitError("the ray executor needs Ray: pip install 'chipfit[cluster]'") from None
        self.ray = ray
        self.catalogue = catalogue
        self.cell_timeout_s = options.cell_timeout_s
        self.address = options.address or os.environ.get("RAY_ADDRESS")
        if not self.address:
            raise ChipfitError("the ray executor joins a running Ray cluster: give --address HOST:PORT (or auto) or "
                               "set RAY_ADDRESS; start the cluster with 'ray start' on each node (README: Run across "
                               "machines)")
        _check_reachable(self.address)
        # Ray prints cluster events (a node marked dead) on the driver's stdout from a thread of its own;
        # while the executor is open they go to stderr, so that stdout holds only the report
        self._stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            ray.init(address=self.address, log_to_driver=False, logging_level=logging.ERROR,
                     configure_logging=True, namespace="chipfit")
        except BaseException as error:  # ConnectionError, RuntimeError, ValueError: all mean "no cluster there"
            sys.stdout = self._stdout
            if not isinstance(error, Exception):
                raise  # Ctrl-C
            raise ChipfitError(f"--address {self.address}: cannot join a Ray cluster there: "
                               f"{type(error).__name__}: {error}") from None
        self._nodes: dict[str, _Node] | None = None

    # --- the cluster's devices -----------------------------------------------------------------

    def _alive(self) -> dict[str, _Node]:
        """The live chipfit nodes (those with a ``chipfit-node:NAME`` resource), by name."""
        out: dict[str, _Node] = {}
        for info in self.ray.nodes():
            name, devices = fleet.held(info.get("Resources") or {})
            if not (info.get("Alive") and name):
                continue
            if name in out:  # two machines with one name: neither can be told apart, so neither is used
                out[name].devices = []
                out[name].problem = (f"two nodes of the cluster are named {name}: give each its own "
                                     "(chipfit node-resources --node NAME)")
                continue
            out[name] = _Node(name, info["NodeID"], devices)
        return out

    def nodes(self) -> dict[str, _Node]:
        """The chipfit nodes with their own records of the devices they hold (asked once)."""
        if self._nodes is None:
            from chipfit_ray import node as on_node

            nodes = self._alive()
            describe = self.ray.remote(num_cpus=0, max_retries=0)(on_node.describe)
            pending = {describe.options(resources={fleet.NODE_PREFIX + name: _PIN}).remote(found.devices): found
                       for name, found in nodes.items() if not found.problem}
            deadline = time.monotonic() + DESCRIBE_TIMEOUT_S
            while pending and time.monotonic() < deadline:
                ready, _ = self.ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    found = pending.pop(ref)
                    try:
                        answer = self.ray.get(ref)
                    except Exception as error:  # the node's chipfit or plugins are broken: its devices are out
                        found.problem = f"node {found.name} could not describe its devices: {_reason(error)}"
                        continue
                    try:
                        found.records = {ident: structure(data, Device, where=f"node {found.name}: device {ident}")
                                         for ident, data in answer["devices"].items()}
                    except WireError as error:  # another chipfit's records: its devices are out
                        found.problem = f"node {found.name} described its devices in another form: {error}"
                        continue
                    found.environment = answer["environment"]
                    if answer["missing"]:
                        found.problem = (f"node {found.name} advertises {', '.join(answer['missing'])} but its "
                                         "plugins cannot measure them")
                if pending and not set(self._alive()) >= {found.name for found in pending.values()}:
                    for ref, found in list(pending.items()):
                        if found.name not in self._alive():
                            found.problem = f"node {found.name} left the cluster"
                            pending.pop(ref)
            for ref, found in pending.items():
                self.ray.cancel(ref, force=True)
                found.problem = f"node {found.name} did not describe its devices within {DESCRIBE_TIMEOUT_S:g} s"
            self._nodes = nodes
        return self._nodes

    def devices(self) -> dict[str, Device]:
        """The node's record of every device a node holds under ``ID@NODE``, and under ``ID`` where every
        node that holds it agrees on it (each record keeps its plain id)."""
        out: dict[str, Device] = {}
        by_id: dict[str, list[tuple[str, Device]]] = {}
        for found in self.nodes().values():
            for ident, record in found.records.items():
                out[str(Placement(ident, found.name))] = _as_node(record, found.name)
                by_id.setdefault(ident, []).append((found.name, record))
        for ident, held in by_id.items():
            advertised = [found for found in self.nodes().values() if ident in found.devices]
            if len(advertised) == len(held) and all(record == held[0][1] for _, record in held):
                out[ident] = _as_node(held[0][1], held[0][0]) if len(held) == 1 else held[0][1]
        return out

    def unreachable(self, ident: str) -> str | None:
        """Why no node measures ``ident`` now; None for an id that no node and no plugin knows (a typo)."""
        placement = Placement.parse(ident)
        device, node = placement.device, placement.node
        nodes = self.nodes()
        holders = [found for found in nodes.values() if device in found.records]
        listing = "; ".join(f"{found.name}: {', '.join(found.records) or 'no device'}" for found in nodes.values())
        known = device in self.catalogue.devices or any(device in found.devices for found in nodes.values())
        if node is not None:  # DEVICE@NODE: a node that is not there now only makes its rows unsupported
            if not known:
                return None  # no plugin here and no node knows the device: a misspelt id (exit 2)
            if node not in nodes:
                return f"no node named {node} in the Ray cluster at {self.address} (nodes: {listing or 'none'})"
            if nodes[node].problem and device in nodes[node].devices:
                return nodes[node].problem
            return f"node {node} does not hold {device} (it holds: {', '.join(nodes[node].records) or 'nothing'})"
        if len(holders) > 1:
            return (f"nodes {', '.join(found.name for found in holders)} hold different devices called {device}: "
                    f"name one as {device}@NODE")
        problems = [found.problem for found in nodes.values() if device in found.devices and found.problem]
        if problems:
            return "; ".join(problems)
        if device not in self.catalogue.devices:
            return None
        return f"no node of the Ray cluster at {self.address} holds {device} (nodes: {listing or 'none'})"

    # --- running cells -------------------------------------------------------------------------

    def run(self, tasks: list[MeasureTask], progress: Callable[[str], None] | None = None
            ) -> Iterator[tuple[MeasureTask, Result]]:
        """Send each cell to its device's node, at most one per device at a time; yield rows as they come."""
        if not tasks:
            return
        from chipfit_ray import node as on_node

        remote = self.ray.remote(num_cpus=0, max_retries=0)(on_node.measure)
        queues: dict[Placement, deque[MeasureTask]] = {}
        for task in tasks:
            queues.setdefault(task.placement, deque()).append(task)
        models: dict[str, Any] = {}
        running: dict[Any, _Running] = {}
        done, total = 0, len(tasks)
        nodes_checked = 0.0
        shown = None
        try:
            while queues or running:
                busy = {flight.route for flight in running.values()}
                for route in [route for route in queues if route not in busy]:
                    task = queues[route].popleft()
                    if not queues[route]:
                        del queues[route]
                    model = self._model(task, models)
                    if isinstance(model, str):
                        done += 1
                        yield task, _failed(task, model)
                        continue
                    resources = {fleet.DEVICE_PREFIX + route.device: 1.0}
                    if route.node:
                        resources[fleet.NODE_PREFIX + route.node] = _PIN
                    ref = remote.options(resources=resources).remote(route.device, task.name,
                                                                     unstructure(task.workload),
                                                                     unstructure(task.scenario), task.budget, model)
                    limit = self.cell_timeout_s or default_timeout(task.budget)
                    running[ref] = _Running(task, route, ref, limit, time.monotonic() + limit)
                if progress and (done, len(running)) != shown:
                    shown = (done, len(running))
                    progress(f"measuring {total} cell(s) on the Ray cluster at {self.address}: {done} done, "
                             f"{len(running)} running")
                ready, waiting = self.ray.wait(list(running), num_returns=1, timeout=POLL_S) if running else ([], [])
                if ready and waiting:  # every other row already back, without waiting again
                    ready += self.ray.wait(waiting, num_returns=len(waiting), timeout=0)[0]
                for ref in ready:
                    flight = running.pop(ref)
                    done += 1
                    yield flight.task, self._collect(flight)
                now = time.monotonic()
                for ref, flight in list(running.items()):
                    if now > flight.deadline:
                        self.ray.cancel(ref, force=True)
                        del running[ref]
                        done += 1
                        yield flight.task, _failed(flight.task, f"timed out after {flight.limit:g} s on the Ray cluster "
                                                                "(--cell-timeout); the task was cancelled")
                if now - nodes_checked > 2 * POLL_S:
                    nodes_checked = now
                    for task, reason in self._orphans(running, queues):
                        done += 1
                        yield task, _failed(task, reason)
        except BaseException:  # Ctrl-C (or the driver failing): leave nothing running on the nodes
            for ref in running:
                self.ray.cancel(ref, force=True)
            raise

    def _model(self, task: MeasureTask, models: dict[str, Any]) -> Any:
        """The model file to send with a cell (an object ref), None for none, or why it cannot go (a str)."""
        graph = task.workload.graph
        target = split_locator(graph)[0]
        if not graph or target.startswith("reference:"):
            return None  # every node builds chipfit's reference graphs itself
        if target not in models:
            models[target] = self._ship(Path(target))
        return models[target]

    def _ship(self, path: Path) -> Any:
        """A self-contained model file in the object store; None where nodes must read it at its path."""
        try:
            size = path.stat().st_size
        except OSError:
            return None  # not here: the nodes may have it (a shared file system)
        if size > MAX_SHIPPED_BYTES:
            return f"{path}: {size / 1e9:.1f} GB is too large to send to a node; put it at the same path there"
        if path.suffix.lower() != ".onnx":
            return self.ray.put(path.read_bytes())  # another plugin's format: sent as it is
        import onnx

        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as error:  # noqa: BLE001 - a file the node will fail to read says so in its row
            return f"{path}: cannot read the model file to send it: {error}"
        if any(tensor.data_location == onnx.TensorProto.EXTERNAL for tensor in model.graph.initializer):
            return None  # weights in other files: the nodes must see the same path
        return self.ray.put(path.read_bytes())

    def _collect(self, flight: _Running) -> Result:
        """A finished task's row; a task that failed in Ray becomes a failed row saying why."""
        try:
            data = self.ray.get(flight.ref)
        except Exception as error:
            return _failed(flight.task, _reason(error))
        try:
            return structure(data, Result, where="the node's row")
        except WireError as error:
            return _failed(flight.task, f"the node returned something other than a row: {error}")

    def _orphans(self, running: dict[Any, _Running], queues: dict) -> Iterator[tuple[MeasureTask, str]]:
        """Cells whose device no live node holds any more: cancelled, each with the reason."""
        alive = self._alive()

        def gone(route: Placement) -> str | None:
            device, node = route.device, route.node
            if node is not None:
                if node not in alive:
                    return f"node {node} left the cluster before the cell finished; the other cells went on"
                if device not in alive[node].devices:
                    return f"node {node} no longer holds {device} (it restarted without it)"
                return None
            if not any(device in found.devices for found in alive.values()):
                return f"no node holding {device} is left in the cluster; the other cells went on"
            return None

        for ref, flight in list(running.items()):
            if reason := gone(flight.route):
                self.ray.cancel(ref, force=True)
                del running[ref]
                yield flight.task, reason
        for route in list(queues):
            if reason := gone(route):
                for task in queues.pop(route):
                    yield task, reason

    def environment(self) -> dict[str, Any]:
        """Each node's host, versions and plugins, and the cluster's address."""
        return {"cluster": self.address,
                "nodes": {name: found.environment for name, found in (self._nodes or {}).items()}}

    def close(self) -> None:
        """Leave the cluster (it keeps running)."""
        try:
            if self.ray.is_initialized():
                self.ray.shutdown()
        finally:
            sys.stdout = self._stdout


def _as_node(record: Device, node: str) -> Device:
    """A node's record of its device, its "this machine" wording naming the node (the id stays the device's)."""
    efficiency = record.efficiency
    if efficiency is not None and "this machine" in efficiency.origin:
        efficiency = attrs.evolve(efficiency, origin=efficiency.origin.replace("this machine", f"node {node}"))
    return attrs.evolve(record, efficiency=efficiency, name=record.name.replace("This machine", f"Node {node}"))


def _check_reachable(address: str) -> None:
    """Fail fast where nothing listens at HOST:PORT (Ray itself retries for minutes)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms: Ray resolves them
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        raise ChipfitError(f"--address {address}: cannot join a Ray cluster there: nothing answers "
                           f"({error.strerror or error}); is 'ray start --head' running on that host?") from None


def _failed(task: MeasureTask, reason: str) -> Result:
    return Result(task.name, task.workload.id, task.scenario, Source.MEASURED, Status.FAILED,
                  reason=reason, plugin="chipfit_ray")


def _reason(error: BaseException) -> str:
    """Ray's error, shortened to its first line, with its kind."""
    text = str(error).strip().splitlines()
    first = next((line for line in text if line.strip()), "")
    return f"{type(error).__name__}: {first}"[:400]
