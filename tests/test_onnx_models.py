"""The reference graphs (chipfit_onnx.models, chipfit_onnx.reference): counts against published figures,
small configurations run in ONNX Runtime, the model's verdicts on them, and the counts' disk cache.

Convention: a multiply-add is 2 ops, so a published count of multiply-adds (MACs) is doubled before
comparing; darknet's "BFLOPs" already count 2 per multiply-add.
"""

from __future__ import annotations

import json
import math

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from chipfit import model
from chipfit.records import Phase, Scenario
from chipfit_onnx import models, reference
from chipfit_onnx.counting import count_graph
from chipfit_onnx.models import LLAMA_3_8B, LLAMA_3_70B, TransformerShape


def _ops_of(count, *op_types) -> float:
    return sum(node.ops for node in count.nodes if node.op_type in op_types)


# --- counts against published figures -------------------------------------------------------------


def test_resnet50_against_torchvision():
    """torchvision ResNet50_Weights.IMAGENET1K_V1: 4.09 GFLOPS counted as multiply-adds, 25,557,032 parameters."""
    count = count_graph(models.resnet50())
    assert _ops_of(count, "Conv", "Gemm") == pytest.approx(2 * 4.09e9, rel=0.03)
    assert count.parameters == 25_557_032


def test_mobilenet_v2_against_the_paper():
    """Sandler et al. 2018, Table 4: 300M multiply-adds; torchvision IMAGENET1K_V1: 3,504,872 parameters."""
    count = count_graph(models.mobilenet_v2())
    assert _ops_of(count, "Conv", "Gemm") == pytest.approx(2 * 300e6, rel=0.03)
    assert count.parameters == 3_504_872


def test_mobilenet_v1_against_the_paper():
    """Howard et al. 2017, Table 8: 1.0 MobileNet-224 has 569M mult-adds and 4.2M parameters."""
    count = count_graph(models.mobilenet_v1())
    assert _ops_of(count, "Conv", "Gemm") == pytest.approx(2 * 569e6, rel=0.01)
    assert count.parameters == pytest.approx(4.2e6, rel=0.02)


def test_inception_v1_against_the_papers():
    """Howard et al. 2017, Table 8: GoogleNet 1550M mult-adds, 6.8M parameters (Szegedy et al. 2014, Table 1);
    the batch normalisation this graph adds (as TF-slim's) brings a few per cent more."""
    count = count_graph(models.inception_v1())
    assert _ops_of(count, "Conv", "Gemm") == pytest.approx(2 * 1550e6, rel=0.03)
    assert count.parameters == pytest.approx(6.8e6, rel=0.04)


@pytest.mark.parametrize(("size", "bflops"), [(416, 65.86), (608, 140.69)])
def test_yolov3_against_darknet(size, bflops):
    """darknet's yolov3.cfg summary: 65.86 / 140.69 BFLOPs (2 ops per multiply-add) at 416 / 608."""
    count = count_graph(models.yolov3(size))
    assert _ops_of(count, "Conv") == pytest.approx(bflops * 1e9, rel=0.03)
    # the same weights at every input size (ultralytics' YOLOv3 summary: 61,949,149 parameters)
    assert count.parameters == 61_949_149


def test_bert_base_against_kaplan():
    """Kaplan et al. 2020, Table 1: forward ops per token = 2 N_nonembedding + 2 n_layer n_ctx d; x 128 tokens."""
    d, ffn, layers, seq = 768, 3072, 12, 128
    # per layer: Q, K, V, O projections with biases; two FFN matrices with biases; two layer norms
    n_nonembedding = layers * (4 * d * d + 4 * d + 2 * d * ffn + ffn + d + 4 * d)
    expected = 2 * n_nonembedding * seq + 2 * layers * seq * d * seq
    count = count_graph(models.bert_encoder(seq))
    assert count.ops == pytest.approx(expected, rel=0.03)
    assert count.parameters == 109_482_240  # bert-base-uncased


@pytest.mark.parametrize(("shape", "parameters"), [(LLAMA_3_8B, 8_030_261_248), (LLAMA_3_70B, 70_553_706_496)])
def test_llama_3_parameters_and_decode_ops(shape, parameters):
    """Decode, one token over a 4,096 context: 2 x (parameters - input embedding) for the matrix products
    (multiply-add = 2) plus attention, 2 x 2 x layers x context x heads x head_dim (Q K^T and P V)."""
    context = 4096
    count = count_graph(models.decoder(1, context, shape=shape))
    assert count.parameters == parameters
    embedding = shape.vocab * shape.width
    expected = 2 * (parameters - embedding) + 4 * shape.layers * context * shape.heads * shape.head_dim
    assert count.ops == pytest.approx(expected, rel=0.01)


