"""``localhost-gpu``: detection through a fake NVML module (no GPU needed), peaks from the cited
architecture table, providers, and real-GPU runs that skip with the reason where there is no GPU."""

from __future__ import annotations

import sys
import types

import pytest

from chipfit.checks import check_device
from chipfit_localhost import gpu as gpus
from chipfit_localhost.detect import GpuInfo, detect_gpus


def _fake_nvml(count: int = 1, capability=(9, 0), cores: int = 16896, sm_mhz: int = 1980, mem_mhz: int = 2619,
               bus: int = 5120, energy=(1000.0, 61000.0)) -> types.ModuleType:
    """An NVML module as nvidia-ml-py's pynvml presents it: an H100 SXM5 by default."""
    fake = types.ModuleType("pynvml")
    fake.__spec__ = types.SimpleNamespace(name="pynvml")
    fake.NVML_CLOCK_SM, fake.NVML_CLOCK_MEM = 1, 2
    fake.nvmlInit = lambda: None
    fake.nvmlShutdown = lambda: None
    fake.nvmlSystemGetDriverVersion = lambda: b"550.54"
    fake.nvmlDeviceGetCount = lambda: count
    fake.nvmlDeviceGetHandleByIndex = lambda i: ("handle", i)
    fake.nvmlDeviceGetName = lambda h: "NVIDIA H100 80GB HBM3"
    fake.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=80 * 2**30)
    fake.nvmlDeviceGetPowerManagementLimit = lambda h: 700000
    fake.nvmlDeviceGetMaxClockInfo = lambda h, clock: {1: sm_mhz, 2: mem_mhz}[clock]
    fake.nvmlDeviceGetCudaComputeCapability = lambda h: capability
    fake.nvmlDeviceGetNumGpuCores = lambda h: cores
    fake.nvmlDeviceGetMemoryBusWidth = lambda h: bus
    readings = iter(energy)
    fake.nvmlDeviceGetTotalEnergyConsumption = lambda h: next(readings)
    return fake


@pytest.fixture
def nvml(monkeypatch):
    def install(**kwargs):
        module = _fake_nvml(**kwargs)
        monkeypatch.setitem(sys.modules, "pynvml", module)
        return module

    return install


def test_nvml_detection_reads_clocks_cores_capability_and_bus(nvml):
    nvml()
    (info,) = detect_gpus()
    assert info.compute_capability == "9.0" and info.cuda_cores == 16896 and info.memory_bus_bits == 5120
    assert info.max_clock_hz == 1980e6 and info.max_memory_clock_hz == 2619e6 and info.power_limit_w == 700


def test_a_hopper_gpu_gets_peaks_from_the_cited_table(nvml):
    nvml()
    (device,) = gpus.local_gpus()
    assert device.id == "localhost-gpu" and device.kind == "gpu" and device.measurable
    sms = 16896 // 128
    assert device.peak_ops["fp16"] == pytest.approx(sms * 4096 * 1980e6)
    assert device.peak_ops["fp32"] == pytest.approx(16896 * 2 * 1980e6)
    assert "H100 Tensor Core GPU Architecture whitepaper" in device.derivations["peak_ops.fp16"]
    assert device.memory_bandwidth == pytest.approx(5120 / 8 * 2619e6 * 2)
    assert "memory_bandwidth" in device.unconfirmed and device.power == 700
    assert check_device(device) == []


def test_an_unknown_architecture_gets_fp32_only_and_says_so(nvml):
    nvml(capability=(12, 0))
    (device,) = gpus.local_gpus()
    assert set(device.peak_ops) == {"fp32"} and "not in the table" in device.notes


def test_a_gpu_without_a_clock_is_not_given_invented_peaks():
    info = GpuInfo(index=0, name="x", memory_bytes=1, power_limit_w=None, sm_count=None, max_clock_hz=None,
                   driver=None, compute_capability="9.0", cuda_cores=100)
    assert gpus.gpu_device(info) is None


def test_second_gpu_ids_and_registration_through_the_plugin(nvml, monkeypatch):
    nvml(count=2)
    from chipfit.catalogue import collect
    from chipfit.plugins import get_plugin_manager

    catalogue = collect(get_plugin_manager())
    assert {"localhost-gpu", "localhost-gpu-1"} <= set(catalogue.devices)


def test_without_nvml_no_gpu_device_and_nothing_of_the_gpu_path_loads(monkeypatch, catalogue):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.delitem(sys.modules, "chipfit_localhost.gpu", raising=False)
    from chipfit.catalogue import collect
    from chipfit.plugins import get_plugin_manager

    devices = collect(get_plugin_manager()).devices
    assert not [ident for ident in devices if ident.startswith("localhost-gpu")]
    assert "chipfit_localhost.gpu" not in sys.modules


@pytest.mark.parametrize("available, chosen", [
    (["CPUExecutionProvider"], []),
    (["CUDAExecutionProvider", "CPUExecutionProvider"], ["CUDAExecutionProvider"]),
    (["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
     ["TensorrtExecutionProvider", "CUDAExecutionProvider"]),
])
def test_tensorrt_first_where_installed_then_cuda(available, chosen):
    assert gpus.providers(available) == chosen


def _real_gpu() -> str | None:
    """Why a real-GPU test cannot run here, or None when it can."""
    try:
        import onnxruntime
    except ImportError:
        return "onnxruntime is not installed"
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return "no CUDAExecutionProvider in this onnxruntime (pip install onnxruntime-gpu) or no GPU here"
    if not gpus.local_gpus():
        return "NVML reports no NVIDIA GPU on this machine"
    return None


@pytest.mark.skipif(_real_gpu() is not None, reason=str(_real_gpu()))
def test_a_real_gpu_run_is_measured_with_nvml_energy(pm, catalogue):
    from chipfit import Scenario
    from chipfit.cells import measure_cell

    device = catalogue.devices["localhost-gpu"]
    row = measure_cell(pm, device, catalogue.workloads["resnet-50"], Scenario("offline", batch=8), 2.0)
    assert row.ok, row.reason
    assert row.measurement["environment"]["provider"] in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
    if row.metrics["energy_per_sample_j"] is not None:
        assert "NVML" in " ".join(row.explain)
