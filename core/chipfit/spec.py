"""Comparison specs: the TOML file ``chipfit run`` reads.

A spec names a title, an optional baseline device (its row in each group is 1x), groups of
devices x workloads under one scenario, and optional claims to check against the results::

    title = "Edge vision"
    baseline = "nvidia-jetson-agx-orin-64gb"
    measure = ["localhost-cpu"]     # optional: also run these devices' cells for real
    measure_budget_s = 2            # optional: seconds of timing per measured cell
    executor = "ray"                # optional: where measured cells run (default local: this machine)
    address = "head-node:6379"      # optional: the cluster the executor joins (--address overrides)
    electricity_usd_per_kwh = 0.12  # optional: prices electricity in the owned cost per million samples
    service_life_years = 3          # optional: years the hardware's cost is spread over (default 3)

    [[groups]]
    id = "vision"
    devices = ["nvidia-jetson-agx-orin-64gb", "flexlogix-inferx-x1"]
    workloads = ["yolov3-608", "models/mine.onnx"]   # ids, or model files (relative to the spec)
    scenario = "single-stream"      # single-stream | offline | server | training
    precision = "int8"
    latency_target_ms = 40
    # language models: tensor_parallel, pipeline_parallel, expert_parallel name the split over `count`;
    # ttft_target_ms, tpot_target_ms bound time to first token and per output token (server)

    [[claims]]
    text = "X1 is 2x the Orin on ops/s"
    expected = 2
    cell = { group = "vision", device = "flexlogix-inferx-x1", workload = "yolov3-608" }
    versus = { group = "vision", device = "nvidia-jetson-agx-orin-64gb", workload = "yolov3-608" }
    value = "ops_available_per_s / versus.ops_available_per_s"

Every key is checked: a misspelt one is an error naming it, its line and the key meant.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import attrs

from chipfit import tomlfile
from chipfit.errors import SpecError
from chipfit.records import Scenario
from chipfit.tco import DEFAULT_SERVICE_LIFE_YEARS, CostInputs
from chipfit.units import MILLI


@attrs.frozen
class CellRef:
    """One cell of a report: a group, a device, a workload."""

    group: str
    device: str
    workload: str


#: The shortest latency target a group may set, in milliseconds (one nanosecond).
MIN_LATENCY_TARGET_MS = 1e-6


@attrs.frozen
class GroupSpec:
    """Devices x workloads run under one scenario."""

    id: str
    devices: list[str]
    workloads: list[str]
    title: str = ""
    scenario: str = "single-stream"
    batch: int | None = None
    precision: str | None = None
    count: int = 1
    latency_target_ms: float | None = None
    tensor_parallel: int | None = None
    pipeline_parallel: int | None = None
    expert_parallel: int | None = None
    ttft_target_ms: float | None = None
    tpot_target_ms: float | None = None
    note: str = ""
    columns: list[str] | None = None
    dims: dict[str, int] = attrs.field(factory=dict)
    model_dims: dict[str, dict[str, int]] = attrs.field(factory=dict)

    def dims_for(self, model: str) -> dict[str, int]:
        """The symbolic dimensions one model file of the group is read with: ``dims``, then its own
        ``model_dims`` entry over them."""
        return {**self.dims, **self.model_dims.get(model, {})}

    def to_scenario(self) -> Scenario:
        """The scenario record (SI units).

        :raises ValueError: a bad field, or a latency target below :data:`MIN_LATENCY_TARGET_MS` (no
            device answers that fast, and the ops it would need are beyond any number).
        """
        if self.latency_target_ms is not None and 0 < self.latency_target_ms < MIN_LATENCY_TARGET_MS:
            raise ValueError(f"field 'latency_target_ms' must be at least {MIN_LATENCY_TARGET_MS:g} ms (one "
                             f"nanosecond), got {self.latency_target_ms:g}")

        def seconds(ms: float | None) -> float | None:
            return None if ms is None else ms * MILLI

        return Scenario(self.scenario, self.batch, self.precision, self.count, seconds(self.latency_target_ms),
                        tensor_parallel=self.tensor_parallel, pipeline_parallel=self.pipeline_parallel,
                        expert_parallel=self.expert_parallel, ttft_target=seconds(self.ttft_target_ms),
                        tpot_target=seconds(self.tpot_target_ms))


@attrs.frozen
class ClaimSpec:
    """A published claim: an expected value, and the arithmetic that computes it from cells.

    ``value`` is an arithmetic expression over the metrics of ``cell`` (bare names, e.g.
    ``latency_s``) and of ``versus`` (``versus.latency_s``); with ``expected`` set, the claim
    agrees when the computed value is within ``tolerance`` (relative) of it.
    """

    text: str
    cell: CellRef
    value: str
    expected: float | None = None
    tolerance: float = 0.25
    versus: CellRef | None = None
    source: str = ""
    why: str = ""


@attrs.frozen
class FitSpec:
    """A ``[[fit]]`` table: ``chipfit fit``'s question in a spec (the same options, units in the key names)."""

    workload: str
    id: str = ""
    scenario: str = "single-stream"
    target_ms: float | None = None
    fps: float | None = None
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    min_throughput: float | None = None
    min_tokens_per_s: float | None = None
    max_power_w: float | None = None
    max_cost_usd: float | None = None
    segment: list[str] = attrs.field(factory=list)
    vendor: list[str] = attrs.field(factory=list)
    kind: list[str] = attrs.field(factory=list)
    precision: list[str] = attrs.field(factory=list)
    max_count: int = 8
    by: str | None = None
    pareto: list[str] | None = None
    where: str | None = None
    top: int = 5

    def to_query(self, costs: CostInputs):
        """The :class:`chipfit.fit.FitQuery` it asks."""
        from chipfit.fit import FitQuery

        scale = lambda value: None if value is None else value * MILLI  # noqa: E731
        return FitQuery(
            workload=self.workload, scenario=self.scenario, target_s=scale(self.target_ms), fps=self.fps,
            ttft_s=scale(self.ttft_ms), tpot_s=scale(self.tpot_ms), min_throughput=self.min_throughput,
            min_tokens_per_s=self.min_tokens_per_s,
            max_power_w=self.max_power_w, max_cost_usd=self.max_cost_usd, segments=tuple(self.segment),
            vendors=tuple(self.vendor), kinds=tuple(self.kind), precisions=tuple(self.precision),
            max_count=self.max_count, by=self.by, pareto=None if self.pareto is None else tuple(self.pareto),
            where=self.where, top=self.top, costs=costs)


