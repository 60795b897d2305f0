"""Calibrating the model to this machine, honestly: fit on some workloads, keep the fit only if it
predicts the others better than the defaults do.

Calibration measures GEMM per precision and the STREAM kernels (:mod:`chipfit_localhost.microbench`),
then single-operator graphs, one per class of operator (conv, depthwise conv, matmul; an elementwise
pass past the cache for memory), each class's efficiency measured directly. It then runs the
calibration networks and the held-out ones, interleaved, and fits on the calibration networks only
the two numbers left: a scale on those efficiencies (a whole network sustains less than a lone
operator) and the per-operator overhead, by a grid search on the squared log error refined between
grid points. The fitted profile is kept only where its error on the held-out networks
(:func:`chipfit.validation.summarize`'s geometric-mean absolute error) is below the defaults'; otherwise
the profile says so and ``localhost-cpu`` keeps the default efficiencies.

Warnings, printed and saved in the profile: a fit at the edge of its search range, an efficiency at
its bound of 1, a noisy machine (runs of one workload more than :data:`NOISY_CV` apart, or a load
or steal time that :func:`chipfit_localhost.load.is_high` calls high).
"""

from __future__ import annotations

from chipfit.units import duration

import datetime
import math
import tempfile
from collections.abc import Callable, Sequence

import attrs

from chipfit import model
from chipfit.measured_validation import DEFAULT_WORKLOADS
from chipfit.records import Efficiency, Precision, Scenario

#: Networks the fit sees, and networks it does not (validation).
CALIBRATION_SET = ("resnet-50", "bert-base-128")
HELD_OUT = DEFAULT_WORKLOADS  # the workloads chipfit validate measures by default

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
    """exp(mean |ln(predicted / measured)|) - 1 (:func:`chipfit.validation.summarize`'s figure)."""
    from chipfit.validation import summarize

    return summarize(pairs).geomean_abs_error


#: Rounds of measurement: workloads are measured round-robin and each keeps its lowest median, since
#: interference from a shared machine only ever adds time (timeit's reasoning).
ROUNDS = 2

#: Spread between rounds of one workload, (max - min) / min, above which the machine is called noisy,
#: as is a run whose samples' CV exceeds it (pyperf's 10% rule, :data:`chipfit_localhost.timing.UNSTABLE_CV`).
NOISY_CV = 0.10


def measure_latency(device, workload, budget: float) -> tuple[float, dict]:
    """Median single-stream latency of a workload on this machine, and the run's measurement record
    (raises RuntimeError on a failed run)."""
    from chipfit_localhost import chipfit_measure

    result = chipfit_measure(device, workload, Scenario("single-stream"), budget)
    if not result.ok:
        raise RuntimeError(f"{workload.id}: {result.status}: {result.reason}")
    return result.metrics["latency_s"], result.measurement


def measure_latencies(device, workloads: list, budget: float, progress, rounds: int = ROUNDS) -> dict[str, dict]:
    """Each workload's lowest median latency over ``rounds`` interleaved rounds, with every round's
    median, the largest samples' CV and the machine's load in each round."""
    runs: dict[str, dict] = {w.id: {"rounds_s": [], "cv": 0.0, "loads": []} for w in workloads}
    for round_number in range(1, rounds + 1):
        for workload in workloads:
            progress(f"measuring {workload.id} ({budget:g} s, round {round_number} of {rounds})")
            latency, record = measure_latency(device, workload, budget)
            run = runs[workload.id]
            run["rounds_s"].append(latency)
            run["cv"] = max(run["cv"], float(record.get("cv") or 0.0))
            run["loads"].append(record.get("load"))
    for run in runs.values():
        run["measured_s"] = min(run["rounds_s"])
        run["spread"] = max(run["rounds_s"]) / run["measured_s"] - 1
    return runs


def _predict(device, efficiency, workload) -> float:
    trial = attrs.evolve(device, efficiency=efficiency)
    return model.estimate(trial, workload, Scenario("single-stream")).metrics["latency_s"]


def _candidate(scale: float, overhead: float, memory_efficiency: float, gemm_efficiency, class_efficiency) -> Efficiency:
    by_precision = {p: min(1.0, e * scale) for p, e in gemm_efficiency.items()}
    by_class = {c: min(1.0, e * scale) for c, e in class_efficiency.items()}
    compute = by_precision.get(Precision.FP32, min(1.0, 0.5 * scale))
    return Efficiency(compute, memory_efficiency, overhead, by_precision, by_class, origin="calibrated")


def fit(device, measured: dict[str, float], workloads: dict, gemm_efficiency: dict[Precision, float],
        class_efficiency: dict[str, float] | None = None, memory: float | None = None) -> Efficiency:
    """The efficiencies that best predict the measured latencies (squared log error); see :func:`fit_with_warnings`."""
    return fit_with_warnings(device, measured, workloads, gemm_efficiency, class_efficiency, memory)[0]


