"""What hardware this machine has, and the peak rates its datasheet-free description implies.

:func:`detect_cpu` describes the CPU (brand, cores, frequency, ISA flags, caches, memory, the cores
this process may use and the frequency governor); :func:`cpu_peaks` turns that description into
peak ops/s per precision, each with the arithmetic that produced it; :func:`detect_gpus` lists
NVIDIA GPUs (through NVML, else PyTorch, else none); :func:`machine_key` names this machine for
file names.

Sources, fastest first. On Linux the CPU is read from ``/proc/cpuinfo`` and ``/sys`` (about a
millisecond); py-cpuinfo's ``get_cpu_info()`` is called only where those lack the brand or the
flags (other systems, unusual kernels) because it takes about 1-2 s (it runs CPUID in a child
process); its answer is cached with :func:`functools.lru_cache`, so a process pays it at most
once. Cache sizes come from ``/sys/devices/system/cpu/cpu0/cache`` where present: py-cpuinfo reads
``cache size`` from ``/proc/cpuinfo``, which on AMD and in many VMs is the L2, not the L3.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import platform
import re
from pathlib import Path

import attrs

_SYS_CPU = Path("/sys/devices/system/cpu")


@attrs.frozen
class CpuInfo:
    """This machine's CPU as far as it can be detected; SI units (bytes, Hz).

    ``l2_bytes`` is one core's L2; ``l3_bytes`` the machine's whole L3 (the sum of its instances:
    one per socket, die or CCX). ``affinity_cores`` counts the logical CPUs this process may
    run on; ``governor`` is cpu0's cpufreq scaling governor where the kernel exposes it (None in
    most VMs).
    """

    brand: str
    vendor: str
    arch: str
    physical_cores: int
    logical_cores: int
    max_hz: float
    flags: frozenset[str] = attrs.field(converter=lambda fl: frozenset(f.lower() for f in fl))
    l2_bytes: int | None
    l3_bytes: int | None
    memory_bytes: int
    affinity_cores: int
    governor: str | None
    #: Where max_hz came from: 'cpufreq max', 'psutil max', 'current' (no maximum reported: often
    #: the base clock in VMs, so boost clocks can beat the peaks), 'brand string', or '' unknown.
    max_hz_source: str = ""
    #: Logical CPUs that share cpu0's L3 instance, as the OS shows them (sysfs ``shared_cpu_list``).
    l3_sharers: int | None = None

    @property
    def virtual_machine(self) -> bool:
        """True under a hypervisor (the CPUID hypervisor bit, shown as the ``hypervisor`` flag)."""
        return "hypervisor" in self.flags

    def summary(self) -> dict:
        """JSON-ready description (flags sorted; only the SIMD/matrix ones that set peaks)."""
        return {
            "brand": self.brand,
            "vendor": self.vendor,
            "arch": self.arch,
            "physical_cores": self.physical_cores,
            "logical_cores": self.logical_cores,
            "affinity_cores": self.affinity_cores,
            "max_hz": self.max_hz,
            "max_hz_source": self.max_hz_source,
            "l2_bytes": self.l2_bytes,
            "l3_bytes": self.l3_bytes,
            "memory_bytes": self.memory_bytes,
            "governor": self.governor,
            "l3_sharers": self.l3_sharers,
            "virtual_machine": self.virtual_machine,
            "simd_flags": sorted(self.flags & _PEAK_FLAGS),
        }


_PEAK_FLAGS = frozenset({
    "sse", "sse2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512vnni",
    "avx_vnni", "avxvnni", "avx512_bf16", "avx512bf16", "avx512_fp16", "avx512fp16", "amx_bf16",
    "amx_int8", "amx_fp16", "amx_tile", "neon", "asimd", "asimdhp", "fphp", "asimddp", "i8mm",
    "bf16", "sve", "sve2",
})


# ---------------------------------------------------------------------------------------------
# raw sources


def _read(path: Path | str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


@functools.lru_cache(maxsize=1)
def _proc_cpuinfo() -> dict[str, str]:
    """The first processor block of /proc/cpuinfo plus the hardware-wide keys (ARM puts some last)."""
    text = _read("/proc/cpuinfo")
    if not text:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key and key not in fields:
            fields[key] = value.strip()
    return fields


@functools.lru_cache(maxsize=1)
def _py_cpuinfo() -> dict:
    """py-cpuinfo's ``get_cpu_info()`` (1-2 s: it runs CPUID in a child process), once per process."""
    try:
        import cpuinfo  # py-cpuinfo
    except ImportError:
        return {}
    try:
        return dict(cpuinfo.get_cpu_info())
    except Exception:  # noqa: BLE001 - py-cpuinfo raises assorted errors on odd platforms
        return {}


