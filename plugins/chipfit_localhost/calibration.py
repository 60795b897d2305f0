"""Calibrating the model to this machine, and validating it on workloads the fit never saw.

Calibration measures GEMM per precision and STREAM triad (:mod:`chipfit_localhost.microbench`), then
single-operator graphs, one per class of operator (conv, depthwise conv, matmul; an elementwise pass
past the cache for memory), each class's efficiency measured directly. It then runs a calibration set
of real networks and fits, by a grid search on the squared log error, the two numbers left: a scale
on those efficiencies (a whole network sustains less than a lone operator) and the per-operator
overhead. The profile is saved for this machine; from then on ``localhost-cpu`` estimates are
``calibrated``.

Validation runs held-out networks and sets measured latency against the default and the calibrated
model, reporting each error and the geometric-mean absolute error, exp(mean |ln(model/measured)|) - 1.
"""

from __future__ import annotations

import datetime
import math
import tempfile
from collections.abc import Callable, Sequence

import attrs

from chipfit import model
from chipfit.records import Efficiency, Precision, Scenario

#: Networks the fit sees, and networks it does not (validation).
CALIBRATION_SET = ("resnet-50", "bert-base-128")
HELD_OUT = ("mobilenet-v2", "yolov3-416", "bert-base-384")

_SCALES = [0.3 + 0.05 * i for i in range(25)]  # 0.30 .. 1.50 of the measured efficiencies (each capped at 1)
_OVERHEADS = [0.0] + [10 ** (-8 + 0.25 * i) for i in range(21)]  # none, 10 ns .. 1 ms per operator


def _op_graphs():
    """One single-operator graph per class of operator, as the networks use them (shapes from ResNet,
    MobileNetV2 and BERT layers). ``elementwise`` is sized past the last-level cache: it measures memory."""
    from chipfit_onnx.graph import GraphBuilder

    def conv():
        g = GraphBuilder("conv", weights="random")
        g.output(g.conv(g.input("x", ["batch", 64, 56, 56]), 64, 64, 3))
        return g

    def depthwise():
        g = GraphBuilder("depthwise", weights="random")
        g.output(g.conv(g.input("x", ["batch", 144, 56, 56]), 144, 144, 3, groups=144))
        return g

    def matmul():
        g = GraphBuilder("matmul", weights="random")
        g.output(g.linear(g.input("x", ["batch", 128, 768]), 768, 3072, bias=False))
        return g

    def elementwise():
        g = GraphBuilder("elementwise", weights="random")
        g.output(g.node("Relu", [g.input("x", ["batch", 1 << 23])]))
        return g

    return {"conv": conv, "depthwise-conv": depthwise, "matmul": matmul, "elementwise": elementwise}


def measure_op_classes(device, *, budget: float, folder, progress=lambda message: None) -> tuple[dict, float | None]:
    """Compute efficiency per class of operator, and memory efficiency, from single-operator runs."""
    import onnx

    from chipfit_localhost.run import run_graph
    from chipfit_onnx.counting import count_graph

    classes, memory = {}, None
    peak = device.peak_ops[Precision.FP32]
    graphs = {}
    for name, build in _op_graphs().items():
        graph = build()
        graphs[name] = (f"{folder}/{name}.onnx", count_graph(graph.model(), where=name))
        onnx.save(graph.model(), graphs[name][0])
    best: dict[str, float] = {}
    for round_number in range(1, ROUNDS + 1):
        for name, (path, _) in graphs.items():
            progress(f"single-operator run: {name} (round {round_number} of {ROUNDS})")
            seconds = run_graph(path, batch=1, budget_s=budget)["summary"]["median_s"]
            best[name] = min(seconds, best.get(name, seconds))
    for name, (path, count) in graphs.items():
        seconds = best[name]
        if name == "elementwise":
            moved = sum(node.activation_bytes for node in count.nodes)
            memory = min(1.0, moved / seconds / device.memory_bandwidth)
        else:
            classes[name] = min(1.0, count.ops / seconds / peak)
    return classes, memory


