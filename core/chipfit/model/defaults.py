"""The model's default parameters: efficiencies per kind of device, the batch limit, training state per
parameter, and the classes of operator that share an efficiency."""

from __future__ import annotations

from chipfit.records import Device, Efficiency, Kind

#: Parameters derived from published results: each is the value at which the model reproduces one
#: published row (``chipfit.published``), found by bisection with every earlier parameter in place:
#: ``python benchmarks/published.py --derive`` re-derives and prints them. ``validate --published``
#: reports the error on the rows *not* used here apart from these. Name -> (row id, what it sets).
DERIVATIONS = {
    "GPU_COMPUTE": ("v4.1-nvidia-8xh200-resnet50-offline",
                    "compute efficiency of GPUs (every class and precision)"),
    "SERVER_LOAD": ("v4.1-nvidia-8xh200-resnet50-server",
                    "server throughput as a share of the best within the latency bound (Poisson arrivals "
                    "leave headroom for the tail)"),
    "CPU_COMPUTE": ("v4.1-intel-2xxeon6980p-resnet50-offline", "compute efficiency of CPUs"),
    "TRAINING_EFFICIENCY": ("t4.0-nvidia-8xh200-resnet",
                            "training's compute efficiency as a share of inference's (framework, optimizer, "
                            "data loading and evaluation overheads of a real training run)"),
    "ASIC_COMPUTE": ("t4.0-google-1024xtpu-v5p-gpt3",
                     "compute efficiency of ASICs (every class and precision): 1,024 TPU v5p training GPT-3 "
                     "175B with INT8 matmuls (AQT)"),
}
#: Ids of published results that default parameters were derived from (see :data:`DERIVATIONS`).
DERIVED_FROM: frozenset[str] = frozenset(row for row, _ in DERIVATIONS.values())

# Values printed by `python benchmarks/published.py --derive` (bisection to 4 digits, rounded to 3):
#: GPU compute efficiency: 8x H200 ResNet-50 offline, 756,960 samples/s published.
GPU_COMPUTE = 0.559
#: Server load: 8x H200 ResNet-50 server, 632,229 samples/s published within 15 ms.
SERVER_LOAD = 0.835
#: CPU compute efficiency: 2x Xeon 6980P ResNet-50 offline, 45,617 samples/s published.
CPU_COMPUTE = 0.360
#: Training share: 8x H200 ResNet-50 MLPerf Training v4.0, 721 s published (35 epochs).
TRAINING_EFFICIENCY = 0.561
#: ASIC compute efficiency: 1,024 TPU v5p GPT-3 175B MLPerf Training v4.0, 6,888 s published. Of the
#: INT8 peak: MaxText's AQT int8 training quantizes every matmul pass (fwd, dlhs, drhs bits 8), and the
#: quantize/scale work on the vector unit, full rematerialisation and multislice data-centre traffic
#: that the model does not charge separately all land here. It replaces an assumed 0.7 that no row fitted.
ASIC_COMPUTE = 0.205


def _efficiency(compute: float, memory: float, overhead_s: float, origin: str) -> Efficiency:
    return Efficiency(compute=compute, memory=memory, overhead_s=overhead_s, origin=origin)


def default_efficiencies() -> dict[Kind, Efficiency]:
    """The default efficiencies by kind of device, from the derived parameters and the assumed ones.

    Derived (:data:`DERIVATIONS`): GPU, CPU and ASIC compute efficiency (ASICs' from a Cloud TPU v5p
    training row, the only kind of ASIC with published results in use; it applies to the edge ASICs
    too, Coral and InferX, for want of a row of their own).
    Assumed, not measured (labelled so in every row's explanation): memory efficiencies (CPUs 0.7,
    others 0.8: typical sustained shares of datasheet bandwidth in STREAM-like kernels), per-kernel
    overheads (CPU 2 µs, GPU 5 µs kernel launch, dataflow chips 1 µs), APUs as GPUs, and the compute
    efficiency of NPUs (0.7) and FPGAs (0.6), which no published row fits yet.
    """
    gpu = f"derived from {DERIVATIONS['GPU_COMPUTE'][0]}"
    assumed = "assumed (no published row derives it)"
    return {
        Kind.CPU: _efficiency(CPU_COMPUTE, 0.7, 2e-6, f"derived from {DERIVATIONS['CPU_COMPUTE'][0]}"),
        Kind.GPU: _efficiency(GPU_COMPUTE, 0.8, 5e-6, gpu),
        Kind.APU: _efficiency(GPU_COMPUTE, 0.8, 5e-6, f"as GPUs, {gpu}"),
        Kind.ASIC: _efficiency(ASIC_COMPUTE, 0.8, 1e-6, f"derived from {DERIVATIONS['ASIC_COMPUTE'][0]}"),
        Kind.NPU: _efficiency(0.7, 0.8, 1e-6, assumed),
        Kind.FPGA: _efficiency(0.6, 0.8, 1e-6, assumed),
    }


#: The default efficiencies by kind (see :func:`default_efficiencies`).
DEFAULT_EFFICIENCY = default_efficiencies()

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
    efficiency = DEFAULT_EFFICIENCY[device.kind]
    return efficiency, f"default for kind {device.kind}: {efficiency.origin}"
