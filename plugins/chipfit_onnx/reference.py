"""The reference workloads: each one a real ONNX graph, counted, with the published figure it must match.

Counting all of them takes about a second, so the counts are cached on disk (``CHIPFIT_CACHE_DIR``,
default ``~/.cache/chipfit``) under a key made of this plugin's source and the onnx version: any
change to a builder or a cost formula recounts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import attrs

from chipfit.paths import cache_dir, write_atomically
from chipfit.records import Operator, Workload

_HERE = Path(__file__).parent


@attrs.frozen
class Reference:
    """A reference model: how to build its graph, and the workload fields that describe it."""

    id: str
    name: str
    domain: str
    build: Callable  # (weights="shapes" | "random") -> onnx.ModelProto
    published: str  # the published figure this graph's count is checked against, with its source
    precision: str = "fp32"
    fields: dict = attrs.field(factory=dict)


def _models():
    from chipfit_onnx import models

    return models


#: Tokens per sample of MLPerf's bert-99 once padding is removed (runtimes pack or run variable-length
#: sequences). A labelled, unconfirmed figure: Krell et al., "Efficient Sequence Packing without
#: Cross-contamination" (arXiv:2107.02027), abstract: "up to 50% of all tokens can be padding" in
#: common NLP datasets at their usual maximum length; half of SQuAD v1.1's 384-token maximum is 192.
BERT_PACKED_TOKENS = 192
BERT_PACKED_DERIVATION = ("graph built at 192 tokens per sample = 384 (MLPerf's max_seq_length) x (1 - 0.5 padding, "
                          "Krell et al. arXiv:2107.02027, abstract); unconfirmed for SQuAD v1.1 dev")


def _kv_cache(layers: int, kv_heads: int, head_dim: int, cached: int) -> dict:
    """The KV cache a decode sample holds (its past keys and values, graph inputs), in FP32 bytes as counted."""
    return {"kv_cache_bytes_per_sample": 2.0 * layers * kv_heads * head_dim * cached * 4}


def references() -> list[Reference]:
    """Every reference model chipfit ships."""
    llama = ("Llama Team, 'The Llama 3 Herd of Models', arXiv:2407.21783, Table 3 (layers, width, FFN, heads, "
             "key/value heads, vocabulary)")
    return [
        Reference("resnet-50", "ResNet-50 (224x224)", "vision: classification",
                  lambda weights="shapes": _models().resnet50(weights=weights),
                  "torchvision ResNet50_Weights.IMAGENET1K_V1: 25,557,032 parameters, 4.09 GFLOPS (multiply-adds)"),
        Reference("mobilenet-v2", "MobileNetV2 (224x224)", "vision: classification",
                  lambda weights="shapes": _models().mobilenet_v2(weights=weights),
                  "Sandler et al. 2018, 'MobileNetV2', Table 4: 300M multiply-adds, 3.4M parameters; torchvision "
                  "MobileNet_V2_Weights.IMAGENET1K_V1: 3,504,872 parameters"),
        Reference("mobilenet-v1", "MobileNet v1 (224x224)", "vision: classification",
                  lambda weights="shapes": _models().mobilenet_v1(weights=weights),
                  "Howard et al. 2017, 'MobileNets' (arXiv:1704.04861), Table 8: 1.0 MobileNet-224 569 million "
                  "mult-adds, 4.2 million parameters"),
        Reference("inception-v1", "Inception v1 / GoogLeNet (224x224)", "vision: classification",
                  lambda weights="shapes": _models().inception_v1(weights=weights),
                  "Szegedy et al. 2014, 'Going Deeper with Convolutions' (arXiv:1409.4842), Table 1: 6.8M "
                  "parameters, 1.5G ops; Howard et al. 2017, 'MobileNets', Table 8: GoogleNet 1550 million "
                  "mult-adds, 6.8 million parameters (batch-normalised here, as TF-slim's inception_v1)"),
        Reference("bert-base-128", "BERT-base encoder, sequence 128", "language: encoder",
                  lambda weights="shapes": _models().bert_encoder(128, weights=weights),
                  "Devlin et al. 2019, 'BERT', section 3: BERT-base L=12, H=768, A=12, 110M parameters"),
        Reference("bert-base-384", "BERT-base encoder, sequence 384", "language: encoder",
                  lambda weights="shapes": _models().bert_encoder(384, weights=weights),
                  "Devlin et al. 2019, 'BERT', section 3: BERT-base L=12, H=768, A=12, 110M parameters"),
        Reference("bert-large-99", "BERT-large, SQuAD v1.1 at 384 tokens, packed (MLPerf bert-99)", "language: encoder",
                  lambda weights="shapes": _models().bert_encoder(BERT_PACKED_TOKENS, weights=weights,
                                                                  shape=_models().BERT_LARGE),
                  "Devlin et al. 2019, 'BERT', section 3: BERT-large L=24, H=1024, A=16, 340M parameters; MLPerf "
                  "Inference bert-99: SQuAD v1.1 dev at max_seq_length 384 (mlcommons/inference, language/bert "
                  f"README); runtimes pack sequences, so a sample costs its real tokens: {BERT_PACKED_TOKENS} "
                  "(see BERT_PACKED_TOKENS)", precision="int8",
                  fields={"derivations": {"operators": BERT_PACKED_DERIVATION}, "unconfirmed": {"operators"}}),
        Reference("retinanet-800", "RetinaNet ResNeXt50-32x4d FPN, 800x800 (MLPerf retinanet)", "vision: detection",
                  lambda weights="shapes": _models().retinanet(800, weights=weights),
                  "Lin et al. 2017, 'Focal Loss for Dense Object Detection' (arXiv:1708.02002), section 4; MLPerf "
                  "Inference retinanet: torchvision retinanet_resnext50_32x4d_fpn, 800x800, 264 OpenImages classes "
                  "(mlcommons/inference, vision/classification_and_detection README)", precision="int8"),
        Reference("llama-3-8b-prefill-2048", "Llama 3 8B prefill, 2,048-token prompt", "language: LLM",
                  lambda weights="shapes": _models().decoder(2048, 2048, weights=weights, name="llama-3-8b-prefill"),
                  f"{llama}: 8B; about 2 x 8.03e9 ops per token plus attention", precision="bf16"),
        Reference("llama-3-8b-decode-4096", "Llama 3 8B decode, 1 token at 4,096 context", "language: LLM",
                  lambda weights="shapes": _models().decoder(1, 4096, weights=weights, name="llama-3-8b-decode"),
                  f"{llama}: 8B", precision="bf16", fields=_kv_cache(32, 8, 128, 4095)),
        Reference("llama-3-70b-prefill-2048", "Llama 3 70B prefill, 2,048-token prompt", "language: LLM",
                  lambda weights="shapes": _models().decoder(2048, 2048, weights=weights, shape=_models().LLAMA_3_70B,
                                                             name="llama-3-70b-prefill"),
                  f"{llama}: 70B", precision="bf16"),
        Reference("llama-3-70b-decode-4096", "Llama 3 70B decode, 1 token at 4,096 context", "language: LLM",
                  lambda weights="shapes": _models().decoder(1, 4096, weights=weights, shape=_models().LLAMA_3_70B,
                                                             name="llama-3-70b-decode"),
                  f"{llama}: 70B", precision="bf16", fields=_kv_cache(80, 8, 128, 4095)),
    ]


#: Graphs chipfit can build for workloads other plugins register (their costs come from those plugins).
_BUILDABLE = {
    "yolov3-416": lambda weights="shapes": _models().yolov3(416, weights=weights),
    "yolov3-608": lambda weights="shapes": _models().yolov3(608, weights=weights),
    "yolov3-1080p": lambda weights="shapes": _models().yolov3(1088, width=1920, weights=weights),
    "gemm-4096": lambda weights="shapes": _models().gemm(4096, weights=weights),
    "gemm-8192": lambda weights="shapes": _models().gemm(8192, weights=weights),
}


def build(ident: str, *, weights: str = "random"):
    """The ONNX graph of a workload chipfit knows how to build (``reference:ID`` locators).

    :raises KeyError: no builder for that id.
    """
    for reference in references():
        if reference.id == ident:
            return reference.build(weights=weights)
    if ident.endswith("-train"):
        raise KeyError(f"{ident} is a training workload: chipfit measures inference graphs only")
    return _BUILDABLE[ident](weights=weights)


def _cache_key() -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(version("onnx").encode())  # the version only: importing onnx costs 0.3 s
    from chipfit_yolo import darknet

    sources = sorted(_HERE.glob("*.py")) + [Path(darknet.__file__)]
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _count_all() -> dict[str, dict]:
    from chipfit_onnx.counting import count_graph

    counted = {}
    for reference in references():
        count = count_graph(reference.build(), where=reference.id)
        counted[reference.id] = {
            "operators": [[n.op_type, n.ops, n.weight_bytes, n.activation_bytes, n.name, n.op_class]
                          for n in count.nodes if n.ops or n.weight_bytes or n.activation_bytes],
            "parameters": count.parameters,
            "precision": str(count.precision),
            "uncosted": count.uncosted,
        }
    return counted


def _well_formed(cached) -> bool:
    """A cache file holds an entry, with every field, for every reference (else it is recounted)."""
    fields = {"operators", "parameters", "precision", "uncosted"}
    return isinstance(cached, dict) and all(
        isinstance(cached.get(reference.id), dict) and fields <= set(cached[reference.id])
        and isinstance(cached[reference.id]["operators"], list)
        and all(isinstance(op, list) and len(op) == 6 for op in cached[reference.id]["operators"])
        for reference in references()
    )


def counts() -> dict[str, dict]:
    """Every reference model's count, from the disk cache when it is current."""
    key = _cache_key()
    try:
        path = cache_dir() / f"onnx-references-{key}.json"
        cached = json.loads(path.read_text())
        if _well_formed(cached):
            return cached
    except (OSError, ValueError):  # no entry, a damaged one, or no cache folder (chipfit.paths.NoHomeFolder)
        pass
    counted = _count_all()
    try:
        write_atomically(cache_dir() / f"onnx-references-{key}.json", json.dumps(counted))
    except OSError:
        pass  # a read-only home still gets its workloads, counted each time
    return counted


