"""This machine as a chipfit device, and its calibration profile.

The device's figures are detected (cores, clock, ISA, caches, memory) and derived (peaks, with the
arithmetic); its memory bandwidth is measured (STREAM triad), never looked up, and only when a run
needs it: registering the device runs no benchmark; the figures are cached in the user's cache dir
(``CHIPFIT_CACHE_DIR``, default ``~/.cache/chipfit``) with when they were measured. A calibration
profile (``chipfit calibrate``) adds efficiencies fitted to real runs; it lives in the user's data
dir (``CHIPFIT_DATA_DIR``, default ``~/.local/share/chipfit``), one JSON file per machine.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from chipfit.paths import cache_dir, data_dir, write_atomically
from chipfit.records import Device, Efficiency

DEVICE_ID = "localhost-cpu"

#: Sustained instructions per cycle assumed for general-purpose (compiler-like) work, as the
#: catalogue's CPUs assume (chipfit_intel devices.toml): an assumption, marked unconfirmed.
GENERAL_IPC = 1.5


def profile_path(machine: str) -> Path:
    """The calibration profile file of a machine (in the data folder, :func:`chipfit.paths.data_dir`)."""
    return data_dir() / "calibration" / f"{machine}.json"


def load_profile(machine: str) -> dict[str, Any] | None:
    """The machine's calibration profile, or None when it has none (or it is unreadable)."""
    try:
        return json.loads(profile_path(machine).read_text())
    except (OSError, ValueError):
        return None


def save_profile(machine: str, profile: dict[str, Any]) -> Path:
    """Write a calibration profile (atomically); return its path."""
    return write_atomically(profile_path(machine), json.dumps(profile, indent=2))


def measured_path(machine: str) -> Path:
    """Where this machine's measured figures (STREAM) are cached: the cache folder (:func:`chipfit.paths.cache_dir`)."""
    return cache_dir() / f"measured-{machine}.json"


