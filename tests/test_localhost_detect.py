"""chipfit_localhost.detect and .timing: this machine's hardware, peak rules, and the harness."""

from __future__ import annotations

import json
import math
import random
import re
import sys
import time
import types

import numpy as np
import pytest

from chipfit_localhost import detect
from chipfit_localhost.detect import CpuInfo, GpuInfo, compute_cores, cpu_peaks, detect_cpu, detect_gpus, machine_key
from chipfit_localhost.timing import Samples, _median_ci_rank, measure
from support import cpu_described_without_psutil


def make_cpu(**changes) -> CpuInfo:
    fields = dict(
        brand="Test CPU", vendor="GenuineIntel", arch="x86_64", physical_cores=4, logical_cores=8,
        max_hz=3.0e9, flags=frozenset({"sse", "sse2", "avx", "avx2", "fma"}), l2_bytes=2**20,
        l3_bytes=32 * 2**20, memory_bytes=16 * 2**30, affinity_cores=8, governor=None,
    )
    fields.update(changes)
    return CpuInfo(**fields)


# --------------------------------------------------------------------------------- detect_cpu


def test_detect_cpu_fields_are_sane_here():
    cpu = detect_cpu()
    assert cpu.physical_cores >= 1 and cpu.logical_cores >= cpu.physical_cores
    assert 1 <= cpu.affinity_cores <= cpu.logical_cores
    assert cpu.memory_bytes > 0
    assert isinstance(cpu.flags, frozenset) and all(f == f.lower() for f in cpu.flags)
    assert cpu.max_hz >= 0.0
    assert cpu.l3_bytes is None or cpu.l3_bytes > 0
    assert cpu.arch
    json.dumps(cpu.summary())


def test_detect_cpu_falls_back_to_py_cpuinfo_without_proc(monkeypatch):
    monkeypatch.setattr(detect, "_proc_cpuinfo", lambda: {})
    cpu = detect_cpu()  # py-cpuinfo path (1-2 s, cached); must not raise
    assert cpu.logical_cores >= 1 and isinstance(cpu.flags, frozenset)


def test_detect_cpu_survives_no_sources(monkeypatch):
    monkeypatch.setattr(detect, "_proc_cpuinfo", lambda: {})
    monkeypatch.setattr(detect, "_py_cpuinfo", lambda: {})
    monkeypatch.setattr(detect, "_sysfs_caches", lambda: (None, None))
    monkeypatch.setattr(detect, "_max_hz_sysfs", lambda: None)
    monkeypatch.setattr(detect, "_psutil", lambda: None)
    cpu = detect_cpu()
    assert cpu.brand == "" and cpu.logical_cores >= 1 and cpu.memory_bytes >= 0
    assert machine_key(cpu)  # still a usable key


_LINUX_SOURCES = cpu_described_without_psutil()


@pytest.mark.skipif(not _LINUX_SOURCES, reason="needs Linux sysfs topology and a clock in cpufreq or /proc/cpuinfo")
def test_detect_cpu_on_linux_needs_no_psutil(monkeypatch):
    def no_psutil():
        raise AssertionError("psutil was asked (about 8 ms to import) where /proc and /sys answer")

    monkeypatch.setattr(detect, "_psutil", no_psutil)
    cpu = detect_cpu()
    assert cpu.physical_cores >= 1 and cpu.memory_bytes > 0 and cpu.max_hz > 0


@pytest.mark.skipif(not _LINUX_SOURCES, reason="needs Linux sysfs topology and a clock in cpufreq or /proc/cpuinfo")
def test_the_standard_library_and_sysfs_agree_with_psutil():
    psutil = pytest.importorskip("psutil")
    assert detect._physical_cores_sysfs() == psutil.cpu_count(logical=False)
    assert detect._memory_bytes() == psutil.virtual_memory().total
    assert detect_cpu().logical_cores == psutil.cpu_count(logical=True)


def test_psutil_answers_what_sysfs_and_sysconf_do_not(monkeypatch):
    psutil = pytest.importorskip("psutil")  # imported before sysconf is broken below (psutil reads it at import)
    monkeypatch.setattr(detect, "_physical_cores_sysfs", lambda: None)
    monkeypatch.setattr(detect.os, "sysconf", lambda name: (_ for _ in ()).throw(ValueError(name)))
    cpu = detect_cpu()
    assert cpu.physical_cores == min(psutil.cpu_count(logical=False), cpu.logical_cores)
    assert cpu.memory_bytes == psutil.virtual_memory().total


