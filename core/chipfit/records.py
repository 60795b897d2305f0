"""The records chipfit passes around: devices, workloads, scenarios, results and reports.

Every quantity is a plain float in SI base units (seconds, bytes, bytes/s, ops/s, watts, joules,
US dollars). Display units live only in :mod:`chipfit.units` and in the parsers of data files.
Records are frozen and validated on construction: a bad figure is rejected with a message that
names the record and the field.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from chipfit.transformer import Requests, TokenBudget, TransformerConfig

__all__ = [
    "Bound",
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


# --- validators -------------------------------------------------------------------------------

#: Kebab-case; a dot may stand between digits, for version numbers (``llama-3.1-8b``).
_KEBAB = re.compile(r"^[a-z0-9]+(?:\.[0-9]+)*(?:-[a-z0-9]+(?:\.[0-9]+)*)*$")


def _owner(instance: Any) -> str:
    ident = getattr(instance, "id", None)
    return f"{type(instance).__name__} {ident!r}" if ident else type(instance).__name__


def _kebab_id(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not isinstance(value, str) or not _KEBAB.match(value):
        placement = "; ID@NODE names where a spec measures a device (chipfit.fleet.Placement), not a device's id" \
            if isinstance(value, str) and "@" in value else ""
        raise ValueError(
            f"{type(instance).__name__}: field 'id' must be kebab-case "
            f"(lowercase letters, digits and single hyphens; a dot only between digits), got {value!r}{placement}"
        )


def _finite(instance: Any, attribute: attrs.Attribute, value: float | None, *, minimum: float = 0.0,
            strict: bool = False) -> None:
    if value is None:
        return
    bad = (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < minimum
        or (strict and value == minimum)
    )
    if bad:
        need = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(
            f"{_owner(instance)}: field {attribute.name!r} must be a finite number {need}, got {value!r}"
        )


def non_negative(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    """Validator: a finite number that is zero or more (None passes: the figure is optional)."""
    _finite(instance, attribute, value)


def positive(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    """Validator: a finite number greater than zero (None passes: the figure is optional)."""
    _finite(instance, attribute, value, strict=True)


def _fraction(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    _finite(instance, attribute, value, strict=True)
    if value > 1:
        raise ValueError(f"{_owner(instance)}: field {attribute.name!r} must be in (0, 1], got {value!r}")


def _fractions(instance: Any, attribute: attrs.Attribute, value: Mapping[Any, float]) -> None:
    for key, fraction in value.items():
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not math.isfinite(fraction) \
                or not 0 < fraction <= 1:
            raise ValueError(f"{_owner(instance)}: field '{attribute.name}.{key}' must be a fraction in (0, 1], "
                             f"got {fraction!r}")


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


def _optional(convert):
    return lambda value: None if value is None else convert(value)


def _peak_ops(value: Mapping[Any, float]) -> dict[Precision, float]:
    peaks = {}
    for precision, ops in dict(value).items():
        try:
            peaks[to_precision(precision)] = ops
        except ValueError as error:
            raise ValueError(f"field 'peak_ops.{precision}': {error}") from None
    return peaks


def _check_peak_ops(instance: Any, attribute: attrs.Attribute, value: Mapping[Precision, float]) -> None:
    for precision, ops in value.items():
        if isinstance(ops, bool) or not isinstance(ops, (int, float)) or not math.isfinite(ops) or ops <= 0:
            raise ValueError(
                f"{_owner(instance)}: field 'peak_ops.{precision}' must be a finite number > 0, got {ops!r}"
            )


def _citation(record: Any, field: str) -> str | None:
    """A record's source for a field and its derivation; ``peak_ops.fp32`` falls back to ``peak_ops``."""
    source, derivation = record.sources.get(field), record.derivations.get(field)
    parts = [source] if source else []
    if derivation:
        parts.append(f"derived: {derivation}")
    if not parts and "." in field:
        return _citation(record, field.split(".", 1)[0])
    return "; ".join(parts) or None


# --- records ----------------------------------------------------------------------------------


