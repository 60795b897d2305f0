"""``chipfit measure`` (real runs beside the model) and ``chipfit node-resources`` (what a cluster
node advertises).
"""

from __future__ import annotations

import json

import click

from chipfit.errors import ChipfitError
from chipfit.cli.app import Context, checked_budget, FORMAT_HELP, parse_dims, pick_renderer, cli
from chipfit.cli.run import command_line, executor_options, finish, run_spec


@cli.command()
@click.argument("device")
@click.argument("workloads", nargs=-1, required=True)
@click.option("--scenario", type=click.Choice(["single-stream", "offline", "server", "training"]),
              default="single-stream", show_default=True, help="training: a measured training step (the train extra).")
@click.option("--batch", type=int, help="Samples per batch (offline, server and training).")
@click.option("--precision", help="Measure in this precision: the graph's, or int8 (the fp32 graph quantised by "
                                  "ONNX Runtime, static) on localhost-cpu.")
@click.option("--budget", type=float, default=2.0, show_default=True, callback=checked_budget,
              help="Seconds of timing per workload (finite, > 0).")
@click.option("--dim", "dims", multiple=True, metavar="NAME=VALUE", help="Bind a model file's symbolic dimension.")
@click.option("--format", "fmt", help=FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@executor_options
@click.pass_obj
def measure(obj: Context, device, workloads, scenario, batch, precision, budget, dims, fmt, output,
            **where_to_run) -> None:
    """Run WORKLOADS for real on DEVICE (e.g. localhost-cpu), beside the model's estimate and its error.

    WORKLOADS are ids or model files (.onnx). Ctrl-C keeps the rows already measured. DEVICE may be on
    another machine with --executor ray (DEVICE@NODE where several nodes hold one of that id).
    """
    from chipfit.spec import GroupSpec, Spec

    renderer = pick_renderer(obj, fmt, output)
    group = GroupSpec(id="measure", devices=[device], workloads=list(workloads), scenario=scenario, batch=batch,
                      precision=precision, dims=parse_dims(dims))
    spec = Spec(title=f"{device}: measured and modelled", groups=[group], measure=[device], measure_budget_s=budget)
    outcome = run_spec(obj, spec, where="command line", command=command_line(), **where_to_run)
    finish(obj, renderer, outcome.report, output, outcome)


@cli.command("node-resources")
@click.option("--node", help="This node's name in DEVICE@NODE ids (default: $CHIPFIT_NODE, else the host name).")
@click.option("--device", "only", multiple=True, metavar="ID", help="Advertise only these devices (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
@click.pass_obj
def node_resources(obj: Context, node: str | None, only: tuple[str, ...], fmt: str) -> None:
    """The custom resources this machine advertises to a cluster: one per device it can measure.

    On each node: ray start --address HEAD:6379 --resources "$(chipfit node-resources)"
    """
    from chipfit import fleet

    name = fleet.node_name(node)
    measurable = {ident for ident, device in obj.catalogue.devices.items() if device.measurable}
    for ident in only:
        if ident not in measurable:
            obj.catalogue.device(ident)  # an unknown id: the closest ones suggested
            raise ChipfitError(f"--device {ident}: this machine cannot measure it (measurable here: "
                               f"{', '.join(sorted(measurable)) or 'none'})")
    resources = fleet.node_resources(only or measurable, name)
    if fmt == "json":
        click.echo(json.dumps(resources))
        return
    devices = sorted(only or measurable)
    click.echo(f"node {name} holds {len(devices)} measurable device(s): {', '.join(devices) or 'none'}")
    click.echo(f"ray start --address HEAD:6379 --resources '{json.dumps(resources)}'")
