"""YOLOv3 layer by layer, as darknet's ``cfg/yolov3.cfg`` defines it, costed per operator.

The network (107 layers: 75 convolutional, 23 shortcut, 4 route, 2 upsample, 3 yolo) follows
pjreddie/darknet ``cfg/yolov3.cfg`` (see SOURCES.md beside this file for the layer list and its
lines). Costs, per sample, in FP32:

- convolution: ops = 2 x k x k x c_in x c_out x out_h x out_w (a multiply-add is 2 ops, as darknet
  counts BFLOPs); weights = k x k x c_in x c_out + c_out (batch-norm folded into a bias for
  inference); activations = input + output tensors;
- shortcut: one add per output element, reads two tensors and writes one;
- route (concatenation) and upsample: no arithmetic, a copy of their tensors;
- yolo: the logistic activation of the detection tensor, about one op per element.

Darknet's own total counts convolutions only: :func:`conv_flops` reproduces its published
38.97 / 65.86 / 140.69 BFLOPs at 320 / 416 / 608.
"""

from __future__ import annotations

import attrs

from chipfit.records import Operator

BYTES = 4  # fp32

#: The Darknet-53 backbone: (filters, residual blocks) per stage after the stride-2 convolution.
_STAGES = ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4))


@attrs.frozen
class Layer:
    """One darknet layer and the tensors around it (channels, height, width)."""

    index: int
    kind: str  # conv, shortcut, route, upsample, yolo
    out_c: int
    out_h: int
    out_w: int
    in_c: int = 0
    size: int = 0
    stride: int = 1
    sources: tuple[int, ...] = ()
    batch_norm: bool = True
    trainable: int = 0
    ops: float = 0.0
    weight_bytes: float = 0.0
    activation_bytes: float = 0.0


class _Builder:
    """Appends layers, tracking the current tensor like darknet's parser does."""

    def __init__(self, height: int, width: int) -> None:
        self.layers: list[Layer] = []
        self.c, self.h, self.w = 3, height, width

    def conv(self, filters: int, size: int, stride: int = 1, batch_norm: bool = True) -> None:
        in_c, in_h, in_w = self.c, self.h, self.w
        out_h, out_w = in_h // stride, in_w // stride
        macs = size * size * in_c * filters * out_h * out_w
        weights = size * size * in_c * filters
        trainable = weights + (2 * filters if batch_norm else filters)  # BN gamma and beta, or a bias
        self._add(Layer(
            len(self.layers), "conv", filters, out_h, out_w, in_c, size, stride, tuple(range(len(self.layers))[-1:]),
            batch_norm, trainable,
            ops=2.0 * macs,
            weight_bytes=(weights + filters) * BYTES,
            activation_bytes=(in_c * in_h * in_w + filters * out_h * out_w) * BYTES,
        ))

    def shortcut(self) -> None:
        elements = self.c * self.h * self.w
        here = len(self.layers)
        self._add(Layer(here, "shortcut", self.c, self.h, self.w, self.c, sources=(here - 1, here - 3),
                        ops=float(elements), activation_bytes=3.0 * elements * BYTES))

    def route(self, *sources: int) -> None:
        absolute = tuple(s if s >= 0 else len(self.layers) + s for s in sources)
        picked = [self.layers[s] for s in absolute]
        channels = sum(layer.out_c for layer in picked)
        first = picked[0]
        elements = channels * first.out_h * first.out_w
        self._add(Layer(len(self.layers), "route", channels, first.out_h, first.out_w, channels,
                        sources=absolute, activation_bytes=2.0 * elements * BYTES))

    def upsample(self) -> None:
        elements = self.c * self.h * self.w
        self._add(Layer(len(self.layers), "upsample", self.c, self.h * 2, self.w * 2, self.c, stride=2,
                        sources=(len(self.layers) - 1,), activation_bytes=5.0 * elements * BYTES))  # read 1, write 4

    def yolo(self) -> None:
        elements = self.c * self.h * self.w
        self._add(Layer(len(self.layers), "yolo", self.c, self.h, self.w, self.c, sources=(len(self.layers) - 1,),
                        ops=float(elements), activation_bytes=2.0 * elements * BYTES))

    def _add(self, layer: Layer) -> None:
        self.layers.append(layer)
        self.c, self.h, self.w = layer.out_c, layer.out_h, layer.out_w


def yolov3_layers(height: int = 416, width: int | None = None, classes: int = 80) -> list[Layer]:
    """The 107 layers of YOLOv3 at an input size (a multiple of 32), in darknet's order."""
    width = width or height
    if height % 32 or width % 32:
        raise ValueError(f"YOLOv3 input must be a multiple of 32, got {height}x{width}")
    detect = (classes + 5) * 3
    net = _Builder(height, width)
    net.conv(32, 3)
    for filters, blocks in _STAGES:
        net.conv(filters, 3, 2)
        for _ in range(blocks):
            net.conv(filters // 2, 1)
            net.conv(filters, 3)
            net.shortcut()
    # layers 36 and 61 are the last shortcuts of the 256- and 512-filter stages
    for filters, skip in ((512, None), (256, 61), (128, 36)):
        if skip is not None:
            net.route(-4)
            net.conv(filters, 1)
            net.upsample()
            net.route(-1, skip)
        for _ in range(3):
            net.conv(filters, 1)
            net.conv(filters * 2, 3)
        net.conv(detect, 1, batch_norm=False)
        net.yolo()
    return net.layers


def conv_flops(layers: list[Layer]) -> float:
    """Darknet's count: FLOPs of the convolutional layers only."""
    return sum(layer.ops for layer in layers if layer.kind == "conv")


def trainable_parameters(layers: list[Layer]) -> int:
    """Weights, batch-norm scales and shifts, and biases."""
    return sum(layer.trainable for layer in layers)


def operators(layers: list[Layer]) -> tuple[Operator, ...]:
    """The layers as chipfit operators (per-sample costs)."""
    return tuple(
        Operator(
            op_type=layer.kind,
            ops=layer.ops,
            weight_bytes=layer.weight_bytes,
            activation_bytes=layer.activation_bytes,
            name=f"{layer.index}:{layer.kind}" + (f" {layer.size}x{layer.size}/{layer.out_c}" if layer.size else ""),
        )
        for layer in layers
    )


def averaged_operators(sizes: list[int]) -> tuple[Operator, ...]:
    """Per-operator costs averaged over input sizes (darknet's multi-scale training)."""
    per_size = [operators(yolov3_layers(size)) for size in sizes]
    n = len(sizes)
    return tuple(
        attrs.evolve(
            ops[0],
            ops=sum(op.ops for op in ops) / n,
            activation_bytes=sum(op.activation_bytes for op in ops) / n,
            name=ops[0].name.split(" ")[0] + f" {ops[0].op_type} (mean of {n} sizes)",
        )
        for ops in zip(*per_size)
    )
