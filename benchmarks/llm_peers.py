"""chipfit's language-model figures beside the peers' (GenZ, llm-analysis) and the published ones.

Run: ``python benchmarks/llm_peers.py [--venv DIR] [--no-peers]``

For every LLM row of the published record (``core/chipfit/data/published.toml``: the MLPerf
Inference, MLPerf Training and paper rows of the workloads of ``chipfit_transformer``, modelled as
``chipfit validate --published`` models them) it prints the published figure, chipfit's estimate and
its error, and what GenZ (``genz-llm``) and llm-analysis (``llm-analysis``) give on the same case:
the same request lengths, batch, split and server headroom as chipfit's, each peer twice, at its own
defaults (100% of peak compute and bandwidth) and at chipfit's efficiencies for the device (``@eff``:
each peer's compute and memory rates scaled by chipfit's compute and memory efficiencies), so that only
the kernel models differ. Rows a default parameter of chipfit was derived from are marked ``*`` and
left out of the summaries (chipfit's error on them is zero by construction). A second table does the same for NVIDIA's published
TensorRT-LLM throughputs at fixed input/output lengths (``benchmarks/data/trtllm_perf_overview.toml``,
see ``benchmarks/llm_fixed_shapes.py``): cases whose request lengths are exact, unlike MLPerf's data
set means, some of which are unconfirmed. The peers are installed from PyPI into a virtual
environment of their own (``--venv``, default ``~/.cache/chipfit/llm-peers``), never into the
project's; each peer runs in a child process on the cases as JSON. A peer that will not install or
run is reported with the reason, and its column stays empty: no number is made up for it.
At the end: the geometric-mean absolute error of each tool over the rows it answered.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import textwrap
import tomllib
import venv
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).parent))

#: PyPI distributions of the peers (their own dependencies come with them).
PEERS = {"genz": "genz-llm", "llm-analysis": "llm-analysis"}
#: The columns: each peer at its own defaults (ideal: 100% of peak compute and bandwidth), and at chipfit's
#: efficiencies for the device (``@eff``), so that only the kernel models differ.
COLUMNS = {"genz": ("genz", ""), "genz@eff": ("genz", "efficiency"),
           "llm-analysis": ("llm-analysis", ""), "llm-an.@eff": ("llm-analysis", "efficiency")}

#: Datasheet figures the peers are given for each catalogue device: taken from chipfit's catalogue so all
#: three tools see the same hardware.
_RUNNER = textwrap.dedent('''
    import json, sys, traceback
    peer = sys.argv[1]
    # "efficiency": run at chipfit's efficiencies for the device instead of the peer's own ideal defaults
    at_efficiency = len(sys.argv) > 2 and sys.argv[2] == "efficiency"
    cases = json.load(sys.stdin)
    out = []
    try:
        if peer == "genz":
            from GenZ import decode_moddeling, prefill_moddeling
        else:
            from llm_analysis.analysis import LLMAnalysis
            from llm_analysis.config import (ParallelismConfig, get_dtype_config_by_name,
                                             get_model_config_by_name, GPUConfig)
    except Exception as error:
        print(json.dumps({"error": f"import failed: {type(error).__name__}: {error}"}))
        sys.exit(0)
    # each peer's own configuration of the model, from the list it ships (GenZ has no GPT-J; llm-analysis
    # no Mixtral, and its Llama 2 70B is upstage's fine-tune of the same shape)
    # llm-analysis has no Llama 3: its Llama 2 70B stands for Llama 3.x 70B (the same layers, widths and
    # heads; only the vocabulary differs: 32,000 against 128,256, about 1% of the weights)
    MODEL_NAMES = {"genz": {"llama-2-70b": "meta-llama/Llama-2-70B", "mixtral-8x7b": "mistralai/Mixtral-8x7B",
                            "llama-3.1-70b": "meta-llama/Llama-3.1-70B", "llama-3.1-8b": "meta-llama/Llama-3.1-8B",
                            "llama-3.1-405b": "meta-llama/Llama-3.1-405B"},
                   "llm-analysis": {"llama-2-70b": "upstage_Llama-2-70b-instruct-v2",
                                    "gpt-j-6b": "EleutherAI_gpt-j-6b",
                                    "llama-3.1-70b": "upstage_Llama-2-70b-instruct-v2"}}
    for case in cases:
        name = MODEL_NAMES[peer].get(case["model"])
        if name is None or case["metric"] != "output_tokens_per_s":
            why = "no such model in its list" if name is None else f"{case['metric']} is not one of its outputs"
            out.append({"id": case["id"], "value": None, "why": why})
            continue
        try:
            tp = case["count"]
            batch = case["batch"]
            if peer == "genz":
                # GenZ's system_eff sets compute and memory alike: chipfit's two efficiencies scale the two
                # rates instead (the same arithmetic as GenZ's own efficiencies, each applied to its own rate)
                compute, memory = ((case["compute_efficiency"], case["memory_efficiency"]) if at_efficiency
                                   else (1.0, 1.0))
                system = {"Flops": case["peak_tflops"] * compute, "Memory_size": case["memory_gb"],
                          "Memory_BW": case["bandwidth_gbs"] * memory, "ICN": case["interconnect_gbs"],
                          "real_values": True}
                bits = {"fp8": "fp8", "int8": "int8", "bf16": "bf16", "fp16": "bf16"}[case["precision"]]
                eff = {}
                prefill = prefill_moddeling(model=name, batch_size=batch, input_tokens=case["input_tokens"],
                                            system_name=system, bits=bits, tensor_parallel=tp, debug=False, **eff)
                decode = decode_moddeling(model=name, batch_size=batch, Bb=case["beams"],
                                          input_tokens=case["input_tokens"] + case["output_tokens"] // 2,
                                          output_tokens=case["output_tokens"], system_name=system, bits=bits,
                                          tensor_parallel=tp, debug=False, **eff)
                prefill_s = prefill["Latency"] / 1e3
                step_s = decode["Latency"] / 1e3
            else:
                model = get_model_config_by_name(name)
                gpu = GPUConfig(name=case["device"], mem_per_GPU_in_GB=case["memory_gb"],
                                hbm_bandwidth_in_GB_per_sec=case["bandwidth_gbs"],
                                intra_node_bandwidth_in_GB_per_sec=case["interconnect_gbs"],
                                intra_node_min_message_latency=8e-06, peak_fp16_TFLOPS=case["fp16_tflops"],
                                peak_i8_TFLOPS=case["peak_tflops"], peak_i4_TFLOPS=2 * case["peak_tflops"],
                                inter_node_bandwidth_in_GB_per_sec=50)
                dtype = get_dtype_config_by_name("w8a8e16" if case["precision"] in ("fp8", "int8") else "w16a16e16")
                eff = ({"flops_efficiency": case["compute_efficiency"],
                        "hbm_memory_efficiency": case["memory_efficiency"]} if at_efficiency else {})
                analysis = LLMAnalysis(model, gpu, dtype, ParallelismConfig(tp_size=tp), **eff)
                summary = analysis.inference(batch_size_per_gpu=batch, seq_len=case["input_tokens"],
                                             num_tokens_to_generate=case["output_tokens"])
                prefill_s = summary["prefill_latency"]  # the whole batch's prompts
                step_s = summary["decode_latency"]  # one token for every sequence of the batch
            # the same continuous-batching accounting (and server headroom) chipfit uses: only the kernel models differ
            request_s = prefill_s / batch + case["output_tokens"] * case["beams"] * step_s / batch
            out.append({"id": case["id"],
                        "value": case["load"] * case["replicas"] * case["output_tokens"] / request_s})
        except Exception as error:
            out.append({"id": case["id"], "value": None,
                        "why": f"{type(error).__name__}: {str(error)[:120]}"})
    print(json.dumps({"results": out}))
''')


def _chipfit_rows():
    """The LLM rows of the published record and chipfit's estimate of each, modelled as
    ``chipfit validate --published`` models them (:func:`chipfit.published_check.model_row`)."""
    from chipfit import catalogue as catalogue_module
    from chipfit import plugins, published, published_check

    pm = plugins.get_plugin_manager()
    catalogue = catalogue_module.collect(pm)
    rows = []
    for row in published.load():
        workload = catalogue.workloads.get(row.workload)
        if workload is None or workload.transformer is None or row.device not in catalogue.devices:
            continue
        modelled = published_check.model_row(catalogue, pm, row)
        if isinstance(modelled, str):
            continue
        workload, result = modelled
        predicted = result.metrics.get(row.metric) if result.ok else None
        rows.append((row, catalogue.devices[row.device], workload, result, predicted))
    return rows


@attrs.frozen
class FixedShapeRow:
    """One published fixed-length figure (``benchmarks/data/trtllm_perf_overview.toml``) as a row."""

    id: str
    device: str
    count: int
    tensor_parallel: int
    value: float
    metric: str = "output_tokens_per_s"
    precision: str = "fp8"
    scenario: str = "offline"


def _fixed_shape_rows():
    """The fixed-length rows and chipfit's estimate of each (the cases of ``llm_fixed_shapes.py``)."""
    import llm_fixed_shapes

    data = tomllib.loads(llm_fixed_shapes.DATA.read_text(encoding="utf-8"))
    rows = []
    for shape, system, published, device, workload, result in llm_fixed_shapes.rows(data):
        row = FixedShapeRow(f"trtllm-{workload.id.removeprefix('llama-')}-{system['count']}x{device.id}-"
                            f"tp{system['tensor_parallel']}-{shape['input']}-{shape['output']}", device.id, system["count"],
                            system["tensor_parallel"], float(published))
        rows.append((row, device, workload, result, result.metrics.get(row.metric) if result.ok else None))
    return rows


