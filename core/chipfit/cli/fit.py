"""``chipfit fit WORKLOAD``: which chip, how many, configured how, for a workload and its limits."""

from __future__ import annotations

import json

import click

from chipfit.cli.app import (
    FORMAT_HELP,
    Context,
    cli,
    emit,
    pick_renderer,
    render_report,
)
from chipfit.cli.options import cost_inputs, cost_options

_OBJECTIVE_HELP = ("What to rank by, best first: cost, power, energy, latency, throughput, cost-per-token, "
                   "cost-per-sample, cloud-cost, time-to-train, or any metric key (default: latency for "
                   "single-stream, throughput for offline and server, time-to-train for training).")


def _words(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated or comma-separated option values, as one tuple."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@cli.command("fit")
@click.argument("workload")
@click.option("--scenario", type=click.Choice(["single-stream", "offline", "server", "training"]),
              default="single-stream", show_default=True)
@click.option("--target-ms", type=float, help="Latency target (single-stream, server), one sample per this many "
              "ms (offline), or the time to train (training).")
@click.option("--fps", type=float, help="The target as a rate: one sample every 1/FPS seconds.")
@click.option("--ttft-ms", type=float, help="Longest time to first token (generation workloads).")
@click.option("--tpot-ms", type=float, help="Longest time per output token (generation workloads).")
@click.option("--min-throughput", type=float, metavar="SAMPLES_PER_S", help="Least throughput, samples/s.")
@click.option("--min-tokens-per-s", type=float, metavar="TOKENS_PER_S",
              help="Least output tokens a second (generation workloads).")
@click.option("--max-power-w", type=float, help="Most power the configuration may draw (all its devices).")
@click.option("--max-cost-usd", type=float, help="Most the configuration's hardware may cost.")
@click.option("--segment", multiple=True, help="Only these segments (edge, desktop, datacenter); repeat or comma.")
@click.option("--vendor", multiple=True, help="Only these vendors.")
@click.option("--kind", multiple=True, help="Only these kinds (cpu, gpu, apu, asic, npu, fpga).")
@click.option("--precision", multiple=True, help="Precisions to try (default: the workload's; 'any': every "
              "precision each device computes in).")
@click.option("--max-count", type=int, default=8, show_default=True, help="Most devices in one configuration.")
@click.option("--by", help=_OBJECTIVE_HELP)
@click.option("--pareto", metavar="A,B", help="Also find the Pareto front of two objectives, e.g. cost,latency.")
@click.option("--where", metavar="EXPR", help="Keep only configurations this holds for (as chipfit run --where).")
@click.option("--top", type=int, default=10, show_default=True, help="Ranked configurations shown.")
@click.option("--measure", "measure", is_flag=True, help="Also run the shown configurations for real on the "
              "devices this machine holds (the rest stay modelled).")
@click.option("--budget", type=float, default=2.0, show_default=True, help="Seconds of timing per measured cell.")
@cost_options
@click.option("--format", "fmt", help=FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@click.pass_obj
def fit_command(obj: Context, workload, scenario, target_ms, fps, ttft_ms, tpot_ms, min_throughput, min_tokens_per_s,
                max_power_w,
                max_cost_usd, segment, vendor, kind, precision, max_count, by, pareto, where, top, measure, budget,
                electricity, service_life, fmt, output) -> None:
    """Which devices, how many and configured how run WORKLOAD within the limits, ranked by an objective.

    Every configuration (device x count x precision; the model picks the batch and split) is modelled as
    'chipfit estimate' models it, so a row equals 'chipfit estimate' of the same configuration. Exit 2 when a
    constraint is malformed or leaves nothing, naming it.
    """
    from chipfit import fit
    from chipfit.errors import ChipfitError

    scale = lambda value: None if value is None else value * 1e-3  # noqa: E731 - ms to s
    pair = None
    if pareto:
        pair = _words((pareto,))
        if len(pair) != 2:
            raise ChipfitError(f"--pareto {pareto!r}: name two objectives, e.g. --pareto cost,latency")
    renderer = pick_renderer(obj, fmt, output)
    asked = fit.FitQuery(
        workload=workload, scenario=scenario, target_s=scale(target_ms), fps=fps, ttft_s=scale(ttft_ms),
        tpot_s=scale(tpot_ms), min_throughput=min_throughput,
        min_tokens_per_s=min_tokens_per_s, max_power_w=max_power_w, max_cost_usd=max_cost_usd,
        segments=_words(segment), vendors=_words(vendor), kinds=_words(kind), precisions=_words(precision),
        max_count=max_count, by=by, where=where, pareto=pair, top=top, costs=cost_inputs(electricity, service_life))
    result = fit.search(asked, obj.catalogue, fit.evaluator(obj.pm, obj.catalogue, asked.costs))
    report = fit.report(result)
    if measure:
        report = _measured(obj, report, budget)
    if renderer.name == "json":  # the search's own figures at the top of the JSON, beside the rows
        from chipfit.serialize import finite, unstructure

        emit(json.dumps(finite({**result.summary(), **unstructure(report)}), indent=2, allow_nan=False) + "\n",
             output)
        return
    emit(render_report(obj, renderer, report, output), output)


def _measured(obj: Context, report, budget: float):
    """The report with a measured row beside each shown row whose device this machine holds."""
    import attrs

    from chipfit.cells import measure_cell

    rows = list(report.rows)
    for row in report.rows:
        device = obj.catalogue.devices.get(row.device)
        if device is None or not device.measurable:
            continue
        obj.progress(f"measuring {row.device} x {row.workload}")
        scenario = attrs.evolve(row.scenario, batch=row.metrics.get("batch") or row.scenario.batch)
        measured = measure_cell(obj.pm, device, obj.catalogue.workload(row.workload), scenario, budget)
        rows.append(attrs.evolve(measured, group="fit"))
    if len(rows) == len(report.rows):
        click.echo("chipfit: --measure: none of the shown devices is on this machine; every row is modelled",
                   err=True)
    return attrs.evolve(report, rows=tuple(rows))
