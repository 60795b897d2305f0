"""A plugin for the fleet tests: bench devices a node holds, named by ``CHIPFIT_BENCH_DEVICES``.

Each node of the test cluster loads it (``CHIPFIT_PLUGINS=fleet_bench``) with its own list of
devices, so the nodes hold different devices. A "measurement" sleeps ``CHIPFIT_BENCH_SLEEP_S``
seconds (default 0), kills its own process for the workload ``CHIPFIT_BENCH_CRASH_ON``, writes a marker file when ``CHIPFIT_BENCH_MARKERS`` names a folder, and reports
the process that ran it, so a test sees where each cell ran.
"""

import os
import time
from pathlib import Path

import chipfit
from chipfit import Device, Result

ALL = ("bench-a", "bench-b", "bench-c")


def _held():
    return [name.strip() for name in os.environ.get("CHIPFIT_BENCH_DEVICES", "").split(",") if name.strip()]


@chipfit.hookimpl
def chipfit_register_devices(register):
    for ident in ALL:
        register(Device(
            id=ident, name=f"Bench device {ident[-1].upper()}", vendor="Bench", kind="npu", segment="edge",
            peak_ops={"fp32": 1e12}, memory_bandwidth=100e9, memory_capacity=8e9, power=10.0, year=2025,
            capabilities=["inference"], sources={"peak_ops": "made up for the fleet tests"},
            measurable=ident in _held(),
        ))


@chipfit.hookimpl
def chipfit_measure(device, workload, scenario, budget):
    if device.id not in ALL or device.id not in _held():
        return None
    markers = os.environ.get("CHIPFIT_BENCH_MARKERS")
    if markers:
        Path(markers, f"{device.id}-{workload.id}-{os.getpid()}").write_text(str(os.getpid()))
    if workload.id == os.environ.get("CHIPFIT_BENCH_CRASH_ON"):
        os._exit(3)  # the process measuring dies (a driver bug, a segfault in a vendor SDK)
    time.sleep(float(os.environ.get("CHIPFIT_BENCH_SLEEP_S", "0")))
    latency = 1e-3
    return Result(device.id, workload.id, scenario, "measured", "ok",
                  metrics={"latency_s": latency, "throughput_sps": 1 / latency},
                  measurement={"pid": os.getpid(), "held": _held()})