def _log_error(predicted: float, measured: float) -> float:
    return math.log(predicted / measured)


def geomean_abs_error(pairs: Sequence[tuple[float, float]]) -> float:
    """exp(mean |ln(predicted / measured)|) - 1: 0.10 means the model is off by 10% on a typical workload."""
    return math.exp(sum(abs(_log_error(p, m)) for p, m in pairs) / len(pairs)) - 1


#: Rounds of measurement: workloads are measured round-robin and each keeps its lowest median, since
#: interference from a shared machine only ever adds time (timeit's reasoning).
ROUNDS = 2


def measure_latency(device, workload, budget: float) -> float:
    """Median single-stream latency of a workload on this machine (raises on a failed run)."""
    from chipfit_localhost import chipfit_measure

    result = chipfit_measure(device, workload, Scenario("single-stream"), budget)
    if not result.ok:
        raise RuntimeError(f"{workload.id}: {result.status}: {result.reason}")
    return result.metrics["latency_s"]


def measure_latencies(device, workloads: list, budget: float, progress, rounds: int = ROUNDS) -> dict[str, float]:
    """Each workload's lowest median latency over ``rounds`` interleaved rounds."""
    best: dict[str, float] = {}
    for round_number in range(1, rounds + 1):
        for workload in workloads:
            progress(f"measuring {workload.id} ({budget:g} s, round {round_number} of {rounds})")
            latency = measure_latency(device, workload, budget)
            best[workload.id] = min(latency, best.get(workload.id, latency))
    return best


def fit(device, measured: dict[str, float], workloads: dict, gemm_efficiency: dict[Precision, float],
        class_efficiency: dict[str, float] | None = None, memory: float | None = None) -> Efficiency:
    """The efficiencies that best predict the measured latencies (grid search on squared log error).

    Two numbers are fitted, a scale on the measured efficiencies (whole networks sustain less than a
    lone operator) and the per-operator overhead; the memory efficiency is measured, or fitted too
    when it is not given.
    """
    best, best_error = None, math.inf
    scenario = Scenario("single-stream")
    class_efficiency = class_efficiency or {}
    memories = [memory] if memory else [0.2 + 0.1 * i for i in range(9)]
    for scale in _SCALES:
        by_precision = {p: min(1.0, e * scale) for p, e in gemm_efficiency.items()}
        by_class = {c: min(1.0, e * scale) for c, e in class_efficiency.items()}
        compute = by_precision.get(Precision.FP32, min(1.0, 0.5 * scale))
        for memory_efficiency in memories:
            for overhead in _OVERHEADS:
                efficiency = Efficiency(compute, memory_efficiency, overhead, by_precision, by_class,
                                        origin="calibrated")
                trial = attrs.evolve(device, efficiency=efficiency)
                error = 0.0
                for ident, latency in measured.items():
                    predicted = model.estimate(trial, workloads[ident], scenario).metrics["latency_s"]
                    error += _log_error(predicted, latency) ** 2
                if error < best_error:
                    best, best_error = efficiency, error
    return best


