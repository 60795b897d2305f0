"""How many configurations a second the fit search evaluates: the vectorised model against the scalar one.

Two searches, each a device x precision x batch x count, on the same synthetic devices
(benchmarks/sweep.py's): data-parallel training of ResNet-50 (the all-reduce over the
interconnect), and offline ResNet-50 inference on every split of each count (tensor 1-8 x pipeline
1-64 with ``count // (tensor x pipeline)`` data-parallel replicas). Both paths run in the same process:

- scalar: ``chipfit.model.estimate`` per configuration (the reference; a random sample of them),
- vectorised: ``chipfit.vectorised`` over every configuration at once (numpy),

and the vectorised times are checked against the scalar ones on the sample. Then ``chipfit fit`` on
the in-tree catalogue is timed after start-up (catalogue and workload loaded, one search run first).
Each figure is the median of ``--repeats`` runs, with the spread (min..max): the machine may be shared.
Run: python benchmarks/fit.py [--devices N] [--repeats R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import synthetic_devices  # noqa: E402

from chipfit import fit, model, vectorised  # noqa: E402
from chipfit.catalogue import collect  # noqa: E402
from chipfit.plugins import get_plugin_manager  # noqa: E402
from chipfit.records import Precision, Scenario  # noqa: E402

PRECISIONS = [Precision.FP32, Precision.FP16, Precision.INT8]
BATCHES = np.array([2 ** k for k in range(9)])  # 1 … 256
COUNTS = np.arange(1, 65)  # 1 … 64
TENSORS = [1, 2, 4, 8]
PIPELINES = [1, 2, 4, 8, 16, 32, 64]


def vectorised_pass(devices, workload):
    """Every configuration's time to train (and whether the batch fits memory); the count evaluated."""
    kernels = vectorised.KernelArrays.of(workload, training=True)
    rows = vectorised.DeviceArrays.of(devices, workload, PRECISIONS, kernels, training=True)
    step = vectorised.batch_times(rows, kernels, BATCHES, 1 + workload.backward_factor)
    need = vectorised.footprints(workload, PRECISIONS, BATCHES, True)
    fits = vectorised.fits_memory(rows, need, len(PRECISIONS))
    train = vectorised.training_times(rows, step, workload, PRECISIONS, BATCHES, COUNTS)
    train = np.where(fits[:, :, None], train, np.nan)
    return train, train.size


def split_pass(devices, workload):
    """Every split configuration's offline throughput (nan: does not fit or too few devices), and the best of
    them per device-precision and count as a search picks it (timed with the rest); the count evaluated."""
    kernels = vectorised.KernelArrays.of(workload)
    rows = vectorised.DeviceArrays.of(devices, workload, PRECISIONS, kernels)
    split = vectorised.split_inference(rows, kernels, workload, PRECISIONS, BATCHES, TENSORS, PIPELINES)
    group = np.array(TENSORS)[:, None] * np.array(PIPELINES)[None, :]
    evaluated = 0
    best = np.full((len(rows.valid), len(COUNTS)), np.nan)
    for n, count in enumerate(COUNTS):
        throughput = split.throughput(int(count))
        evaluated += int((group <= count).sum()) * len(rows.valid) * len(BATCHES)
        flat = throughput.reshape(len(rows.valid), -1)
        best[:, n] = np.where(np.isnan(flat).all(axis=1), np.nan, np.nanmax(np.nan_to_num(flat, nan=-1.0), axis=1))
    return (split, best), evaluated


def spread(values: list[float]) -> str:
    """``median (min..max)``."""
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}..{max(values):,.0f})"