def test_llama_3_8b_prefill_ops():
    """Prefill of 2,048 tokens: 2,048 x the per-token matrix products plus full (unmasked) attention."""
    seq = 2048
    count = count_graph(models.decoder(seq, seq))
    shape = LLAMA_3_8B
    expected = (seq * 2 * (count.parameters - shape.vocab * shape.width)
                + 4 * shape.layers * seq * seq * shape.heads * shape.head_dim)
    assert count.ops == pytest.approx(expected, rel=0.01)


def test_decode_reads_the_kv_cache_as_activations():
    shape = TransformerShape(layers=2, width=32, heads=4, ffn=64, vocab=100, kv_heads=2, bias=False)
    without, with_cache = count_graph(models.decoder(1, 1, shape=shape)), count_graph(models.decoder(1, 9, shape=shape))
    cache_bytes = 2 * shape.layers * 2 * 8 * shape.head_dim * 4  # K and V, 2 kv heads, 8 cached tokens, fp32
    activations = lambda count: sum(node.activation_bytes for node in count.nodes)  # noqa: E731
    assert activations(with_cache) - activations(without) >= cache_bytes
    assert with_cache.parameters == without.parameters


def test_reference_builders_count_without_uncosted_operators():
    for ref in reference.references():
        if "70b" in ref.id or "prefill" in ref.id:
            continue  # same builders as the 8B decode
        assert count_graph(ref.build()).uncosted == {}, ref.id


# --- small configurations run in ONNX Runtime --------------------------------------------------------


