"""The model's default parameters: efficiencies per kind of device, the batch limit, training state per
parameter, and the classes of operator that share an efficiency."""

from __future__ import annotations

from chipfit.records import Device, Efficiency, Kind

#: Assumed sustained fractions of peak and per-operator overhead, by kind of device. Not measured:
#: CPUs reach about half of peak FLOPs on dense kernels and a few µs of dispatch per operator;
#: GPUs somewhat more with ~5 µs kernel launches; dataflow ASICs/NPUs/FPGAs keep their arrays
#: busier with little per-operator dispatch. Calibration (measured runs) replaces these.
DEFAULT_EFFICIENCY = {
    Kind.CPU: Efficiency(compute=0.5, memory=0.7, overhead_s=2e-6),
    Kind.GPU: Efficiency(compute=0.6, memory=0.8, overhead_s=5e-6),
    Kind.APU: Efficiency(compute=0.6, memory=0.8, overhead_s=5e-6),
    Kind.ASIC: Efficiency(compute=0.7, memory=0.8, overhead_s=1e-6),
    Kind.NPU: Efficiency(compute=0.7, memory=0.8, overhead_s=1e-6),
    Kind.FPGA: Efficiency(compute=0.6, memory=0.8, overhead_s=1e-6),
}

#: The largest batch the offline and server scenarios try (powers of two up to this); the search stops
#: earlier at the memory limit, the latency target, or when doubling the batch gains under
#: :data:`BATCH_GAIN` of throughput. The bound matters only for devices with no memory figure.
MAX_BATCH = 65536

#: The throughput gain below which doubling the batch is not worth it (1%): the batch search stops.
BATCH_GAIN = 0.01

#: Idle power as a share of rated power. A labelled assumption, not a measured figure: accelerators
#: idle at roughly a fifth to a third of their rated power (an H100 SXM at 700 W rated idles near
#: 100-150 W in nvidia-smi readings); the dynamic rest grows with how busy compute or memory is.
IDLE_POWER_FRACTION = 0.25

#: Ids of published results (``chipfit.published``) that default efficiencies were derived from.
#: ``validate --published`` summarises them apart from the rest (held out). Empty: no default rests on
#: a fit yet.
DERIVED_FROM: frozenset[str] = frozenset()

#: Bytes of state per parameter when training with Adam in mixed precision: 16-bit weights (2) and
#: gradients (2), and the optimizer's FP32 master weights, momentum and variance (4 + 4 + 4). Source:
#: Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models"
#: (SC'20, arXiv:1910.02054), section 3.1: "2Ψ + 2Ψ + KΨ = 16Ψ bytes" with K = 12 for Adam. FP32
#: training holds the same 16 bytes (4 each: weights, gradients, momentum, variance).
TRAINING_BYTES_PER_PARAMETER = 16.0


#: Classes of operator that run alike, for per-class efficiencies (calibration measures each).
OP_CLASSES = {
    **dict.fromkeys(["conv", "Conv", "ConvInteger", "QLinearConv", "ConvTranspose"], "conv"),
    **dict.fromkeys(["matmul", "MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "Einsum", "Attention",
                     "MultiHeadAttention"], "matmul"),
}


def op_class(op) -> str:
    """The class an operator's efficiency comes from: its own ``op_class``, else by type, else "other"."""
    return op.op_class or OP_CLASSES.get(op.op_type, "other")


def efficiency_for(device: Device) -> tuple[Efficiency, str]:
    """The efficiencies the model uses for a device, and where they came from."""
    if device.efficiency is not None:
        return device.efficiency, device.efficiency.origin or "device plugin"
    return DEFAULT_EFFICIENCY[device.kind], f"default for kind {device.kind} (assumed)"
