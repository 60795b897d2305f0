"""The laws every record a plugin gives must obey: :func:`check_workload` and :func:`check_result`."""

from __future__ import annotations

import math
import re
from typing import Any

from chipfit.frozen import kind_name
from chipfit.records import Bound, Device, Phase, Result, Scenario, ScenarioKind, Source, Status, Workload

#: Relative slack for the laws an ok row obeys (throughput = batch / latency …): rounding, not error.
RELATIVE_TOLERANCE = 1e-3

#: Plausible bounds for a workload's per-sample figures (SI units).
WORKLOAD_BOUNDS = {"ops_per_sample": 1e18, "parameters": 1e13, "weight_bytes": 1e14}
#: ``weight_bytes / (parameters x bytes per value)`` outside these bounds suggests a unit or precision slip.
WEIGHT_RATIO = (0.25, 4.0)


def check_workload(workload: Workload) -> list[str]:
    """Problems with one workload beyond its validators (an empty list when it passes).

    A workload must have a cost (ops or bytes) that cites where it came from (a source or a
    derivation for ``operators`` or ``ops_per_sample``), plausible per-sample figures, weight bytes
    that agree with its parameter count at its precision, and for training a cited recipe
    (``dataset_samples`` and ``epochs``).
    """
    problems = []
    ops = workload.ops_per_sample
    if ops == 0 and workload.weight_bytes == 0 and workload.activation_bytes_per_sample == 0:
        problems.append("has no cost: its operators have no ops and no bytes")
    for field, limit in WORKLOAD_BOUNDS.items():
        value = getattr(workload, field)
        if value > limit:
            problems.append(f"{field} {value:g} is above {limit:g}: is it per batch or per data set, "
                            f"or in another unit? (per sample, SI units)")
    if workload.parameters > 0 and workload.weight_bytes > 0:
        expected = workload.parameters * workload.precision.bytes_per_value
        ratio = workload.weight_bytes / expected
        if not WEIGHT_RATIO[0] <= ratio <= WEIGHT_RATIO[1]:
            problems.append(f"weight_bytes {workload.weight_bytes:g} is {ratio:.3g} x parameters x "
                            f"{workload.precision.bytes_per_value:g} bytes per {workload.precision} value "
                            f"({expected:g}): are the weights in another unit or precision?")
    if workload.citation("operators") is None and workload.citation("ops_per_sample") is None:
        problems.append("its cost has no source and no derivation (cite 'operators' or 'ops_per_sample' in "
                        "sources or derivations)")
    if workload.phase is Phase.TRAINING:
        for field in ("dataset_samples", "epochs"):
            if workload.citation(field) is None:
                problems.append(f"{field}: has no source and no derivation")
    if workload.latency_target is not None and not 1e-6 <= workload.latency_target <= 1e5:
        problems.append(f"latency_target {workload.latency_target:g} s is implausible: is it in ms? (seconds)")
    return problems


def _number(metrics: dict, key: str) -> float | None:
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _close(value: float, expected: float) -> bool:
    return math.isclose(value, expected, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-300)


#: Which sources each call hook's results may have.
_SOURCES = {
    "chipfit_estimate": (Source.MODELLED, Source.CALIBRATED),
    "chipfit_measure": (Source.MEASURED,),
}
_METRIC_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def check_result(result: Any, device: Device, workload: Workload, scenario: Scenario, *,
                 hook: str | None = "chipfit_estimate") -> list[str]:
    """Problems with one result a plugin returned for a cell (an empty list when it is sound).

    :param hook: ``chipfit_estimate`` or ``chipfit_measure`` (which sources and statuses are
        allowed), or None for a row of a report (any source).

    An ``ok`` result's metrics are numbers (finite, not negative), bools, strings or None under
    snake_case keys, and obey the laws every row obeys: ``throughput_sps = batch x replicas /
    latency_s``; ``energy_per_sample_j = power_w / throughput_sps``; ``samples_per_j`` its inverse;
    ``energy_j = power_w x time`` (``time_to_train_s`` in training, else ``latency_s``);
    ``samples_per_s_per_usd = throughput_sps / hardware_cost_usd``; ``ops_available_per_s`` is the
    ops done over the time taken and never above ``peak_ops_per_s x count`` (``utilization <= 1``);
    ``time_to_train_s = dataset_samples x epochs / throughput_sps``; ``meets_target`` agrees with
    the latency target; single-stream means batch 1.
    """
    if not isinstance(result, Result):
        return [f"returned a {type(result).__name__}, not a chipfit.Result"]
    problems = []
    if (result.device, result.workload) != (device.id, workload.id):
        problems.append(f"is a result for {result.device} x {result.workload}, not {device.id} x {workload.id}")
    if result.scenario != scenario:
        problems.append(f"its scenario ({result.scenario.describe()}) is not the one asked for "
                        f"({scenario.describe()}): return the scenario you were given")
    allowed = _SOURCES.get(hook or "")
    if allowed and result.source not in allowed:
        problems.append(f"source is {str(result.source)!r}; a {hook} result is "
                        + " or ".join(repr(str(source)) for source in allowed))
    if hook == "chipfit_estimate" and result.status is Status.FAILED:
        problems.append("status is 'failed': an estimate is 'ok', or 'unsupported' with a reason (raise on an "
                        "internal error: chipfit then fails the cell and names your plugin)")
    if result.status is not Status.OK:
        if not result.reason.strip():
            problems.append(f"status is {str(result.status)!r} but there is no reason")
        return problems
    return problems + _check_metrics(result, device, workload, scenario)


