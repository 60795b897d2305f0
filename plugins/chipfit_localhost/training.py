"""A measured training step on this machine's CPU: PyTorch's CPU build (the ``train`` extra).

The network is built in PyTorch with the layers of chipfit_onnx's reference graph of the same name
(ResNet-50: He et al. 2015, "Deep Residual Learning for Image Recognition", arXiv:1512.03385,
Table 1, the 50-layer column, bottleneck blocks [3, 4, 6, 3] with the stride on the 3x3 convolution as
torchvision builds it), with random weights. One step is what a training loop does per batch: forward,
cross-entropy loss against random labels, backward, an SGD update with momentum. Steps run in a
child process (:func:`chipfit_localhost.run.run_in_child`) and are timed by
:func:`chipfit_localhost.timing.measure` after two warm-up steps.
"""

from __future__ import annotations

import platform
from typing import Any

#: Reference graphs a training step can be built for here.
TRAINABLE = ("reference:resnet-50",)


def _resnet50(torch):
    """ResNet-50 (arXiv:1512.03385, Table 1): a 7x7 stem, bottleneck stages [3, 4, 6, 3], 1000 classes."""
    nn = torch.nn

    class Bottleneck(nn.Module):
        def __init__(self, inputs: int, width: int, stride: int) -> None:
            super().__init__()
            outputs = width * 4
            self.body = nn.Sequential(
                nn.Conv2d(inputs, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, outputs, 1, bias=False), nn.BatchNorm2d(outputs))
            self.shortcut = (nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False),
                                           nn.BatchNorm2d(outputs))
                             if stride != 1 or inputs != outputs else nn.Identity())
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            return self.relu(self.body(x) + self.shortcut(x))

    layers = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
              nn.MaxPool2d(3, stride=2, padding=1)]
    inputs = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for index in range(blocks):
            layers.append(Bottleneck(inputs, width, stride if index == 0 else 1))
            inputs = width * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(inputs, 1000)]
    return nn.Sequential(*layers), (3, 224, 224), 1000


def _child(graph: str, batch: int, budget_s: float, threads: int) -> dict[str, Any]:
    """Build, warm up and time training steps; the samples' summary and the environment."""
    import torch

    from chipfit_localhost.timing import measure

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    network, shape, classes = _resnet50(torch)
    network.train()
    optimiser = torch.optim.SGD(network.parameters(), lr=0.1, momentum=0.9)
    images = torch.randn(batch, *shape)
    labels = torch.randint(0, classes, (batch,))
    loss_function = torch.nn.CrossEntropyLoss()

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        loss = loss_function(network(images), labels)
        loss.backward()
        optimiser.step()

    samples = measure(step, budget_s=budget_s, warmup=2, min_samples=3)
    return {
        "summary": samples.summary(),
        "parameters": sum(p.numel() for p in network.parameters()),
        "environment": {"runtime": f"torch {torch.__version__}", "provider": "CPU (eager)", "threads": threads,
                        "python": platform.python_version(), "optimiser": "SGD, momentum 0.9",
                        "loss": "cross-entropy, random labels", "rapl": "not read: energy unavailable"},
    }


def run_training_step(graph: str, *, batch: int, budget_s: float, timeout_s: float | None = None) -> dict[str, Any]:
    """Time training steps of the network ``graph`` names at ``batch``, in a child process.

    Raises :class:`chipfit_localhost.run.RunFailure` when the run fails (the message says why).
    """
    from chipfit_localhost.run import RunFailure, available_cores, run_in_child

    if graph not in TRAINABLE:
        raise RunFailure(f"no training step is built here for {graph}: {', '.join(TRAINABLE)}")
    threads = available_cores()
    return run_in_child(_child, (graph, batch, budget_s, threads),
                        timeout_s=timeout_s or budget_s * 3 + 300.0)
