"""How many modelled cells per second a large sweep reaches: thousands of synthetic devices.

Two paths, measured in the same run: the model called directly (``chipfit.model.estimate``) and
the whole runner (plugin manager, hook dispatch, derived metrics, baseline ratios). The workload
is YOLOv3-416 (107 operators) from the in-tree plugin, and a one-operator GEMM for reference.
Run: python benchmarks/sweep.py [--devices N]
"""

from __future__ import annotations

import argparse
import random
import time

from chipfit import Device, Scenario, model, runner
from chipfit.catalogue import collect
from chipfit.plugins import get_plugin_manager
from chipfit.spec import GroupSpec, Spec


def synthetic_devices(count: int, seed: int = 1) -> list[Device]:
    """Devices with random but plausible figures, edge to data centre."""
    rng = random.Random(seed)
    devices = []
    for index in range(count):
        fp32 = 10 ** rng.uniform(11, 14)
        devices.append(Device(
            id=f"synthetic-chip-{index}", name=f"Synthetic chip {index}", vendor="Synthetic",
            kind=rng.choice(["cpu", "gpu", "asic", "npu"]), segment=rng.choice(["edge", "datacenter"]),
            peak_ops={"fp32": fp32, "fp16": fp32 * 4, "int8": fp32 * 8},
            memory_bandwidth=10 ** rng.uniform(10, 12.5), memory_capacity=10 ** rng.uniform(9, 11),
            power=10 ** rng.uniform(0.5, 3), year=2024, capabilities=["inference", "training"],
            price=10 ** rng.uniform(2, 4.5), interconnect_bandwidth=10 ** rng.uniform(10, 12),
        ))
    return devices


def rate(label: str, cells: int, seconds: float, reference: float | None) -> float:
    """Print one line: cells per second and the ratio to the reference."""
    per_second = cells / seconds
    ratio = f"{per_second / reference:6.2f}x" if reference else "   ref"
    print(f"{label:52} {cells:7d} cells {seconds:7.2f} s {per_second:10.0f} cells/s {ratio}")
    return per_second


def main() -> None:
    """Run the sweep and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=2000)
    args = parser.parse_args()
    pm = get_plugin_manager()
    catalogue = collect(pm)
    devices = synthetic_devices(args.devices)
    yolo, gemm = catalogue.workloads["yolov3-416"], catalogue.workloads["gemm-4096"]
    scenarios = [Scenario("single-stream", precision="int8"), Scenario("offline", batch=8, precision="fp16")]

    reference = None
    for workload in (gemm, yolo):
        start = time.perf_counter()
        for device in devices:
            for scenario in scenarios:
                model.estimate(device, workload, scenario)
        label = f"model.estimate, {workload.id} ({len(workload.operators)} ops)"
        measured = rate(label, len(devices) * len(scenarios), time.perf_counter() - start, reference)
        reference = reference or measured

    for device in devices:
        catalogue.devices[device.id] = device
    spec = Spec(title="sweep", baseline=devices[0].id, groups=[
        GroupSpec(id="ss", devices=[d.id for d in devices], workloads=["yolov3-416"], precision="int8"),
        GroupSpec(id="train", devices=[d.id for d in devices[: len(devices) // 4]], workloads=["yolov3-coco-train"],
                  scenario="training", batch=16, count=8, precision="fp16"),
    ])
    start = time.perf_counter()
    report = runner.run(spec, catalogue, pm)
    rate("runner.run (hooks, derived metrics, baseline)", len(report.rows), time.perf_counter() - start, reference)
    start = time.perf_counter()
    for device in devices:
        model.estimate(device, yolo, Scenario("server", precision="int8", latency_target=0.04))
    rate("model.estimate, server scenario (batch search)", len(devices), time.perf_counter() - start, reference)


if __name__ == "__main__":
    main()