def test_cpu_peaks_here_show_cores_and_clock():
    cpu = detect_cpu()
    peaks = cpu_peaks(cpu)
    if not cpu.max_hz:
        assert peaks == {}
        return
    assert "fp32" in peaks and "fp64" in peaks
    cores = compute_cores(cpu)
    for rate, text in peaks.values():
        assert rate > 0
        assert f"{cores} cores" in text and "GHz" in text
        assert f"{cpu.max_hz / 1e9:.3g} GHz" in text


# --------------------------------------------------------------------------------- peak rules


def test_avx2_machine_uses_physical_cores_not_smt_threads():
    peaks = cpu_peaks(make_cpu())  # 4 cores, 8 threads, 3 GHz, AVX2+FMA
    assert peaks["fp32"][0] == pytest.approx(4 * 32 * 3e9)
    assert peaks["fp64"][0] == pytest.approx(4 * 16 * 3e9)
    assert peaks["int8"][0] == pytest.approx(4 * 64 * 3e9)
    assert "assumed" in peaks["int8"][1] and "pmaddubsw" in peaks["int8"][1]
    assert "AVX2" in peaks["fp32"][1] and "4 cores" in peaks["fp32"][1] and "3 GHz" in peaks["fp32"][1]
    assert "384 GFLOP/s" in peaks["fp32"][1]
    assert "bf16" not in peaks and "fp16" not in peaks


def test_affinity_limits_cores():
    assert cpu_peaks(make_cpu(affinity_cores=2))["fp32"][0] == pytest.approx(2 * 32 * 3e9)


def test_avx512_vnni():
    cpu = make_cpu(physical_cores=2, logical_cores=2, affinity_cores=2, max_hz=2.0e9,
                   flags=frozenset({"avx2", "fma", "avx512f", "avx512_vnni"}))
    peaks = cpu_peaks(cpu)
    assert peaks["fp32"][0] == pytest.approx(2 * 64 * 2e9)
    assert "assumed 2 FMA units" in peaks["fp32"][1]
    assert peaks["int8"][0] == pytest.approx(4 * peaks["fp32"][0])
    assert "VNNI" in peaks["int8"][1]
    assert "bf16" not in peaks


def test_avx_vnni_without_avx512():
    cpu = make_cpu(flags=frozenset({"avx2", "fma", "avx_vnni"}))
    assert cpu_peaks(cpu)["int8"][0] == pytest.approx(4 * cpu_peaks(cpu)["fp32"][0])


def test_amx():
    cpu = make_cpu(physical_cores=8, logical_cores=16, affinity_cores=16, max_hz=2.0e9,
                   flags=frozenset({"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
                                    "amx_tile", "amx_bf16", "amx_int8"}))
    peaks = cpu_peaks(cpu)
    assert peaks["bf16"][0] == pytest.approx(8 * 1024 * 2e9)
    assert peaks["int8"][0] == pytest.approx(8 * 2048 * 2e9)
    assert "AMX" in peaks["bf16"][1] and "AMX" in peaks["int8"][1]


def test_avx512_bf16_without_amx():
    cpu = make_cpu(flags=frozenset({"avx512f", "avx512_bf16"}))
    peaks = cpu_peaks(cpu)
    assert peaks["bf16"][0] == pytest.approx(2 * peaks["fp32"][0])


def test_sse_only():
    assert cpu_peaks(make_cpu(flags=frozenset({"sse", "sse2"})))["fp32"][0] == pytest.approx(4 * 8 * 3e9)


def test_aarch64_neon():
    cpu = make_cpu(arch="aarch64", vendor="ARM", physical_cores=4, logical_cores=4, affinity_cores=4,
                   max_hz=2.0e9, flags=frozenset({"fp", "asimd", "asimddp", "asimdhp"}))
    peaks = cpu_peaks(cpu)
    assert peaks["fp32"][0] == pytest.approx(4 * 16 * 2e9)
    assert peaks["fp64"][0] == pytest.approx(4 * 8 * 2e9)
    assert peaks["fp16"][0] == pytest.approx(4 * 32 * 2e9)
    assert peaks["int8"][0] == pytest.approx(4 * 64 * 2e9)
    assert "NEON" in peaks["fp32"][1]


def test_unknown_frequency_gives_no_peaks():
    assert cpu_peaks(make_cpu(max_hz=0.0)) == {}


