"""Reference models as real ONNX graphs: YOLOv3, ResNet-50, MobileNet v1 and v2, Inception v1, RetinaNet,
a BERT encoder, an LLM decoder.

Each builder returns an ``onnx.ModelProto`` with a symbolic ``batch`` dimension, weights either as
shapes only (for counting) or random (for running in ONNX Runtime). Widths and depths are
parameters, so tests run small configurations of the very same code.
"""

from __future__ import annotations

import attrs
import onnx
from onnx import TensorProto

from chipfit_onnx.graph import GraphBuilder


def yolov3(size: int = 416, *, width: int | None = None, weights: str = "shapes", classes: int = 80) -> onnx.ModelProto:
    """YOLOv3 from darknet's layer list (:func:`chipfit_yolo.darknet.yolov3_layers`): same network, as ONNX.

    ``size`` is the input height (and width, unless ``width`` is given); multiples of 32.
    """
    from chipfit_yolo.darknet import yolov3_layers

    width = width or size
    g = GraphBuilder(f"yolov3-{size}x{width}", weights=weights)
    x = g.input("images", ["batch", 3, size, width])
    tensors: list[str] = []
    for layer in yolov3_layers(size, width, classes=classes):
        source = tensors[layer.sources[0]] if layer.sources else x
        prefix = f"l{layer.index}"
        if layer.kind == "conv":
            y = g.conv(source, layer.in_c, layer.out_c, layer.size, layer.stride, bias=not layer.batch_norm,
                       name=f"{prefix}.conv")
            if layer.batch_norm:
                y = g.batch_norm(y, layer.out_c, name=f"{prefix}.bn")
                y = g.node("LeakyRelu", [y], name=f"{prefix}.leaky", alpha=0.1)
        elif layer.kind == "shortcut":
            y = g.node("Add", [tensors[s] for s in layer.sources], name=f"{prefix}.shortcut")
        elif layer.kind == "route":
            parts = [tensors[s] for s in layer.sources]
            y = parts[0] if len(parts) == 1 else g.node("Concat", parts, name=f"{prefix}.route", axis=1)
        elif layer.kind == "upsample":
            scales = g.constant(f"{prefix}.scales", [1.0, 1.0, 2.0, 2.0], TensorProto.FLOAT)
            y = g.node("Resize", [source, "", scales], name=f"{prefix}.upsample", mode="nearest")
        else:  # yolo: logistic activation of the detection tensor
            y = g.node("Sigmoid", [source], name=f"{prefix}.yolo")
            g.output(y)
        tensors.append(y)
    return g.model()


def gemm(size: int = 1024, *, weights: str = "shapes") -> onnx.ModelProto:
    """One square matrix product: C = A x B, A the input (batch, N, N), B an N x N weight."""
    g = GraphBuilder(f"gemm-{size}", weights=weights)
    a = g.input("a", ["batch", size, size])
    g.output(g.node("MatMul", [a, g.weight("b", [size, size])], name="matmul"))
    return g.model()


def _conv_bn(g: GraphBuilder, x: str, c_in: int, c_out: int, kernel: int, stride: int = 1, *, groups: int = 1,
             act: str | None = "Relu", name: str = "conv") -> str:
    y = g.batch_norm(g.conv(x, c_in, c_out, kernel, stride, groups=groups, name=name), c_out, name=f"{name}.bn")
    if act == "Relu":
        return g.node("Relu", [y], name=f"{name}.relu")
    if act == "Relu6":
        low, high = g.constant(f"{name}.min", [0.0], TensorProto.FLOAT), g.constant(f"{name}.max", [6.0], TensorProto.FLOAT)
        return g.node("Clip", [y, low, high], name=f"{name}.relu6")
    return y


def _classifier(g: GraphBuilder, x: str, width: int, classes: int) -> None:
    pooled = g.node("GlobalAveragePool", [x], name="pool")
    flat = g.node("Flatten", [pooled], name="flatten", axis=1)
    fc = g.node("Gemm", [flat, g.weight("fc.weight", [classes, width]), g.weight("fc.bias", [classes], fill=0.0)],
                name="fc", transB=1)
    g.output(fc)


