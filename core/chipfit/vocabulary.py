"""The words records are made of: precisions, kinds of chip, segments, capabilities, phases, scenarios,
sources, statuses and bounds, and the converters that read them from text naming the known values.

Every name here is importable from :mod:`chipfit.records` too (where records and plugins import them).
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "Bound",
    "Capability",
    "Kind",
    "Phase",
    "Precision",
    "ScenarioKind",
    "Segment",
    "Source",
    "Status",
    "to_capability",
    "to_kind",
    "to_phase",
    "to_precision",
    "to_scenario_kind",
    "to_segment",
]


class Precision(enum.StrEnum):
    """Numeric formats a device can compute in, widest first."""

    FP64 = "fp64"
    FP32 = "fp32"
    TF32 = "tf32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"

    @property
    def bytes_per_value(self) -> float:
        """Bytes one value of this precision occupies in memory (TF32 is stored as FP32)."""
        return _BYTES_PER_VALUE[self]


_BYTES_PER_VALUE = {
    Precision.FP64: 8.0,
    Precision.FP32: 4.0,
    Precision.TF32: 4.0,
    Precision.FP16: 2.0,
    Precision.BF16: 2.0,
    Precision.FP8: 1.0,
    Precision.INT8: 1.0,
    Precision.INT4: 0.5,
}


class Kind(enum.StrEnum):
    """What sort of chip a device is."""

    CPU = "cpu"
    GPU = "gpu"
    APU = "apu"
    ASIC = "asic"
    NPU = "npu"
    FPGA = "fpga"


class Segment(enum.StrEnum):
    """Where a device is deployed."""

    EDGE = "edge"
    DESKTOP = "desktop"
    DATACENTER = "datacenter"


class Capability(enum.StrEnum):
    """What kinds of work a device can do at all."""

    TRAINING = "training"
    INFERENCE = "inference"
    GENERAL_PURPOSE = "general-purpose"


class Phase(enum.StrEnum):
    """Which side of a model's life a workload is: training, inference, or neither (general)."""

    INFERENCE = "inference"
    TRAINING = "training"
    GENERAL = "general"


class ScenarioKind(enum.StrEnum):
    """MLPerf's scenario names, plus training."""

    SINGLE_STREAM = "single-stream"
    OFFLINE = "offline"
    SERVER = "server"
    TRAINING = "training"


class Source(enum.StrEnum):
    """Where a result's numbers come from."""

    MODELLED = "modelled"
    MEASURED = "measured"
    CALIBRATED = "calibrated"


class Status(enum.StrEnum):
    """Whether a cell of a comparison could be computed."""

    OK = "ok"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"


class Bound(enum.StrEnum):
    """What limits a workload's time on a device."""

    COMPUTE = "compute"
    MEMORY = "memory"
    OVERHEAD = "overhead"



def _enum_converter(enum_type: type[enum.StrEnum], label: str, field: str | None = None):
    def convert(value: Any) -> Any:
        try:
            return enum_type(value)
        except ValueError:
            known = ", ".join(member.value for member in enum_type)
            where = f"field '{field}': " if field else ""
            raise ValueError(f"{where}unknown {label} {value!r} (known: {known})") from None

    convert.__doc__ = f"Convert a string to {enum_type.__name__}, naming the known values if it is not one."
    return convert


to_precision = _enum_converter(Precision, "precision")
to_kind = _enum_converter(Kind, "kind", "kind")
to_segment = _enum_converter(Segment, "segment", "segment")
to_capability = _enum_converter(Capability, "capability", "capabilities")
to_phase = _enum_converter(Phase, "phase")
to_scenario_kind = _enum_converter(ScenarioKind, "scenario")
