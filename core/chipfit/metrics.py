"""The metric registry: every metric a row can hold, with its unit, label, format, better direction,
headline role and chart kind, in one place; and the derived metrics computed from a row's others.

Renderers (labels, formats), the HTML charts (bar panels, units, better direction), ranking
(``vs_baseline``, ``model_error`` on the headline metric) and the conformance laws (which metrics
may be negative) read this registry; nothing else keeps metric metadata.

API::

    from chipfit import metrics

    metrics.registry()                 # {key: Metric}: the core's metrics and every plugin's collected
    metrics.metric("latency_s")        # one Metric; a misspelt key raises UnknownMetricError (a
                                       # ChipfitError, exit 2) suggesting the closest keys
    metrics.display("latency_s", 0.0123)   # "12.3 ms": a value as a person reads it (n/a for None)
    metrics.label("latency_s")             # "latency": its column label
    metrics.headline(scenario, workload)   # the Metric that ranks a scenario's rows
    metrics.register(Metric(...))          # add a metric (the catalogue does this for plugins' metrics)

Adding a metric:

- **in the core** (a key that core code or in-tree plugins' estimates report): add a :class:`Metric`
  to :data:`CORE_METRICS` below;
- **in a plugin**: register it in ``chipfit_register_metrics``: a :class:`Metric` (a key its
  estimates or measurements report; give it a ``function`` to compute it from a row's other
  metrics) or a :class:`DerivedMetric` (the older, shorter form: id, unit, higher_is_better,
  function, description). When the catalogue collects a plugin's metrics it registers them here;
  a plugin cannot redefine a core key (an error naming the plugin).

The registry is process-wide: the core's metrics plus every plugin metric collected in this
process (a later collection of the same key replaces a plugin's earlier definition).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from chipfit.errors import ChipfitError, suggest
from chipfit.hookspecs import hookimpl
from chipfit.units import duration, money, ratio, si_number

if TYPE_CHECKING:
    from chipfit.records import Scenario, Workload

#: Chart kinds a metric may have: ``bar`` (a group's bar panel may show it), None (never charted).
CHART_KINDS = ("bar", None)

#: Headline roles: a scenario kind's value, or ``general`` for general-purpose workloads in any scenario.
HEADLINE_ROLES = ("single-stream", "offline", "server", "training", "general")


@attrs.frozen
class Metric:
    """What chipfit knows of one metric key (the JSON key, SI units).

    :param key: the snake_case key in rows and JSON (``latency_s``); the unit is in its name.
    :param label: the column label people read (``latency``).
    :param unit: the SI unit of the value (``s``, ``samples/s``, ``J``, ``W``, ``USD``, ``ops/s``;
        empty for counts, ratios and flags), shown in chart titles.
    :param higher_is_better: True or False where a value ranks (charts say "higher is better"),
        None where it does not (a batch size, the bound).
    :param format: the value as text (``format(value) -> str``); None: 3 significant digits with an
        SI prefix and the unit.
    :param headline: the roles in which it is the metric that ranks rows (:data:`HEADLINE_ROLES`).
    :param chart: ``bar`` if a group's bar chart may show it, else None.
    :param signed: whether the value may be negative (the conformance laws reject other negatives).
    :param description: one line for the docs and ``chipfit plugins``.
    :param function: for a derived metric, ``function(metrics) -> float | None`` computing it from a
        row's other metrics (None where it does not apply); None for a metric results report.
    """

    key: str
    label: str
    unit: str = ""
    higher_is_better: bool | None = None
    format: Callable[[Any], str] | None = attrs.field(default=None, eq=False)
    headline: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    chart: str | None = None
    signed: bool = False
    description: str = ""
    function: Callable[[Mapping[str, Any]], float | None] | None = attrs.field(default=None, eq=False)

    @property
    def id(self) -> str:
        """The key (catalogue records are found by ``id``)."""
        return self.key

    def show(self, value: Any) -> str:
        """A value as a person reads it (``n/a`` for None)."""
        if value is None:
            return "n/a"
        if self.format is not None:
            return self.format(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        return si_number(value, self.unit)


@attrs.frozen
class DerivedMetric:
    """A metric computed from a row's metrics (SI units, JSON keys), or None where it does not apply.

    The short form of a :class:`Metric` with a ``function`` (:meth:`as_metric`).
    """

    id: str
    unit: str
    higher_is_better: bool
    function: Callable[[Mapping[str, Any]], float | None]
    description: str = ""

    def as_metric(self) -> Metric:
        """The registry's entry for it: labelled by its id, formatted with its unit."""
        return Metric(self.id, self.id.replace("_", " "), self.unit, self.higher_is_better,
                      description=self.description, function=self.function)