def resnet50(size: int = 224, *, weights: str = "shapes", width: int = 64, blocks=(3, 4, 6, 3),
             classes: int = 1000) -> onnx.ModelProto:
    """ResNet-50 as torchvision builds it (V1.5: the stride sits on the 3x3 convolution)."""
    g = GraphBuilder("resnet50", weights=weights)
    x = g.input("images", ["batch", 3, size, size])
    y = _conv_bn(g, x, 3, width, 7, 2, name="stem")
    y = g.node("MaxPool", [y], name="stem.pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in = width
    for stage, count in enumerate(blocks):
        planes = width * 2**stage
        for block in range(count):
            stride = 2 if block == 0 and stage > 0 else 1
            name = f"layer{stage + 1}.{block}"
            out = _conv_bn(g, y, c_in, planes, 1, name=f"{name}.conv1")
            out = _conv_bn(g, out, planes, planes, 3, stride, name=f"{name}.conv2")
            out = _conv_bn(g, out, planes, planes * 4, 1, act=None, name=f"{name}.conv3")
            shortcut = y
            if block == 0:
                shortcut = _conv_bn(g, y, c_in, planes * 4, 1, stride, act=None, name=f"{name}.downsample")
            y = g.node("Relu", [g.node("Add", [out, shortcut], name=f"{name}.add")], name=f"{name}.relu")
            c_in = planes * 4
    _classifier(g, y, c_in, classes)
    return g.model()


#: MobileNetV2 inverted residual settings (expansion t, channels c, repeats n, stride s): Sandler et al.
#: 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks", Table 2.
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))


def mobilenet_v2(size: int = 224, *, weights: str = "shapes", settings=MOBILENET_V2, classes: int = 1000,
                 last: int = 1280) -> onnx.ModelProto:
    """MobileNetV2 (width 1.0) as torchvision builds it."""
    g = GraphBuilder("mobilenet_v2", weights=weights)
    x = g.input("images", ["batch", 3, size, size])
    y = _conv_bn(g, x, 3, 32, 3, 2, act="Relu6", name="stem")
    c_in = 32
    for stage, (expand, c_out, repeats, first_stride) in enumerate(settings):
        for index in range(repeats):
            stride = first_stride if index == 0 else 1
            name = f"block{stage}.{index}"
            hidden = c_in * expand
            out = y
            if expand != 1:
                out = _conv_bn(g, out, c_in, hidden, 1, act="Relu6", name=f"{name}.expand")
            out = _conv_bn(g, out, hidden, hidden, 3, stride, groups=hidden, act="Relu6", name=f"{name}.depthwise")
            out = _conv_bn(g, out, hidden, c_out, 1, act=None, name=f"{name}.project")
            y = g.node("Add", [y, out], name=f"{name}.add") if stride == 1 and c_in == c_out else out
            c_in = c_out
    y = _conv_bn(g, y, c_in, last, 1, act="Relu6", name="head")
    _classifier(g, y, last, classes)
    return g.model()


#: MobileNet v1 (width 1.0) after its 3x3 stem: (stride, output channels) of each depthwise-separable
#: block. Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
#: Applications" (arXiv:1704.04861), Table 1 (the last block runs at stride 1 on the 7x7 map, as in
#: the released models: Table 1's "s2" there would leave a 4x4 map the 7x7 average pool cannot take).
MOBILENET_V1 = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), *((1, 512),) * 5, (2, 1024), (1, 1024))


def mobilenet_v1(size: int = 224, *, weights: str = "shapes", blocks=MOBILENET_V1,
                 classes: int = 1000) -> onnx.ModelProto:
    """MobileNet v1 (width 1.0): a 3x3 stem, 13 depthwise-separable blocks, each conv with BN and ReLU6."""
    g = GraphBuilder("mobilenet_v1", weights=weights)
    x = g.input("images", ["batch", 3, size, size])
    y = _conv_bn(g, x, 3, 32, 3, 2, act="Relu6", name="stem")
    c_in = 32
    for index, (stride, c_out) in enumerate(blocks):
        y = _conv_bn(g, y, c_in, c_in, 3, stride, groups=c_in, act="Relu6", name=f"block{index}.depthwise")
        y = _conv_bn(g, y, c_in, c_out, 1, act="Relu6", name=f"block{index}.pointwise")
        c_in = c_out
    _classifier(g, y, c_in, classes)
    return g.model()


#: GoogLeNet's inception modules: (name, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection), with a
#: 3x3/2 max pool before "4a" and "5a". Szegedy et al. 2014, "Going Deeper with Convolutions"
#: (arXiv:1409.4842), Table 1.
INCEPTION_V1 = (("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64),
                ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
                ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128),
                ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128))


