"""The records chipfit passes around: devices, workloads, scenarios, results and reports.

Every quantity is a plain float in SI base units (seconds, bytes, bytes/s, ops/s, watts, joules,
US dollars). Display units live only in :mod:`chipfit.units` and in the parsers of data files.
Records are frozen and validated on construction: a bad figure is rejected with a message that
names the record and the field. They are immutable all the way down: mappings are read-only
(:class:`chipfit.frozen.FrozenDict`), lists are tuples, sets frozensets; so records hash, and equal
records hash equal. A changed record is a new one: :func:`attrs.evolve`.

This module holds devices and workloads; the words they use are in :mod:`chipfit.vocabulary`, their
field checks in :mod:`chipfit.fields`, and scenarios, results and reports in :mod:`chipfit.results`.
Every one of those public names is importable from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from chipfit.fields import (
    check_peak_ops,
    citation,
    fraction,
    fractions,
    non_negative,
    owner,
    positive,
    precision_map,
    text_map,
)
from chipfit.frozen import FrozenDict, frozen_mapping
from chipfit.results import ClaimCheck, Metric, Report, Result, Scenario
from chipfit.transformer import Requests, TokenBudget, TransformerConfig
from chipfit.vocabulary import (
    Bound,
    Capability,
    Kind,
    Phase,
    Precision,
    ScenarioKind,
    Segment,
    Source,
    Status,
    to_capability,
    to_kind,
    to_phase,
    to_precision,
    to_scenario_kind,
    to_segment,
)

__all__ = [
    "Bound",
    "Capability",
    "ClaimCheck",
    "Device",
    "Efficiency",
    "Kind",
    "Metric",
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
    "graph_locator",
    "split_locator",
    "to_capability",
    "to_kind",
    "to_phase",
    "to_precision",
    "to_scenario_kind",
    "to_segment",
]


# --- ids --------------------------------------------------------------------------------------

#: Kebab-case; a dot may stand between digits, for version numbers (``llama-3.1-8b``).
_KEBAB = re.compile(r"^[a-z0-9]+(?:\.[0-9]+)*(?:-[a-z0-9]+(?:\.[0-9]+)*)*$")




def _kebab_id(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not isinstance(value, str) or not _KEBAB.match(value):
        placement = "; ID@NODE names where a spec measures a device (chipfit.fleet.Placement), not a device's id" \
            if isinstance(value, str) and "@" in value else ""
        raise ValueError(
            f"{type(instance).__name__}: field 'id' must be kebab-case "
            f"(lowercase letters, digits and single hyphens; a dot only between digits), got {value!r}{placement}"
        )



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

    compute: float = attrs.field(validator=fraction)
    memory: float = attrs.field(validator=fraction)
    overhead_s: float = attrs.field(default=0.0, validator=non_negative)
    by_precision: Mapping[Precision, float] = attrs.field(factory=FrozenDict, converter=precision_map,
                                                          validator=fractions)
    by_op_class: Mapping[str, float] = attrs.field(factory=FrozenDict, converter=frozen_mapping, validator=fractions)
    origin: str = ""

    def compute_for(self, precision: Precision, op_class: str = "") -> float:
        """The compute efficiency at one precision, for one class of operator (``conv``, ``matmul`` …)."""
        if op_class in self.by_op_class:
            return self.by_op_class[op_class]
        return self.by_precision.get(precision, self.compute)


@attrs.frozen
class Device:
    """A chip (or board) that runs AI work, with its datasheet figures in SI units.

    ``peak_ops`` holds dense peak ops/s per precision; only the precisions the device supports.
    ``sparse_peak_ops`` keeps 2:4 structured-sparsity figures apart (the model never uses them).
    ``power_kind`` says what ``power`` is (TDP, typical board power, max module power…).
    ``power`` or ``year`` of None: not known (this machine's own CPU); energy is then unavailable.
    ``memory_bandwidth`` of None: not measured yet (this machine's own CPU, until a run needs it).
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
    peak_ops: Mapping[Precision, float] = attrs.field(converter=precision_map, validator=check_peak_ops)
    memory_bandwidth: float | None = attrs.field(validator=positive)
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
    sparse_peak_ops: Mapping[Precision, float] = attrs.field(factory=FrozenDict, converter=precision_map,
                                                             validator=check_peak_ops)
    on_chip_memory: float | None = attrs.field(default=None, validator=positive)
    invocation_overhead: float | None = attrs.field(default=None, validator=positive)
    power_kind: str = ""
    price_date: str = ""
    cloud_price_per_hour: float | None = attrs.field(default=None, validator=positive)
    cloud_price_date: str = ""
    unusual: frozenset[str] = attrs.field(factory=frozenset, converter=frozenset)
    measurable: bool = False
    sources: Mapping[str, str] = attrs.field(factory=FrozenDict, converter=text_map)
    derivations: Mapping[str, str] = attrs.field(factory=FrozenDict, converter=text_map)
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
        return citation(self, field)

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
        raise ValueError(f"{owner(instance)}: field 'operators' must hold at least one operator")
    for index, operator in enumerate(value):
        if not isinstance(operator, Operator):
            raise ValueError(
                f"{owner(instance)}: field 'operators[{index}]' must be an Operator, got {type(operator).__name__}"
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
    uncosted: Mapping[str, int] = attrs.field(factory=FrozenDict, converter=frozen_mapping)
    graph: str = ""
    sources: Mapping[str, str] = attrs.field(factory=FrozenDict, converter=text_map)
    derivations: Mapping[str, str] = attrs.field(factory=FrozenDict, converter=text_map)
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
        return citation(self, field)

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
