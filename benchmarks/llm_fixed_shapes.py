"""chipfit's generation model against NVIDIA's published TensorRT-LLM throughputs at fixed lengths.

Run: ``python benchmarks/llm_fixed_shapes.py``

``benchmarks/data/trtllm_perf_overview.toml`` holds NVIDIA's ``trtllm-bench`` figures in FP8 at ten
fixed input/output lengths for three models (the source is in the file): Llama 3.3 70B on one H200 and
on two H100s in tensor parallelism, Llama 3.1 405B on eight H200s and on eight H100s (tensor parallel
8), and Llama 3.1 8B on one H200 and on one H100. Every request there has exactly the stated lengths, so the comparison tests the
model's prefill, decode, KV-cache and batching arithmetic with no data set's mean lengths in between
(MLPerf's are partly unconfirmed). For each shape it prints the published figure, chipfit's offline
estimate on the same split, the error, the batch chipfit chose and what bounds its decode step; then
the geometric-mean absolute error per system.
"""

from __future__ import annotations

import argparse
import math
import sys
import tomllib
from pathlib import Path

import attrs

DATA = Path(__file__).with_name("data") / "trtllm_perf_overview.toml"


def rows(data: dict):
    """(shape, system, published, device, workload, chipfit Result) for every model, shape and system of
    the data file (each ``[[model]]`` names chipfit's workload for it)."""
    from chipfit import catalogue as catalogue_module
    from chipfit import plugins
    from chipfit.cells import estimate_cell
    from chipfit.records import Scenario
    from chipfit.transformer import Requests

    pm = plugins.get_plugin_manager()
    catalogue = catalogue_module.collect(pm)
    for model in data["model"]:
        base = catalogue.workloads[model["workload"]]
        for shape in model["shape"]:
            requests = Requests(input_tokens=shape["input"], output_tokens=shape["output"],
                                dataset=f"fixed: {shape['input']} in, {shape['output']} out (trtllm-bench)")
            workload = attrs.evolve(base, requests=requests)
            for system, published in zip(model["systems"], shape["tokens_per_s"], strict=True):
                device = catalogue.devices[system["device"]]
                scenario = Scenario("offline", precision="fp8", count=system["count"],
                                    tensor_parallel=system["tensor_parallel"])
                yield shape, system, published, device, workload, estimate_cell(pm, device, workload, scenario)


def geomean_error(pairs) -> float:
    """Geometric-mean absolute error of (predicted, published) pairs, as a fraction."""
    pairs = list(pairs)
    return math.exp(sum(abs(math.log(p / a)) for p, a in pairs) / len(pairs)) - 1


def main(argv=None) -> int:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    data = tomllib.loads(DATA.read_text(encoding="utf-8"))
    print(f"source: {data['source']['publisher']}, {data['source']['document']}")
    header = (f"{'model':15} {'input/output':>13} {'system':24} {'published':>10} {'chipfit':>10} {'error':>7} "
              f"{'batch':>6}  bound")
    print(header)
    print("-" * len(header))
    by_system: dict[str, list] = {}
    for shape, system, published, _, workload, result in rows(data):
        name = f"{system['count']}x {system['device']} tp{system['tensor_parallel']}"
        if not result.ok:
            print(f"{workload.id:15} {shape['input']:>6}/{shape['output']:<6} {name:24} {published:>10} {'-':>10}  "
                  f"({result.reason[:60]})")
            continue
        predicted = result.metrics["output_tokens_per_s"]
        by_system.setdefault(f"{workload.id} on {name}", []).append((predicted, published))
        print(f"{workload.id:15} {shape['input']:>6}/{shape['output']:<6} {name:24} {published:>10} {predicted:>10.0f} "
              f"{(predicted - published) / published:>+7.0%} {result.metrics['batch']:>6}  {result.metrics['bound']}")
    print()
    for name, pairs in by_system.items():
        print(f"geometric-mean absolute error, {name}: {geomean_error(pairs):.0%} over {len(pairs)} shapes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
