"""This machine's NVIDIA GPUs as devices (``localhost-gpu``, ``localhost-gpu-1`` ...), measured through ONNX Runtime.

Imported only where NVML (``nvidia-ml-py``, the ``gpu`` extra) is installed and reports a GPU:
without one, nothing here loads. The figures:

- detected through NVML: name, memory, max SM and memory clocks, power limit, CUDA cores, compute
  capability, memory bus width;
- peaks per precision: cores per SM and dense ops per clock per SM from :data:`ARCHITECTURES`, a
  table taken from NVIDIA's architecture whitepapers (each row cites its document), times the SMs
  (CUDA cores / cores per SM) and the max SM clock; FP32 is always CUDA cores x 2 (an FMA) x clock;
- memory bandwidth: NVML's bus width / 8 x max memory clock x 2 (double data rate), derived and
  marked unconfirmed (GDDR6X and HBM signal differently; a copy micro-benchmark measures it).

Measured runs go through ONNX Runtime's CUDA execution provider (TensorRT's first where that provider
is installed) with inputs and outputs bound on the device, each call timed to completion
(``IOBinding.synchronize_outputs`` before the clock is read); energy is NVML's total-energy counter
read before and after the timed calls: measured, and labelled so.
"""

from __future__ import annotations

import platform
import time
from typing import Any

from chipfit.records import Device

#: Compute capability -> (architecture, CUDA cores per SM, dense ops per clock per SM by precision,
#: source). Ops per clock: an FMA is 2; tensor-core rates are dense (no 2:4 sparsity).
ARCHITECTURES: dict[str, tuple[str, int, dict[str, int], str]] = {
    "7.0": ("Volta", 64, {"fp64": 64, "fp32": 128, "fp16": 1024},
            "NVIDIA Tesla V100 GPU Architecture whitepaper (WP-08608-001, 2017), 'Volta SM': 64 FP32 and 32 FP64 "
            "cores and 8 Tensor Cores per SM, each Tensor Core 64 FP16 FMA per clock"),
    "7.5": ("Turing", 64, {"fp32": 128, "fp16": 1024, "int8": 2048, "int4": 4096},
            "NVIDIA Turing GPU Architecture whitepaper (WP-09183-001, 2018), 'Turing SM': 64 FP32 cores and "
            "8 Tensor Cores per SM, each 64 FP16 FMA per clock, INT8 2x and INT4 4x that"),
    "8.0": ("Ampere GA100", 64, {"fp64": 64, "fp32": 128, "tf32": 1024, "fp16": 2048, "bf16": 2048, "int8": 4096},
            "NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020), 'A100 SM Architecture': 64 FP32 and "
            "32 FP64 cores and 4 Tensor Cores per SM, each 256 FP16/BF16 FMA per clock dense, TF32 half and "
            "INT8 twice that"),
    "8.6": ("Ampere GA10x", 128, {"fp32": 256, "tf32": 512, "fp16": 1024, "bf16": 1024, "int8": 2048},
            "NVIDIA Ampere GA102 GPU Architecture whitepaper (2021), 'GA10x SM': 128 FP32 cores and 4 Tensor "
            "Cores per SM, each 128 FP16 FMA per clock dense"),
    "8.9": ("Ada Lovelace", 128, {"fp32": 256, "tf32": 512, "fp16": 1024, "bf16": 1024, "fp8": 2048, "int8": 2048},
            "NVIDIA Ada GPU Architecture whitepaper (v2.1, 2023), 'Ada SM': 128 FP32 cores and 4 Tensor Cores "
            "per SM; FP16 dense 1024 ops per clock per SM, FP8 and INT8 twice that"),
    "9.0": ("Hopper", 128, {"fp64": 128, "fp32": 256, "tf32": 2048, "fp16": 4096, "bf16": 4096, "fp8": 8192,
                            "int8": 8192},
            "NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022), 'H100 SM Architecture': 128 FP32 and "
            "64 FP64 cores and 4 Tensor Cores per SM; dense FP16 1024 FMA per clock per SM, TF32 half, FP8 and "
            "INT8 twice"),
}


def device_id(index: int) -> str:
    """``localhost-gpu`` for GPU 0, ``localhost-gpu-N`` for the others."""
    return "localhost-gpu" if index == 0 else f"localhost-gpu-{index}"


def gpu_peaks(gpu) -> dict[str, tuple[float, str]]:
    """Dense peak ops/s per precision, each with its arithmetic; {} without a clock or core count."""
    if not gpu.max_clock_hz or not gpu.cuda_cores:
        return {}
    ghz = gpu.max_clock_hz / 1e9
    peaks = {"fp32": (gpu.cuda_cores * 2 * gpu.max_clock_hz,
                      f"{gpu.cuda_cores} CUDA cores (NVML) x 2 (FMA) x {ghz:.3g} GHz max SM clock (NVML)")}
    known = ARCHITECTURES.get(gpu.compute_capability or "")
    if known:
        name, per_sm_cores, per_clock, source = known
        sms = gpu.cuda_cores // per_sm_cores
        for precision, ops in per_clock.items():
            if precision == "fp32":
                continue
            peaks[precision] = (sms * ops * gpu.max_clock_hz,
                                f"{sms} SMs ({gpu.cuda_cores} CUDA cores / {per_sm_cores} per SM, {name}) x {ops} "
                                f"{precision} ops/clock/SM x {ghz:.3g} GHz; per-SM rate from {source}")
    return peaks


