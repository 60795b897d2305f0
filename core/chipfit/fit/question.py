"""The question ``chipfit fit`` asks: the workload, limits (:class:`Constraint`), filters and objective."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from chipfit.errors import ChipfitError
from chipfit.records import (
    Device,
    Precision,
    ScenarioKind,
)
from chipfit.tco import CostInputs
from chipfit.units import display, duration, label, si_number

#: ``--by`` words and the metric keys they mean, in order of preference (the first a row has).
OBJECTIVES: dict[str, tuple[str, ...]] = {
    "cost": ("hardware_cost_usd", "cloud_usd_per_hour"),
    "power": ("power_w",),
    "energy": ("energy_per_sample_j", "energy_j"),
    "latency": ("ttft_s", "latency_s", "time_to_train_s"),
    "time-to-train": ("time_to_train_s",),
    "throughput": ("output_tokens_per_s", "throughput_sps"),
    "cost-per-token": ("usd_per_million_tokens", "cloud_usd_per_million_tokens"),
    "cost-per-sample": ("usd_per_million_samples", "cloud_usd_per_million_samples"),
    "cloud-cost": ("cloud_usd_per_million_tokens", "cloud_usd_per_million_samples", "cloud_train_cost_usd"),
}

#: The objective when none is named, per scenario.
DEFAULT_OBJECTIVE = {ScenarioKind.SINGLE_STREAM: "latency", ScenarioKind.OFFLINE: "throughput",
                     ScenarioKind.SERVER: "throughput", ScenarioKind.TRAINING: "time-to-train"}

#: Metrics a fit adds to its rows (not the model's: left out when comparing with ``chipfit estimate``).
FIT_KEYS = ("rank", "binding_limit", "pareto", "precision", "count")


@attrs.frozen
class Constraint:
    """One limit a configuration must meet: ``key`` at most (or at least) ``limit``; ``option`` as the user gave it."""

    option: str
    key: str
    limit: float
    at_most: bool
    what: str  # "target", "power", "cost" …: what binds when this is the tightest

    def ratio(self, value: float) -> float:
        """How much of the limit a value uses: 1.0 is exactly at it, above 1 breaks it."""
        if self.at_most:
            return value / self.limit
        return self.limit / value if value > 0 else math.inf

    def check(self, values: Mapping[str, Any]) -> tuple[bool, str]:
        """Whether a row meets it, and if not, why (with the figures)."""
        value = values.get(self.key)
        if value is None or isinstance(value, (bool, str)):
            return False, f"{self.option}: the row has no {label(self.key)} ({self.key})"
        if self.ratio(value) <= 1.0:
            return True, ""
        sign = ">" if self.at_most else "<"
        return False, f"{self.option}: {label(self.key)} {display(self.key, value)} {sign} {display(self.key, self.limit)}"


@attrs.frozen
class FitQuery:
    """What ``chipfit fit`` asks: a workload, a scenario, constraints, filters and an objective."""

    workload: str
    scenario: ScenarioKind = attrs.field(default=ScenarioKind.SINGLE_STREAM, converter=ScenarioKind)
    target_s: float | None = None
    fps: float | None = None
    ttft_s: float | None = None
    tpot_s: float | None = None
    min_throughput: float | None = None
    min_tokens_per_s: float | None = None
    max_power_w: float | None = None
    max_cost_usd: float | None = None
    segments: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    precisions: tuple[str, ...] = ()
    max_count: int = 8
    by: str | None = None
    where: str | None = None
    pareto: tuple[str, str] | None = None
    top: int = 10
    costs: CostInputs = CostInputs()

    def latency_target(self) -> float | None:
        """The scenario's latency target in seconds (``--target-ms``, or one frame at ``--fps``)."""
        if self.target_s is not None:
            return self.target_s
        return 1 / self.fps if self.fps else None

    def constraints(self) -> list[Constraint]:
        """The limits every feasible configuration meets."""
        out = []
        target = self.latency_target()
        if target is not None:
            given = f"--target-ms {self.target_s * 1e3:g}" if self.target_s is not None else f"--fps {self.fps:g}"
            if self.scenario is ScenarioKind.OFFLINE:
                out.append(Constraint(given, "throughput_sps", 1 / target, False, "target"))
            elif self.scenario is not ScenarioKind.TRAINING:
                out.append(Constraint(given, "latency_s", target, True, "target"))
            else:
                out.append(Constraint(given, "time_to_train_s", target, True, "target"))
        if self.ttft_s is not None:
            out.append(Constraint(f"--ttft-ms {self.ttft_s * 1e3:g}", "ttft_s", self.ttft_s, True, "TTFT"))
        if self.tpot_s is not None:
            out.append(Constraint(f"--tpot-ms {self.tpot_s * 1e3:g}", "tpot_s", self.tpot_s, True, "TPOT"))
        if self.min_throughput is not None:
            out.append(Constraint(f"--min-throughput {self.min_throughput:g}", "throughput_sps", self.min_throughput,
                                  False, "throughput"))
        if self.min_tokens_per_s is not None:
            out.append(Constraint(f"--min-tokens-per-s {self.min_tokens_per_s:g}", "output_tokens_per_s",
                                  self.min_tokens_per_s, False, "throughput"))
        if self.max_power_w is not None:
            out.append(Constraint(f"--max-power-w {self.max_power_w:g}", "power_w", self.max_power_w, True, "power"))
        if self.max_cost_usd is not None:
            out.append(Constraint(f"--max-cost-usd {self.max_cost_usd:g}", "hardware_cost_usd", self.max_cost_usd,
                                  True, "cost"))
        return out

    def check(self) -> None:
        """Limits that no configuration could meet (zero, negative, not a number) are bad input.

        :raises ChipfitError: naming the option.
        """
        for option, value in (("--target-ms", self.target_s), ("--fps", self.fps), ("--ttft-ms", self.ttft_s),
                              ("--tpot-ms", self.tpot_s), ("--min-throughput", self.min_throughput),
                              ("--min-tokens-per-s", self.min_tokens_per_s),
                              ("--max-power-w", self.max_power_w), ("--max-cost-usd", self.max_cost_usd)):
            if value is not None and not (0 < value < math.inf):
                raise ChipfitError(f"{option} must be a positive number, got {value:g}: no configuration can meet it")
        if self.target_s is not None and self.fps is not None:
            raise ChipfitError("--target-ms and --fps both set a latency target: give one")
        if self.max_count < 1:
            raise ChipfitError(f"--max-count must be at least 1, got {self.max_count}")
        if self.top < 1:
            raise ChipfitError(f"--top must be at least 1, got {self.top}")


@attrs.frozen
class Configuration:
    """One point of the search: a device, how many, at which precision (the model picks batch and split)."""

    device: Device
    count: int
    precision: Precision


def describe_target(fit: FitQuery) -> str:
    """The latency target in words (for notes)."""
    target = fit.latency_target()
    return "none" if target is None else f"{duration(target)} ({si_number(1 / target, 'samples/s')})"