def load_measured(machine: str) -> dict[str, Any] | None:
    """The cached measured figures of this machine, or None when none are cached (or the file is unreadable)."""
    try:
        cached = json.loads(measured_path(machine).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(cached, dict) or not isinstance(cached.get("stream"), dict) or "triad" not in cached["stream"]:
        return None
    return cached


def measure_figures(machine: str, *, budget_s: float = 0.3) -> dict[str, Any]:
    """Measure this machine's STREAM kernels now (a few seconds), cache them and return them.

    Called when a run needs the figures (an estimate, ``chipfit calibrate``), never while registering.
    """
    from chipfit_localhost.load import LoadWatch
    from chipfit_localhost.microbench import STREAM_KERNELS, stream

    watch = LoadWatch().start()
    results = {kind: stream(kind, budget_s=budget_s) for kind in STREAM_KERNELS}
    figures = {
        "measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "stream": {kind: result.rate for kind, result in results.items()},
        "cv": {kind: result.samples.cv for kind, result in results.items()},
        "array_bytes": 8 * results["triad"].size,
        "load": watch.stop(),
    }
    try:
        write_atomically(measured_path(machine), json.dumps(figures, indent=2))
    except OSError:
        pass  # an unwritable cache: measured again next time
    return figures


def _cached_in(machine: str) -> str:
    """Where the measured figures are cached, for a message (or why they cannot be: no cache folder)."""
    try:
        return str(measured_path(machine))
    except OSError as error:  # chipfit.paths.NoHomeFolder
        return f"no cache folder ({error})"


def _stream_text(figures: dict[str, Any]) -> str:
    rates = ", ".join(f"{kind} {rate / 1e9:.3g} GB/s" for kind, rate in figures["stream"].items())
    from chipfit_localhost.load import describe, is_high

    load = figures.get("load")
    busy = f"; the machine was busy ({describe(load)}): figures low" if is_high(load) else (
        f"; {describe(load)}" if load else "")
    return f"STREAM ({rates}; bytes as STREAM counts them, one pass per kernel){busy}"


def measured_bandwidth(machine: str, profile: dict[str, Any] | None, *,
                       measure: bool = False) -> tuple[float | None, str]:
    """Memory bandwidth in bytes/s and how it was measured: the profile's, else the cached STREAM
    triad, else (``measure``) a STREAM run now, else None: "not measured yet"."""
    if profile and profile.get("memory_bandwidth"):
        return profile["memory_bandwidth"], f"STREAM triad measured by chipfit calibrate on {profile['created']}"
    figures = load_measured(machine)
    if figures is None and measure:
        figures = measure_figures(machine)
    if figures is None:
        return None, ("not measured yet: STREAM is run when a run first needs it (an estimate, chipfit run or "
                      f"calibrate) and cached in {_cached_in(machine)}")
    return figures["stream"]["triad"], (f"triad, measured on this machine {figures['measured_at']}: "
                                        f"{_stream_text(figures)}; cached in {_cached_in(machine)}")


def with_measured_bandwidth(device: Device) -> Device:
    """``device`` (this machine's CPU) with its memory bandwidth measured now if it was not yet (cached)."""
    import attrs

    if device.memory_bandwidth is not None:
        return device
    from chipfit_localhost.detect import detect_cpu, machine_key

    bandwidth, how = measured_bandwidth(machine_key(detect_cpu()), None, measure=True)
    return attrs.evolve(device, memory_bandwidth=bandwidth, sources={**device.sources, "memory_bandwidth": how})


def _with_measured_floor(peaks: dict[str, tuple[float, str]], measured: dict[str, float]) -> dict:
    """A derived peak below a rate GEMM actually sustained here is raised to that rate (and says so)."""
    out = dict(peaks)
    for precision, rate in measured.items():
        if precision in out and rate > out[precision][0]:
            derived, text = out[precision]
            out[precision] = (rate, f"{text}; but GEMM measured {rate / 1e9:.1f} G ops/s here, above that "
                                    f"{derived / 1e9:.1f} G (the clock read is below the boost clock), so the "
                                    "measured rate is the peak")
    return out


def efficiency_from(profile: dict[str, Any] | None) -> Efficiency | None:
    """The calibrated efficiencies of a profile (None without one)."""
    if not profile or "efficiency" not in profile:
        return None
    fitted = profile["efficiency"]
    return Efficiency(
        compute=fitted["compute"], memory=fitted["memory"], overhead_s=fitted["overhead_s"],
        by_precision=fitted.get("by_precision", {}), by_op_class=fitted.get("by_op_class", {}),
        origin=f"calibrated on this machine {profile['created']}",
    )


def local_cpu(profile: dict[str, Any] | None = None, *, machine: str | None = None, measure: bool = False) -> Device:
    """This machine's CPU as a measurable device (the profile's efficiencies when there is one).

    Registration runs no benchmark: the memory bandwidth is the profile's or the cached STREAM figure,
    and None ("not measured yet") without either, unless ``measure`` (a run that needs it) measures it now.
    """
    from chipfit_localhost.detect import cpu_peaks, detect_cpu, machine_key, on_chip_share

    cpu = detect_cpu()
    machine = machine or machine_key(cpu)
    if profile is None:
        profile = load_profile(machine)
    peaks = _with_measured_floor(cpu_peaks(cpu), (profile or {}).get("measured_peaks", {}))
    bandwidth, how = measured_bandwidth(machine, profile, measure=measure)
    on_chip, on_chip_how = on_chip_share(cpu)
    cores = cpu.affinity_cores or cpu.physical_cores
    general = cores * cpu.max_hz * GENERAL_IPC if cpu.max_hz else None
    derivations = {f"peak_ops.{precision}": text for precision, (_, text) in peaks.items()}
    if general:
        derivations["general_ops"] = (f"{cores} cores x {cpu.max_hz / 1e9:.2f} GHz x {GENERAL_IPC} instructions/cycle "
                                      f"(assumed, as for the catalogue's CPUs) = {general / 1e9:.1f} G ops/s")
    sources = {
        "memory_bandwidth": how,
        "memory_capacity": "total physical memory on this machine (POSIX sysconf: SC_PHYS_PAGES x SC_PAGE_SIZE; "
                           "psutil.virtual_memory().total where there is no sysconf)",
        "on_chip_memory": f"this process's share of the last-level cache (sysfs on this machine): {on_chip_how}",
        "capabilities": "a general-purpose CPU runs training, inference and a compiler",
    }
    return Device(
        id=DEVICE_ID,
        name=f"This machine: {cpu.brand} ({cores} cores)",
        vendor="localhost",
        kind="cpu",
        segment="desktop",
        peak_ops={precision: ops for precision, (ops, _) in peaks.items()},
        memory_bandwidth=bandwidth,
        memory_capacity=float(cpu.memory_bytes),
        power=None,
        year=None,
        capabilities=["training", "inference", "general-purpose"] if general else ["training", "inference"],
        runtimes=["onnxruntime", "numpy"],
        general_ops=general,
        on_chip_memory=on_chip,
        efficiency=efficiency_from(profile),
        measurable=True,
        sources=sources,
        derivations=derivations,
        unconfirmed={"general_ops", "segment", *derivations, *(["on_chip_memory"] if cpu.virtual_machine else [])},
        notes=f"Detected on this machine ({machine}); power is unknown, so energy is unavailable unless RAPL is "
              "readable during a measured run. Peaks assume the vector units' documented widths; "
              "calibration (chipfit calibrate) measures what they sustain.",
    )