class UnknownMetricError(ChipfitError):
    """A metric key the registry does not hold; the message suggests the closest keys."""

    def __init__(self, key: str, known: Mapping[str, Metric], where: str = "") -> None:
        self.key = key
        self.suggestions = suggest(key, known)
        message = f"unknown metric {key!r}"
        message += ("; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?") if self.suggestions \
            else f" (known: {', '.join(sorted(known))})"
        super().__init__(f"{where}: {message}" if where else message)


def _ratio(numerator: str, denominator: str) -> Callable[[Mapping[str, Any]], float | None]:
    def compute(metrics: Mapping[str, Any]) -> float | None:
        top, bottom = metrics.get(numerator), metrics.get(denominator)
        if top is None or not bottom:
            return None
        return top / bottom

    return compute


def _peak_per_watt(metrics: Mapping[str, Any]) -> float | None:
    # peak_ops_per_s is per device, power_w covers all `count` devices of the row
    peak, power = metrics.get("peak_ops_per_s"), metrics.get("power_w")
    if peak is None or not power:
        return None
    return peak * metrics.get("count", 1) / power


def _digits(value: float) -> str:
    return f"{value:.3g}"


#: The core's metrics. Bar-chart metrics are picked in this order (the HTML report's bars).
CORE_METRICS: tuple[Metric, ...] = (
    Metric("latency_s", "latency", "s", False, duration, headline=("single-stream", "general"), chart="bar",
           description="seconds per batch (single-stream: per sample)"),
    Metric("throughput_sps", "throughput", "samples/s", True, headline=("offline", "server"), chart="bar",
           format=lambda v: si_number(v, "samples/s"), description="samples per second"),
    Metric("time_to_train_s", "time to train", "s", False, duration, headline=("training",), chart="bar",
           description="seconds to train dataset_samples x epochs"),
    Metric("samples_per_j", "samples/J", "samples/J", True, _digits, chart="bar", description="samples per joule"),
    Metric("samples_per_s_per_usd", "samples/s/$", "samples/s/$", True, _digits, chart="bar",
           description="throughput per dollar of hardware"),
    Metric("energy_per_sample_j", "energy/sample", "J", False, chart="bar", description="joules per sample"),
    Metric("energy_j", "energy", "J", False, chart="bar", description="joules of the whole batch or run"),
    Metric("ops_available_per_s", "ops/s sustained", "ops/s", True, chart="bar",
           description="ops per second sustained (ops done over the time taken)"),
    Metric("ops_required_per_s", "ops/s needed", "ops/s", None, description="ops per second the target needs"),
    Metric("peak_ops_per_s", "peak ops/s", "ops/s", True, description="datasheet peak ops per second per device"),
    Metric("ops_total", "ops", "ops", None, description="ops per sample (training: of the whole run)"),
    Metric("power_w", "power", "W", False, description="watts drawn by the row's devices"),
    Metric("hardware_cost_usd", "hardware cost", "USD", False, money, description="price of the row's devices"),
    Metric("meets_target", "meets target", "", True, lambda v: "yes" if v else "no",
           description="whether the latency target is met"),
    Metric("bound", "bound", "", None, str, description="what limits the row: compute, memory, overhead …"),
    Metric("utilization", "utilization", "", True, lambda v: f"{v:.0%}", description="sustained ops over peak"),
    Metric("train_to_infer_ops_ratio", "train/infer ops", "", None, lambda v: si_number(v, ""),
           description="training ops over inference ops per sample"),
    Metric("batch", "batch", "", None, lambda v: f"{v:g}", description="samples per batch"),
    Metric("count", "devices", "", None, lambda v: f"{v:g}", description="devices the row uses"),
    Metric("vs_baseline", "vs baseline", "", True, ratio,
           description="times better than the baseline device on the headline metric"),
    Metric("model_error", "model error", "", None, lambda v: f"{v:+.0%}", signed=True,
           description="(model - measured) / measured on the headline metric"),
    Metric("latency_p90_s", "latency p90", "s", False, duration, description="90th-percentile measured latency"),
    Metric("latency_p99_s", "latency p99", "s", False, duration, description="99th-percentile measured latency"),
    Metric("latency_cv", "latency CV", "", False, lambda v: f"{v:.1%}",
           description="coefficient of variation of measured latency"),
    Metric("cloud_usd_per_hour", "cloud $/h", "USD/h", False, lambda v: f"${v:,.2f}",
           description="cloud price of the row's devices per hour"),
    Metric("tco_usd", "owned cost", "USD", False, money, description="cost of owning the row's devices (TCO)"),
    Metric("energy_cost_usd", "electricity cost", "USD", False, money, description="cost of the electricity used"),
    Metric("usd_per_million_samples", "$/M samples", "USD", False, lambda v: f"${v:.3g}",
           description="owned cost per million samples"),
    Metric("cloud_usd_per_million_samples", "cloud $/M samples", "USD", False, lambda v: f"${v:.3g}",
           description="cloud cost per million samples"),
    Metric("usd_per_million_tokens", "$/M tokens", "USD", False, lambda v: f"${v:.3g}",
           description="owned cost per million tokens"),
    Metric("cloud_usd_per_million_tokens", "cloud $/M tokens", "USD", False, lambda v: f"${v:.3g}",
           description="cloud cost per million tokens"),
    Metric("cloud_train_cost_usd", "cloud cost to train", "USD", False, money,
           description="cloud cost of the whole training run"),
    # language models: generation (chipfit.model.generation) and training at scale (model.llm_training)
    Metric("output_tokens_per_s", "tokens/s", "tokens/s", True, lambda v: si_number(v, "tokens/s"),
           headline=(), chart="bar", description="output tokens generated per second"),
    Metric("tokens_per_s", "tokens/s trained", "tokens/s", True, lambda v: si_number(v, "tokens/s"),
           description="training tokens processed per second"),
    Metric("ttft_s", "TTFT", "s", False, duration, description="time to first token"),
    Metric("tpot_s", "TPOT", "s", False, duration, description="time per output token after the first"),
    Metric("kv_cache_bytes", "KV cache/device", "B", False, lambda v: si_number(v, "B"),
           description="KV cache held per device"),
    Metric("memory_per_device_bytes", "memory/device", "B", False, lambda v: si_number(v, "B"),
           description="memory needed per device after the split"),
    Metric("weight_bytes_per_device", "weights/device", "B", False, lambda v: si_number(v, "B"),
           description="weight bytes per device after the split"),
    Metric("energy_per_token_j", "energy/token", "J", False, lambda v: si_number(v, "J"),
           description="energy per output token"),
    Metric("mfu", "MFU", "", True, lambda v: f"{v:.1%}",
           description="model FLOPs utilisation: model FLOPs / (time x peak)"),
    Metric("pipeline_bubble", "bubble", "", False, lambda v: f"{v:.1%}",
           description="share of a training step lost to the pipeline bubble"),
    Metric("micro_batch", "micro-batch", "", None, lambda v: f"{v:g}", description="samples per micro-batch"),
    Metric("zero_stage", "ZeRO", "", None, lambda v: f"{v:g}", description="ZeRO stage of the optimizer state"),
    Metric("recompute", "recompute", "", None, str, description="activation recomputation: none, selective or full"),
    Metric("parallelism", "split d/t/p/e", "", None,
           lambda v: "/".join(str(v.get(axis, 1)) for axis in ("data", "tensor", "pipeline", "expert")),
           description="the split: data, tensor, pipeline and expert parallel degrees"),
    Metric("ops_per_w", "ops/s per W", "ops/J", True, function=_ratio("ops_available_per_s", "power_w"),
           description="sustained ops/s per watt of device power (= ops per joule)"),
    Metric("peak_ops_per_w", "peak ops/s per W", "ops/J", True, function=_peak_per_watt,
           description="datasheet peak ops/s per watt, at the row's precision"),
    Metric("ops_per_s_per_usd", "ops/s per $", "ops/s/$", True, function=_ratio("ops_available_per_s",
                                                                                 "hardware_cost_usd"),
           description="sustained ops/s per dollar of hardware"),
)