def calibrate(catalogue, *, budget: float = 2.0, workloads: Sequence[str] = CALIBRATION_SET,
              progress: Callable[[str], None] = lambda message: None) -> dict:
    """Measure, fit and save this machine's calibration profile; return it."""
    from chipfit_localhost.detect import detect_cpu, machine_key
    from chipfit_localhost.microbench import run_all
    from chipfit_localhost.profile import local_cpu, save_profile

    cpu = detect_cpu()
    machine = machine_key(cpu)
    progress("micro-benchmarks: GEMM per precision, STREAM triad")
    benches = run_all(budget_s=max(budget / 2, 0.5), gpu=False)
    triad = next((b.rate for b in benches if b.name == "stream-triad"), None)
    profile = {"machine": machine, "created": datetime.date.today().isoformat(), "cpu": {**attrs.asdict(cpu), "flags": sorted(cpu.flags)},
               "microbench": [_bench_dict(b) for b in benches]}
    if triad:
        profile["memory_bandwidth"] = triad
    profile["measured_peaks"] = {b.name.removeprefix("gemm-"): b.rate for b in benches if b.name.startswith("gemm-")}
    device = local_cpu(profile, machine=machine)
    gemm_efficiency = {}
    for bench in benches:
        precision = bench.name.removeprefix("gemm-")
        if bench.name.startswith("gemm-") and precision in {str(p) for p in device.peak_ops}:
            gemm_efficiency[Precision(precision)] = min(1.0, bench.rate / device.peak_ops[Precision(precision)])
    with tempfile.TemporaryDirectory() as folder:
        classes, memory = measure_op_classes(device, budget=max(budget / 2, 0.5), folder=folder, progress=progress)
    profile["op_class_efficiency"], profile["memory_efficiency"] = classes, memory
    measured = measure_latencies(device, [catalogue.workload(i) for i in workloads], budget, progress)
    progress("fitting efficiencies")
    efficiency = fit(device, measured, catalogue.workloads, gemm_efficiency, classes, memory)
    profile["efficiency"] = {"compute": efficiency.compute, "memory": efficiency.memory,
                             "overhead_s": efficiency.overhead_s,
                             "by_precision": {str(p): e for p, e in efficiency.by_precision.items()},
                             "by_op_class": efficiency.by_op_class}
    profile["gemm_efficiency"] = {str(p): e for p, e in gemm_efficiency.items()}
    calibrated = local_cpu(profile, machine=machine)
    profile["fit"] = {ident: {"measured_s": latency,
                              "calibrated_s": model.estimate(calibrated, catalogue.workloads[ident],
                                                             Scenario("single-stream")).metrics["latency_s"]}
                      for ident, latency in measured.items()}
    profile["path"] = str(save_profile(machine, profile))
    return profile


def validate(catalogue, *, budget: float = 2.0, workloads: Sequence[str] = HELD_OUT,
             progress: Callable[[str], None] = lambda message: None) -> dict:
    """Held-out workloads: measured latency against the default and the calibrated model."""
    from chipfit_localhost.detect import detect_cpu, machine_key
    from chipfit_localhost.profile import load_profile, local_cpu

    machine = machine_key(detect_cpu())
    profile = load_profile(machine)
    calibrated = local_cpu(profile, machine=machine) if profile else None
    default = attrs.evolve(local_cpu(profile, machine=machine), efficiency=None)
    rows = []
    scenario = Scenario("single-stream")
    latencies = measure_latencies(default, [catalogue.workload(i) for i in workloads], budget, progress)
    for ident in workloads:
        workload = catalogue.workloads[ident]
        measured = latencies[ident]
        row = {"workload": ident, "measured_s": measured,
               "default_s": model.estimate(default, workload, scenario).metrics["latency_s"]}
        row["default_error"] = row["default_s"] / measured - 1
        if calibrated is not None:
            row["calibrated_s"] = model.estimate(calibrated, workload, scenario).metrics["latency_s"]
            row["calibrated_error"] = row["calibrated_s"] / measured - 1
        rows.append(row)
    summary = {"machine": machine, "calibrated": profile is not None, "rows": rows,
               "default_geomean_abs_error": geomean_abs_error([(r["default_s"], r["measured_s"]) for r in rows])}
    if calibrated is not None:
        summary["calibrated_geomean_abs_error"] = geomean_abs_error([(r["calibrated_s"], r["measured_s"]) for r in rows])
        summary["calibration_set"] = sorted(profile.get("fit", {}))
    return summary


def _bench_dict(bench) -> dict:
    return {"name": bench.name, "rate": bench.rate, "unit": bench.unit, "size": bench.size,
            "backend": bench.backend, "cv": bench.samples.cv}