def gpu_device(gpu) -> Device | None:
    """One GPU as a measurable device; None where NVML gave no clock or core count (no peak to state)."""
    peaks = gpu_peaks(gpu)
    if not peaks:
        return None
    derivations = {f"peak_ops.{precision}": text for precision, (_, text) in peaks.items()}
    bandwidth = None
    if gpu.memory_bus_bits and gpu.max_memory_clock_hz:
        bandwidth = gpu.memory_bus_bits / 8 * gpu.max_memory_clock_hz * 2
        derivations["memory_bandwidth"] = (f"{gpu.memory_bus_bits}-bit bus / 8 x {gpu.max_memory_clock_hz / 1e6:.0f} MHz "
                                           f"max memory clock x 2 (double data rate), NVML = {bandwidth / 1e9:.0f} GB/s")
    known = ARCHITECTURES.get(gpu.compute_capability or "")
    return Device(
        id=device_id(gpu.index),
        name=f"This machine: {gpu.name}",
        vendor="localhost",
        kind="gpu",
        segment="datacenter" if (gpu.memory_bytes or 0) >= 32 * 2**30 else "desktop",
        peak_ops={precision: ops for precision, (ops, _) in peaks.items()},
        memory_bandwidth=bandwidth,
        memory_capacity=float(gpu.memory_bytes) or None,
        power=gpu.power_limit_w,
        power_kind="power limit (NVML)" if gpu.power_limit_w else "",
        year=None,
        capabilities=["training", "inference"],
        runtimes=["onnxruntime"],
        measurable=True,
        sources={"memory_capacity": "nvmlDeviceGetMemoryInfo on this machine",
                 "power": "nvmlDeviceGetPowerManagementLimit on this machine",
                 "capabilities": "a CUDA GPU runs training and inference"},
        derivations=derivations,
        unconfirmed={"segment", "memory_bandwidth", *derivations},
        notes=f"Detected through NVML (driver {gpu.driver or 'unknown'}, compute capability "
              f"{gpu.compute_capability or 'unknown'}{', ' + known[0] if known else ', an architecture not in the table: fp32 only'}).",
    )


def local_gpus() -> list[Device]:
    """This machine's NVIDIA GPUs as devices (NVML); [] without NVML or a GPU."""
    from chipfit_localhost.detect import _gpus_nvml

    return [device for device in (gpu_device(gpu) for gpu in (_gpus_nvml() or [])) if device is not None]


def providers(available: list[str]) -> list[str]:
    """ONNX Runtime providers for a GPU run: TensorRT's first where installed, then CUDA's; [] without CUDA's."""
    if "CUDAExecutionProvider" not in available:
        return []
    return [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in available]


def _energy_mj(pynvml, handle) -> float | None:
    try:
        return float(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle))
    except Exception:  # noqa: BLE001 - NVML_ERROR_NOT_SUPPORTED before Volta
        return None


def measure_on_gpu(graph: str, batch: int, budget_s: float, index: int) -> dict[str, Any]:
    """In a child process: run ``graph`` on GPU ``index`` through ONNX Runtime, timed to completion; energy from NVML."""
    import numpy
    import onnxruntime
    import pynvml

    from chipfit_localhost.run import _feeds, _load
    from chipfit_localhost.timing import measure

    chosen = providers(onnxruntime.get_available_providers())
    if not chosen:
        raise RuntimeError("this onnxruntime has no CUDAExecutionProvider: pip install onnxruntime-gpu")
    model, dims = _load(graph)
    feeds = _feeds(model, batch, dims)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=[(p, {"device_id": index}) for p in chosen])
    binding = session.io_binding()
    for name, value in feeds.items():
        binding.bind_ortvalue_input(name, onnxruntime.OrtValue.ortvalue_from_numpy(value, "cuda", index))
    for output in session.get_outputs():
        binding.bind_output(output.name, "cuda", index)

    def call() -> None:
        session.run_with_iobinding(binding)

    call()
    binding.synchronize_outputs()
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        before, started = _energy_mj(pynvml, handle), time.perf_counter()
        samples = measure(call, budget_s=budget_s, sync=binding.synchronize_outputs)
        after, wall = _energy_mj(pynvml, handle), time.perf_counter() - started
    finally:
        pynvml.nvmlShutdown()
    energy = None
    if before is not None and after is not None and after >= before:
        energy = {"joules": (after - before) / 1e3, "seconds": wall, "calls": len(samples.seconds),
                  "sensor": "NVML total energy counter (nvmlDeviceGetTotalEnergyConsumption), measured"}
    return {"summary": samples.summary(), "energy": energy,
            "environment": {"runtime": f"onnxruntime {onnxruntime.__version__}", "provider": session.get_providers()[0],
                            "threads": 1, "numpy": numpy.__version__, "python": platform.python_version(),
                            "device": index, "timing": "IOBinding.synchronize_outputs before each clock read"}}