def _max_pool(g: GraphBuilder, x: str, stride: int, name: str) -> str:
    return g.node("MaxPool", [x], name=name, kernel_shape=[3, 3], strides=[stride, stride], pads=[1, 1, 1, 1])


def inception_v1(size: int = 224, *, weights: str = "shapes", modules=INCEPTION_V1,
                 classes: int = 1000) -> onnx.ModelProto:
    """Inception v1 (GoogLeNet) as in the paper's Table 1, batch-normalised as TF-slim's inception_v1 is
    (BN in place of local response normalisation; no auxiliary classifiers at inference)."""
    g = GraphBuilder("inception_v1", weights=weights)
    x = g.input("images", ["batch", 3, size, size])
    y = _max_pool(g, _conv_bn(g, x, 3, 64, 7, 2, name="stem.conv1"), 2, "stem.pool1")
    y = _conv_bn(g, _conv_bn(g, y, 64, 64, 1, name="stem.conv2_reduce"), 64, 192, 3, name="stem.conv2")
    y = _max_pool(g, y, 2, "stem.pool2")
    c_in = 192
    for name, one, reduce3, three, reduce5, five, projection in modules:
        if name in ("4a", "5a"):
            y = _max_pool(g, y, 2, f"pool_before_{name}")
        branches = [
            _conv_bn(g, y, c_in, one, 1, name=f"{name}.1x1"),
            _conv_bn(g, _conv_bn(g, y, c_in, reduce3, 1, name=f"{name}.3x3_reduce"), reduce3, three, 3,
                     name=f"{name}.3x3"),
            _conv_bn(g, _conv_bn(g, y, c_in, reduce5, 1, name=f"{name}.5x5_reduce"), reduce5, five, 5,
                     name=f"{name}.5x5"),
            _conv_bn(g, _max_pool(g, y, 1, f"{name}.pool"), c_in, projection, 1, name=f"{name}.pool_proj"),
        ]
        y = g.node("Concat", branches, name=f"{name}.concat", axis=1)
        c_in = one + three + five + projection
    _classifier(g, y, c_in, classes)
    return g.model()


@attrs.frozen
class TransformerShape:
    """The shape of a transformer: widths, depth, heads, vocabulary."""

    layers: int
    width: int
    heads: int
    ffn: int
    vocab: int
    kv_heads: int | None = None  # grouped-query attention; None: as many as heads
    max_positions: int = 512
    type_vocab: int = 0
    bias: bool = True  # biases on the attention projections (BERT has them, Llama does not)

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.width // self.heads


def _attention(g: GraphBuilder, x: str, shape: TransformerShape, seq: int, context: int, name: str, *,
               past: tuple[str, str] | None = None) -> str:
    """Multi-head self-attention written out as MatMul/Softmax (grouped-query when kv_heads < heads).

    ``past``: key and value caches of shape (batch, kv_heads, context - seq, head_dim), concatenated
    before attending; ``context`` is the total length attended over.
    """
    kv_heads = shape.kv_heads or shape.heads
    d = shape.head_dim
    q = g.linear(x, shape.width, shape.heads * d, bias=shape.bias, name=f"{name}.q")
    k = g.linear(x, shape.width, kv_heads * d, bias=shape.bias, name=f"{name}.k")
    v = g.linear(x, shape.width, kv_heads * d, bias=shape.bias, name=f"{name}.v")

    def heads(t: str, count: int, label: str) -> str:
        split = g.node("Reshape", [t, g.constant(f"{name}.{label}.shape", [0, seq, count, d])], name=f"{name}.{label}.split")
        return g.node("Transpose", [split], name=f"{name}.{label}.heads", perm=[0, 2, 1, 3])

    q, k, v = heads(q, shape.heads, "qh"), heads(k, kv_heads, "kh"), heads(v, kv_heads, "vh")
    if past is not None:
        k = g.node("Concat", [past[0], k], name=f"{name}.k_cache", axis=2)
        v = g.node("Concat", [past[1], v], name=f"{name}.v_cache", axis=2)
    if kv_heads != shape.heads:  # each group of queries shares one key/value head
        groups = shape.heads // kv_heads
        q = g.node("Reshape", [q, g.constant(f"{name}.q.grouped", [0, kv_heads, groups * seq, d])], name=f"{name}.q.group")
    scores = g.node("MatMul", [q, g.node("Transpose", [k], name=f"{name}.kT", perm=[0, 1, 3, 2])], name=f"{name}.scores")
    scale = g.constant(f"{name}.scale", [d ** -0.5], TensorProto.FLOAT)
    probs = g.node("Softmax", [g.node("Mul", [scores, scale], name=f"{name}.scaled")], name=f"{name}.softmax", axis=-1)
    context_out = g.node("MatMul", [probs, v], name=f"{name}.context")
    merged = g.node("Transpose", [g.node("Reshape", [context_out, g.constant(f"{name}.ungroup", [0, shape.heads, seq, d])],
                                         name=f"{name}.ungroup")], name=f"{name}.merge", perm=[0, 2, 1, 3])
    merged = g.node("Reshape", [merged, g.constant(f"{name}.merged", [0, seq, shape.width])], name=f"{name}.flat")
    return g.linear(merged, shape.width, shape.width, bias=shape.bias, name=f"{name}.out")