def _case(row, device, workload, result) -> dict:
    from chipfit.model import defaults

    efficiency, _ = defaults.efficiency_for(defaults.training_defaults(device) or device
                                            if row.metric == "time_to_train_s" else device)
    requests = workload.requests
    metrics = result.metrics if result.ok else {}
    split = metrics.get("parallelism") or {"data": 1}
    precision = row.precision if row.precision in device.peak_ops else str(workload.precision)
    base = workload.id.split("-openorca")[0].split("-cnndm")[0].split("-mlperf")[0]
    return {
        "id": row.id, "device": device.id, "model": base, "metric": row.metric, "precision": precision,
        # every tool gets the same split and batch: chipfit's (the submission's, where the row names it);
        # the peers split by tensor parallelism only, so a pipeline's devices join the tensor group
        "count": row.count // split.get("data", 1), "replicas": split.get("data", 1),
        # a server row keeps the headroom chipfit's serving keeps (defaults.SERVER_LOAD): not a kernel model
        "load": defaults.SERVER_LOAD if row.scenario == "server" else 1.0,
        "compute_efficiency": efficiency.compute, "memory_efficiency": efficiency.memory,
        "batch": int(metrics.get("batch") or 64), "beams": requests.beams if requests else 1,
        "input_tokens": int(requests.input_tokens) if requests else 0,
        "output_tokens": int(requests.output_tokens) if requests else 0,
        "peak_tflops": device.peak_ops.get(precision, 0) / 1e12,
        "fp16_tflops": device.peak_ops.get(precision, 0) / 1e12 / (2 if precision in ("fp8", "int8") else 1),
        "memory_gb": (device.memory_capacity or 0) / 1e9, "bandwidth_gbs": device.memory_bandwidth / 1e9,
        "interconnect_gbs": (device.interconnect_bandwidth or 0) / 1e9,
    }