@attrs.frozen
class Efficiency:
    """How much of a device's datasheet peak real work sustains.

    ``compute`` and ``memory`` are fractions of peak ops/s and of memory bandwidth;
    ``overhead_s`` is a fixed cost per operator (kernel launch, dispatch), in seconds;
    ``by_precision`` overrides ``compute`` for some precisions, ``by_op_class`` for some classes of
    operator (measured per class by calibration: ``conv``, ``depthwise-conv``, ``matmul`` …); ``origin`` says where the figures
    come from ("calibrated" when fitted to measurements on this machine).
    """

    compute: float = attrs.field(validator=_fraction)
    memory: float = attrs.field(validator=_fraction)
    overhead_s: float = attrs.field(default=0.0, validator=non_negative)
    by_precision: dict[Precision, float] = attrs.field(factory=dict, converter=_peak_ops, validator=_fractions)
    by_op_class: dict[str, float] = attrs.field(factory=dict, converter=dict, validator=_fractions)
    origin: str = ""

    def compute_for(self, precision: Precision, op_class: str = "") -> float:
        """The compute efficiency at one precision, for one class of operator (``conv``, ``matmul`` …)."""
        if op_class in self.by_op_class:
            return self.by_op_class[op_class]
        return self.by_precision.get(precision, self.compute)


def _sources(value: Mapping[str, str] | None) -> dict[str, str]:
    return {str(key): str(text) for key, text in dict(value or {}).items()}


@attrs.frozen
class Device:
    """A chip (or board) that runs AI work, with its datasheet figures in SI units.

    ``peak_ops`` holds dense peak ops/s per precision; only the precisions the device supports.
    ``sparse_peak_ops`` keeps 2:4 structured-sparsity figures apart (the model never uses them).
    ``power_kind`` says what ``power`` is (TDP, typical board power, max module power…).
    ``power`` or ``year`` of None: not known (this machine's own CPU); energy is then unavailable.
    ``measurable``: a plugin can run work on this device here (``chipfit_measure`` answers for it).
    ``cloud_price_per_hour`` is an on-demand rental price in USD per device-hour (where one is
    published: provider, date and derivation in ``sources``/``derivations``), dated by ``cloud_price_date``.
    ``unusual`` names figures deliberately outside the plausible ranges of :mod:`chipfit.checks`.
    ``memory_capacity`` of None: the device keeps no model in memory of its own (weights stream from
    the host over ``memory_bandwidth``, the host link), so capacity never limits it.
    ``invocation_overhead``: a fixed time per invocation (one batch), in seconds, on top of the
    kernels: the host runtime's call, the transfer of inputs and outputs over the host link, the start
    and the completion (a USB or PCIe accelerator driven by a host); None: no such cost is known.
    ``sources`` maps a field name (or ``peak_ops.<precision>``) to the document and place it came
    from; ``derivations`` shows the arithmetic of derived figures; ``unconfirmed`` names figures
    that no primary source confirmed.
    """

    id: str = attrs.field(validator=_kebab_id)
    name: str
    vendor: str
    kind: Kind = attrs.field(converter=to_kind)
    segment: Segment = attrs.field(converter=to_segment)
    peak_ops: dict[Precision, float] = attrs.field(converter=_peak_ops, validator=_check_peak_ops)
    memory_bandwidth: float = attrs.field(validator=positive)
    memory_capacity: float | None = attrs.field(validator=positive)
    power: float | None = attrs.field(validator=positive)
    year: int | None = attrs.field(validator=positive)
    capabilities: frozenset[Capability] = attrs.field(
        converter=lambda caps: frozenset(to_capability(cap) for cap in caps)
    )
    runtimes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    price: float | None = attrs.field(default=None, validator=positive)
    interconnect_bandwidth: float | None = attrs.field(default=None, validator=positive)
    general_ops: float | None = attrs.field(default=None, validator=positive)
    efficiency: Efficiency | None = None
    sparse_peak_ops: dict[Precision, float] = attrs.field(factory=dict, converter=_peak_ops,
                                                          validator=_check_peak_ops)
    on_chip_memory: float | None = attrs.field(default=None, validator=positive)
    invocation_overhead: float | None = attrs.field(default=None, validator=positive)
    power_kind: str = ""
    price_date: str = ""
    cloud_price_per_hour: float | None = attrs.field(default=None, validator=positive)
    cloud_price_date: str = ""
    unusual: frozenset[str] = attrs.field(factory=frozenset, converter=frozenset)
    measurable: bool = False
    sources: dict[str, str] = attrs.field(factory=dict, converter=_sources)
    derivations: dict[str, str] = attrs.field(factory=dict, converter=_sources)
    unconfirmed: frozenset[str] = attrs.field(factory=frozenset, converter=frozenset)
    notes: str = ""
    #: The fusions the device's runtime performs (:data:`chipfit.model.lowering.FUSIONS`); None: the defaults.
    fusions: frozenset[str] | None = attrs.field(default=None, converter=attrs.converters.optional(frozenset))

    def __attrs_post_init__(self) -> None:
        vendor_slug = re.sub(r"[^a-z0-9]", "", self.vendor.lower())
        if not self.id.replace("-", "").startswith(vendor_slug):
            raise ValueError(
                f"Device {self.id!r}: field 'id' must start with the vendor's name "
                f"({self.vendor!r}), e.g. {vendor_slug}-..."
            )
        if not self.peak_ops and self.general_ops is None:
            raise ValueError(f"Device {self.id!r}: field 'peak_ops' is empty and there is no 'general_ops'")
        if Capability.GENERAL_PURPOSE in self.capabilities and self.general_ops is None:
            raise ValueError(
                f"Device {self.id!r}: field 'general_ops' is required for a general-purpose device"
            )

    def citation(self, field: str) -> str | None:
        """The source of one figure (``power``, ``peak_ops.fp32`` …), with its derivation if any."""
        return _citation(self, field)

    def can(self, capability: Capability) -> bool:
        """Whether the device has a capability (training, inference, general-purpose)."""
        return capability in self.capabilities