def _parse_size(text: str | None) -> int | None:
    """'32768K' / '1 MiB' / '512 KB' -> bytes."""
    if not text:
        return None
    match = re.match(r"\s*([\d.]+)\s*([KMG]?)", text, re.I)
    if not match:
        return None
    scale = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[match.group(2).upper()]
    return int(float(match.group(1)) * scale)


def _cpu_ids(text: str) -> set[int]:
    """'0-3,8' -> {0, 1, 2, 3, 8}."""
    ids: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit():
            ids.update(range(int(low), int(high) + 1) if high.isdigit() else (int(low),))
    return ids


def _cpu_list_size(text: str) -> int:
    """'0-3,8' -> 5."""
    return len(_cpu_ids(text))


def _l3_sharers() -> int | None:
    """Logical CPUs sharing cpu0's L3, from its ``shared_cpu_list``; None where sysfs does not say."""
    for index in _SYS_CPU.glob("cpu0/cache/index*"):
        if _read(index / "level") == "3":
            listed = _read(index / "shared_cpu_list")
            return _cpu_list_size(listed) or None if listed else None
    return None


def _sysfs_caches() -> tuple[int | None, int | None]:
    """(cpu0's L2 bytes, total L3 bytes over all its instances) from sysfs.

    A many-chiplet CPU has one L3 per CCX/die (sysfs shows one instance per index3 directory, shared
    by the CPUs in ``shared_cpu_list``); the total sums the distinct instances.
    """
    l2 = None
    for index in sorted(_SYS_CPU.glob("cpu0/cache/index*")):
        if _read(index / "level") == "2" and (_read(index / "type") or "").lower() != "instruction":
            l2 = _parse_size(_read(index / "size"))
    instances: dict[str, int] = {}
    covered: set[int] = set()  # CPUs whose L3 instance is counted: their cache folders need no reading
    cpus = sorted((int(cpu.name[3:]), cpu) for cpu in _SYS_CPU.glob("cpu[0-9]*") if cpu.name[3:].isdigit())
    for number, cpu in cpus:
        if number in covered:
            continue
        for index in cpu.glob("cache/index*"):
            if _read(index / "level") != "3":
                continue
            size = _parse_size(_read(index / "size"))
            shared = _read(index / "shared_cpu_list") or cpu.name
            if size:
                instances[shared] = size
            covered |= _cpu_ids(shared)
    l3 = sum(instances.values()) or None
    return l2, l3


def _max_hz_sysfs() -> float | None:
    """cpu0's maximum clock from cpufreq: the hardware's (``cpuinfo_max_freq``), else the policy's
    (``scaling_max_freq``, which psutil reports); None where the kernel exposes no cpufreq (most VMs)."""
    for name in ("cpuinfo_max_freq", "scaling_max_freq"):
        khz = _read(_SYS_CPU / "cpu0/cpufreq" / name)
        try:
            if khz and float(khz) > 0:
                return float(khz) * 1e3
        except ValueError:
            continue
    return None


def _physical_cores_sysfs() -> int | None:
    """Distinct cores in sysfs topology (each logical CPU's ``core_cpus_list``, or ``thread_siblings_list``
    on older kernels), as psutil counts them on Linux; None where sysfs has no topology."""
    cores = set()
    for topology in _SYS_CPU.glob("cpu[0-9]*/topology"):
        siblings = _read(topology / "core_cpus_list") or _read(topology / "thread_siblings_list")
        if siblings:
            cores.add(siblings)
    return len(cores) or None


def _psutil():
    """psutil, imported only where the standard library and /proc or /sys leave a figure unknown (its import
    is a noticeable share of a light command's start-up: on Linux a light command never needs it); None where it is not installed."""
    try:
        import psutil
    except ImportError:
        return None
    return psutil