# --------------------------------------------------------------------------------- machine_key


def test_machine_key_example_and_stability():
    cpu = make_cpu(brand="Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz", logical_cores=2,
                   memory_bytes=25276063744)
    assert machine_key(cpu) == "intel-xeon-platinum-8370c-2c-24gb"
    here = detect_cpu()
    key = machine_key(here)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key)
    assert key == machine_key(detect_cpu())
    assert key.endswith(f"-{here.logical_cores}c-{round(here.memory_bytes / 2**30)}gb")


def test_machine_key_amd_and_empty_brand():
    cpu = make_cpu(brand="AMD Ryzen 9 7950X 16-Core Processor", logical_cores=32, memory_bytes=64 * 2**30)
    assert machine_key(cpu) == "amd-ryzen-9-7950x-32c-64gb"
    assert machine_key(make_cpu(brand="", vendor="", arch="aarch64")) == "aarch64-8c-16gb"


# --------------------------------------------------------------------------------- GPUs


def test_detect_gpus_here_without_pynvml_and_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    assert detect_gpus() == []


def test_detect_gpus_never_raises_when_nvml_fails(monkeypatch):
    broken = types.ModuleType("pynvml")

    def fail():
        raise RuntimeError("NVML Shared Library Not Found")

    broken.nvmlInit = fail
    broken.__spec__ = types.SimpleNamespace(name="pynvml")
    monkeypatch.setitem(sys.modules, "pynvml", broken)
    monkeypatch.setitem(sys.modules, "torch", None)
    assert detect_gpus() == []


def test_detect_gpus_reads_nvml(monkeypatch):
    fake = types.ModuleType("pynvml")
    fake.__spec__ = types.SimpleNamespace(name="pynvml")
    fake.NVML_CLOCK_SM = 1
    fake.nvmlInit = lambda: None
    fake.nvmlShutdown = lambda: None
    fake.nvmlSystemGetDriverVersion = lambda: b"550.54"
    fake.nvmlDeviceGetCount = lambda: 1
    fake.nvmlDeviceGetHandleByIndex = lambda i: ("h", i)
    fake.nvmlDeviceGetName = lambda h: "NVIDIA H100 80GB HBM3"
    fake.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=80 * 2**30)
    fake.nvmlDeviceGetPowerManagementLimit = lambda h: 700000

    def unsupported(h, clock):
        raise RuntimeError("Not Supported")

    fake.nvmlDeviceGetMaxClockInfo = unsupported
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert detect_gpus() == [GpuInfo(index=0, name="NVIDIA H100 80GB HBM3", memory_bytes=80 * 2**30,
                                     power_limit_w=700.0, sm_count=None, max_clock_hz=None,
                                     driver="550.54")]


# --------------------------------------------------------------------------------- timing: Samples


def test_samples_statistics_on_fixed_data():
    data = [float(x) for x in range(1, 101)]
    random.Random(0).shuffle(data)
    s = Samples(data)
    array = np.array(data)
    assert s.n == 100 and s.median == 50.5
    for q, value in ((0.10, s.p10), (0.90, s.p90), (0.99, s.p99)):
        assert value == pytest.approx(np.quantile(array, q))
    assert s.iqr == pytest.approx(np.quantile(array, 0.75) - np.quantile(array, 0.25))
    assert s.mean == pytest.approx(50.5)
    assert s.stdev == pytest.approx(np.std(array, ddof=1))
    assert s.cv == pytest.approx(np.std(array, ddof=1) / 50.5)
    assert s.seconds == tuple(data)  # raw order kept
    summary = s.summary()
    json.dumps(summary)
    assert summary["n"] == 100 and summary["median_s"] == 50.5 and len(summary["median_ci95_s"]) == 2


def test_samples_edge_cases():
    one = Samples([2.0])
    assert one.median == 2.0 and one.stdev == 0.0 and one.cv == 0.0 and one.median_ci() == (2.0, 2.0)
    empty = Samples([])
    assert math.isnan(empty.median) and all(math.isnan(v) for v in empty.median_ci())


def test_median_ci_ranks_match_tables():
    # Classic order-statistic table for the 95% CI of the median: n=10 -> (2, 9), n=20 -> (6, 15)
    assert _median_ci_rank(10, 0.95) == 2
    assert _median_ci_rank(20, 0.95) == 6
    assert _median_ci_rank(5, 0.95) == 0  # not reachable: [min, max]
    assert Samples([5.0, 1.0, 3.0, 2.0, 4.0]).median_ci() == (1.0, 5.0)
    ten = Samples([float(x) for x in range(1, 11)])
    assert ten.median_ci() == (2.0, 9.0)
    # normal approximation agrees with the exact rank around the switch-over
    exact = _median_ci_rank(3000, 0.95)
    assert abs(exact - _median_ci_rank(3001, 0.95)) <= 1