def bert_encoder(seq: int = 128, *, weights: str = "shapes", shape: TransformerShape | None = None) -> onnx.ModelProto:
    """A BERT encoder (post-norm, GELU) with token, position and segment embeddings, and the pooler."""
    shape = shape or BERT_BASE
    g = GraphBuilder(f"bert-{seq}", weights=weights)
    tokens = g.input("input_ids", ["batch", seq], TensorProto.INT64)
    segments = g.input("token_type_ids", ["batch", seq], TensorProto.INT64)
    x = g.node("Gather", [g.weight("embeddings.word", [shape.vocab, shape.width]), tokens], name="embed.word", axis=0)
    positions = g.node("Gather", [g.weight("embeddings.position", [shape.max_positions, shape.width]),
                                  g.constant("positions", list(range(seq)))], name="embed.position", axis=0)
    x = g.node("Add", [x, positions], name="embed.add_position")
    x = g.node("Add", [x, g.node("Gather", [g.weight("embeddings.type", [shape.type_vocab, shape.width]), segments],
                                 name="embed.type", axis=0)], name="embed.add_type")
    x = g.layer_norm(x, shape.width, name="embed.ln")
    for layer in range(shape.layers):
        name = f"layer{layer}"
        x = g.layer_norm(g.node("Add", [x, _attention(g, x, shape, seq, seq, f"{name}.attn")], name=f"{name}.res1"),
                         shape.width, name=f"{name}.ln1")
        hidden = _gelu(g, g.linear(x, shape.width, shape.ffn, name=f"{name}.ffn1"), name)
        x = g.layer_norm(g.node("Add", [x, g.linear(hidden, shape.ffn, shape.width, name=f"{name}.ffn2")],
                                name=f"{name}.res2"), shape.width, name=f"{name}.ln2")
    g.output(x)
    first = g.node("Gather", [x, g.constant("cls", 0)], name="pooler.cls", axis=1)
    pooled = g.node("Tanh", [g.linear(first, shape.width, shape.width, name="pooler.dense")], name="pooler.tanh")
    g.output(pooled)
    return g.model()


def _gelu(g: GraphBuilder, x: str, name: str) -> str:
    """GELU written as x * 0.5 * (1 + erf(x / sqrt 2)) (opset 17 has no Gelu operator)."""
    root2 = g.constant(f"{name}.gelu.sqrt2", [2 ** 0.5], TensorProto.FLOAT)
    half = g.constant(f"{name}.gelu.half", [0.5], TensorProto.FLOAT)
    one = g.constant(f"{name}.gelu.one", [1.0], TensorProto.FLOAT)
    erf = g.node("Erf", [g.node("Div", [x, root2], name=f"{name}.gelu.div")], name=f"{name}.gelu.erf")
    return g.node("Mul", [g.node("Mul", [x, half], name=f"{name}.gelu.halfx"),
                          g.node("Add", [erf, one], name=f"{name}.gelu.plus1")], name=f"{name}.gelu")