def _affinity(logical: int) -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    psutil = _psutil()
    if psutil is not None:
        try:
            return len(psutil.Process().cpu_affinity())
        except Exception:  # noqa: BLE001 - unsupported on macOS
            pass
    return logical


def _memory_bytes() -> int:
    """Total physical memory: pages x page size (POSIX sysconf, the figure psutil's total is on Linux),
    else psutil (Windows), else 0."""
    try:
        total = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        if total > 0:
            return total
    except (AttributeError, ValueError, OSError):
        pass
    psutil = _psutil()
    if psutil is not None:
        try:
            return int(psutil.virtual_memory().total)
        except Exception:  # noqa: BLE001
            pass
    return 0


def _normalise_arch(arch: str) -> str:
    arch = arch.lower()
    return {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "arm_8": "aarch64",
            "aarch64": "aarch64"}.get(arch, arch)


# ---------------------------------------------------------------------------------------------
# public


def detect_cpu() -> CpuInfo:
    """Describe this machine's CPU. Never raises; unknown fields become 0, '' or None.

    Fast on Linux (``/proc`` and ``/sys``, ~1 ms); elsewhere, or when ``/proc/cpuinfo`` lacks the
    brand or flags, py-cpuinfo fills in (1-2 s the first time, cached for the process).
    """
    proc = _proc_cpuinfo()
    brand = proc.get("model name") or proc.get("hardware") or proc.get("cpu model") or ""
    vendor = proc.get("vendor_id") or ""
    flags_text = proc.get("flags") or proc.get("features") or ""
    flags = set(flags_text.lower().split())
    arch = _normalise_arch(platform.machine() or "")
    hz = 0.0
    if not brand or not flags:
        info = _py_cpuinfo()
        brand = brand or info.get("brand_raw") or ""
        vendor = vendor or info.get("vendor_id_raw") or ""
        flags |= {str(f).lower() for f in info.get("flags", ())}
        arch = arch or _normalise_arch(info.get("arch_string_raw") or info.get("arch") or "")
        hz = float((info.get("hz_advertised") or info.get("hz_actual") or (0, 0))[0] or 0)
    if not vendor and arch == "aarch64":
        implementer = proc.get("cpu implementer", "")
        vendor = {"0x41": "ARM", "0x61": "Apple", "0x51": "Qualcomm", "0x48": "HiSilicon",
                  "0xc0": "Ampere", "0x4e": "NVIDIA"}.get(implementer, implementer)
    if arch == "aarch64" and flags & {"asimd", "fp"}:
        flags.add("neon")  # Linux calls AArch64 NEON 'asimd'

    # the standard library and sysfs first; psutil only for what they leave unknown (other systems)
    logical = os.cpu_count()
    physical = _physical_cores_sysfs()
    if not logical or not physical:
        psutil = _psutil()
        if psutil is not None:
            try:
                logical = logical or psutil.cpu_count(logical=True)
                physical = physical or psutil.cpu_count(logical=False)
            except Exception:  # noqa: BLE001
                pass
    logical = logical or 1
    physical = min(physical or logical, logical)

    max_hz = _max_hz_sysfs() or 0.0
    source = "cpufreq max" if max_hz else ""
    # psutil reads the same cpufreq files on Linux, and /proc/cpuinfo's current clock where there are none
    psutil = _psutil() if not max_hz and not proc.get("cpu mhz") else None
    if psutil is not None:
        try:
            freq = psutil.cpu_freq()
            if freq is not None:
                max_hz = float(freq.max or 0.0) * 1e6
                source = "psutil max" if max_hz else ""
                if not max_hz:
                    max_hz = float(freq.current or 0.0) * 1e6
                    source = "current" if max_hz else ""
        except Exception:  # noqa: BLE001
            pass
    if not max_hz:
        try:
            max_hz = float(proc.get("cpu mhz", "0")) * 1e6
        except ValueError:
            max_hz = 0.0
        source = "current" if max_hz else ""
    if not max_hz and hz:
        max_hz, source = hz, "current"
    if not max_hz:  # last resort: the '@ 3.00GHz' of an Intel brand string
        match = re.search(r"@\s*([\d.]+)\s*GHz", brand, re.I)
        max_hz = float(match.group(1)) * 1e9 if match else 0.0
        source = "brand string" if max_hz else ""

    l2, l3 = _sysfs_caches()
    if l2 is None and l3 is None:
        info = _py_cpuinfo()
        l2 = info.get("l2_cache_size") or None
        l3 = info.get("l3_cache_size") or None
        l2 = int(l2) if isinstance(l2, (int, float)) else _parse_size(l2)
        l3 = int(l3) if isinstance(l3, (int, float)) else _parse_size(l3)

    governor = _read(_SYS_CPU / "cpu0/cpufreq/scaling_governor") or None
    return CpuInfo(
        brand=" ".join(brand.split()),
        vendor=vendor,
        arch=arch,
        physical_cores=int(physical),
        logical_cores=int(logical),
        max_hz=float(max_hz),
        flags=frozenset(flags),
        l2_bytes=l2,
        l3_bytes=l3,
        memory_bytes=_memory_bytes(),
        affinity_cores=_affinity(int(logical)),
        governor=governor,
        max_hz_source=source,
        l3_sharers=_l3_sharers(),
    )


