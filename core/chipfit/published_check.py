"""The model against the public record: each published result predicted, with its error.

``chipfit validate --published`` and ``benchmarks/published.py`` print :func:`report`. Every row of
:func:`chipfit.published.load` is modelled through the ``chipfit_estimate`` hook (so a device plugin's
own model answers for its device) on the published system: same device, count, scenario and
precision. A row whose workload or device is not in the catalogue, or that the model cannot run, is
listed as not checked, with the reason. A training row that gives its own ``global_batch`` and
``tokens`` (the submission's, from its log) is modelled with them in the workload's token budget, and a row
that names its submission's split (``tensor_parallel``, ``pipeline_parallel``) at that split. Rows that a default efficiency was derived from
(:data:`chipfit.model.defaults.DERIVED_FROM`) are summarised apart from the rest, so the error on
rows the model was not fitted to is always visible.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import pluggy

from chipfit.catalogue import Catalogue
from chipfit.cells import estimate_cell
from chipfit.published import PublishedResult, load
from chipfit.records import Result, Scenario, Workload
from chipfit.validation import ErrorSummary, signed_error, summarize

#: MLPerf Inference's server-scenario latency bounds (99th percentile), by benchmark, in seconds.
#: Source: MLCommons, "MLPerf Inference Rules", section "Benchmarks", table "Datacenter" (server
#: latency constraint column): ResNet50-v1.5 15 ms, RetinaNet 100 ms, BERT 130 ms;
#: github.com/mlcommons/inference_policies/blob/master/inference_rules.adoc.
SERVER_LATENCY_S = {"resnet50": 0.015, "retinanet": 0.100, "bert-99": 0.130, "bert-99.9": 0.130}


@attrs.frozen
class Checked:
    """One published row and what the model predicts for it (``predicted`` None: not checked, ``reason``)."""

    row: PublishedResult
    predicted: float | None = None
    reason: str = ""
    parallelism: dict | None = None
    derived_from: bool = False
    #: The row's workload is a language model (it has a transformer configuration).
    language_model: bool = False

    @property
    def error(self) -> float | None:
        """The signed error ``(predicted - published) / published``; None when not checked."""
        return None if self.predicted is None else signed_error(self.predicted, self.row.value)


def _scenario(row: PublishedResult) -> Scenario:
    target = SERVER_LATENCY_S.get(row.benchmark) if row.scenario == "server" else None
    return Scenario(row.scenario, precision=row.precision, count=row.count, latency_target=target,
                    tensor_parallel=row.tensor_parallel, pipeline_parallel=row.pipeline_parallel)


def _as_run(row: PublishedResult, workload: Workload) -> Workload | str:
    """The workload with the row's own global batch and tokens in its token budget (or why not)."""
    if row.global_batch is None and row.tokens is None:
        return workload
    budget = workload.token_budget
    if budget is None:
        return f"the row gives its own global batch or tokens, but workload {workload.id!r} has no token budget"
    budget = attrs.evolve(budget, global_batch=row.global_batch or budget.global_batch,
                          tokens=row.tokens or budget.tokens)
    return attrs.evolve(workload, token_budget=budget)


def model_row(catalogue: Catalogue, pm: pluggy.PluginManager, row: PublishedResult) -> tuple[Workload, Result] | str:
    """Model one published row on its system: the workload as the row ran it and the model's result,
    or why the row cannot be checked (a device or workload not in the catalogue, no server bound known,
    a training row's own batch for a workload without a token budget).

    The scenario is the row's: its count and precision, the server latency bound of its benchmark,
    and the split its submission ran where the row names one.
    """
    device, workload = catalogue.devices.get(row.device), catalogue.workloads.get(row.workload)
    if device is None or workload is None:
        return "; ".join(f"{kind} {ident!r} is not in the catalogue" for kind, ident, known in
                         (("workload", row.workload, workload), ("device", row.device, device)) if known is None)
    requests = getattr(workload, "requests", None)
    own_targets = requests is not None and (requests.ttft_target or requests.tpot_target)
    if row.scenario == "server" and row.benchmark not in SERVER_LATENCY_S and workload.latency_target is None \
            and not own_targets:  # a generation workload may carry its own TTFT/TPOT limits (MLPerf's)
        return f"no server latency bound known for {row.benchmark}"
    workload = _as_run(row, workload)
    if isinstance(workload, str):
        return workload
    return workload, estimate_cell(pm, device, workload, _scenario(row))


def check(catalogue: Catalogue, pm: pluggy.PluginManager,
          rows: Iterable[PublishedResult] | None = None) -> list[Checked]:
    """Model every published row (the shipped file's unless ``rows`` is given)."""
    from chipfit.model.defaults import DERIVED_FROM

    out = []
    for row in load() if rows is None else rows:
        derived = row.id in DERIVED_FROM
        known = catalogue.workloads.get(row.workload)
        language_model = known is not None and known.transformer is not None
        modelled = model_row(catalogue, pm, row)
        if isinstance(modelled, str):
            out.append(Checked(row, reason=modelled, derived_from=derived, language_model=language_model))
            continue
        _, result = modelled
        value = result.metrics.get(row.metric) if result.ok else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            reason = result.reason if not result.ok else f"the model gives no {row.metric}"
            out.append(Checked(row, reason=f"{result.status}: {reason}", derived_from=derived,
                               language_model=language_model))
            continue
        parallelism = result.metrics.get("parallelism") if isinstance(result.metrics.get("parallelism"), dict) else None
        out.append(Checked(row, float(value), parallelism=parallelism, derived_from=derived,
                           language_model=language_model))
    return out


