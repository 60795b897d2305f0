"""ONNX: how long counting takes (file loading included), and the reference models run for real.

Part 1 writes each reference graph to a file and times ``chipfit_onnx.counting`` on it: load,
shape inference and per-node costs; the reference is ``onnx.load`` alone, measured in the same run.
Part 2 builds the vision and BERT models with random weights and runs them in ONNX Runtime on
this CPU (batch 1), printing the median latency next to the ops each graph counts: proof that the
graphs chipfit counts are graphs that run. The LLM graphs are too large to materialise here; a
one-layer decoder with the Llama 3 8B widths runs instead.
Run: python benchmarks/onnx_models.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import attrs
import numpy as np
import onnx

from chipfit_onnx import counting, models
from chipfit_onnx.reference import references


def median_seconds(function, runs: int) -> float:
    """Median wall-clock seconds of ``runs`` calls after one warm-up call."""
    function()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def count_times(runs: int) -> None:
    """Part 1: counting time per reference graph, against loading alone."""
    print(f"{'graph':28} {'nodes':>6} {'load':>9} {'load+count':>11} {'x load':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for reference in references():
            path = Path(folder) / f"{reference.id}.onnx"
            onnx.save(reference.build(), str(path))
            load = median_seconds(lambda: onnx.load(str(path), load_external_data=False), runs)
            total = median_seconds(lambda: counting.count_graph(counting.load(path), where=str(path)), runs)
            nodes = len(onnx.load(str(path), load_external_data=False).graph.node)
            print(f"{reference.id:28} {nodes:6d} {load * 1e3:7.1f}ms {total * 1e3:9.1f}ms {total / load:6.1f}x")
        path = Path(folder) / "yolov3-608.onnx"
        onnx.save(models.yolov3(608), str(path))
        total = median_seconds(lambda: counting.count_graph(counting.load(path), where=str(path)), runs)
        print(f"{'yolov3-608':28} {'':6} {'':9} {total * 1e3:9.1f}ms")


def _feeds(model: onnx.ModelProto) -> dict:
    feeds = {}
    for graph_input in model.graph.input:
        dims = [d.dim_value or 1 for d in graph_input.type.tensor_type.shape.dim]
        if graph_input.type.tensor_type.elem_type == onnx.TensorProto.INT64:
            feeds[graph_input.name] = np.zeros(dims, dtype=np.int64)
        else:
            feeds[graph_input.name] = np.random.default_rng(0).standard_normal(dims).astype(np.float32)
    return feeds


def run_times(runs: int) -> None:
    """Part 2: the graphs run in ONNX Runtime on this CPU."""
    import onnxruntime

    # one layer and a small vocabulary keep the random weights under protobuf's 2 GB limit
    small_decoder = attrs.evolve(models.LLAMA_3_8B, layers=1, vocab=8192)
    builds = {
        "resnet-50": lambda w: models.resnet50(weights=w),
        "mobilenet-v2": lambda w: models.mobilenet_v2(weights=w),
        "yolov3-416": lambda w: models.yolov3(416, weights=w),
        "bert-base-128": lambda w: models.bert_encoder(128, weights=w),
        "decoder, 1 layer at 8B widths, decode @512": lambda w: models.decoder(1, 512, weights=w, shape=small_decoder),
    }
    print(f"\n{'model (ONNX Runtime, CPU, batch 1)':42} {'counted ops':>12} {'median':>10} {'achieved':>12}")
    for name, build in builds.items():
        model = build("random")
        ops = counting.count_graph(build("shapes")).ops
        options = onnxruntime.SessionOptions()
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        feeds = _feeds(model)
        seconds = median_seconds(lambda: session.run(None, feeds), runs)
        print(f"{name:42} {ops / 1e9:9.2f} G {seconds * 1e3:8.1f}ms {ops / seconds / 1e9:8.1f} Gops/s")


def main() -> None:
    """Both parts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    count_times(args.runs)
    run_times(args.runs)


if __name__ == "__main__":
    main()
