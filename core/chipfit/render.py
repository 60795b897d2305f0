"""Report renderers: text and markdown for people, csv and json for scripts.

Text and markdown show, per group, a table whose ``source`` column says modelled or measured,
then the arithmetic behind each row, then the claims checked. CSV and JSON keep SI units under
the metric keys of the design (``latency_s``, ``throughput_sps`` …). Markdown written to a file
(``-o report.md``) keeps its charts beside it, as SVG files in ``report_files/``.
"""

from __future__ import annotations

import csv
import inspect
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from chipfit import serialize
from chipfit.hookspecs import hookimpl
from chipfit.records import ClaimCheck, Report, Result, ScenarioKind
from chipfit.textwidth import fit_table, reflow, terminal_width, wrap
from chipfit.units import display, duration, label, ratio


@attrs.frozen
class Renderer:
    """A report format: ``function(report) -> str``; ``extension`` names files written with ``-o``.

    ``function`` may also take ``catalogue`` (the devices and workloads: names, figures, sources)
    and ``path`` (the file it is written to with ``-o``, None on stdout, for files kept beside it);
    like a hook implementation, it is given only the arguments it names (:func:`call_renderer`).
    """

    name: str
    function: Callable[[Report], str]
    extension: str
    description: str = ""


#: Columns shown by default for each scenario (a group's ``columns`` overrides them).
DEFAULT_COLUMNS = {
    ScenarioKind.SINGLE_STREAM: ("latency_s", "throughput_sps", "ops_required_per_s", "ops_available_per_s",
                                 "meets_target", "bound", "energy_per_sample_j", "power_w", "hardware_cost_usd"),
    ScenarioKind.OFFLINE: ("batch", "throughput_sps", "latency_s", "bound", "utilization", "samples_per_j",
                           "samples_per_s_per_usd"),
    ScenarioKind.SERVER: ("batch", "throughput_sps", "latency_s", "meets_target", "bound", "samples_per_j"),
    ScenarioKind.TRAINING: ("time_to_train_s", "ops_total", "utilization", "train_to_infer_ops_ratio", "energy_j",
                            "hardware_cost_usd"),
}


#: Columns for a language model serving requests, and for one trained at scale.
GENERATION_COLUMNS = ("parallelism", "batch", "output_tokens_per_s", "ttft_s", "tpot_s", "kv_cache_bytes",
                      "meets_target", "energy_per_token_j", "usd_per_million_tokens")
LLM_TRAINING_COLUMNS = ("parallelism", "time_to_train_s", "mfu", "memory_per_device_bytes", "energy_j",
                        "hardware_cost_usd")


def call_renderer(renderer: Renderer, report: Report, *, catalogue: Any = None, path: str | Path | None = None) -> str:
    """Render a report, passing ``catalogue`` and ``path`` to a renderer function that asks for them."""
    try:
        wanted = inspect.signature(renderer.function).parameters
    except (TypeError, ValueError):  # a callable without a signature gets the report alone
        wanted = {}
    context = {"catalogue": catalogue, "path": None if path is None else Path(path)}
    return renderer.function(report, **{name: value for name, value in context.items() if name in wanted})


def report_groups(report: Report) -> list[tuple[str, list[Result]]]:
    """The report's rows by group, groups in order of first appearance."""
    groups: dict[str, list[Result]] = {}
    for row in report.rows:
        groups.setdefault(row.group, []).append(row)
    return list(groups.items())


def group_spec(report: Report, group: str) -> dict[str, Any]:
    """A group's entry in the report's spec (title, note, columns …); empty when the spec has none."""
    for entry in report.spec.get("groups", ()):
        if entry.get("id") == group:
            return entry
    return {}


def table_columns(report: Report, group: str, rows: list[Result]) -> tuple[str, ...]:
    """The metrics a group's table shows: the spec's ``columns``, else the scenario's defaults present."""
    chosen = group_spec(report, group).get("columns")
    if chosen:
        return tuple(chosen)
    present = {key for row in rows for key in row.metrics}
    general = all("ops_required_per_s" not in row.metrics and "batch" not in row.metrics for row in rows if row.ok)
    if general and any(row.ok for row in rows):
        return tuple(c for c in ("latency_s", "ops_total", "ops_available_per_s", "energy_j", "power_w") if c in present)
    if "output_tokens_per_s" in present:
        return tuple(c for c in GENERATION_COLUMNS if c in present)
    if "mfu" in present:
        return tuple(c for c in LLM_TRAINING_COLUMNS if c in present)
    return tuple(c for c in DEFAULT_COLUMNS[rows[0].scenario.kind] if c in present)