def _ensure_venv(folder: Path, distribution: str) -> tuple[Path | None, str]:
    """A virtual environment of its own with one peer installed: its python, or None and why not (one
    environment per peer: their pinned dependencies need not agree)."""
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(folder)
    try:
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", distribution], capture_output=True,
                              text=True, timeout=3600)
    except subprocess.TimeoutExpired:
        return None, f"pip install {distribution} took more than an hour"
    if done.returncode != 0:
        tail = " ".join(line for line in done.stderr.splitlines() if not line.startswith("WARNING"))[-400:]
        return None, f"pip install {distribution} failed: {tail}"
    return python, ""


def _run_peer(python: Path, peer: str, cases: list[dict], mode: str = "") -> tuple[dict[str, float | None], str]:
    done = subprocess.run([str(python), "-c", _RUNNER, peer, mode], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=1800)
    last = (done.stdout.strip().splitlines() or [""])[-1]
    try:
        answer = json.loads(last)
    except json.JSONDecodeError:
        return {}, f"{peer} did not run: {(done.stderr or done.stdout)[-300:]}"
    if "error" in answer:
        return {}, f"{peer}: {answer['error']}"
    whys = {r["why"] for r in answer["results"] if r.get("why")}
    return {r["id"]: r["value"] for r in answer["results"]}, "; ".join(sorted(whys))