def _run(graph: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    outputs = session.run(None, feeds)
    for out in outputs:
        assert np.isfinite(out).all()
    return outputs


def _image(size: int) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((1, 3, size, size)).astype(np.float32)


def test_small_resnet50_runs():
    [logits] = _run(models.resnet50(size=64, width=8, blocks=(1, 1, 1, 1), classes=10, weights="random"),
                    {"images": _image(64)})
    assert logits.shape == (1, 10)


def test_small_mobilenet_v2_runs():
    settings = ((1, 8, 1, 1), (6, 16, 2, 2), (6, 24, 1, 2))
    graph = models.mobilenet_v2(size=64, weights="random", settings=settings, classes=10, last=64)
    [logits] = _run(graph, {"images": _image(64)})
    assert logits.shape == (1, 10)


def test_small_yolov3_runs(monkeypatch):
    """YOLOv3 at 64x64 with every layer's channels divided by 8 (the builder has no width parameter, and
    62M random weights take seconds): the builder's own wiring of routes, shortcuts, upsampling and heads."""
    import attrs
    from chipfit_yolo import darknet

    full = darknet.yolov3_layers
    detect = 3 * (5 + 2)

    def thin(*args, **kwargs):
        return [attrs.evolve(layer, in_c=layer.in_c if layer.in_c == 3 else layer.in_c // 8,
                             out_c=layer.out_c if layer.out_c == detect else layer.out_c // 8)
                if layer.kind == "conv" else layer for layer in full(*args, **kwargs)]

    monkeypatch.setattr(darknet, "yolov3_layers", thin)
    outputs = _run(models.yolov3(64, weights="random", classes=2), {"images": _image(64)})
    # three detection scales, stride 32, 16, 8; 3 anchors x (5 + classes) channels
    assert [out.shape for out in outputs] == [(1, 21, 2, 2), (1, 21, 4, 4), (1, 21, 8, 8)]
    # the yolo layers are logistic: every value in (0, 1)
    assert all(((out > 0) & (out < 1)).all() for out in outputs)


def test_small_bert_encoder_runs():
    shape = TransformerShape(layers=2, width=32, heads=4, ffn=64, vocab=100, max_positions=16, type_vocab=2)
    rng = np.random.default_rng(2)
    hidden, pooled = _run(models.bert_encoder(8, weights="random", shape=shape),
                          {"input_ids": rng.integers(0, 100, (1, 8)), "token_type_ids": rng.integers(0, 2, (1, 8))})
    assert hidden.shape == (1, 8, 32)
    assert pooled.shape == (1, 32)
    assert np.allclose(hidden.mean(axis=-1), 0, atol=1e-4)  # post-norm: the last op is a layer norm


#: A tiny Llama-style shape with grouped-query attention (2 query heads per key/value head).
TINY = TransformerShape(layers=2, width=32, heads=4, ffn=64, vocab=100, kv_heads=2, bias=False)


def _numpy_decoder(graph: onnx.ModelProto, shape: TransformerShape, ids: np.ndarray, past: dict) -> np.ndarray:
    """The decoder written out in numpy: Llama's grouped-query attention (query head h uses key/value
    head h // (heads / kv_heads)), no causal mask (as the graph), RMSNorm, SwiGLU."""
    w = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}
    kv_heads, d = shape.kv_heads, shape.head_dim
    groups = shape.heads // kv_heads

    def rms(x, scale):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * scale

    x = w["embed"][ids[0]]  # (seq, width)
    seq = x.shape[0]
    for layer in range(shape.layers):
        p = f"layer{layer}"
        h = rms(x, w[f"{p}.norm1.scale"])
        q = (h @ w[f"{p}.attn.q.weight"]).reshape(seq, shape.heads, d)
        k = (h @ w[f"{p}.attn.k.weight"]).reshape(seq, kv_heads, d)
        v = (h @ w[f"{p}.attn.v.weight"]).reshape(seq, kv_heads, d)
        if past:
            k = np.concatenate([past[f"past_key.{layer}"][0].transpose(1, 0, 2), k])
            v = np.concatenate([past[f"past_value.{layer}"][0].transpose(1, 0, 2), v])
        out = np.empty((seq, shape.heads, d), np.float32)
        for head in range(shape.heads):
            scores = q[:, head] @ k[:, head // groups].T * d ** -0.5
            probs = np.exp(scores - scores.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            out[:, head] = probs @ v[:, head // groups]
        x = x + out.reshape(seq, shape.width) @ w[f"{p}.attn.out.weight"]
        h = rms(x, w[f"{p}.norm2.scale"])
        gate = h @ w[f"{p}.gate.weight"]
        x = x + (gate / (1 + np.exp(-gate)) * (h @ w[f"{p}.up.weight"])) @ w[f"{p}.down.weight"]
    return (rms(x, w["final_norm.scale"]) @ w["lm_head.weight"])[None]


def test_small_decoder_prefill_runs_and_matches_numpy():
    graph = models.decoder(8, 8, weights="random", shape=TINY)
    ids = np.random.default_rng(3).integers(0, 100, (1, 8))
    [logits] = _run(graph, {"input_ids": ids})
    assert logits.shape == (1, 8, 100)
    assert np.allclose(logits, _numpy_decoder(graph, TINY, ids, {}), rtol=1e-4, atol=1e-4)


def test_small_decoder_decode_with_cache_runs_grouped_query():
    graph = models.decoder(1, 9, weights="random", shape=TINY)
    assert [i.name for i in graph.graph.input] == ["input_ids", "past_key.0", "past_value.0", "past_key.1",
                                                    "past_value.1"]
    rng = np.random.default_rng(4)
    feeds = {"input_ids": rng.integers(0, 100, (1, 1))}
    for layer in range(TINY.layers):
        for kind in ("key", "value"):
            feeds[f"past_{kind}.{layer}"] = rng.standard_normal((1, 2, 8, TINY.head_dim)).astype(np.float32)
    [logits] = _run(graph, feeds)
    assert logits.shape == (1, 1, 100)
    assert np.allclose(logits, _numpy_decoder(graph, TINY, feeds["input_ids"], feeds), rtol=1e-4, atol=1e-4)


def test_graph_builder_rejects_unknown_weights_mode():
    with pytest.raises(ValueError, match="weights"):
        models.resnet50(weights="zeros")


# --- the model's verdicts on the reference workloads ------------------------------------------------


def test_llm_decode_is_memory_bound_and_prefill_compute_bound(catalogue):
    h100 = catalogue.devices["nvidia-h100-sxm5"]
    scenario = Scenario("single-stream", precision="bf16")
    decode = catalogue.workloads["llama-3-8b-decode-4096"]
    result = model.estimate(h100, decode, scenario)
    assert result.ok, result.reason
    assert result.metrics["bound"] == "memory"
    # one token needs every weight read once: tokens/s cannot beat bandwidth / weight bytes
    weight_bytes = decode.with_precision("bf16").weight_bytes
    assert weight_bytes == pytest.approx(2 * 8_030_261_248, rel=1e-6)
    assert result.metrics["throughput_sps"] <= h100.memory_bandwidth / weight_bytes
    prefill = model.estimate(h100, catalogue.workloads["llama-3-8b-prefill-2048"], scenario)
    assert prefill.ok, prefill.reason
    assert prefill.metrics["bound"] == "compute"


def test_reference_workloads_in_the_catalogue(catalogue):
    for ident, precision in [("resnet-50", "fp32"), ("mobilenet-v2", "fp32"), ("bert-base-128", "fp32"),
                             ("bert-base-384", "fp32"), ("llama-3-8b-prefill-2048", "bf16"),
                             ("llama-3-8b-decode-4096", "bf16"), ("llama-3-70b-prefill-2048", "bf16"),
                             ("llama-3-70b-decode-4096", "bf16")]:
        workload = catalogue.workloads[ident]
        assert str(workload.precision) == precision
        assert workload.phase is Phase.INFERENCE
        assert workload.sources["parameters"]
        assert workload.uncosted == {}
    assert catalogue.workloads["resnet-50"].parameters == 25_557_032
    # bf16 workloads keep the graph's ops and halve its fp32 bytes
    decode = catalogue.workloads["llama-3-8b-decode-4096"]
    counted = count_graph(models.decoder(1, 4096))
    assert decode.ops_per_sample == pytest.approx(counted.ops)
    assert decode.weight_bytes == pytest.approx(counted.weight_bytes / 2)


def test_resnet50_training_from_the_graph(catalogue):
    train, infer = catalogue.workloads["resnet-50-imagenet-train"], catalogue.workloads["resnet-50"]
    assert train.phase is Phase.TRAINING
    assert train.dataset_samples == 1_281_167
    assert train.epochs == 90
    assert train.ops_per_sample == infer.ops_per_sample
    assert train.parameters == infer.parameters
    result = model.estimate(catalogue.devices["nvidia-h100-sxm5"], train, Scenario("training"))
    assert result.ok, result.reason
    assert result.metrics["time_to_train_s"] > 0


# --- the disk cache of reference counts ----------------------------------------------------------------


def _cache_files(folder):
    return sorted(folder.glob("onnx-references-*.json"))


def test_second_call_reads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path))
    first = reference.workloads()
    [cache] = _cache_files(tmp_path)
    assert set(json.loads(cache.read_text())) == {ref.id for ref in reference.references()}

    def no_counting():
        raise AssertionError("counted again instead of reading the cache")

    monkeypatch.setattr(reference, "_count_all", no_counting)
    assert reference.workloads() == first
    assert not list(tmp_path.glob("*.tmp"))


@pytest.fixture
def few_references(monkeypatch):
    """Only ResNet-50 (and its training workload): the cache logic, counted fast."""
    everything = reference.references()
    monkeypatch.setattr(reference, "references", lambda: [r for r in everything if r.id == "resnet-50"])


def test_corrupt_cache_is_recounted(tmp_path, monkeypatch, few_references):
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path))
    expected = reference.workloads()
    [cache] = _cache_files(tmp_path)
    cache.write_text('{"resnet-50": {"operators": [[')  # truncated
    assert reference.workloads() == expected
    assert json.loads(cache.read_text())  # rewritten whole