@attrs.frozen
class Spec:
    """A whole comparison spec."""

    title: str
    groups: list[GroupSpec]
    baseline: str | None = None
    description: str = ""
    claims: list[ClaimSpec] = attrs.field(factory=list)
    measure: list[str] = attrs.field(factory=list)
    measure_budget_s: float = 2.0
    executor: str | None = None
    address: str | None = None
    electricity_usd_per_kwh: float | None = None
    service_life_years: float = DEFAULT_SERVICE_LIFE_YEARS
    fit: list[FitSpec] = attrs.field(factory=list)

    def costs(self) -> CostInputs:
        """The buyer's cost inputs (:mod:`chipfit.tco`)."""
        return CostInputs(self.electricity_usd_per_kwh, self.service_life_years)


def load(path: str | Path) -> tuple[Spec, str]:
    """Read and check a spec file; return it with its text.

    :raises SpecError: naming the file, the line and the key, for invalid TOML, an unknown or
        misspelt key, a wrong type, a bad scenario or precision, or a duplicate group id.
    """
    text, data = tomlfile.read(path)
    return parse(text, data, str(path)), text


def parse(text: str, data: dict, where: str) -> Spec:
    """Check parsed TOML as a spec (see :func:`load`)."""
    spec = tomlfile.structure(data, Spec, text=text, where=where)
    if problem := budget_problem(spec.measure_budget_s):
        raise SpecError(f"measure_budget_s {problem}", path=where, line=tomlfile.locate(text, ["measure_budget_s"]))
    for key in ("electricity_usd_per_kwh", "service_life_years"):
        value = getattr(spec, key)
        if value is not None and not 0 < value < float("inf"):
            raise SpecError(f"{key} must be a positive number, got {value:g}", path=where,
                            line=tomlfile.locate(text, [key]))
    seen: set[str] = set()
    for index, group in enumerate(spec.groups):
        at = ["groups", index]
        if group.id in seen:
            raise SpecError(f"duplicate group id {group.id!r}", path=where, line=tomlfile.locate(text, [*at, "id"]))
        seen.add(group.id)
        for key in ("devices", "workloads"):
            if not getattr(group, key):
                raise SpecError(f"groups[{index}].{key} is empty", path=where, line=tomlfile.locate(text, [*at, key]))
        for name, size in group.dims.items():
            if size <= 0:
                raise SpecError(f"groups[{index}].dims.{name} must be a positive whole number, got {size}",
                                path=where, line=tomlfile.locate(text, [*at, "dims", name]))
        for model, sizes in group.model_dims.items():
            if model not in group.workloads:
                from chipfit.errors import suggest

                close = suggest(model, group.workloads)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                raise SpecError(f"groups[{index}].model_dims: {model!r} is not one of the group's workloads{hint}",
                                path=where, line=tomlfile.locate(text, [*at, "model_dims", model]))
            for name, size in sizes.items():
                if size <= 0:
                    raise SpecError(f"groups[{index}].model_dims.{model}.{name} must be a positive whole number, "
                                    f"got {size}", path=where,
                                    line=tomlfile.locate(text, [*at, "model_dims", model, name]))
        try:
            group.to_scenario()
        except ValueError as error:
            key = _key_in(str(error), ("scenario", "precision", "batch", "count", "latency_target_ms",
                                       "tensor_parallel", "pipeline_parallel", "expert_parallel", "ttft_target_ms",
                                       "tpot_target_ms"))
            raise SpecError(f"groups[{index}]: {error}", path=where,
                            line=tomlfile.locate(text, [*at, key] if key else at)) from None
    for index, entry in enumerate(spec.fit):
        if entry.id in seen or (entry.pareto is not None and len(entry.pareto) != 2):
            key, why = ("id", f"duplicate group id {entry.id!r}") if entry.id in seen else \
                ("pareto", "pareto names two objectives, e.g. [\"cost\", \"latency\"]")
            raise SpecError(f"fit[{index}].{key}: {why}", path=where, line=tomlfile.locate(text, ["fit", index, key]))
        seen.add(entry.id or f"fit-{index + 1}")
    for index, claim in enumerate(spec.claims):
        for name, ref in (("cell", claim.cell), ("versus", claim.versus)):
            if ref is not None and ref.group not in seen:
                raise SpecError(
                    f"claims[{index}].{name}.group {ref.group!r} is not a group of this spec",
                    path=where, line=tomlfile.locate(text, ["claims", index, name]),
                )
        if claim.expected is not None and not math.isfinite(claim.expected):
            raise SpecError(f"claims[{index}].expected must be a finite number, got {claim.expected:g}", path=where,
                            line=tomlfile.locate(text, ["claims", index, "expected"]))
        if not 0 <= claim.tolerance:
            raise SpecError(f"claims[{index}].tolerance must be >= 0", path=where,
                            line=tomlfile.locate(text, ["claims", index, "tolerance"]))
    return spec


def budget_problem(seconds: float) -> str | None:
    """What is wrong with a measuring budget (``measure_budget_s``, ``--budget``), or None.

    A budget bounds how long a measurement may run (its hang guard grows with it): it must be a finite
    number of seconds above zero (NaN would turn the guard off, inf would wait for ever).
    """
    if not (math.isfinite(seconds) and seconds > 0):
        return f"must be a finite number of seconds > 0, got {seconds:g}"
    return None


def _key_in(message: str, keys: tuple[str, ...]) -> str | None:
    """The spec key a scenario error is about: the field it names, else the first key it mentions."""
    if match := re.search(r"field '(\w+)'", message):
        name = match.group(1)
        found = next((key for key in keys if key.startswith(name)), None)
        if found:
            return found
    return next((key for key in keys if key.split("_")[0] in message.lower()), None)