_CORE: dict[str, Metric] = {metric.key: metric for metric in CORE_METRICS}
_REGISTRY: dict[str, Metric] = dict(_CORE)


def registry() -> Mapping[str, Metric]:
    """Every metric known in this process, by key: the core's, then plugins' as collected (read-only)."""
    import types

    return types.MappingProxyType(_REGISTRY)


def metric(key: str, *, where: str = "") -> Metric:
    """The metric with this key.

    :raises UnknownMetricError: no such key (the message suggests the closest, prefixed by ``where``).
    """
    try:
        return _REGISTRY[key]
    except KeyError:
        raise UnknownMetricError(key, _REGISTRY, where) from None


def register(entry: Metric | DerivedMetric, *, plugin: str = "") -> Metric:
    """Add a plugin's metric to the registry (replacing that plugin key's earlier definition).

    :raises ChipfitError: ``entry`` redefines a core metric (the message names ``plugin``).
    """
    item = entry.as_metric() if isinstance(entry, DerivedMetric) else entry
    core = _CORE.get(item.key)
    if core is not None and core is not item:
        raise ChipfitError(f"plugin {plugin or '?'!r} registered metric {item.key!r}, which is a core metric "
                           "(see chipfit.metrics.CORE_METRICS); choose another key")
    _REGISTRY[item.key] = item
    return item


