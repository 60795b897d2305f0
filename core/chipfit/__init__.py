"""chipfit: which chip fits which AI task, by how much, and at what cost in time, energy and money.

The names a plugin author needs are importable from here: ``hookimpl`` and the records.
Importing chipfit is light: no plugin is loaded until a plugin manager is built.
"""

from chipfit.hookspecs import hookimpl
from chipfit.records import (
    Capability,
    Device,
    Efficiency,
    Kind,
    Operator,
    Phase,
    Precision,
    Report,
    Result,
    Scenario,
    ScenarioKind,
    Segment,
    Source,
    Status,
    Workload,
)

__all__ = [
    "Capability",
    "Device",
    "Efficiency",
    "Kind",
    "Operator",
    "Phase",
    "Precision",
    "Report",
    "Result",
    "Scenario",
    "ScenarioKind",
    "Segment",
    "Source",
    "Status",
    "Workload",
    "hookimpl",
]
