"""``chipfit estimate``: model one cell from the command line.
"""

from __future__ import annotations

import click

from chipfit.errors import ChipfitError
from chipfit.cli.app import Context, FORMAT_HELP, pick_renderer, cli
from chipfit.cli.options import cost_inputs, cost_options, split_fields, split_options
from chipfit.cli.run import finish, session


@cli.command()
@click.argument("device")
@click.argument("workload")
@click.option("--scenario", default="single-stream", show_default=True,
              help="single-stream, offline, server or training.")
@click.option("--batch", type=int, help="Samples per batch (default: the workload's).")
@click.option("--precision", help="fp64 fp32 tf32 fp16 bf16 fp8 int8 int4 (default: the workload's).")
@click.option("--count", type=int, default=1, show_default=True,
              help="Devices: data-parallel replicas, or split by tensor/pipeline/expert parallelism "
                   "(fastest unless named).")
@click.option("--target-ms", type=float, help="Latency target in milliseconds.")
@split_options
@click.option("--format", "fmt", help=FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@cost_options
@click.pass_obj
def estimate(obj: Context, device, workload, scenario, batch, precision, count, target_ms, fmt, output, electricity,
             service_life, **split) -> None:
    """Model one cell: DEVICE running WORKLOAD (ids from 'chipfit devices' and 'chipfit workloads', or a
    model file such as a Hugging Face config.json)."""
    from chipfit.spec import GroupSpec, Spec
    from chipfit import runner

    group = GroupSpec(id="estimate", devices=[device], workloads=[workload], scenario=scenario, batch=batch,
                      precision=precision, count=count, latency_target_ms=target_ms, **split_fields(split))
    try:
        group.to_scenario()
    except ValueError as error:
        raise ChipfitError(f"bad option: {error}") from None
    renderer = pick_renderer(obj, fmt, output)
    obj.catalogue.device(device)
    if not runner.is_model_file(workload) or workload in obj.catalogue.workloads:
        obj.catalogue.workload(workload)
    costs = cost_inputs(electricity, service_life)
    spec = Spec(title=f"{device} x {workload}", groups=[group], electricity_usd_per_kwh=costs.electricity_usd_per_kwh,
                service_life_years=costs.service_life_years)
    report = session(obj, record=False).start(spec, where="command line").report  # one cell: not saved
    finish(obj, renderer, report, output)