def display(key: str, value: Any) -> str:
    """One metric value as a person reads it; an unregistered key falls back to 3 significant digits."""
    if value is None:
        return "n/a"
    known = _REGISTRY.get(key)
    if known is not None:
        return known.show(value)
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def label(key: str) -> str:
    """The column label for a metric (an unregistered key: the key with spaces)."""
    known = _REGISTRY.get(key)
    return known.label if known is not None else key.replace("_", " ")


def headline(scenario: Scenario, workload: Workload | None = None) -> Metric:
    """The metric that ranks the rows of a scenario (``general`` for general-purpose workloads)."""
    from chipfit.records import Phase

    role = "general" if workload is not None and workload.phase is Phase.GENERAL else str(scenario.kind)
    for item in _REGISTRY.values():
        if role in item.headline:
            return item
    raise ChipfitError(f"no metric is the headline of {role!r} (chipfit.metrics.CORE_METRICS)")


@hookimpl
def chipfit_register_metrics(register) -> None:
    """The core's derived metrics: performance per watt and per dollar."""
    for item in CORE_METRICS:
        if item.function is not None:
            register(item)


class MetricFailure(Exception):
    """A derived metric's function raised: ``metric`` names it, ``error`` is what it raised."""

    def __init__(self, metric: str, error: Exception) -> None:
        if isinstance(error, MetricClash):
            text = f"derived metric {metric!r} clashes: {error}"
        elif isinstance(error, ValueError) and str(error).startswith("metric "):
            text = f"derived metric {metric!r} returned a bad value: {error}"
        else:
            text = f"derived metric {metric!r} raised {type(error).__name__}: {error}"
        super().__init__(text)
        self.metric = metric


#: Metrics of the design that are physical quantities or counts: never negative in a row.
NON_NEGATIVE = frozenset({
    "latency_s", "throughput_sps", "time_to_train_s", "ops_required_per_s", "ops_available_per_s", "power_w",
    "energy_per_sample_j", "energy_j", "samples_per_j", "samples_per_s_per_usd", "hardware_cost_usd",
    "utilization", "train_to_infer_ops_ratio", "output_tokens_per_s", "ttft_s", "tpot_s", "kv_cache_bytes",
    "batch", "usd_per_million_tokens", "mfu", "peak_ops_per_s",
})


#: Metrics whose value is text: the bound, and training's activation recomputation.
TEXT_METRICS = ("bound", "recompute")


def value_problem(key: str, value: Any) -> str | None:
    """What is wrong with one metric value of a row (not a finite number, or a negative quantity), or None.

    A metric is None (does not apply), a bool, ``bound``'s text, or a finite number; the quantities in
    :data:`NON_NEGATIVE` are never below zero.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return None if key in TEXT_METRICS else f"metric {key!r} = {value!r}: a number was expected"
    if not isinstance(value, (int, float)):
        from chipfit.frozen import kind_name

        return f"metric {key!r} is a {kind_name(value)}, not a number"
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond any float
        finite = False
    if not finite:
        return f"metric {key!r} = {value!r}: not a finite number"
    if key in NON_NEGATIVE and value < 0:
        return f"metric {key!r} = {value!r}: a negative quantity"
    return None


class MetricClash(Exception):
    """A derived metric whose id is a metric the row already has: it would replace it silently."""


def apply(metrics: dict[str, Any], derived: Mapping[str, Metric | DerivedMetric]) -> dict[str, Any]:
    """A copy of ``metrics`` with every derived metric added (None where it does not apply); entries
    without a function (metrics that results report) are skipped.

    :raises MetricFailure: a metric's function raised, returned something that is not a finite number
        (or None, a bool), or has the id of a metric the row already holds (``latency_s``).
    """
    out = dict(metrics)
    for ident, item in derived.items():
        function = getattr(item, "function", None)
        if function is None:
            continue
        if out.get(ident) is not None:
            raise MetricFailure(ident, MetricClash(f"the row already has {ident!r}; a derived metric may not "
                                                   f"replace it (give it an id of its own)"))
        try:
            value = function(out)
        except Exception as error:
            raise MetricFailure(ident, error) from error
        if problem := value_problem(ident, value):
            raise MetricFailure(ident, ValueError(problem))
        out[ident] = value
    return out