def _table(report: Report, group: str, rows: list[Result], tablefmt: str, width: int | None = None) -> str:
    columns = table_columns(report, group, rows)
    several = len({row.workload for row in rows}) > 1
    baseline = report.baseline is not None and any("vs_baseline" in row.metrics for row in rows)
    errors = any("model_error" in row.metrics for row in rows)
    headers = ["device", *(["workload"] if several else []), "source", *(label(c) for c in columns)]
    if baseline:
        headers.append(f"vs {report.baseline}")
    if errors:
        headers.append("model error")
    headers.append("note")
    body = []
    for row in rows:
        cells = [row.device, *([row.workload] if several else []), source_label(row)]
        if row.ok:
            cells += [display(c, row.metrics.get(c)) for c in columns]
        else:
            cells += ["-"] * len(columns)
        if baseline:
            cells.append(ratio(row.metrics.get("vs_baseline")))
        if errors:
            error = row.metrics.get("model_error")
            cells.append("" if error is None else display("model_error", error))
        cells.append("" if row.ok else f"{row.status}: {row.reason}")
        body.append(cells)
    return fit_table(headers, body, width=width, keys=2 if several else 1, note_column=len(headers) - 1,
                     tablefmt=tablefmt)


def measured_on(row: Result) -> str | None:
    """The node of a cluster a measured row ran on (None: it ran where the report was made)."""
    node = row.measurement.get("node") if isinstance(row.measurement, dict) else None
    if isinstance(node, dict):
        name, host = node.get("node"), node.get("host")
        return f"{name} ({host})" if name and host and name != host else (name or host)
    return None


def source_label(row: Result) -> str:
    """The source column: modelled, calibrated, measured, or ``measured on NODE`` for a cluster's node."""
    where = measured_on(row)
    return f"{row.source} on {where}" if where else str(row.source)


def _claims_table(checks: tuple[ClaimCheck, ...], tablefmt: str, width: int | None = None) -> str:
    import textwrap

    import tabulate

    body = []
    for index, check in enumerate(checks, start=1):
        claimed = "" if check.expected is None else f"{check.expected:.4g}"
        value = "" if check.value is None else f"{check.value:.4g}"
        body.append([index, check.text, claimed, value, ratio(check.ratio), check.verdict])
    headers = ["#", "claim", "claimed", "chipfit", "chipfit/claimed", "verdict"]
    if width is None:
        return tabulate.tabulate(body, headers=headers, tablefmt=tablefmt, disable_numparse=True,
                                 maxcolwidths=[None, 60])
    # the claim's text takes what the other columns leave (60 at most); then the table is fitted
    text_width = max(16, min(60, width - 62))
    for row in body:
        row[1] = "\n".join(textwrap.wrap(row[1], width=text_width)) or row[1]
    return fit_table(headers, body, width=width, keys=2, tablefmt=tablefmt)


def cost_note(report: Report) -> str:
    """What a report's cost metrics assume (service life, electricity price), or "" when no row is priced."""
    from chipfit import tco

    if not any(key in row.metrics for row in report.rows for key in tco.COST_KEYS):
        return ""
    text = tco.inputs_of(report.spec).describe()
    return text[:1].upper() + text[1:] + "."


def _document(report: Report, *, markdown: bool, explain: bool = True,
              figures: dict[str | None, list[str]] | None = None, width: int | None = None) -> str:
    tablefmt = "github" if markdown else "simple"
    heading = (lambda text, level: f"{'#' * level} {text}") if markdown else \
        (lambda text, level: f"{text}\n{'=-'[min(level, 2) - 1] * len(text)}")
    bullet = "- " if markdown else "  "
    out = [heading(report.title, 1), ""]
    if report.description:
        out += [reflow(report.description.strip(), width), ""]
    out += [reflow("Numbers are modelled (roofline model, datasheet figures) unless the source column says measured "
            "(a real run here, or on the node it names) or calibrated (the model with efficiencies fitted to "
            "this machine)."
            + (f" Ratios are against {report.baseline}." if report.baseline else "")
            + (" Model error: (model - measured) / measured." if any("model_error" in r.metrics for r in report.rows)
               else ""), width), ""]
    costs = cost_note(report)
    if costs:
        out += [reflow(costs, width), ""]
    if report.interrupted:
        out += ["INTERRUPTED: the rows below are those finished before the interrupt; claims were not checked.", ""]
    figures = figures or {}
    for group, rows in report_groups(report):
        spec = group_spec(report, group)
        out += [heading(spec.get("title") or group, 2), ""]
        out += [f"Scenario: {rows[0].scenario.describe()}"
                + (f", latency target {duration(rows[0].scenario.latency_target)}"
                   if rows[0].scenario.latency_target else ""), ""]
        if spec.get("note"):
            out += [reflow(spec["note"].strip(), width), ""]
        out += [_table(report, group, rows, tablefmt, width), ""]
        out += figures.get(group, [])
        if explain:
            for row in rows:
                if row.explain:
                    out.append(f"{'**' if markdown else ''}{row.device} x {row.workload}{'**' if markdown else ''}:")
                    out += [wrap(f"{bullet}{line}", width, "  ") for line in row.explain]
            out.append("")
    out += figures.get(None, [])
    if report.claims:
        out += [heading("Claims checked", 2), "", _claims_table(report.claims, tablefmt, width), ""]
        for index, check in enumerate(report.claims, start=1):
            out.append(wrap(f"{index}. {check.formula}" + (f"  ->  {check.arithmetic}" if check.arithmetic else ""),
                            width, "    "))
            if check.source:
                out.append(_wrap(f"claimed by: {check.source}", bullet, width))
            if check.why:
                label = "why they differ" if check.verdict == "differs" else "note"
                out.append(_wrap(f"{label}: {check.why}", bullet, width))
        out.append("")
    failed = report.failed
    if failed:
        out += [f"{len(failed)} cell(s) failed: see the note column.", ""]
    return "\n".join(out).rstrip() + "\n"