@attrs.frozen
class Operator:
    """The cost of one operator (a layer, a kernel) for one sample at the workload's precision.

    ``ops`` counts arithmetic operations (a multiply-add is 2); ``weight_bytes`` are read once
    per batch and so amortised by batching; ``activation_bytes`` are read and written per sample.
    ``repeat`` lets a workload state N identical operators once. ``op_class`` groups operators that
    run alike (``depthwise-conv`` apart from ``conv``); empty: :func:`chipfit.model.op_class` decides.
    """

    op_type: str
    ops: float = attrs.field(validator=non_negative)
    weight_bytes: float = attrs.field(default=0.0, validator=non_negative)
    activation_bytes: float = attrs.field(default=0.0, validator=non_negative)
    name: str = ""
    repeat: int = attrs.field(default=1, validator=positive)
    op_class: str = ""


def _operators(value: Any) -> tuple[Operator, ...]:
    return tuple(value)


def _check_operators(instance: Any, attribute: attrs.Attribute, value: tuple[Operator, ...]) -> None:
    if not value:
        raise ValueError(f"{_owner(instance)}: field 'operators' must hold at least one operator")
    for index, operator in enumerate(value):
        if not isinstance(operator, Operator):
            raise ValueError(
                f"{_owner(instance)}: field 'operators[{index}]' must be an Operator, got {type(operator).__name__}"
            )


