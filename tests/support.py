"""Helpers the tests share (import with ``from support import ...``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_SPEC = ROOT / "specs" / "seed-article.toml"

#: The smallest useful spec: two GPUs on a GEMM, offline. Tests append keys or change the title.
TWO_GPUS = """
title = "t"

[[groups]]
id = "g"
devices = ["nvidia-h100-sxm5", "amd-instinct-mi250x"]
workloads = ["gemm-4096"]
scenario = "offline"
"""

#: The metric keys of the design (JSON keys, SI units).
DESIGN_METRICS = (
    "latency_s", "throughput_sps", "time_to_train_s", "ops_required_per_s", "ops_available_per_s",
    "power_w", "energy_per_sample_j", "energy_j", "samples_per_j", "samples_per_s_per_usd",
    "hardware_cost_usd", "meets_target", "bound", "utilization", "train_to_infer_ops_ratio",
)


def cpu_described_without_psutil() -> bool:
    """Whether this machine's /proc and /sys answer every question chipfit_localhost.detect asks psutil
    (Linux with sysfs topology and a clock in cpufreq or /proc/cpuinfo): then detection never imports it."""
    import sys

    from chipfit_localhost import detect

    return (sys.platform == "linux" and detect._physical_cores_sysfs() is not None
            and bool(detect._max_hz_sysfs() or detect._proc_cpuinfo().get("cpu mhz")))


def assert_clean(result) -> None:
    """No Python exception escaped the command (only a deliberate exit) and no traceback shows."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def assert_bad_input(result, *fragments: str) -> None:
    """Exit status 2, a message on stderr holding every fragment, and no traceback."""
    assert_clean(result)
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