def decoder(seq: int, context: int, *, weights: str = "shapes", shape: TransformerShape | None = None,
            name: str = "decoder") -> onnx.ModelProto:
    """A Llama-style decoder (pre-norm RMSNorm, SwiGLU, grouped-query attention, no biases).

    Prefill: ``seq == context`` and no cache. Decode: ``seq`` new tokens (usually 1) attend over
    ``context`` positions; the key/value caches of the ``context - seq`` earlier tokens are graph
    inputs, so their bytes count as activations read for every token, as on real hardware.
    """
    shape = shape or LLAMA_3_8B
    g = GraphBuilder(name, weights=weights)
    tokens = g.input("input_ids", ["batch", seq], TensorProto.INT64)
    kv_heads = shape.kv_heads or shape.heads
    cached = context - seq
    x = g.node("Gather", [g.weight("embed", [shape.vocab, shape.width]), tokens], name="embed", axis=0)
    for layer in range(shape.layers):
        block = f"layer{layer}"
        past = None
        if cached > 0:
            past = (g.input(f"past_key.{layer}", ["batch", kv_heads, cached, shape.head_dim]),
                    g.input(f"past_value.{layer}", ["batch", kv_heads, cached, shape.head_dim]))
        normed = _rms_norm(g, x, shape.width, f"{block}.norm1")
        attended = _attention(g, normed, shape, seq, context, f"{block}.attn", past=past)
        x = g.node("Add", [x, attended], name=f"{block}.res1")
        normed = _rms_norm(g, x, shape.width, f"{block}.norm2")
        gate = g.linear(normed, shape.width, shape.ffn, bias=False, name=f"{block}.gate")
        swish = g.node("Mul", [gate, g.node("Sigmoid", [gate], name=f"{block}.silu.sigmoid")], name=f"{block}.silu")
        up = g.linear(normed, shape.width, shape.ffn, bias=False, name=f"{block}.up")
        hidden = g.node("Mul", [swish, up], name=f"{block}.swiglu")
        x = g.node("Add", [x, g.linear(hidden, shape.ffn, shape.width, bias=False, name=f"{block}.down")],
                   name=f"{block}.res2")
    x = _rms_norm(g, x, shape.width, "final_norm")
    g.output(g.linear(x, shape.width, shape.vocab, bias=False, name="lm_head"))
    return g.model()


def _rms_norm(g: GraphBuilder, x: str, width: int, name: str) -> str:
    """RMSNorm: x / sqrt(mean(x^2) + eps) * scale, in opset-17 operators."""
    squared = g.node("Mul", [x, x], name=f"{name}.sq")
    mean = g.node("ReduceMean", [squared], name=f"{name}.mean", axes=[-1], keepdims=1)
    eps = g.constant(f"{name}.eps", [1e-5], TensorProto.FLOAT)
    root = g.node("Sqrt", [g.node("Add", [mean, eps], name=f"{name}.eps_add")], name=f"{name}.sqrt")
    normed = g.node("Div", [x, root], name=f"{name}.div")
    return g.node("Mul", [normed, g.weight(f"{name}.scale", [width], fill=1.0)], name=f"{name}.scale")


#: BERT-base (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers", section 3:
#: L=12, H=768, A=12, 110M parameters; feed-forward 4H; WordPiece vocabulary 30,522 in the released model).
BERT_BASE = TransformerShape(layers=12, width=768, heads=12, ffn=3072, vocab=30522, max_positions=512, type_vocab=2)

#: BERT-large (Devlin et al. 2019, section 3: L=24, H=1024, A=16, 340M parameters; feed-forward 4H).
BERT_LARGE = TransformerShape(layers=24, width=1024, heads=16, ffn=4096, vocab=30522, max_positions=512,
                              type_vocab=2)

#: Llama 3 8B and 70B (Llama Team, "The Llama 3 Herd of Models", arXiv:2407.21783, Table 3: layers,
#: model dimension, FFN dimension, attention heads, key/value heads; vocabulary 128K = 128,256 tokens).
LLAMA_3_8B = TransformerShape(layers=32, width=4096, heads=32, ffn=14336, vocab=128256, kv_heads=8, bias=False)
LLAMA_3_70B = TransformerShape(layers=80, width=8192, heads=64, ffn=28672, vocab=128256, kv_heads=8, bias=False)