def _geomean_error(pairs) -> str:
    pairs = [(p, a) for p, a in pairs if p and a]
    if not pairs:
        return "-"
    return f"{math.exp(sum(abs(math.log(p / a)) for p, a in pairs) / len(pairs)) - 1:.0%} over {len(pairs)}"


def main(argv=None) -> int:
    """Print the comparison tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default=str(Path.home() / ".cache" / "chipfit" / "llm-peers"))
    parser.add_argument("--no-peers", action="store_true", help="only chipfit against the published figures")
    args = parser.parse_args(argv)
    tables = {"the published record (MLPerf rows and papers)": _chipfit_rows(),
              "NVIDIA's TensorRT-LLM throughputs at fixed lengths (benchmarks/data/trtllm_perf_overview.toml)":
                  _fixed_shape_rows()}
    everything = [entry for rows in tables.values() for entry in rows]
    peers: dict[str, dict] = {}
    notes = []
    if not args.no_peers:
        cases = [_case(row, device, workload, result) for row, device, workload, result, _ in everything]
        pythons = {}
        for peer, distribution in PEERS.items():
            pythons[peer], why = _ensure_venv(Path(args.venv) / peer, distribution)
            if pythons[peer] is None:
                notes.append(f"{peer}: {why}")
        for column, (peer, mode) in COLUMNS.items():
            if pythons.get(peer) is None:
                continue
            values, why = _run_peer(pythons[peer], peer, cases, mode)
            peers[column] = values
            if why and not mode:
                notes.append(f"{peer}: {why}")
    for title, rows in tables.items():
        print(f"On {title}:")
        _print_table(rows, peers)
        print()
    print("On both together:")
    _print_summary(everything, peers)
    for note in notes:
        print(f"note: {note}")
    return 0


def _print_table(rows, peers) -> None:
    header = f"{'published row':48} {'metric':20} {'published':>11} {'chipfit':>11} {'error':>7}" + "".join(
        f" {peer:>12}" for peer in COLUMNS)
    print(header)
    print("-" * len(header))
    for row, _, _, result, predicted in rows:
        error = f"{(predicted - row.value) / row.value:+.0%}" if predicted else "n/a"
        cells = "".join(f" {_fmt(peers.get(peer, {}).get(row.id)):>12}" for peer in COLUMNS)
        mark = "*" if _derived(row) else " "
        print(f"{row.id:47}{mark} {row.metric:20} {_fmt(row.value):>11} {_fmt(predicted):>11} {error:>7}{cells}"
              + ("" if result.ok else f"  ({result.reason[:60]})"))
    print()
    _print_summary(rows, peers)


def _derived(row) -> bool:
    """Whether a default parameter of chipfit was derived from this row (chipfit.model.defaults.DERIVED_FROM)."""
    from chipfit.model.defaults import DERIVED_FROM

    return row.id in DERIVED_FROM


def _print_summary(rows, peers) -> None:
    rows = [entry for entry in rows if not _derived(entry[0])]
    print(f"geometric-mean absolute error (rows marked * left out): chipfit "
          f"{_geomean_error((p, r.value) for r, _, _, _, p in rows)}")
    for peer in COLUMNS:
        answered = [(r, p) for r, _, _, _, p in rows if peers.get(peer, {}).get(r.id)]
        print(f"  on the rows {peer} answered: {peer} "
              f"{_geomean_error((peers[peer][r.id], r.value) for r, _ in answered)}, chipfit "
              f"{_geomean_error((p, r.value) for r, p in answered)}")


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}"


if __name__ == "__main__":
    sys.exit(main())