def test_median_ci_contains_median_and_narrows_with_n():
    rng = np.random.default_rng(1)
    small = Samples(rng.lognormal(0.0, 0.3, 20))
    large = Samples(rng.lognormal(0.0, 0.3, 2000))
    for s in (small, large):
        low, high = s.median_ci()
        assert low <= s.median <= high
    assert (large.median_ci()[1] - large.median_ci()[0]) < (small.median_ci()[1] - small.median_ci()[0]) / 3


def test_median_ci_coverage():
    rng = np.random.default_rng(2)
    hits = 0
    trials = 2000
    for _ in range(trials):
        low, high = Samples(rng.exponential(1.0, 25)).median_ci()
        hits += low <= math.log(2) <= high
    assert hits / trials >= 0.93


# --------------------------------------------------------------------------------- timing: measure


def test_measure_grows_blocks_for_a_cheap_call():
    box = []
    s = measure(lambda: box.append(1), budget_s=0.2, min_samples=5, min_block_s=1e-3)
    assert s.block > 1
    assert s.n >= 5
    assert s.median * s.block >= 0.5e-3  # a block lasts about min_block_s
    assert s.median < 1e-3
    assert len(box) >= s.block * s.n


def test_measure_respects_budget_and_min_samples():
    cheap = lambda: sum(range(50))  # noqa: E731
    started = time.perf_counter()
    s = measure(cheap, budget_s=0.05, target_ci=0, max_samples=10**6, min_block_s=1e-4)
    assert time.perf_counter() - started < 2.0
    assert s.stop == "budget" and s.n >= 5
    zero = measure(cheap, budget_s=1e-4, min_samples=7, target_ci=0)  # spent in calibration
    assert zero.n == 7 and zero.stop == "budget"  # not cut to 3: one call is far under the budget
    capped = measure(cheap, budget_s=10.0, min_samples=3, max_samples=4, target_ci=0)
    assert capped.n == 4 and capped.stop == "max_samples"


def test_measure_stops_at_ci_for_a_steady_call():
    s = measure(lambda: sum(range(200)), budget_s=5.0, target_ci=0.5, min_samples=5)
    assert s.stop == "ci" and s.n >= 5  # CI within ±50%: reached at once unless the machine is busy


def test_measure_slow_call_over_budget_takes_three():
    s = measure(lambda: time.sleep(0.02), budget_s=0.01, min_samples=10, warmup=0)
    assert s.n == 3 and s.block == 1


def test_measure_calls_sync_and_warms_up():
    events = []
    s = measure(lambda: events.append("call"), sync=lambda: events.append("sync"), budget_s=0.05,
                warmup=3, min_block_s=1e-4)
    assert events[:3] == ["call"] * 3
    assert events.count("sync") >= 2 * s.n
    with pytest.raises(ValueError):
        measure(lambda: None, min_samples=0)


def _fake_cache(root, cpu: int, index: int, level: int, size: str, shared: str, kind: str = "Unified"):
    folder = root / f"cpu{cpu}" / "cache" / f"index{index}"
    folder.mkdir(parents=True)
    for name, text in (("level", str(level)), ("size", size), ("shared_cpu_list", shared), ("type", kind)):
        (folder / name).write_text(text + "\n")


def test_sysfs_l3_sums_each_instance_once_reading_one_cpu_of_each(tmp_path, monkeypatch):
    # two L3 instances of 32 MiB (CPUs 0-1 and 2-3); CPUs 1 and 3 say otherwise, so reading them would show
    for cpu in range(4):
        first = cpu in (0, 2)
        _fake_cache(tmp_path, cpu, 2, 2, "1024K", str(cpu))
        _fake_cache(tmp_path, cpu, 3, 3, "32768K" if first else "1K", "0-1" if cpu < 2 else "2-3")
    (tmp_path / "cpufreq").mkdir()  # not a CPU
    monkeypatch.setattr(detect, "_SYS_CPU", tmp_path)
    assert detect._sysfs_caches() == (2**20, 64 * 2**20)
    assert detect._l3_sharers() == 2