def resnext50_stages(g: GraphBuilder, x: str, *, width: int = 64, groups: int = 32, group_width: int = 4,
                     blocks=(3, 4, 6, 3)) -> list[str]:
    """ResNeXt-50 (32x4d) as torchvision builds it: the outputs of its four stages (C2 .. C5).

    Xie et al. 2017, "Aggregated Residual Transformations for Deep Neural Networks", Table 1: a
    bottleneck of width ``groups x group_width x 2^stage`` around a grouped 3x3 convolution.
    """
    y = _conv_bn(g, x, 3, width, 7, 2, name="stem")
    y = g.node("MaxPool", [y], name="stem.pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in, outputs = width, []
    for stage, count in enumerate(blocks):
        inner, planes = groups * group_width * 2**stage, width * 2**stage * 4
        for block in range(count):
            stride = 2 if block == 0 and stage > 0 else 1
            name = f"layer{stage + 1}.{block}"
            out = _conv_bn(g, y, c_in, inner, 1, name=f"{name}.conv1")
            out = _conv_bn(g, out, inner, inner, 3, stride, groups=groups, name=f"{name}.conv2")
            out = _conv_bn(g, out, inner, planes, 1, act=None, name=f"{name}.conv3")
            shortcut = y
            if block == 0:
                shortcut = _conv_bn(g, y, c_in, planes, 1, stride, act=None, name=f"{name}.downsample")
            y = g.node("Relu", [g.node("Add", [out, shortcut], name=f"{name}.add")], name=f"{name}.relu")
            c_in = planes
        outputs.append(y)
    return outputs


def _shared_conv(g: GraphBuilder, x: str, weight: str, bias: str, kernel: int, name: str) -> str:
    pad = kernel // 2
    return g.node("Conv", [x, weight, bias], name=name, kernel_shape=[kernel, kernel], strides=[1, 1], pads=[pad] * 4)


def retinanet(size: int = 800, *, weights: str = "shapes", classes: int = 264, anchors: int = 9,
              channels: int = 256, head_depth: int = 4) -> onnx.ModelProto:
    """RetinaNet with a ResNeXt-50 32x4d FPN backbone, as MLPerf Inference's ``retinanet`` benchmark runs it.

    Lin et al. 2017, "Focal Loss for Dense Object Detection" (arXiv:1708.02002), section 4: FPN
    levels P3-P7 of 256 channels (P6 and P7 by stride-2 3x3 convolutions), a classification and a box
    subnet shared across levels, each four 3x3 convolutions of 256 channels with ReLU, then a 3x3
    convolution to ``anchors x classes`` (sigmoid) and ``anchors x 4`` outputs; 9 anchors. MLPerf's
    model: torchvision's ``retinanet_resnext50_32x4d_fpn`` at 800x800 on the 264 classes of the
    MLPerf OpenImages subset (mlcommons/inference, vision/classification_and_detection README,
    "retinanet 800x800"). Box decoding and NMS after the network are not counted.
    """
    g = GraphBuilder("retinanet", weights=weights)
    x = g.input("images", ["batch", 3, size, size])
    _, c3, c4, c5 = resnext50_stages(g, x)
    lateral = [g.conv(c, c_in, channels, 1, bias=True, name=f"fpn.inner{i}")
               for i, (c, c_in) in enumerate(((c3, 512), (c4, 1024), (c5, 2048)))]
    top = lateral[2]
    merged = [top]
    for level in (1, 0):
        scales = g.constant(f"fpn.up{level}.scales", [1.0, 1.0, 2.0, 2.0], TensorProto.FLOAT)
        up = g.node("Resize", [top, "", scales], name=f"fpn.up{level}", mode="nearest")
        top = g.node("Add", [lateral[level], up], name=f"fpn.add{level}")
        merged.insert(0, top)
    levels = [g.conv(m, channels, channels, 3, bias=True, name=f"fpn.layer{i}") for i, m in enumerate(merged)]
    p6 = g.conv(levels[2], channels, channels, 3, 2, bias=True, name="fpn.p6")
    p7 = g.conv(g.node("Relu", [p6], name="fpn.p6.relu"), channels, channels, 3, 2, bias=True, name="fpn.p7")
    levels += [p6, p7]
    for head, outputs, activation in (("cls", anchors * classes, "Sigmoid"), ("box", anchors * 4, None)):
        tower = [(g.weight(f"{head}.conv{i}.weight", [channels, channels, 3, 3]),
                  g.weight(f"{head}.conv{i}.bias", [channels], fill=0.0)) for i in range(head_depth)]
        final = (g.weight(f"{head}.logits.weight", [outputs, channels, 3, 3]),
                 g.weight(f"{head}.logits.bias", [outputs], fill=0.0))
        for index, level in enumerate(levels):
            y = level
            for i, (w, b) in enumerate(tower):
                y = g.node("Relu", [_shared_conv(g, y, w, b, 3, f"{head}.p{index + 3}.conv{i}")],
                           name=f"{head}.p{index + 3}.relu{i}")
            y = _shared_conv(g, y, *final, 3, f"{head}.p{index + 3}.logits")
            g.output(g.node(activation, [y], name=f"{head}.p{index + 3}.sigmoid") if activation else y)
    return g.model()
