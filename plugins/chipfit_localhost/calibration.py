"""Calibrating the model to this machine, and validating it on workloads the fit never saw.

Calibration measures GEMM per precision and STREAM triad (:mod:`chipfit_localhost.microbench`),
then runs a calibration set of real networks and fits, by a grid search on the squared log error,
the three numbers the roofline needs beyond the datasheet: how much of the GEMM rate whole networks
sustain (a scale on the per-precision GEMM efficiencies), the memory efficiency, and the
per-operator overhead. The profile is saved for this machine; from then on ``localhost-cpu``
estimates are ``calibrated``.

Validation runs held-out networks and sets measured latency against the default and the calibrated
model, reporting each error and the geometric-mean absolute error, exp(mean |ln(model/measured)|) - 1.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence

import attrs

from chipfit import model
from chipfit.records import Efficiency, Precision, Scenario

#: Networks the fit sees, and networks it does not (validation).
CALIBRATION_SET = ("resnet-50", "bert-base-128")
HELD_OUT = ("mobilenet-v2", "yolov3-416", "bert-base-384")

_SCALES = [0.1 + 0.05 * i for i in range(23)]  # 0.10 .. 1.20 of the GEMM efficiency
_MEMORY = [0.2 + 0.1 * i for i in range(9)]  # 0.2 .. 1.0 of the STREAM bandwidth
_OVERHEADS = [10 ** (-7 + 0.25 * i) for i in range(17)]  # 0.1 µs .. 1 ms per operator


def _log_error(predicted: float, measured: float) -> float:
    return math.log(predicted / measured)


def geomean_abs_error(pairs: Sequence[tuple[float, float]]) -> float:
    """exp(mean |ln(predicted / measured)|) - 1: 0.10 means the model is off by 10% on a typical workload."""
    return math.exp(sum(abs(_log_error(p, m)) for p, m in pairs) / len(pairs)) - 1


def measure_latency(device, workload, budget: float) -> float:
    """Median single-stream latency of a workload on this machine (raises on a failed run)."""
    from chipfit_localhost import chipfit_measure

    result = chipfit_measure(device, workload, Scenario("single-stream"), budget)
    if not result.ok:
        raise RuntimeError(f"{workload.id}: {result.status}: {result.reason}")
    return result.metrics["latency_s"]


def fit(device, measured: dict[str, float], workloads: dict, gemm_efficiency: dict[Precision, float]) -> Efficiency:
    """The efficiencies that best predict the measured latencies (grid search, squared log error)."""
    best, best_error = None, math.inf
    scenario = Scenario("single-stream")
    for scale in _SCALES:
        by_precision = {p: min(1.0, e * scale) for p, e in gemm_efficiency.items()}
        compute = by_precision.get(Precision.FP32, min(1.0, 0.5 * scale))
        for memory in _MEMORY:
            for overhead in _OVERHEADS:
                efficiency = Efficiency(compute, memory, overhead, by_precision, origin="calibrated")
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
    profile = {"machine": machine, "created": datetime.date.today().isoformat(), "cpu": attrs.asdict(cpu),
               "microbench": [_bench_dict(b) for b in benches]}
    if triad:
        profile["memory_bandwidth"] = triad
    device = local_cpu(profile, machine=machine)
    gemm_efficiency = {}
    for bench in benches:
        precision = bench.name.removeprefix("gemm-")
        if bench.name.startswith("gemm-") and precision in {str(p) for p in device.peak_ops}:
            gemm_efficiency[Precision(precision)] = min(1.0, bench.rate / device.peak_ops[Precision(precision)])
    measured = {}
    for ident in workloads:
        progress(f"measuring {ident} ({budget:g} s)")
        measured[ident] = measure_latency(device, catalogue.workloads[ident], budget)
    progress("fitting efficiencies")
    efficiency = fit(device, measured, catalogue.workloads, gemm_efficiency)
    profile["efficiency"] = {"compute": efficiency.compute, "memory": efficiency.memory,
                             "overhead_s": efficiency.overhead_s,
                             "by_precision": {str(p): e for p, e in efficiency.by_precision.items()}}
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
    for ident in workloads:
        progress(f"measuring {ident} ({budget:g} s)")
        workload = catalogue.workloads[ident]
        measured = measure_latency(default, workload, budget)
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
