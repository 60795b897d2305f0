"""The records of a comparison: the scenario a workload is run in, one cell's result, a checked claim, a report.

Every name here is importable from :mod:`chipfit.records` too. Mappings in these records are
read-only (:class:`chipfit.frozen.FrozenDict`) and lists are tuples, so a result or a report, once
made, cannot change and can be hashed; make a changed copy with :func:`attrs.evolve`.
"""

from __future__ import annotations

import attrs

from chipfit.fields import optional, positive
from chipfit.frozen import FrozenDict, frozen_mapping
from chipfit.vocabulary import Precision, ScenarioKind, Source, Status, to_precision, to_scenario_kind

__all__ = ["ClaimCheck", "Metric", "Report", "Result", "Scenario"]


@attrs.frozen
class Scenario:
    """How a workload is run: MLPerf's single-stream, offline, server, or training on ``count`` devices.

    ``batch`` and ``precision`` of None take the workload's defaults; ``latency_target`` (seconds)
    of None takes the workload's own target, if any. ``tensor_parallel``, ``pipeline_parallel`` and
    ``expert_parallel`` name degrees of the split over ``count`` devices (None: the model chooses);
    ``ttft_target`` and ``tpot_target`` (seconds) bound a language model's time to first token and time
    per output token in the server scenario.
    """

    kind: ScenarioKind = attrs.field(default=ScenarioKind.SINGLE_STREAM, converter=to_scenario_kind)
    batch: int | None = attrs.field(default=None, validator=positive)
    precision: Precision | None = attrs.field(default=None, converter=optional(to_precision))
    count: int = attrs.field(default=1, validator=positive)
    latency_target: float | None = attrs.field(default=None, validator=positive)
    tensor_parallel: int | None = attrs.field(default=None, validator=positive)
    pipeline_parallel: int | None = attrs.field(default=None, validator=positive)
    expert_parallel: int | None = attrs.field(default=None, validator=positive)
    ttft_target: float | None = attrs.field(default=None, validator=positive)
    tpot_target: float | None = attrs.field(default=None, validator=positive)

    def describe(self) -> str:
        """A short human label: ``offline b8 int8 x4``."""
        parts = [str(self.kind)]
        if self.batch is not None:
            parts.append(f"b{self.batch}")
        if self.precision is not None:
            parts.append(str(self.precision))
        if self.count != 1:
            parts.append(f"x{self.count}")
        named = [f"{label}{degree}" for label, degree in (("tp", self.tensor_parallel), ("pp", self.pipeline_parallel),
                                                          ("ep", self.expert_parallel)) if degree]
        parts.extend(named)
        return " ".join(parts)


Metric = float | int | bool | str | None


@attrs.frozen
class Result:
    """One cell of a comparison: a device running a workload in a scenario.

    ``source`` says whether its numbers are modelled, measured or calibrated; ``status`` is ok,
    unsupported (with the reason) or failed (with the reason, when a plugin misbehaved).
    ``explain`` holds the arithmetic behind the numbers, one line per step; ``measurement`` (measured
    rows) the samples' summary and the environment they were taken in.
    """

    device: str
    workload: str
    scenario: Scenario
    source: Source = attrs.field(converter=Source)
    status: Status = attrs.field(converter=Status)
    metrics: FrozenDict = attrs.field(factory=FrozenDict, converter=frozen_mapping)
    reason: str = ""
    plugin: str = ""
    explain: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    group: str = ""
    measurement: FrozenDict = attrs.field(factory=FrozenDict, converter=frozen_mapping)

    @property
    def ok(self) -> bool:
        """Whether the cell has numbers."""
        return self.status is Status.OK


@attrs.frozen
class ClaimCheck:
    """A published claim set against what chipfit computes, with the arithmetic shown."""

    text: str
    expected: float | None
    value: float | None
    formula: str
    arithmetic: str
    verdict: str
    tolerance: float
    source: str = ""
    why: str = ""

    @property
    def ratio(self) -> float | None:
        """Computed value divided by the claimed one."""
        if self.value is None or not self.expected:
            return None
        return self.value / self.expected


@attrs.frozen
class Report:
    """A comparison: its rows, the baseline they are compared with, and where it was made."""

    title: str
    rows: tuple[Result, ...] = attrs.field(converter=tuple)
    baseline: str | None = None
    spec: FrozenDict = attrs.field(factory=FrozenDict, converter=frozen_mapping)
    environment: FrozenDict = attrs.field(factory=FrozenDict, converter=frozen_mapping)
    created: str = ""
    claims: tuple[ClaimCheck, ...] = attrs.field(default=(), converter=tuple)
    description: str = ""
    interrupted: bool = False

    @property
    def failed(self) -> tuple[Result, ...]:
        """Rows a plugin failed to produce."""
        return tuple(row for row in self.rows if row.status is Status.FAILED)