@attrs.frozen
class Workload:
    """A unit of AI (or general-purpose) work, as a per-sample cost per operator.

    ``precision`` is the precision the operator byte counts assume; the model rescales bytes
    when a scenario asks for another precision. A training workload adds ``dataset_samples``,
    ``epochs`` and ``backward_factor`` (backward cost as a multiple of forward: 2 by default).
    ``uncosted`` counts, by operator type, operators whose cost is unknown (their ops are missing
    from the totals, and reports say so). ``graph`` says where a runnable graph comes from, for
    measurement backends: a model file's path, or ``reference:ID`` for a graph chipfit builds
    (:func:`graph_locator` and :func:`split_locator` add and read the dimensions bound).

    A language model adds ``transformer`` (its configuration, :mod:`chipfit.transformer`): the model
    then costs it by generation (``requests``: input and output tokens per request) or by training at
    scale (``token_budget``), not by its operators. ``kv_cache_bytes_per_sample`` is key/value cache a
    sample holds for the whole of its run (a counted decode graph's past keys and values), at the
    workload's precision: the memory check counts it for every sample of a batch.
    """

    id: str = attrs.field(validator=_kebab_id)
    name: str
    domain: str
    phase: Phase = attrs.field(converter=to_phase)
    operators: tuple[Operator, ...] = attrs.field(converter=_operators, validator=_check_operators)
    parameters: float = attrs.field(default=0.0, validator=non_negative)
    precision: Precision = attrs.field(default=Precision.FP32, converter=to_precision)
    batch: int = attrs.field(default=1, validator=positive)
    latency_target: float | None = attrs.field(default=None, validator=positive)
    dataset_samples: float | None = attrs.field(default=None, validator=positive)
    epochs: float | None = attrs.field(default=None, validator=positive)
    backward_factor: float = attrs.field(default=2.0, validator=non_negative)
    uncosted: dict[str, int] = attrs.field(factory=dict, converter=dict)
    graph: str = ""
    sources: dict[str, str] = attrs.field(factory=dict, converter=_sources)
    derivations: dict[str, str] = attrs.field(factory=dict, converter=_sources)
    unconfirmed: frozenset[str] = attrs.field(factory=frozenset, converter=frozenset)
    notes: str = ""
    transformer: TransformerConfig | None = None
    requests: Requests | None = None
    token_budget: TokenBudget | None = None
    kv_cache_bytes_per_sample: float = attrs.field(default=0.0, validator=non_negative)

    def __attrs_post_init__(self) -> None:
        if self.phase is Phase.TRAINING and (self.dataset_samples is None or self.epochs is None):
            raise ValueError(
                f"Workload {self.id!r}: a training workload needs fields 'dataset_samples' and 'epochs'"
            )

    @property
    def ops_per_sample(self) -> float:
        """Forward ops for one sample, summed over operators."""
        return sum(op.ops * op.repeat for op in self.operators)

    @property
    def weight_bytes(self) -> float:
        """Bytes of weights at the workload's own precision."""
        return sum(op.weight_bytes * op.repeat for op in self.operators)

    @property
    def activation_bytes_per_sample(self) -> float:
        """Activation bytes moved for one sample, summed over operators."""
        return sum(op.activation_bytes * op.repeat for op in self.operators)

    def citation(self, field: str) -> str | None:
        """The source of one figure, with its derivation if any."""
        return _citation(self, field)

    def with_precision(self, precision: Precision | str) -> Workload:
        """The same workload with its byte counts restated at another precision (weights and activations)."""
        precision = to_precision(precision)
        scale = precision.bytes_per_value / self.precision.bytes_per_value
        if scale == 1:
            return attrs.evolve(self, precision=precision)
        operators = tuple(attrs.evolve(op, weight_bytes=op.weight_bytes * scale,
                                       activation_bytes=op.activation_bytes * scale) for op in self.operators)
        return attrs.evolve(self, precision=precision, operators=operators,
                            kv_cache_bytes_per_sample=self.kv_cache_bytes_per_sample * scale)

    def for_training(self, ident: str, name: str, *, dataset_samples: float, epochs: float,
                     backward_factor: float = 2.0, batch: int | None = None, sources=None,
                     derivations=None, unconfirmed=(), notes: str = "") -> Workload:
        """The training workload of this inference workload: same forward graph, a data set and a recipe."""
        return attrs.evolve(
            self, id=ident, name=name, phase=Phase.TRAINING, dataset_samples=dataset_samples, epochs=epochs,
            backward_factor=backward_factor, batch=batch or self.batch,
            sources={**self.sources, **(sources or {})}, derivations={**self.derivations, **(derivations or {})},
            unconfirmed=self.unconfirmed | set(unconfirmed), notes=notes or self.notes,
        )


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
    precision: Precision | None = attrs.field(default=None, converter=_optional(to_precision))
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
    metrics: dict[str, Metric] = attrs.field(factory=dict, converter=dict)
    reason: str = ""
    plugin: str = ""
    explain: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    group: str = ""
    measurement: dict[str, Any] = attrs.field(factory=dict)

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
    spec: dict[str, Any] = attrs.field(factory=dict)
    environment: dict[str, Any] = attrs.field(factory=dict)
    created: str = ""
    claims: tuple[ClaimCheck, ...] = attrs.field(default=(), converter=tuple)
    description: str = ""
    interrupted: bool = False

    @property
    def failed(self) -> tuple[Result, ...]:
        """Rows a plugin failed to produce."""
        return tuple(row for row in self.rows if row.status is Status.FAILED)


def graph_locator(path: str, dims: Mapping[str, int] | None = None) -> str:
    """A workload's ``graph``: a model file's path and the dimensions bound (``model.onnx?seq=128``).

    The query is added whenever the path itself holds a ``?`` (a file named ``what?.onnx``), so that
    :func:`split_locator` always splits at the last one.
    """
    from urllib.parse import urlencode

    return path + (f"?{urlencode(dict(dims or {}))}" if dims or "?" in path else "")


def split_locator(graph: str) -> tuple[str, dict[str, int]]:
    """``path/model.onnx?seq=128`` -> (``path/model.onnx``, ``{"seq": 128}``): the inverse of :func:`graph_locator`."""
    from urllib.parse import parse_qsl

    if "?" not in graph:
        return graph, {}
    target, _, query = graph.rpartition("?")
    return target, {name: int(value) for name, value in parse_qsl(query)}