#: L3 per core assumed where a hypervisor hides the cores that share the host's L3: 5 MiB, the L3 per
#: core of Intel's 5th Gen Xeon (Emerald Rapids), the part whose 300 MiB L3 this project's VM shows:
#: "Intel Xeon Platinum 8580 Processor (300M Cache, 2.00 GHz)", 60 cores, Intel ARK product page,
#: https://ark.intel.com (300 MiB / 60 cores). Few server CPUs give a core more (AMD EPYC 9654: 384 MB
#: L3 for 96 cores, 4 MB). An assumption, marked unconfirmed: the VM's neighbours use the rest.
VM_L3_PER_CORE_BYTES = 5 * 2**20


def on_chip_share(cpu: CpuInfo) -> tuple[float | None, str]:
    """This process's share of the last-level cache, in bytes, and how it was worked out.

    A shared L3 is split by the cores that share it: share = L3 instance x (this process's cores /
    the CPUs sharing it). Under a hypervisor the guest sees the host's whole L3 as if its own few
    vCPUs shared it (a 2-vCPU VM shows 300 MiB shared by CPUs 0-1), so the share is capped at
    :data:`VM_L3_PER_CORE_BYTES` per core. Without an L3, cpu0's L2 times the cores.
    """
    cores = compute_cores(cpu)
    if not cpu.l3_bytes:
        if not cpu.l2_bytes:
            return None, "no cache size detected"
        return float(cpu.l2_bytes * cores), f"no L3 detected: {cores} cores x {cpu.l2_bytes / 2**20:.3g} MiB L2"
    sharers = cpu.l3_sharers or cpu.logical_cores or cores
    instance = cpu.l3_bytes  # the total over instances; per instance below when several
    per_instance = instance / max(1, round(cpu.logical_cores / sharers)) if sharers < cpu.logical_cores else instance
    share = per_instance * min(1.0, (cpu.affinity_cores or cores) / sharers)
    text = (f"L3 of {per_instance / 2**20:.4g} MiB shared by {sharers} CPUs (sysfs shared_cpu_list), "
            f"{cpu.affinity_cores or cores} of them this process's: share {share / 2**20:.4g} MiB")
    if cpu.virtual_machine:
        cap = VM_L3_PER_CORE_BYTES * cores
        if cap < share:
            text = (f"a virtual machine: the OS shows the host's L3 of {per_instance / 2**20:.4g} MiB as shared by "
                    f"this VM's {sharers} vCPUs, but the host's other cores share it too; this VM's share is taken "
                    f"as {cores} cores x {VM_L3_PER_CORE_BYTES / 2**20:g} MiB per core (assumed: Intel Xeon Platinum 8580, "
                    f"300 MiB L3 for 60 cores, Intel ARK, https://ark.intel.com) = "
                    f"{cap / 2**20:.4g} MiB")
            share = cap
    return float(share), text


def compute_cores(cpu: CpuInfo) -> int:
    """Cores whose vector units this process can use: ``min(affinity_cores, physical_cores)``.

    SMT siblings share one core's FMA units, so logical CPUs beyond the physical cores add no peak.
    Where the affinity mask holds fewer CPUs than there are physical cores it is taken as that many
    cores (an affinity mask of two SMT siblings of one core would overstate by 2x; sysfs topology
    could tell, but schedulers and container runtimes rarely pin that way).
    """
    return max(1, min(cpu.affinity_cores or cpu.logical_cores, cpu.physical_cores or cpu.logical_cores))


