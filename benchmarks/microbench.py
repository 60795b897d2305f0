"""Microbenchmarks of this machine: what the harness measures, and whether it measures it well.

Prints the detected CPU and its peaks with their derivations; GEMM fp32/fp64 through the harness
beside NumPy's own matmul timed the plain way (a best-of-N perf_counter loop, no harness) and the
ratio (goal: the harness's median rate >= 90% of the plain best); STREAM copy and triad; int8 and
fp16 GEMM through ONNX Runtime; and on a machine with PyTorch + CUDA, GPU GEMM in bf16, fp16,
tf32, fp32 and int8 plus device-to-device copy bandwidth. Each row shows the spread (CV) and the
95% CI of the rate from the median's CI. Never asserts; prints figures.

    PYTHONPATH=plugins python benchmarks/microbench.py [--budget 1.0] [--json FILE] [--no-gpu]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

try:
    import chipfit_localhost  # noqa: F401
except ImportError:  # run from a checkout without PYTHONPATH=plugins
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

import numpy as np

from chipfit_localhost import microbench as mb
from chipfit_localhost.detect import compute_cores, cpu_peaks, detect_cpu, detect_gpus, machine_key


def si(value: float, unit: str) -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


def row(result: mb.BenchResult, peak: float | None = None) -> str:
    low, high = result.rate_ci
    unit = "B/s" if result.unit == "B/s" else ("OP/s" if "int8" in result.name else "FLOP/s")
    s = result.samples
    of_peak = f"{result.rate / peak:6.1%} of peak" if peak else " " * 14
    return (f"  {result.name:18s} {si(result.rate, unit):>14s}  {of_peak}  CI95 [{si(low, unit)}, {si(high, unit)}]"
            f"  cv {s.cv:.1%}  n={s.n} block={s.block} stop={s.stop}  n={result.size} thr={result.threads}"
            f" {result.backend}" + ("  UNSTABLE" if s.unstable else ""))


def plain_numpy_gemm(precision: str, n: int, budget_s: float) -> dict:
    """NumPy's matmul timed the plain way: warm-up, then a perf_counter loop; best and median."""
    dtype = {"fp32": np.float32, "fp64": np.float64}[precision]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=out)
    times = []
    deadline = time.perf_counter() + budget_s
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < 1000):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - start)
    work = 2.0 * n**3
    return {"n": n, "calls": len(times), "best_rate": work / min(times), "median_rate": work / float(np.median(times))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per benchmark (default 1.0)")
    parser.add_argument("--json", metavar="FILE", help="write every figure, raw samples and environment")
    parser.add_argument("--no-gpu", action="store_true", help="skip the GPU benchmarks")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    cpu = detect_cpu()
    detect_s = time.perf_counter() - started
    peaks = cpu_peaks(cpu)
    started = time.perf_counter()
    gpus = detect_gpus()
    gpu_detect_s = time.perf_counter() - started

    print(f"machine  {machine_key(cpu)}   (detect_cpu {detect_s * 1e3:.0f} ms, detect_gpus {gpu_detect_s * 1e3:.0f} ms)")
    print(f"cpu      {cpu.brand or '?'} ({cpu.vendor}, {cpu.arch}); {cpu.physical_cores} cores / "
          f"{cpu.logical_cores} threads, {cpu.affinity_cores} usable -> {compute_cores(cpu)} compute cores; "
          f"{cpu.max_hz / 1e9:.3g} GHz; governor {cpu.governor or 'n/a'}")
    l2 = f"{cpu.l2_bytes / 2**10:.0f} KiB/core" if cpu.l2_bytes else "?"
    l3 = f"{cpu.l3_bytes / 2**20:.0f} MiB" if cpu.l3_bytes else "?"
    print(f"caches   L2 {l2}, L3 {l3}; RAM {cpu.memory_bytes / 2**30:.1f} GiB; "
          f"SIMD {' '.join(cpu.summary()['simd_flags'])}")
    print(f"versions python {platform.python_version()}, numpy {np.__version__}"
          + "".join(f", {m} {v}" for m, v in _versions().items()))
    print("peaks (derivations)")
    for precision, (rate, text) in peaks.items():
        print(f"  {precision:5s} {text}")
    for gpu in gpus:
        print(f"gpu {gpu.index}    {gpu.name}: {gpu.memory_bytes / 2**30:.0f} GiB, "
              f"{gpu.sm_count or '?'} SMs, power limit {gpu.power_limit_w or '?'} W, driver {gpu.driver or '?'}")

    results: list[mb.BenchResult] = []
    comparisons = {}
    unsupported = {}

    print(f"\nGEMM: harness (median) vs plain NumPy loop (best-of-N), budget {args.budget:g} s each")
    for precision in ("fp32", "fp64"):
        n = mb.default_gemm_n(precision)
        plain = plain_numpy_gemm(precision, n, args.budget)
        result = mb.gemm(precision, n, budget_s=args.budget)
        results.append(result)
        ratio = result.rate / plain["best_rate"]
        comparisons[precision] = {**plain, "harness_rate": result.rate, "harness_best_rate": result.best_rate,
                                  "ratio_harness_median_to_plain_best": ratio,
                                  "ratio_medians": result.rate / plain["median_rate"]}
        print(row(result, peaks.get(precision, (None,))[0]))
        print(f"  {'':18s} plain np.matmul: best {si(plain['best_rate'], 'FLOP/s')}, median "
              f"{si(plain['median_rate'], 'FLOP/s')} over {plain['calls']} calls -> harness/plain-best "
              f"{ratio:.1%} (goal >= 90%), median/median {result.rate / plain['median_rate']:.1%}")

    print("\nGEMM through ONNX Runtime (CPU EP)")
    for precision in ("int8", "fp16"):
        try:
            result = mb.gemm(precision, budget_s=args.budget, verify=True)
        except mb.Unsupported as error:
            unsupported[f"gemm-{precision}"] = str(error)
            print(f"  gemm-{precision:13s} unsupported: {error}")
            continue
        results.append(result)
        print(row(result, peaks.get(precision, (None,))[0]))

    print("\nSTREAM (bytes counted as STREAM does; one thread per usable core)")
    for kind in ("copy", "triad"):
        result = mb.stream(kind, budget_s=args.budget)
        results.append(result)
        print(row(result))
    print(f"  {results[-1].notes}")

    if not args.no_gpu:
        print("\nGPU (PyTorch + CUDA; per-call CUDA events, L2 flushed between GEMM calls)")
        if not mb.cuda_available():
            print("  no PyTorch with CUDA here: skipped")
        else:
            for precision in mb.GPU_GEMM_PRECISIONS:
                try:
                    result = mb.gpu_gemm(precision, budget_s=args.budget)
                except mb.Unsupported as error:
                    unsupported[f"gpu-gemm-{precision}"] = str(error)
                    print(f"  gpu-gemm-{precision:9s} unsupported: {error}")
                    continue
                results.append(result)
                print(row(result))
            try:
                synced = mb.gpu_gemm("bf16", budget_s=args.budget, timer="sync")
                results.append(synced)
                print(row(synced) + "  (host clock + synchronize, no flush)")
                copy = mb.gpu_stream(budget_s=args.budget)
                results.append(copy)
                print(row(copy))
            except mb.Unsupported as error:
                print(f"  unsupported: {error}")

    if args.json:
        document = {
            "machine": machine_key(cpu),
            "cpu": cpu.summary(),
            "peaks": {p: {"rate": r, "derivation": t} for p, (r, t) in peaks.items()},
            "gpus": [_attrs_dict(gpu) for gpu in gpus],
            "versions": {"python": platform.python_version(), "numpy": np.__version__, **_versions()},
            "budget_s": args.budget,
            "gemm_vs_plain_numpy": comparisons,
            "unsupported": unsupported,
            "results": [r.to_dict(raw=True) for r in results],
        }
        Path(args.json).write_text(json.dumps(document, indent=2))
        print(f"\nwrote {args.json}")
    return 0


def _attrs_dict(value) -> dict:
    import attrs

    return attrs.asdict(value)


def _versions() -> dict[str, str]:
    found = {}
    for module in ("onnxruntime", "torch"):
        if mb._find_spec(module) is None:
            continue
        try:
            found[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001
            continue
    return found


if __name__ == "__main__":
    sys.exit(main())