def _wrap(text: str, bullet: str, width: int | None = None) -> str:
    """One paragraph (spec text may hold line breaks), wrapped and indented under a claim."""
    import textwrap

    return textwrap.fill(" ".join(text.split()), width=min(100, width or 100), initial_indent=bullet,
                         subsequent_indent=" " * len(bullet))


def render_text(report: Report) -> str:
    """Plain-text tables for a terminal, fitted to its width (``COLUMNS``; :mod:`chipfit.textwidth`)."""
    return _document(report, markdown=False, width=terminal_width())


def render_markdown(report: Report, catalogue: Any = None, path: Path | None = None) -> str:
    """GitHub-flavoured markdown; written to ``path``, its charts go to SVG files beside it."""
    figures = _markdown_charts(report, catalogue, path) if path is not None else None
    # names, titles and reasons come from specs and plugins: raw HTML in them is shown, never run
    return _document(report, markdown=True, figures=figures).replace("&", "&amp;").replace("<", "&lt;")


def _markdown_charts(report: Report, catalogue: Any, path: Path) -> dict[str | None, list[str]]:
    """Draw the report's charts into ``<stem>_files/`` beside ``path``; the markdown lines showing them, by group.

    The charts are the core's (:mod:`chipfit.charts`, drawn with matplotlib from the ``report``
    extra), which the html plugin draws too; without matplotlib the markdown says so where the
    charts would be.
    """
    from urllib.parse import quote

    from chipfit import charts

    missing = charts.missing()
    if missing:
        return {None: [f"Charts: not drawn ({missing}).", ""]}
    drawn = charts.charts(report, catalogue)
    if not drawn:
        return {}
    folder = path.parent / f"{path.stem}_files"
    try:
        folder.mkdir(exist_ok=True)
        for name, text in charts.chart_files(drawn).items():
            (folder / name).write_text(text, encoding="utf-8")
    except OSError as error:
        from chipfit.errors import ChipfitError

        raise ChipfitError(f"{folder}: cannot write the report's charts: {error.strerror}") from None
    out: dict[str | None, list[str]] = {}
    for chart in drawn:
        alt = chart.title.replace("[", "(").replace("]", ")")
        lines = [f"![{alt}]({quote(folder.name)}/{quote(chart.name)}.svg)", "", f"*{chart.caption}*", ""]
        if chart.group:
            out.setdefault(chart.group, []).extend(lines)
        else:
            out.setdefault(None, []).extend([f"## {chart.title}", "", *lines])
    return out


def row_dict(row: Result) -> dict[str, Any]:
    """One result as the JSON object scripts read (SI units): :func:`chipfit.serialize.unstructure` of the row."""
    return serialize.unstructure(row)


def report_dict(report: Report) -> dict[str, Any]:
    """A whole report as a JSON-ready dict: :func:`chipfit.serialize.unstructure` of the report."""
    return serialize.unstructure(report)


def render_json(report: Report) -> str:
    """The report as JSON: rows with ``metrics`` in SI units under the design's keys."""
    # strict JSON (JSON.parse rejects NaN): a non-finite number that got past the checks is written as null
    return serialize.dumps(report, strict=True, indent=2) + "\n"


def render_csv(report: Report) -> str:
    """One line per row: where it ran, its scenario, its status, then every metric (SI units)."""
    fixed = ["group", "device", "workload", "scenario", "batch", "precision", "count", "latency_target_s",
             "source", "status", "reason", "plugin", "measured_on"]
    keys: list[str] = []
    for row in report.rows:  # a metric named like a scenario column (the batch used) fills that column
        keys += [key for key in row.metrics if key not in keys and key not in fixed]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fixed + keys)
    for row in report.rows:
        scenario = serialize.unstructure(row.scenario)

        def chosen(name: str) -> Any:
            measured = row.metrics.get(name)
            return scenario[name] if measured is None else measured

        writer.writerow([
            row.group, row.device, row.workload, scenario["kind"], _csv_value(chosen("batch")), scenario["precision"],
            _csv_value(chosen("count")), scenario["latency_target_s"], row.source, row.status, row.reason, row.plugin,
            measured_on(row) or "", *(_csv_value(row.metrics.get(key)) for key in keys),
        ])
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    return "" if value is None else value


@hookimpl
def chipfit_register_renderers(register) -> None:
    """The built-in formats: text, markdown, csv, json."""
    register(Renderer("text", render_text, "txt", "tables for a terminal, with the arithmetic"))
    register(Renderer("markdown", render_markdown, "md", "GitHub-flavoured markdown"))
    register(Renderer("csv", render_csv, "csv", "one line per row, SI units"))
    register(Renderer("json", render_json, "json", "the whole report, SI units"))