def _signed(key: str) -> bool:
    """Whether the metric registry says a metric may be negative (model_error: added by the runner)."""
    from chipfit.metrics import registry

    known = registry().get(key)
    return known is not None and known.signed


def _check_metrics(result: Result, device: Device, workload: Workload, scenario: Scenario) -> list[str]:
    metrics = result.metrics
    problems = []
    for key, value in metrics.items():
        if not isinstance(key, str) or not _METRIC_KEY.match(key):
            problems.append(f"metric key {key!r} is not snake_case (JSON keys carry their unit: latency_s)")
        if value is None or isinstance(value, (bool, str)):
            continue
        if key == "parallelism" and isinstance(value, dict):
            continue  # the one object metric: its shape is checked when the cell is made (chipfit.cells)
        if not isinstance(value, (int, float)):
            problems.append(f"metric {key} is a {kind_name(value)}; metrics are numbers, bools, strings or None")
        elif not math.isfinite(value):
            problems.append(f"metric {key} = {value!r} is not finite")
        elif value < 0 and not _signed(key):
            problems.append(f"metric {key} = {value:g} is negative")
    training = scenario.kind is ScenarioKind.TRAINING
    latency, throughput = _number(metrics, "latency_s"), _number(metrics, "throughput_sps")
    if not latency:
        problems.append("an ok result needs latency_s > 0 (seconds)")
    if not throughput:
        problems.append("an ok result needs throughput_sps > 0 (samples per second)")
    time_to_train = _number(metrics, "time_to_train_s")
    if training and not time_to_train:
        problems.append("a training result needs time_to_train_s > 0 (seconds)")

    batch = metrics.get("batch")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        problems.append(f"batch is {batch!r}, not a whole number >= 1")
        batch = None
    if scenario.kind is ScenarioKind.SINGLE_STREAM and batch not in (None, 1):
        problems.append(f"single-stream is one sample at a time, but batch is {batch}")
    if scenario.batch is not None and batch is not None and batch != scenario.batch \
            and scenario.kind is not ScenarioKind.SINGLE_STREAM:
        problems.append(f"batch is {batch}, but the scenario asked for batch {scenario.batch}")
    batched = scenario.kind in (ScenarioKind.OFFLINE, ScenarioKind.SERVER, ScenarioKind.TRAINING)
    if batch is None and batched and workload.phase is not Phase.GENERAL:
        problems.append(f"no 'batch' metric: a {scenario.kind} result says which batch latency_s is for")
    count = metrics.get("count") if isinstance(metrics.get("count"), int) else (scenario.count if training else 1)
    samples = (batch or 1) * count
    split = metrics.get("parallelism")
    if isinstance(split, dict) and training and workload.token_budget is not None:
        samples = batch or 1  # a language model's training row: batch is the global batch of a step
    elif isinstance(split, dict) and workload.requests is not None:
        # a language model serving: each data-parallel replica holds `batch` sequences over all its pipeline
        # stages (a request's beams are sequences of one request)
        beams = workload.requests.beams if scenario.kind is not ScenarioKind.SINGLE_STREAM else 1
        samples = (batch or 1) / beams * split.get("data", 1)
    elif isinstance(split, dict) and not training:  # replicas x pipeline stages in flight carry batches
        samples = (batch or 1) * split.get("data", 1) * split.get("pipeline", 1)

    if latency and throughput and (batch is not None or not batched or workload.phase is Phase.GENERAL):
        expected = samples / latency
        if not _close(throughput, expected):
            problems.append(f"throughput_sps {throughput:.6g} is not batch x replicas / latency_s = {samples} / "
                            f"{latency:.6g} s = {expected:.6g} samples/s")
    power = _number(metrics, "power_w")
    time_s = time_to_train if training else latency
    laws = [
        ("energy_per_sample_j", "power_w / throughput_sps", power / throughput if power and throughput else None),
        ("samples_per_j", "throughput_sps / power_w", throughput / power if power and throughput else None),
        ("energy_j", f"power_w x {'time_to_train_s' if training else 'latency_s'}",
         power * time_s if power and time_s else None),
    ]
    cost = _number(metrics, "hardware_cost_usd")
    laws.append(("samples_per_s_per_usd", "throughput_sps / hardware_cost_usd",
                 throughput / cost if cost and throughput else None))
    for key, formula, expected in laws:
        value = _number(metrics, key)
        if value is None:
            continue
        if expected is None:
            needs = "hardware_cost_usd" if "usd" in key else "power_w"
            problems.append(f"{key} is {value:.6g} but {needs} is missing: {key} = {formula}")
        elif not _close(value, expected):
            problems.append(f"{key} {value:.6g} is not {formula} = {expected:.6g}")

    available, peak = _number(metrics, "ops_available_per_s"), _number(metrics, "peak_ops_per_s")
    ops_total = _number(metrics, "ops_total")
    if available and ops_total:
        if training and time_to_train:
            done, over = ops_total / time_to_train, "ops_total / time_to_train_s"
        elif latency:
            done, over = ops_total * samples / latency, "ops_total x batch x replicas / latency_s"
        else:
            done = None
        if done is not None and not _close(available, done):
            problems.append(f"ops_available_per_s {available:.6g} is not {over} = {done:.6g}: "
                            f"is a time in another unit?")
    if available and peak and available > peak * count * (1 + RELATIVE_TOLERANCE):
        problems.append(f"ops_available_per_s {available:.6g} is above peak_ops_per_s x count = "
                        f"{peak * count:.6g}: faster than peak")
    utilization = _number(metrics, "utilization")
    if utilization is not None and utilization > 1 + RELATIVE_TOLERANCE:
        problems.append(f"utilization {utilization:.4g} is above 1: faster than peak")
    if training and time_to_train and throughput and workload.dataset_samples and workload.epochs:
        expected = workload.dataset_samples * workload.epochs / throughput
        if not _close(time_to_train, expected):
            problems.append(f"time_to_train_s {time_to_train:.6g} is not dataset_samples x epochs / "
                            f"throughput_sps = {expected:.6g}")
    meets = metrics.get("meets_target")
    target = scenario.latency_target or workload.latency_target
    if meets is not None and workload.requests is not None and "ttft_s" in metrics:
        pass  # a language model's server row: the target is on TTFT and TPOT (chipfit.model.generation)
    elif meets is not None:
        if not isinstance(meets, bool):
            problems.append(f"meets_target is {meets!r}, not a bool")
        elif target is None:
            problems.append("meets_target is given, but there is no latency target")
        elif latency and throughput:
            offline = scenario.kind is ScenarioKind.OFFLINE
            expected = throughput >= 1 / target if offline else latency <= target
            if meets != expected:
                what = f"throughput_sps {throughput:.6g} against 1 / target" if offline \
                    else f"latency_s {latency:.6g} against target {target:.6g} s"
                problems.append(f"meets_target is {meets} but {what} says {expected}")
    bound = metrics.get("bound")
    if bound is not None and bound not in {str(item) for item in Bound}:
        problems.append(f"bound is {bound!r}, not one of {', '.join(str(item) for item in Bound)}")
    if result.source is Source.MEASURED and power is not None and device.power is not None \
            and _close(power, device.power * count):
        problems.append("power_w is the datasheet power: a measured row's energy comes from a sensor, "
                        "never from the datasheet (leave power_w None when nothing measured it)")
    return problems