def summaries(checked: list[Checked]) -> dict[str, ErrorSummary | None]:
    """Error summaries: ``all`` checked rows, ``held_out`` (not used to derive a default), ``derived_from``
    (used), ``language_models`` (the held-out rows of a language-model workload: generation, LoRA
    fine-tuning, pre-training), and one per benchmark (``benchmark:NAME``)."""
    done = [c for c in checked if c.predicted is not None]
    out = {
        "all": summarize((c.predicted, c.row.value) for c in done),
        "held_out": summarize((c.predicted, c.row.value) for c in done if not c.derived_from),
        "derived_from": summarize((c.predicted, c.row.value) for c in done if c.derived_from),
        "language_models": summarize((c.predicted, c.row.value) for c in done
                                     if c.language_model and not c.derived_from),
    }
    for benchmark in sorted({c.row.benchmark for c in done}):
        out[f"benchmark:{benchmark}"] = summarize((c.predicted, c.row.value) for c in done
                                                  if c.row.benchmark == benchmark)
    return out


def coverage(checked: list[Checked], catalogue: Catalogue) -> dict:
    """What the checked rows span: device families (vendor and kind), benchmarks, device counts."""
    done = [c for c in checked if c.predicted is not None]
    families = sorted({f"{catalogue.devices[c.row.device].vendor} {catalogue.devices[c.row.device].kind}"
                       for c in done})
    return {"rows": len(done), "not_checked": len(checked) - len(done), "device_families": families,
            "benchmarks": sorted({c.row.benchmark for c in done}), "counts": sorted({c.row.count for c in done})}


def as_json(checked: list[Checked], catalogue: Catalogue) -> dict:
    """The ``validate --published --format json`` document: rows, summaries, coverage."""
    rows = []
    for c in checked:
        rows.append({
            "id": c.row.id, "suite": c.row.suite, "benchmark": c.row.benchmark, "workload": c.row.workload,
            "scenario": c.row.scenario, "device": c.row.device, "count": c.row.count, "precision": c.row.precision,
            "metric": c.row.metric, "published": c.row.value, "predicted": c.predicted, "error": c.error,
            "checked": c.predicted is not None, "reason": c.reason, "parallelism": c.parallelism,
            "derived_from": c.derived_from, "language_model": c.language_model,
            "source": attrs.asdict(c.row.source),
        })
    return {"rows": rows, "summary": {key: (value.as_dict() if value else None)
                                      for key, value in summaries(checked).items()},
            "coverage": coverage(checked, catalogue)}


def _figure(value: float) -> str:
    from chipfit.units import si_number

    return si_number(value, "")


def _summary_line(label: str, summary: ErrorSummary | None) -> str:
    if summary is None:
        return f"{label}: no rows"
    return (f"{label}: {summary.count} rows, geometric-mean abs error {summary.geomean_abs_error:.1%}, "
            f"median {summary.median_abs_error:.1%}, worst {summary.worst_factor:.2f}x "
            f"({summary.max_abs_error:.1%}), bias {summary.bias:+.1%}")


def report(checked: list[Checked], catalogue: Catalogue) -> str:
    """The text of ``validate --published``: a line per row, then the summaries and the coverage."""
    lines = [f"{'row':<43}{' '} {'n':>5} {'metric':<16} {'published':>9} {'predicted':>9} {'error':>7}  split"]
    for c in checked:
        mark = "*" if c.derived_from else " "
        if c.predicted is None:
            continue
        split = "" if not c.parallelism else "d{data} t{tensor} p{pipeline}".format(**c.parallelism)
        lines.append(f"{c.row.id[:43]:<43}{mark} {c.row.count:>5} {c.row.metric[:16]:<16} {_figure(c.row.value):>9} "
                     f"{_figure(c.predicted):>9} {c.error:>+7.1%}  {split}")
    skipped = [c for c in checked if c.predicted is None]
    if skipped:
        lines += ["", f"not checked ({len(skipped)}):"]
        lines += [f"  {c.row.id}: {c.reason}" for c in skipped]  # reasons name what is missing
    sums = summaries(checked)
    lines += ["", "* a default parameter was derived from this row (chipfit.model.defaults.DERIVATIONS)",
              _summary_line("all", sums["all"]),
              _summary_line("held out (no *)", sums["held_out"]),
              _summary_line("derived from (*)", sums["derived_from"]),
              _summary_line("language models, held out", sums["language_models"])]
    lines.append("per benchmark (every row, those marked * included):")
    lines += [_summary_line(f"  {key.split(':', 1)[1]}", value) for key, value in sums.items()
              if key.startswith("benchmark:")]
    cover = coverage(checked, catalogue)
    lines.append(f"coverage: {cover['rows']} rows, {len(cover['device_families'])} device families "
                 f"({', '.join(cover['device_families'])}),")
    lines.append(f"  {len(cover['benchmarks'])} benchmarks, device counts {', '.join(map(str, cover['counts']))}")
    return "\n".join(lines) + "\n"