def _has(flags: frozenset[str], *names: str) -> bool:
    return any(name in flags for name in names)


def cpu_peaks(cpu: CpuInfo) -> dict[str, tuple[float, str]]:
    """Peak ops/s per precision that the CPU's vector and matrix units reach, with derivations.

    peak = cores x ops/cycle/core x max frequency, where cores is :func:`compute_cores` (the cores
    this process may use, not logical threads: SMT siblings share the FMA units) and the frequency
    is the maximum the OS reports (an upper bound: all-core AVX clocks are often lower).

    Rules (ops per cycle per core; one FMA = 2 ops):

    - x86 fp32: AVX-512F 64 (2 x 512-bit FMA assumed; many parts have one, and Zen 4 splits 512-bit
      work over 256-bit units), AVX2+FMA 32 (2 x 256-bit FMA), SSE only 8 (128-bit mul + add).
      fp64 is half of fp32.
    - int8: 4x the fp32 rate with VNNI (avx512_vnni / avx_vnni: one instruction does 4 int8 MACs
      per 32-bit lane), else 2x (the vpmaddubsw + vpmaddwd path); both are assumptions. AMX-INT8:
      2048 ops/cycle/core.
    - bf16 only with avx512_bf16 (2x fp32, vdpbf16ps) or AMX-BF16 (1024 FLOP/cycle/core).
    - fp16 only with AVX512-FP16 (2x fp32) or AMX-FP16 (1024); F16C converts but computes in fp32.
    - aarch64 NEON/asimd: 2 x 128-bit FMA = 16 FLOP/cycle fp32 (assumed 2 FMA pipes; Neoverse V1/V2
      and Apple cores have 4), fp16 2x with asimdhp, int8 4x with asimddp (sdot), 8x with i8mm,
      bf16 2x with the bf16 extension. SVE is counted at 128 bits (its length is not in the flags).

    An unknown frequency (``max_hz`` 0) gives an empty dict: a peak would be a guess. Where the OS
    reports only the current clock (most VMs give the base clock), the derivation says so: a
    measured rate above such a "peak" means the cores boost.
    """
    if not cpu.max_hz or cpu.max_hz <= 0:
        return {}
    flags = cpu.flags
    cores = compute_cores(cpu)
    ghz = cpu.max_hz / 1e9
    # per precision: (ops/cycle/core, explanation of the per-cycle figure)
    per_cycle: dict[str, tuple[float, str]] = {}
    arm = cpu.arch in ("aarch64", "arm64") or _has(flags, "asimd", "neon")
    if arm:
        fp32 = 16.0
        per_cycle["fp32"] = (fp32, "NEON: 2 x 128-bit FMA = 2 x 4 lanes x 2, assumed 2 FMA pipes")
        per_cycle["fp64"] = (fp32 / 2, "NEON: 2 x 128-bit FMA = 2 x 2 lanes x 2")
        if _has(flags, "asimdhp", "fphp"):
            per_cycle["fp16"] = (fp32 * 2, "NEON fp16 (asimdhp): 2 x 128-bit FMA = 2 x 8 lanes x 2")
        if _has(flags, "bf16"):
            per_cycle["bf16"] = (fp32 * 2, "BFDOT (bf16): 2x the fp32 rate, assumed")
        if _has(flags, "i8mm"):
            per_cycle["int8"] = (fp32 * 8, "SMMLA (i8mm): 8x the fp32 rate, assumed")
        elif _has(flags, "asimddp"):
            per_cycle["int8"] = (fp32 * 4, "SDOT (asimddp): 4 int8 MACs per 32-bit lane = 4x fp32, assumed")
        else:
            per_cycle["int8"] = (fp32 * 2, "NEON widening multiply-add: 2x the fp32 rate, assumed")
    else:
        if _has(flags, "avx512f"):
            fp32 = 64.0
            what = "AVX-512: 2 x 512-bit FMA = 2 x 16 lanes x 2, assumed 2 FMA units"
        elif _has(flags, "avx2") and _has(flags, "fma"):
            fp32 = 32.0
            what = "AVX2: 2 x 256-bit FMA = 2 x 8 lanes x 2"
        elif _has(flags, "avx"):
            fp32 = 16.0
            what = "AVX: 256-bit mul + 256-bit add = 8 lanes x 2"
        elif _has(flags, "sse", "sse2") or cpu.arch in ("x86_64", "i686", "x86"):
            fp32 = 8.0
            what = "SSE: 128-bit mul + 128-bit add = 4 lanes x 2"
        else:
            return {}
        per_cycle["fp32"] = (fp32, what)
        per_cycle["fp64"] = (fp32 / 2, f"half the fp32 rate: {what.split(':')[0]} lanes hold half as many fp64")
        if _has(flags, "amx_int8"):
            per_cycle["int8"] = (2048.0, "AMX-INT8: 2048 ops/cycle/core")
        elif _has(flags, "avx512_vnni", "avx512vnni", "avx_vnni", "avxvnni"):
            per_cycle["int8"] = (fp32 * 4, f"VNNI: 4 int8 MACs per 32-bit lane = 4 x {fp32:g}, assumed")
        elif _has(flags, "avx2", "avx512f", "ssse3"):
            per_cycle["int8"] = (fp32 * 2, f"no VNNI: pmaddubsw path = 2 x {fp32:g}, assumed")
        if _has(flags, "amx_bf16"):
            per_cycle["bf16"] = (1024.0, "AMX-BF16: 1024 FLOP/cycle/core")
        elif _has(flags, "avx512_bf16", "avx512bf16"):
            per_cycle["bf16"] = (fp32 * 2, f"AVX512-BF16 (vdpbf16ps): 2 x {fp32:g}")
        if _has(flags, "amx_fp16"):
            per_cycle["fp16"] = (1024.0, "AMX-FP16: 1024 FLOP/cycle/core")
        elif _has(flags, "avx512_fp16", "avx512fp16"):
            per_cycle["fp16"] = (fp32 * 2, f"AVX512-FP16: 2 x {fp32:g}")

    clock = f"{ghz:.3g} GHz"
    if cpu.max_hz_source in ("current", "brand string"):
        clock += f" ({cpu.max_hz_source} clock: no maximum reported, boost may be higher)"
    peaks: dict[str, tuple[float, str]] = {}
    for precision, (ops_per_cycle, what) in per_cycle.items():
        rate = cores * ops_per_cycle * cpu.max_hz
        unit = "OP/s" if precision == "int8" else "FLOP/s"
        per = "OP/cycle" if precision == "int8" else "FLOP/cycle"
        peaks[precision] = (
            rate,
            f"{cores} cores x {ops_per_cycle:g} {per} ({what}) x {clock} = {_giga(rate)}{unit}",
        )
    return peaks