def race(label: str, note: str, vector, cases: list, scalar, value, key: str, scalar_name: str, repeats: int) -> None:
    """Time a vectorised pass against the scalar model on sampled cases, in the same run; check that they agree
    (a case the scalar model refuses is nan in the arrays); print both rates, their ratio and the largest
    difference."""
    vector_rates, scalar_rates = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        arrays, evaluated = vector()
        vector_rates.append(evaluated / (time.perf_counter() - start))
        start = time.perf_counter()
        results = [scalar(case) for case in cases]
        scalar_rates.append(len(cases) / (time.perf_counter() - start))
    worst = 0.0
    for case, result in zip(cases, results):
        got = value(arrays, case)
        if result.ok:
            worst = max(worst, abs(got / result.metrics[key] - 1))
        else:
            assert np.isnan(got), (case, result.reason)
    print(f"{label} = {evaluated:,} configurations" + (f" {note}" if note else ""))
    print(f"vectorised: {spread(vector_rates)} configurations/s")
    print(f"scalar ({scalar_name}): {spread(scalar_rates)} configurations/s")
    print(f"ratio (medians): {statistics.median(vector_rates) / statistics.median(scalar_rates):,.0f}x; largest "
          f"relative difference on {len(cases)} sampled configurations: {worst:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scalar-sample", type=int, default=3000, help="configurations the scalar path models")
    args = parser.parse_args()

    pm = get_plugin_manager()
    catalogue = collect(pm)
    workload = catalogue.workload("resnet-50-imagenet-train")
    devices = synthetic_devices(args.devices)
    rng = random.Random(7)
    sample = [(rng.randrange(len(devices)), rng.randrange(len(PRECISIONS)), rng.randrange(len(BATCHES)),
               rng.randrange(len(COUNTS))) for _ in range(args.scalar_sample)]

    race(f"workload: {workload.id} ({len(workload.operators)} operators); {len(devices)} synthetic devices x "
         f"{len(PRECISIONS)} precisions x {len(BATCHES)} batches x counts 1-{COUNTS[-1]}",
         "(data-parallel training)", lambda: vectorised_pass(devices, workload), sample,
         lambda case: model.estimate(devices[case[0]], workload, Scenario(
             "training", int(BATCHES[case[2]]), PRECISIONS[case[1]], int(COUNTS[case[3]]))),
         lambda train, case: train[case[0] * len(PRECISIONS) + case[1], case[2], case[3]],
         "time_to_train_s", "chipfit.model.estimate", args.repeats)

    # the split search: offline inference, every tensor x pipeline split of each count
    inference = catalogue.workload("resnet-50")
    split_sample = [(rng.randrange(len(devices)), rng.randrange(len(PRECISIONS)), rng.randrange(len(BATCHES)),
                     rng.randrange(len(TENSORS)), rng.randrange(len(PIPELINES)), rng.randrange(len(COUNTS)))
                    for _ in range(args.scalar_sample)]
    split_sample = [s for s in split_sample if TENSORS[s[3]] * PIPELINES[s[4]] <= COUNTS[s[5]]]

    def named_split(case):
        d, p, b, t, q, n = case
        named = TENSORS[t] > 1 or PIPELINES[q] > 1
        return model.estimate(devices[d], inference, Scenario(
            "offline", int(BATCHES[b]), PRECISIONS[p], int(COUNTS[n]),
            tensor_parallel=TENSORS[t] if named else None, pipeline_parallel=PIPELINES[q] if named else None))

    race(f"workload: {inference.id} offline; {len(devices)} synthetic devices x {len(PRECISIONS)} precisions x "
         f"{len(BATCHES)} batches x counts 1-{COUNTS[-1]} x every split (tensor {TENSORS[0]}-{TENSORS[-1]} x "
         f"pipeline {PIPELINES[0]}-{PIPELINES[-1]} within the count)", "", lambda: split_pass(devices, inference),
         split_sample, named_split,
         lambda arrays, case: arrays[0].throughput(int(COUNTS[case[5]]))[case[0] * len(PRECISIONS) + case[1], case[2],
                                                                          case[3], case[4]],
         "throughput_sps", "chipfit.model.estimate, the split named", args.repeats)

    # chipfit fit on the in-tree catalogue, after start-up (plugins, catalogue and workload loaded)
    asked = fit.FitQuery("mobilenet-v2", fps=30, segments=("edge",), by="power", precisions=("any",))
    catalogue.workload(asked.workload)

    evaluate = fit.evaluator(pm, catalogue, asked.costs)
    time_fit(asked, catalogue, evaluate, args.repeats,
             "chipfit fit mobilenet-v2 --fps 30 --segment edge --by power --precision any")
    serving = fit.FitQuery("llama-3.1-70b", scenario="server", ttft_s=2.0, tpot_s=0.2, min_tokens_per_s=20000,
                           precisions=("fp8", "bf16"), max_count=32, by="cost-per-token")
    time_fit(serving, catalogue, evaluate, args.repeats,
             "chipfit fit llama-3.1-70b --scenario server --ttft-ms 2000 --tpot-ms 200 --min-tokens-per-s 20000 "
             "--precision fp8,bf16 --max-count 32 --by cost-per-token")


def time_fit(asked, catalogue, evaluate, repeats: int, command: str) -> None:
    """Time one fit search and its report on the in-tree catalogue (scalar model, the hook path), after one
    untimed search (what the plugins load lazily on first use is start-up)."""
    fit.search(asked, catalogue, evaluate)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        answer = fit.search(asked, catalogue, evaluate)
        fit.report(answer)
        seconds.append(time.perf_counter() - start)
    print(f"{command} (in-tree catalogue, {answer.configurations_evaluated} configurations): "
          f"{statistics.median(seconds) * 1e3:.0f} ms ({min(seconds) * 1e3:.0f}..{max(seconds) * 1e3:.0f}) "
          "after start-up")


if __name__ == "__main__":
    main()