def fit_with_warnings(device, measured: dict[str, float], workloads: dict, gemm_efficiency: dict[Precision, float],
                      class_efficiency: dict[str, float] | None = None,
                      memory: float | None = None) -> tuple[Efficiency, list[str]]:
    """Fit a scale on the measured efficiencies and the per-operator overhead; return them and warnings.

    A grid search on the squared log error (:data:`_SCALES` x :data:`_OVERHEADS`, and a memory
    efficiency grid when ``memory`` is not measured), then a refinement between the grid points around
    the best (halving steps in scale and in log overhead), so the result is not a grid point. A best
    fit on the edge of the search range, or an efficiency capped at 1, is a warning.
    """
    class_efficiency = class_efficiency or {}
    memories = [memory] if memory else [0.2 + 0.1 * i for i in range(9)]

    def error(scale: float, overhead: float, memory_efficiency: float) -> float:
        efficiency = _candidate(scale, overhead, memory_efficiency, gemm_efficiency, class_efficiency)
        return sum(_log_error(_predict(device, efficiency, workloads[i]), latency) ** 2 for i, latency in measured.items())

    best, best_error = None, math.inf
    for scale in _SCALES:
        for memory_efficiency in memories:
            for overhead in _OVERHEADS:
                trial_error = error(scale, overhead, memory_efficiency)
                if trial_error < best_error:
                    best, best_error = (scale, overhead, memory_efficiency), trial_error
    scale, overhead, memory_efficiency = best
    scale_step, log_step = 0.025, 0.125  # half the grid's spacing
    for _ in range(8):
        improved = False
        for d_scale, d_log in ((scale_step, 0), (-scale_step, 0), (0, log_step), (0, -log_step)):
            trial_scale = min(_SCALES[-1], max(_SCALES[0], scale + d_scale))
            trial_overhead = overhead * 10 ** d_log if overhead > 0 else (_OVERHEADS[1] if d_log > 0 else 0.0)
            trial_overhead = min(_OVERHEADS[-1], trial_overhead)
            trial_error = error(trial_scale, trial_overhead, memory_efficiency)
            if trial_error < best_error:
                scale, overhead, best_error, improved = trial_scale, trial_overhead, trial_error, True
        if not improved:
            scale_step, log_step = scale_step / 2, log_step / 2
    efficiency = _candidate(scale, overhead, memory_efficiency, gemm_efficiency, class_efficiency)
    warnings = []
    if scale in (_SCALES[0], _SCALES[-1]):
        warnings.append(f"the fitted efficiency scale {scale:.2f} is at the edge of its search range "
                        f"{_SCALES[0]:.2f}..{_SCALES[-1]:.2f}: the model cannot fit these runs well")
    if overhead >= _OVERHEADS[-1] or (overhead == 0.0 and len(measured) > 0):
        warnings.append(f"the fitted overhead {duration(overhead)}/operator is at the edge of its search range "
                        f"0..{_OVERHEADS[-1] * 1e6:.0f} µs")
    capped = sorted([str(p) for p, e in gemm_efficiency.items() if e * scale >= 1.0]
                    + [c for c, e in class_efficiency.items() if e * scale >= 1.0])
    if capped:
        warnings.append(f"efficiency at its bound of 1 for {', '.join(capped)}: the peak it is a fraction of "
                        "is probably low (a clock read below the boost clock)")
    if not memory and memory_efficiency in (memories[0], memories[-1]):
        warnings.append(f"the fitted memory efficiency {memory_efficiency:.2f} is at the edge of its search range")
    return efficiency, warnings


def noise_warnings(runs: dict[str, dict], benches=()) -> list[str]:
    """Warnings for a noisy machine: rounds of a workload far apart, unstable samples, high load or steal."""
    from chipfit_localhost.load import describe, is_high

    warnings = []
    for ident, run in runs.items():
        if run["spread"] > NOISY_CV or run["cv"] > NOISY_CV:
            warnings.append(f"noisy machine: {ident}'s rounds differ by {run['spread']:.0%} and its samples' CV "
                            f"reached {run['cv']:.0%} (threshold {NOISY_CV:.0%})")
    busy = [load for run in runs.values() for load in run["loads"] if is_high(load)]
    if busy:
        worst = max(busy, key=lambda load: (load.get("load_1m") or 0.0))
        warnings.append(f"busy machine: {len(busy)} of the runs had a high load (worst: {describe(worst)})")
    unstable = [bench.name for bench in benches if bench.samples.cv > NOISY_CV]
    if unstable:
        warnings.append(f"noisy micro-benchmarks (CV over {NOISY_CV:.0%}): {', '.join(unstable)}")
    return warnings


