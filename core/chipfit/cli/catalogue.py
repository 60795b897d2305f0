"""Commands that show what the plugins registered: plugins, devices, show, check, workloads, inspect.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from chipfit.errors import ChipfitError
from chipfit.cli.app import Context, emit, table, LIST_FORMATS, parse_dims, cli


@cli.command()
@click.option("--format", "fmt", type=LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def plugins(obj: Context, fmt: str) -> None:
    """List loaded plugins: name, distribution, version, hooks."""
    machine = fmt == "json"
    rows = [[info.name, info.distribution, info.version, info.origin,
             list(info.hooks) if machine else ", ".join(info.hooks)] for info in obj.pm.info()]
    rows += [[failure.name, failure.distribution, None, f"failed to load: {failure.error}", []]
             for failure in obj.pm.failures]
    emit(table(rows, ["name", "distribution", "version", "origin", "hooks"], fmt), None)


@cli.command()
@click.option("--kind", multiple=True, help="Only these kinds (cpu, gpu, apu, asic, npu, fpga).")
@click.option("--segment", multiple=True, help="Only these segments (edge, desktop, datacenter).")
@click.option("--vendor", multiple=True, help="Only these vendors (case, spaces and hyphens ignored).")
@click.option("--precision", multiple=True, help="Only devices that compute in these precisions (all of them).")
@click.option("--capability", multiple=True, help="Only devices with these capabilities (training, inference, "
                                                   "general-purpose).")
@click.option("--sort", "sort_by", metavar="FIGURE",
              help="Sort by a figure, highest first: power, price, memory_bandwidth, memory_capacity, year, "
                   "general_ops, peak_ops.int8 …; prefix with + for lowest first.")
@click.option("--sources", is_flag=True, help="Show the citation of every figure.")
@click.option("--format", "fmt", type=LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def devices(obj: Context, kind, segment, vendor, precision, capability, sort_by, sources: bool, fmt: str) -> None:
    """List the devices plugins registered, with their headline figures."""
    from chipfit.listing import citation_text, device_rows

    machine = fmt in ("json", "csv")
    headers, rows = device_rows(obj.catalogue, kind=kind, segment=segment, vendor=vendor, precision=precision,
                                capability=capability, sort_by=sort_by, sources=sources, machine=machine)
    text = table(rows, headers, fmt)
    if sources and not machine:
        text += citation_text(obj.catalogue, [row[0] for row in rows])
    elif not machine:
        text += "\n* not confirmed by a primary source (see --sources)\n"
    emit(text, None)


@cli.command()
@click.argument("device")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def show(obj: Context, device: str, fmt: str) -> None:
    """Show one device: every figure, with its source and whether it is confirmed."""
    from chipfit.listing import citations, device_card, device_rows

    record = obj.catalogue.device(device)
    if fmt == "json":
        headers, rows = device_rows(obj.catalogue, sources=True, machine=True)
        row = dict(zip(headers, next(r for r in rows if r[0] == record.id)))
        row["sources"] = citations(record)
        emit(json.dumps(row, indent=2) + "\n", None)
    else:
        emit(device_card(obj.catalogue, record), None)


@cli.command()
@click.argument("files", nargs=-1, metavar="[DATASHEET.toml]...")
@click.pass_obj
def check(obj: Context, files: tuple[str, ...]) -> None:
    """Check device data: every registered device, or the datasheet files given.

    Plausible units, sparse figures not passed off as dense, a citation for every figure.
    Exit 2 with one line per problem (file, line, device, field), 0 when all pass.
    """
    from chipfit.checks import check_catalogue, check_datasheet

    if files:
        problems = [(f"{path}, line {p.line}" if p.line else path, p) for path in files for p in check_datasheet(path)]
        count = "the datasheet files"
    else:
        from chipfit.datasheets import broken_datasheets

        devices = obj.catalogue.devices
        problems = [(f"plugin {obj.catalogue.plugin_of('device', p.device)!r}", p)
                    for p in check_catalogue(devices.values())]
        loaded = {getattr(plugin, "__name__", None) for plugin in obj.pm.get_plugins()}
        problems += [(f"plugin {broken.plugin!r}", broken.error) for broken in broken_datasheets()
                     if broken.plugin in loaded]
        count = f"{len(devices)} devices"
    for where, problem in problems:
        click.echo(f"{where}: {problem}", err=True)
    if problems:
        raise ChipfitError(f"{len(problems)} problem(s) in {count}")
    click.echo(f"{count}: all checks pass")


@cli.command()
@click.option("--phase", multiple=True, help="Only these phases (inference, training, general).")
@click.option("--format", "fmt", type=LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def workloads(obj: Context, phase, fmt: str) -> None:
    """List the workloads plugins registered: ops per sample, parameters, phase."""
    from chipfit.listing import workload_rows

    headers, rows = workload_rows(obj.catalogue, phase=phase, machine=fmt in ("json", "csv"))
    emit(table(rows, headers, fmt), None)


@cli.command()
@click.argument("model")
@click.option("--dim", "dims", multiple=True, metavar="NAME=VALUE",
              help="Bind a symbolic dimension of the model (repeatable), e.g. --dim sequence=128.")
@click.option("--format", "fmt", type=LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def inspect(obj: Context, model: str, dims: tuple[str, ...], fmt: str) -> None:
    """Show the workload a model file (MODEL.onnx) or a workload id becomes: ops, bytes, params per op type."""
    from chipfit import runner
    from chipfit.listing import inspect_rows, inspect_summary, kernel_rows
    from chipfit.units import si_number

    if model in obj.catalogue.workloads:
        workload = obj.catalogue.workloads[model]
    elif Path(model).suffix or "/" in model:
        workload = runner.load_workload(obj.pm, model, parse_dims(dims))
        if workload is None:
            raise ChipfitError(f"{model}: no plugin reads this kind of model file")
    else:
        obj.catalogue.workload(model)  # raises, suggesting the closest ids
    headers, rows = inspect_rows(workload, machine=fmt in ("json", "csv"))
    summary = inspect_summary(workload)
    kernel_headers, kernels = kernel_rows(workload, machine=fmt == "json")
    if fmt == "json":
        summary["by_op_type"] = [dict(zip(headers, row)) for row in rows]
        summary["kernels"] = [dict(zip(kernel_headers, row)) for row in kernels]
        emit(json.dumps(summary, indent=2) + "\n", None)
        return
    if fmt == "csv":
        emit(table(rows, headers, fmt), None)
        return
    lines = [
        f"{workload.name} ({workload.id}), {workload.phase}, {workload.precision}",
        f"ops per sample: {si_number(workload.ops_per_sample, 'ops')}   parameters: {si_number(workload.parameters, '')}"
        f"   weights: {si_number(workload.weight_bytes, 'B')}   activations per sample: "
        f"{si_number(workload.activation_bytes_per_sample, 'B')}   operators: {summary['operators']}",
    ]
    if workload.uncosted:
        listed = ", ".join(f"{op} x{count}" for op, count in sorted(workload.uncosted.items()))
        lines.append(f"NOT COSTED (ops missing from the totals; bytes counted): {listed}")
    emit("\n".join(lines) + "\n\ngraph nodes by operator type:\n" + table(rows, headers, fmt)
         + f"\n{len(kernels)} kernels after lowering (BN folded, epilogues fused, layout free, attention fused; "
         "see docs/lowering.md):\n" + table(kernels, kernel_headers, fmt), None)