def workloads() -> list[Workload]:
    """The reference workloads, at their usual precision (byte counts rescaled from the FP32 graphs)."""
    counted = counts()
    out = []
    for reference in references():
        entry = counted.get(reference.id)
        if entry is None:
            continue
        workload = Workload(
            id=reference.id, name=reference.name, domain=reference.domain, phase="inference",
            operators=tuple(Operator(op, ops, w, a, name=name, op_class=cls)
                            for op, ops, w, a, name, cls in entry["operators"]),
            parameters=entry["parameters"], precision=entry["precision"], uncosted=entry["uncosted"],
            sources={"parameters": reference.published,
                     "operators": f"counted by chipfit_onnx from the graph built by {reference.id}'s builder"},
            graph=f"reference:{reference.id}",
            **reference.fields,
        )
        out.append(workload.with_precision(reference.precision))
    resnet = next((w for w in out if w.id == "resnet-50"), None)
    if resnet is not None:
        out.append(resnet.for_training(
            "resnet-50-imagenet-train", "ResNet-50 training on ImageNet-1k (torchvision recipe)",
            dataset_samples=1_281_167, epochs=90, batch=32,
            sources={"dataset_samples": "ImageNet-1k (ILSVRC 2012) training set, 1,281,167 images: Russakovsky et "
                                        "al. 2015, 'ImageNet Large Scale Visual Recognition Challenge', Table 2",
                     "epochs": "pytorch/vision references/classification README, ResNet recipe: 90 epochs, "
                               "batch size 32 per GPU on 8 GPUs",
                     "backward_factor": "Kaplan et al. 2020, arXiv:2001.08361, section 2.1: backward ~ 2x forward"},
            unconfirmed={"epochs"},
        ))
        out.append(resnet.for_training(
            "resnet-50-mlperf-train", "ResNet-50 training on ImageNet-1k to 75.9% top-1 (MLPerf Training recipe)",
            dataset_samples=1_281_167, epochs=35, batch=400,
            sources={"dataset_samples": "ImageNet-1k (ILSVRC 2012) training set, 1,281,167 images: Russakovsky et "
                                        "al. 2015, Table 2; MLLOG 'train_samples': 1281167",
                     "epochs": "MLPerf Training v4.0, NVIDIA H200 MXNet ResNet submission, result_0.txt (mlcommons/"
                               "training_results_v4.0, NVIDIA/results/h200_ngc24.04_mxnet/resnet/result_0.txt): "
                               "35 epochs to eval_accuracy 0.76072 (target 75.9%), global batch 3200 = 400 per GPU",
                     "backward_factor": "Kaplan et al. 2020, arXiv:2001.08361, section 2.1: backward ~ 2x forward"},
        ))
    return out
