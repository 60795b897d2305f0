"""The HTML report: one self-contained page (no script, no fetch), charts inline as SVG.

Per group: the comparison table (display units, the baseline ratio, modelled / measured /
calibrated marked, status and reason), its bar chart and the arithmetic; then the roofline,
predicted against measured, the claims, and every device's figures with their sources (each
device in a table links to them). Every string that comes from a plugin or a spec goes through
:func:`html.escape`.
"""

from __future__ import annotations

import html
import re
from typing import Any

from chipfit.records import Precision, Report, Result, Source
from chipfit.render import source_label
from chipfit.units import display, duration, label, money, ratio, si_number

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9dee4; --head: #f1f4f7; --accent: #1d5d9b; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.7rem; margin: 0 0 .4rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .4rem; padding-top: .6rem; border-top: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .3rem; }
p { margin: .35rem 0 .7rem; max-width: 95ch; }
a { color: var(--accent); }
code, .id { font: 12px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); }
.meta, .scenario, figcaption, .legend { color: var(--muted); font-size: .9rem; }
nav { margin: .8rem 0 1rem; font-size: .92rem; }
nav a { display: inline-block; margin: 0 1.2rem .2rem 0; }
.banner { background: #fdecea; border-left: 4px solid #c0392b; padding: .5rem .8rem; }
.table-wrap { overflow-x: auto; margin: .6rem 0 1rem; }
table { border-collapse: collapse; font-size: .88rem; }
table.results { width: 100%; }
table.results td.device { min-width: 9rem; max-width: 16rem; }
table.results th { max-width: 7.5rem; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; vertical-align: bottom; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.status-unsupported td, tr.status-failed td { color: var(--muted); }
tr.status-failed td.note { color: #c0392b; }
td.note { max-width: 30ch; font-size: .82rem; }
table.summary td.verdict { white-space: nowrap; font-weight: 600; }
.verdict-agrees { color: #1e7b34; } .verdict-differs { color: #c0392b; } .verdict-computed { color: var(--muted); }
details.device > summary { font-weight: 600; padding: .3rem 0; }
ul.groups { padding-left: 1.1rem; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 9px; font-size: .78rem; font-weight: 600;
         border: 1px solid; white-space: nowrap; }
.source-modelled { color: #1d5d9b; border-color: #9ec1e3; background: #eef5fc; }
.source-measured { color: #1e7b34; border-color: #9fd4ad; background: #edf8f0; }
.source-calibrated { color: #9a5b00; border-color: #e8c27f; background: #fdf5e6; }
.yes { color: #1e7b34; font-weight: 600; }
.no { color: #c0392b; font-weight: 600; }
.unconfirmed { color: #9a5b00; font-size: .78rem; font-weight: 600; }
figure.chart { margin: 1rem 0 1.4rem; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
details { margin: .4rem 0 1rem; }
summary { cursor: pointer; color: var(--accent); }
dl.arithmetic dt { font-weight: 600; margin-top: .5rem; }
dl.arithmetic dd { margin: 0 0 0 1.2rem; }
dl.arithmetic ul { margin: .1rem 0; padding-left: 1.1rem; font-size: .86rem; }
article.device { border-top: 1px solid var(--line); }
table.figures td.cite { font-size: .8rem; color: var(--muted); max-width: 90ch; }
footer { margin-top: 2.4rem; color: var(--muted); font-size: .82rem; }
"""

_URL = re.compile(r"https?://[^\s<>\"']+")


def e(value: Any) -> str:
    """Escaped text for HTML content or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _cite(text: str) -> str:
    """A citation, escaped, with its web addresses as links."""
    out, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:)")
        out.append(e(text[last:match.start()]))
        out.append(f'<a href="{e(url)}" rel="noopener noreferrer">{e(url)}</a>')
        last = match.start() + len(url)
    out.append(e(text[last:]))
    return "".join(out)


def _anchor(kind: str, ident: str) -> str:
    return f"{kind}-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", ident).strip("-") or "x")


class _Page:
    """The parts of one page: the report, the catalogue it refers to, and its charts."""

    def __init__(self, report: Report, catalogue: Any) -> None:
        from chipfit.render import report_groups

        self.report = report
        self.devices = dict(getattr(catalogue, "devices", None) or {})
        self.workloads = dict(getattr(catalogue, "workloads", None) or {})
        self.catalogue = catalogue
        self.groups = report_groups(report)
        self.charts, self.charts_missing = self._charts()

    def _charts(self):
        from chipfit import charts

        missing = charts.missing()
        if missing:
            return [], missing
        return charts.charts(self.report, self.catalogue), None

    # --- names --------------------------------------------------------------------------------

    def device_name(self, ident: str) -> str:
        device = self.devices.get(ident)
        return device.name if device is not None else ident

    def device_cell(self, ident: str) -> str:
        if ident in self.devices:
            return (f'<a href="#{e(_anchor("device", ident))}">{e(self.device_name(ident))}</a>'
                    f'<div class="id">{e(ident)}</div>')
        return f"<code>{e(ident)}</code>"

    def workload_cell(self, ident: str) -> str:
        workload = self.workloads.get(ident)
        if workload is None:
            return f"<code>{e(ident)}</code>"
        return f'{e(workload.name)}<div class="id">{e(ident)}</div>'

    # --- the page -------------------------------------------------------------------------------

    def render(self) -> str:
        report = self.report
        body = [f"<h1>{e(report.title)}</h1>"]
        if report.description:
            body.append("".join(f"<p>{e(part.strip())}</p>" for part in report.description.strip().split("\n\n")))
        body.append(self.meta())
        body.append(self.nav())
        measured = any(row.source is Source.MEASURED for row in report.rows)
        body.append(
            '<p class="legend">Numbers are <span class="badge source-modelled">modelled</span> (roofline model, '
            'datasheet figures) unless marked <span class="badge source-measured">measured</span> (a real run) or '
            '<span class="badge source-calibrated">calibrated</span> (the model with efficiencies fitted to '
            "measurements)."
            + (f" Ratios are against {e(self.device_name(report.baseline))}." if report.baseline else "")
            + (" Model error: (model − measured) / measured." if measured else "")
            + " Hover a number for its value in SI units; device names link to their figures and sources.</p>")
        if report.interrupted:
            body.append('<p class="banner">Interrupted: the rows below are those finished before the interrupt; '
                        "claims were not checked.</p>")
        if self.charts_missing:
            body.append(f'<p class="banner">No charts: {e(self.charts_missing)}.</p>')
        body.append(self.summary())
        for group, rows in self.groups:
            body.append(self.group(group, rows))
        for chart in self.charts:
            if not chart.group:
                body.append(f'<section id="{e(_anchor("chart", chart.name))}"><h2>{e(chart.title)}</h2>'
                            f"{self.figure(chart)}</section>")
        if report.claims:
            body.append(self.claims())
        body.append(self.device_section())
        body.append(self.workload_section())
        body.append(self.footer())
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<meta name=\"generator\" content=\"chipfit {e(report.environment.get('chipfit') or '')}\">\n"
                f"<title>{e(report.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
                + "\n".join(body) + "\n</main>\n</body>\n</html>\n")

    def meta(self) -> str:
        environment = self.report.environment
        parts = []
        if self.report.created:
            parts.append(f"made {e(self.report.created)}")
        if environment.get("host"):
            parts.append(f"on {e(environment['host'])}")
        if environment.get("chipfit"):
            parts.append(f"chipfit {e(environment['chipfit'])}")
        runs = environment.get("runs")
        if isinstance(runs, (list, tuple)) and runs:  # a record's lists are tuples
            parts.append(f"merged from {len(runs)} saved runs")
        return f'<p class="meta">{" · ".join(parts)}</p>' if parts else ""

    def nav(self) -> str:
        from chipfit.render import group_spec

        links = [(_anchor("group", group), group_spec(self.report, group).get("title") or group)
                 for group, _ in self.groups]
        links += [(_anchor("chart", chart.name), chart.title) for chart in self.charts if not chart.group]
        if self.report.claims:
            links.append(("claims", "Claims checked"))
        links.append(("devices", "Devices and sources"))
        return "<nav>" + "".join(f'<a href="#{e(anchor)}">{e(text)}</a>' for anchor, text in links) + "</nav>"

    def summary(self) -> str:
        """What the report found, first: each claim's verdict, and each table with what it holds (details below)."""
        from chipfit.render import group_spec

        out = ['<section id="summary"><h2>Summary</h2>']
        if self.report.claims:
            out.append('<div class="table-wrap"><table class="summary"><thead><tr><th>#</th><th>claim</th>'
                       "<th>claimed</th><th>chipfit</th><th>verdict</th></tr></thead><tbody>")
            for index, check in enumerate(self.report.claims, start=1):
                claimed = "" if check.expected is None else si_number(check.expected)
                value = "" if check.value is None else si_number(check.value)
                out.append(f'<tr><td class="num"><a href="#claim-{index}">{index}</a></td><td>{e(check.text)}</td>'
                           f'<td class="num">{e(claimed)}</td><td class="num">{e(value)}</td>'
                           f'<td class="verdict verdict-{e(check.verdict.split(":")[0])}">{e(check.verdict)}</td></tr>')
            out.append("</tbody></table></div>")
        out.append('<ul class="groups">')
        for group, rows in self.groups:
            title = group_spec(self.report, group).get("title") or group
            ok = sum(row.ok for row in rows)
            rest = len(rows) - ok
            out.append(f'<li><a href="#{e(_anchor("group", group))}">{e(title)}</a>: {ok} row{"s" * (ok != 1)}'
                       + (f", {rest} unsupported or failed" if rest else "") + "</li>")
        out.append("</ul></section>")
        return "\n".join(out)

    def figure(self, chart) -> str:
        return (f'<figure class="chart" id="{e(_anchor("figure", chart.name))}" role="img" '
                f'aria-label="{e(chart.title)}">{chart.svg}<figcaption>{e(chart.caption)}</figcaption></figure>')

    # --- groups ---------------------------------------------------------------------------------

    def group(self, group: str, rows: list[Result]) -> str:
        from chipfit.render import group_spec

        spec = group_spec(self.report, group)
        scenario = rows[0].scenario
        out = [f'<section id="{e(_anchor("group", group))}">', f"<h2>{e(spec.get('title') or group)}</h2>",
               f'<p class="scenario">Scenario: {e(scenario.describe())}'
               + (f", latency target {e(display('latency_s', scenario.latency_target))}"
                  if scenario.latency_target else "") + "</p>"]
        if spec.get("note"):
            out.append(f"<p>{e(str(spec['note']).strip())}</p>")
        out.append(self.table(group, rows))
        out += [self.figure(chart) for chart in self.charts if chart.group == group]
        explained = [row for row in rows if row.explain]
        if explained:
            out.append("<details><summary>The arithmetic behind each row</summary><dl class=\"arithmetic\">")
            for row in explained:
                out.append(f"<dt>{e(self.device_name(row.device))} × {e(row.workload)} "
                           f'<span class="badge source-{e(row.source)}">{e(row.source)}</span></dt>')
                out.append("<dd><ul>" + "".join(f"<li>{e(line)}</li>" for line in row.explain) + "</ul></dd>")
            out.append("</dl></details>")
        out.append("</section>")
        return "\n".join(out)

    def table(self, group: str, rows: list[Result]) -> str:
        from chipfit.render import table_columns

        columns = table_columns(self.report, group, rows)
        several = len({row.workload for row in rows}) > 1
        baseline = self.report.baseline is not None and any("vs_baseline" in row.metrics for row in rows)
        errors = any("model_error" in row.metrics for row in rows)
        head = ["device", *(["workload"] if several else []), "source", *(label(c) for c in columns)]
        if baseline:
            head.append(f"vs {self.device_name(self.report.baseline)}")
        if errors:
            head.append("model error")
        notes = not all(row.ok for row in rows)
        if notes:
            head.append("note")
        out = ['<div class="table-wrap"><table class="results">',
               "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead>", "<tbody>"]
        for row in rows:
            cells = [f'<td class="device">{self.device_cell(row.device)}</td>']
            if several:
                cells.append(f"<td>{self.workload_cell(row.workload)}</td>")
            cells.append(f'<td><span class="badge source-{e(row.source)}">{e(source_label(row))}</span></td>')
            for column in columns:
                cells.append(self.metric_cell(column, row.metrics.get(column) if row.ok else None, row.ok))
            if baseline:
                value = row.metrics.get("vs_baseline")
                cells.append(f'<td class="num">{e(ratio(value))}</td>')
            if errors:
                cells.append(self.metric_cell("model_error", row.metrics.get("model_error"), row.ok, blank=True))
            if notes:
                note = "" if row.ok else f"{row.status}: {row.reason}"
                cells.append(f'<td class="note">{e(note)}</td>')
            out.append(f'<tr class="status-{e(row.status)}">' + "".join(cells) + "</tr>")
        out.append("</tbody></table></div>")
        return "\n".join(out)

    @staticmethod
    def metric_cell(metric: str, value: Any, ok: bool, *, blank: bool = False) -> str:
        if not ok:
            return '<td class="num">–</td>'
        if value is None:
            return '<td class="num"></td>' if blank else '<td class="num">n/a</td>'
        shown = display(metric, value)
        if metric == "meets_target":
            return f'<td class="{"yes" if value else "no"}">{e(shown)}</td>'
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        title = f' title="{e(f"{value:.6g}")} ({e(metric)})"' if numeric else ""
        return f'<td class="num"{title}>{e(shown)}</td>' if numeric else f"<td>{e(shown)}</td>"

    # --- claims ---------------------------------------------------------------------------------

    def claims(self) -> str:
        out = ['<section id="claims"><h2>Claims checked</h2><div class="table-wrap"><table>',
               "<thead><tr><th>#</th><th>claim</th><th>claimed</th><th>chipfit</th><th>chipfit/claimed</th>"
               "<th>verdict</th></tr></thead><tbody>"]
        for index, check in enumerate(self.report.claims, start=1):
            claimed = "" if check.expected is None else f"{check.expected:.4g}"
            value = "" if check.value is None else f"{check.value:.4g}"
            out.append(f'<tr><td class="num">{index}</td><td>{e(check.text)}</td><td class="num">{e(claimed)}</td>'
                       f'<td class="num">{e(value)}</td><td class="num">{e(ratio(check.ratio))}</td>'
                       f"<td>{e(check.verdict)}</td></tr>")
        out.append("</tbody></table></div><details><summary>The arithmetic, source and reasoning of each claim"
                   "</summary><ol>")
        for index, check in enumerate(self.report.claims, start=1):
            item = [f"<code>{e(check.formula)}</code>" + (f" → {e(check.arithmetic)}" if check.arithmetic else "")]
            if check.source:
                item.append(f"claimed by: {_cite(check.source)}")
            if check.why:
                item.append(f"{'why they differ' if check.verdict == 'differs' else 'note'}: {e(check.why)}")
            out.append(f'<li id="claim-{index}">' + "<br>".join(item) + "</li>")
        out.append("</ol></details></section>")
        return "\n".join(out)

    # --- devices and workloads -------------------------------------------------------------------

    def device_section(self) -> str:
        idents = list(dict.fromkeys(row.device for row in self.report.rows))
        out = ['<section id="devices"><h2>Devices and sources</h2>',
               "<p>Every figure the model used, with the document it came from (open a device). Figures no "
               'primary source confirmed are marked <span class="unconfirmed">unconfirmed</span>.</p>']
        for ident in idents:
            device = self.devices.get(ident)
            if device is None:
                out.append(f'<article class="device" id="{e(_anchor("device", ident))}"><h3><code>{e(ident)}</code>'
                           "</h3><p>Not in this chipfit's catalogue (a plugin not loaded here).</p></article>")
                continue
            plugin = getattr(self.catalogue, "plugin_of", lambda *_: None)("device", ident)
            out.append(f'<article class="device" id="{e(_anchor("device", ident))}">'
                       f'<details class="device"><summary>{e(device.name)}</summary>'
                       f'<p class="meta"><code>{e(ident)}</code> · {e(device.vendor)} · {e(device.kind)} · '
                       f"{e(device.segment)}" + (f" · plugin {e(plugin)}" if plugin else "") + "</p>")
            out.append('<div class="table-wrap"><table class="figures"><thead><tr><th>figure</th><th>value</th>'
                       "<th>source</th></tr></thead><tbody>")
            for name, value, field in device_figures(device):
                mark = ' <span class="unconfirmed">unconfirmed</span>' if field in device.unconfirmed else ""
                cited = device.citation(field) if field else None
                out.append(f"<tr><td>{e(name)}</td><td>{e(value)}{mark}</td>"
                           f'<td class="cite">{_cite(cited) if cited else ""}</td></tr>')
            out.append("</tbody></table></div>")
            if device.notes:
                out.append(f"<details><summary>Notes</summary><p>{_cite(device.notes)}</p></details>")
            out.append("</details></article>")
        out.append("</section>")
        return "\n".join(out)

    def workload_section(self) -> str:
        idents = [i for i in dict.fromkeys(row.workload for row in self.report.rows) if i in self.workloads]
        if not idents:
            return ""
        out = ['<section id="workloads"><h2>Workloads</h2><details><summary>What each workload counts, and its '
               'sources</summary><div class="table-wrap"><table><thead><tr>'
               "<th>workload</th><th>phase</th><th>ops/sample</th><th>parameters</th><th>weights</th>"
               "<th>operators</th><th>source</th></tr></thead><tbody>"]
        for ident in idents:
            workload = self.workloads[ident]
            cited = "; ".join(f"{field}: {workload.citation(field)}" for field in sorted(workload.sources))
            out.append(f"<tr><td>{self.workload_cell(ident)}</td><td>{e(workload.phase)}</td>"
                       f'<td class="num">{e(si_number(workload.ops_per_sample, "ops"))}</td>'
                       f'<td class="num">{e(si_number(workload.parameters, ""))}</td>'
                       f'<td class="num">{e(si_number(workload.weight_bytes, "B"))} ({e(workload.precision)})</td>'
                       f'<td class="num">{sum(op.repeat for op in workload.operators)}</td>'
                       f'<td class="cite">{_cite(cited)}</td></tr>')
        out.append("</tbody></table></div></details></section>")
        return "\n".join(out)

    def footer(self) -> str:
        environment = self.report.environment
        facts = [f"{e(key)}: {e(environment[key])}" for key in ("host", "platform", "machine", "python", "chipfit")
                 if environment.get(key)]
        plugins = environment.get("plugins")
        if isinstance(plugins, dict) and plugins:
            facts.append("plugins: " + ", ".join(f"{e(name)} {e(version or '')}".strip()
                                                 for name, version in plugins.items()))
        runs = environment.get("runs")
        if isinstance(runs, (list, tuple)):
            for run in runs:
                if isinstance(run, dict):
                    facts.append(f"run {e(run.get('id'))} ({e(run.get('uid', '')[:8])}): {e(run.get('command'))}, "
                                 f"{e(run.get('created'))} on {e(run.get('host'))}")
        return "<footer>" + "<br>".join(facts) + "</footer>"


def device_figures(device) -> list[tuple[str, str, str]]:
    """A device's figures as (label, display value, field whose source cites it)."""
    rows = [("year", str(device.year or "n/a"), "year")]
    order = list(Precision)
    for precision, ops in sorted(device.peak_ops.items(), key=lambda kv: order.index(kv[0])):
        rows.append((f"peak {precision} (dense)", si_number(ops, "ops/s"), f"peak_ops.{precision}"))
    for precision, ops in sorted(device.sparse_peak_ops.items(), key=lambda kv: order.index(kv[0])):
        rows.append((f"peak {precision} (2:4 sparse)", si_number(ops, "ops/s"), f"sparse_peak_ops.{precision}"))
    rows.append(("memory bandwidth", si_number(device.memory_bandwidth, "B/s"), "memory_bandwidth"))
    rows.append(("memory capacity", "none of its own (weights stream from the host)"
                 if device.memory_capacity is None else si_number(device.memory_capacity, "B"), "memory_capacity"))
    if device.on_chip_memory is not None:
        rows.append(("on-chip memory", si_number(device.on_chip_memory, "B"), "on_chip_memory"))
    rows.append(("power", ("unknown" if device.power is None else si_number(device.power, "W"))
                 + (f" ({device.power_kind})" if device.power_kind else ""), "power"))
    rows.append(("price", money(device.price) + (f" ({device.price_date})" if device.price_date else ""), "price"))
    if device.interconnect_bandwidth is not None:
        rows.append(("interconnect", si_number(device.interconnect_bandwidth, "B/s"), "interconnect_bandwidth"))
    if device.general_ops is not None:
        rows.append(("general-purpose rate", si_number(device.general_ops, "ops/s"), "general_ops"))
    rows.append(("capabilities", ", ".join(sorted(str(c) for c in device.capabilities)), "capabilities"))
    rows.append(("runtimes", ", ".join(device.runtimes) or "-", "runtimes"))
    from chipfit.model import efficiency_for

    efficiency, origin = efficiency_for(device)
    rows.append(("efficiency used", f"compute {efficiency.compute:g}, memory {efficiency.memory:g}, "
                 f"{duration(efficiency.overhead_s)}/operator ({origin})", "efficiency"))
    return rows


def render(report: Report, catalogue: Any = None) -> str:
    """The report as one self-contained HTML page (see the module's docstring)."""
    return _Page(report, catalogue).render()