def _held_out_rows(default, calibrated, workloads: dict, runs: dict[str, dict], idents: Sequence[str]) -> list[dict]:
    from chipfit.validation import signed_error

    rows = []
    for ident in idents:
        measured = runs[ident]["measured_s"]
        row = {"workload": ident, "measured_s": measured, "spread": runs[ident]["spread"],
               "default_s": _predict(default, None, workloads[ident])}
        row["default_error"] = signed_error(row["default_s"], measured)
        if calibrated is not None:
            row["calibrated_s"] = _predict(calibrated, calibrated.efficiency, workloads[ident])
            row["calibrated_error"] = signed_error(row["calibrated_s"], measured)
        rows.append(row)
    return rows


def calibrate(catalogue, *, budget: float = 2.0, workloads: Sequence[str] = CALIBRATION_SET,
              held_out: Sequence[str] = HELD_OUT, rounds: int = ROUNDS,
              progress: Callable[[str], None] = lambda message: None) -> dict:
    """Measure, fit on ``workloads``, check on ``held_out``; save this machine's profile and return it.

    The profile keeps the fitted efficiencies (``kept: "calibrated"``) only when their geometric-mean
    absolute error on the held-out workloads is below the defaults'; otherwise ``kept: "defaults"``,
    no efficiencies, and ``localhost-cpu`` keeps modelling with the defaults. ``warnings`` lists what
    makes the fit doubtful (edges, bounds, a noisy machine).
    """
    from chipfit.validation import summarize
    from chipfit_localhost.detect import detect_cpu, machine_key
    from chipfit_localhost.microbench import run_all
    from chipfit_localhost.profile import local_cpu, save_profile

    if set(workloads) & set(held_out):
        raise ValueError(f"a workload cannot be both fitted on and held out: {sorted(set(workloads) & set(held_out))}")
    cpu = detect_cpu()
    machine = machine_key(cpu)
    progress("micro-benchmarks: GEMM per precision, STREAM copy, scale, add, triad")
    benches = run_all(budget_s=max(budget / 2, 0.5), gpu=False)
    triad = next((b.rate for b in benches if b.name == "stream-triad"), None)
    profile = {"machine": machine, "created": datetime.date.today().isoformat(),
               "cpu": {**attrs.asdict(cpu), "flags": sorted(cpu.flags)},
               "microbench": [_bench_dict(b) for b in benches],
               "calibration_set": list(workloads), "held_out_set": list(held_out)}
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
    profile["gemm_efficiency"] = {str(p): e for p, e in gemm_efficiency.items()}
    every = [catalogue.workload(i) for i in (*workloads, *held_out)]
    runs = measure_latencies(device, every, budget, progress, rounds=rounds)
    progress("fitting efficiencies on the calibration workloads")
    measured = {ident: runs[ident]["measured_s"] for ident in workloads}
    efficiency, warnings = fit_with_warnings(device, measured, catalogue.workloads, gemm_efficiency, classes, memory)
    warnings += noise_warnings(runs, benches)
    default = attrs.evolve(device, efficiency=None)
    fitted = attrs.evolve(device, efficiency=efficiency)
    profile["fit"] = {ident: {"measured_s": latency,
                              "calibrated_s": _predict(fitted, efficiency, catalogue.workloads[ident]),
                              "default_s": _predict(default, None, catalogue.workloads[ident])}
                      for ident, latency in measured.items()}
    rows = _held_out_rows(default, fitted, catalogue.workloads, runs, held_out)
    errors = {"default": summarize((r["default_s"], r["measured_s"]) for r in rows),
              "calibrated": summarize((r["calibrated_s"], r["measured_s"]) for r in rows)}
    profile["held_out"] = rows
    profile["held_out_error"] = {name: summary.as_dict() for name, summary in errors.items()}
    profile["fitted_efficiency"] = _efficiency_dict(efficiency)
    if errors["calibrated"].geomean_abs_error < errors["default"].geomean_abs_error:
        profile["kept"] = "calibrated"
        profile["efficiency"] = profile["fitted_efficiency"]
    else:
        profile["kept"] = "defaults"
        warnings.append(f"the fit predicts the held-out workloads worse than the defaults "
                        f"({errors['calibrated'].geomean_abs_error:.1%} against {errors['default'].geomean_abs_error:.1%} "
                        "geometric-mean absolute error): the defaults are kept")
    profile["warnings"] = warnings
    profile["path"] = str(save_profile(machine, profile))
    return profile


def _efficiency_dict(efficiency: Efficiency) -> dict:
    return {"compute": efficiency.compute, "memory": efficiency.memory, "overhead_s": efficiency.overhead_s,
            "by_precision": {str(p): e for p, e in efficiency.by_precision.items()},
            "by_op_class": dict(efficiency.by_op_class)}


def _bench_dict(bench) -> dict:
    return {"name": bench.name, "rate": bench.rate, "unit": bench.unit, "size": bench.size,
            "backend": bench.backend, "cv": bench.samples.cv}