def _giga(value: float) -> str:
    return f"{value / 1e12:.3g} T" if value >= 1e12 else f"{value / 1e9:.3g} G"


@attrs.frozen
class GpuInfo:
    """One GPU: memory in bytes, power limit in W, max SM clock in Hz.

    Through NVML also: ``compute_capability`` ("9.0"), ``cuda_cores`` (nvmlDeviceGetNumGpuCores),
    ``memory_bus_bits`` and ``max_memory_clock_hz``; None where NVML does not say.
    """

    index: int
    name: str
    memory_bytes: int
    power_limit_w: float | None
    sm_count: int | None
    max_clock_hz: float | None
    driver: str | None
    compute_capability: str | None = None
    cuda_cores: int | None = None
    memory_bus_bits: int | None = None
    max_memory_clock_hz: float | None = None


def _find_spec(name: str):
    """importlib.util.find_spec that never raises (a module set to None in sys.modules -> None)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None


def _gpus_nvml() -> list[GpuInfo] | None:
    """GPUs through NVML (package nvidia-ml-py, module pynvml); None if NVML is unusable."""
    try:
        pynvml = importlib.import_module("pynvml")
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver, no library
        return None
    try:
        def text(value):
            return value.decode() if isinstance(value, bytes) else str(value)

        def attempt(fn, *args):
            try:
                return fn(*args)
            except Exception:  # noqa: BLE001 - NVML_ERROR_NOT_SUPPORTED and friends
                return None

        driver = attempt(pynvml.nvmlSystemGetDriverVersion)
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = attempt(pynvml.nvmlDeviceGetMemoryInfo, handle)
            power_mw = attempt(pynvml.nvmlDeviceGetPowerManagementLimit, handle)
            clock_mhz = attempt(pynvml.nvmlDeviceGetMaxClockInfo, handle, pynvml.NVML_CLOCK_SM)
            memory_mhz = (attempt(pynvml.nvmlDeviceGetMaxClockInfo, handle, pynvml.NVML_CLOCK_MEM)
                          if hasattr(pynvml, "NVML_CLOCK_MEM") else None)
            capability = attempt(getattr(pynvml, "nvmlDeviceGetCudaComputeCapability", lambda h: None), handle)
            cores = attempt(getattr(pynvml, "nvmlDeviceGetNumGpuCores", lambda h: None), handle)
            bus = attempt(getattr(pynvml, "nvmlDeviceGetMemoryBusWidth", lambda h: None), handle)
            gpus.append(GpuInfo(
                index=index,
                name=text(attempt(pynvml.nvmlDeviceGetName, handle) or f"GPU {index}"),
                memory_bytes=int(memory.total) if memory is not None else 0,
                power_limit_w=power_mw / 1e3 if power_mw else None,
                sm_count=None,  # NVML does not report SMs
                max_clock_hz=clock_mhz * 1e6 if clock_mhz else None,
                driver=text(driver) if driver else None,
                compute_capability=f"{capability[0]}.{capability[1]}" if capability else None,
                cuda_cores=int(cores) if cores else None,
                memory_bus_bits=int(bus) if bus else None,
                max_memory_clock_hz=memory_mhz * 1e6 if memory_mhz else None,
            ))
        return gpus
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def _gpus_torch() -> list[GpuInfo]:
    try:
        torch = importlib.import_module("torch")
        if not torch.cuda.is_available():
            return []
        gpus = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            clock_khz = getattr(props, "clock_rate", None)  # present in some torch versions only
            gpus.append(GpuInfo(
                index=index,
                name=str(props.name),
                memory_bytes=int(props.total_memory),
                power_limit_w=None,
                sm_count=int(props.multi_processor_count),
                max_clock_hz=clock_khz * 1e3 if clock_khz else None,
                driver=None,  # torch knows the CUDA runtime it was built for, not the driver
            ))
        return gpus
    except Exception:  # noqa: BLE001
        return []


def detect_gpus() -> list[GpuInfo]:
    """NVIDIA GPUs on this machine: NVML if ``pynvml`` is installed, else PyTorch if installed, else [].

    Never raises. Imports torch (slow, and it initialises CUDA) only when pynvml is absent and
    torch is installed; NVML gives power limits and driver, torch gives SM counts.
    """
    if _find_spec("pynvml") is not None:
        gpus = _gpus_nvml()
        if gpus is not None:
            return gpus
    if _find_spec("torch") is not None:
        return _gpus_torch()
    return []


_BRAND_NOISE = re.compile(
    r"\((?:r|tm|c)\)|®|™|\bcpu\b|\bprocessor\b|@\s*[\d.]+\s*[gm]hz|\b\d+-core\b|\bwith radeon.*$",
    re.I,
)


def machine_key(cpu: CpuInfo) -> str:
    """Stable kebab-case name of this machine for file names: CPU brand, logical cores, RAM in GB.

    ``Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz``, 2 CPUs, 23.5 GiB -> ``intel-xeon-platinum-8370c-2c-24gb``.
    Memory is total RAM in GiB rounded to the nearest integer (the OS reports a little less than
    is installed, so rounding recovers the nominal size).
    """
    brand = _BRAND_NOISE.sub(" ", cpu.brand or "")
    slug = re.sub(r"[^a-z0-9]+", "-", brand.lower()).strip("-")
    if not slug:
        slug = re.sub(r"[^a-z0-9]+", "-", f"{cpu.vendor} {cpu.arch}".lower()).strip("-") or "cpu"
    gigabytes = max(0, round(cpu.memory_bytes / 2**30))
    return f"{slug}-{cpu.logical_cores}c-{gigabytes}gb"