@pytest.mark.parametrize("content", ["{}", "[]"])
def test_cache_of_the_wrong_shape_is_recounted(tmp_path, monkeypatch, few_references, content):
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path))
    expected = reference.workloads()
    [cache] = _cache_files(tmp_path)
    cache.write_text(content)
    assert reference.workloads() == expected


def test_unwritable_cache_dir_still_gives_workloads(tmp_path, monkeypatch, few_references):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(blocker / "cache"))
    workloads = reference.workloads()
    assert [w.id for w in workloads] == ["resnet-50", "resnet-50-imagenet-train", "resnet-50-mlperf-train"]
    assert workloads[0].parameters == 25_557_032


def test_cache_key_changes_with_the_sources(monkeypatch, tmp_path):
    key = reference._cache_key()
    assert key == reference._cache_key() and len(key) == 16
    copy = tmp_path / "plugin"
    copy.mkdir()
    for path in reference._HERE.glob("*.py"):
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "costs.py").write_text((copy / "costs.py").read_text() + "\n# changed\n")
    monkeypatch.setattr(reference, "_HERE", copy)
    assert reference._cache_key() != key


def test_ops_sanity_no_nan_in_reference_counts():
    for entry in reference.counts().values():
        assert all(math.isfinite(op[1]) and op[1] >= 0 for op in entry["operators"])
