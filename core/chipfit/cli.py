"""The ``chipfit`` command line.

Exit codes: 0 success; 1 the report holds failed rows; 2 bad input (the message names the file,
line, field or plugin; no traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from chipfit.errors import ChipfitError, PluginError

#: Plugin selection options shared by every command (``-p`` may repeat).
_PLUGIN_HELP = "Load one more plugin module (repeatable); -p no:NAME blocks a plugin."


class _Context:
    """What a command needs: the plugin manager and the catalogue, built on first use."""

    def __init__(self, plugin_args: tuple[str, ...], store: str | None = None, quiet: bool = False) -> None:
        self.extra = [name for name in plugin_args if not name.startswith("no:")]
        self.blocked = [name[3:] for name in plugin_args if name.startswith("no:")]
        self.store = store
        self.quiet = quiet
        self._pm = None
        self._catalogue = None
        self._progress = None

    @property
    def progress(self):
        """Progress of long steps on stderr: on a terminal only, never with --quiet (chipfit.runs.Progress)."""
        if self._progress is None:
            from chipfit.runs import Progress

            self._progress = Progress.for_stream(sys.stderr, quiet=self.quiet)
        return self._progress

    def stop_progress(self) -> None:
        """Finish the progress display (before output is printed)."""
        if self._progress is not None:
            self._progress.stop()

    @property
    def pm(self):
        """The plugin manager (plugins loaded on first use)."""
        if self._pm is None:
            from chipfit.plugins import get_plugin_manager

            self._pm = get_plugin_manager(extra=self.extra, blocked=self.blocked)
            for failure in self._pm.failures:
                click.echo(
                    f"chipfit: warning: plugin {failure.name!r} (distribution {failure.distribution!r}) "
                    f"failed to load and is skipped: {failure.error}",
                    err=True,
                )
        return self._pm

    @property
    def catalogue(self):
        """Every device, workload, metric and renderer the plugins registered."""
        if self._catalogue is None:
            from chipfit.catalogue import collect

            self._catalogue = collect(self.pm)
        return self._catalogue


class ChipfitGroup(click.Group):
    """A click group that turns chipfit's bad-input errors into a message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ChipfitError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(2)


@click.group(cls=ChipfitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chipfit")
@click.option("-p", "plugin_args", multiple=True, metavar="MODULE", help=_PLUGIN_HELP)
@click.option("--store", metavar="PATH", help="The results store runs are saved in and read from (default: "
              "$CHIPFIT_STORE, else $CHIPFIT_DATA_DIR/runs.sqlite, else ~/.local/share/chipfit/runs.sqlite).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or notes on stderr (warnings and errors still show).")
@click.pass_context
def cli(ctx: click.Context, plugin_args: tuple[str, ...], store: str | None, quiet: bool) -> None:
    """Which chip fits which AI task, by how much, and at what cost in time, energy and money.

    Devices and workloads come from plugins; numbers come from a roofline model fed by cited
    datasheet figures. Start with: chipfit run specs/seed-article.toml
    """
    ctx.obj = _Context(plugin_args, store=store, quiet=quiet)
    ctx.call_on_close(ctx.obj.stop_progress)


def _emit(text: str, output: str | None) -> None:
    context = click.get_current_context(silent=True)
    if context is not None and isinstance(context.obj, _Context):
        context.obj.stop_progress()
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise ChipfitError(f"{output}: cannot write report: {error.strerror}") from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _table(rows: list[list], headers: list[str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dict(zip(headers, row)) for row in rows], indent=2) + "\n"
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buffer.getvalue()
    import tabulate

    return tabulate.tabulate(rows, headers=headers, tablefmt="github" if fmt == "markdown" else "simple",
                             disable_numparse=True) + "\n"


_LIST_FORMATS = click.Choice(["text", "markdown", "csv", "json"])


@cli.command()
@click.option("--format", "fmt", type=_LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def plugins(obj: _Context, fmt: str) -> None:
    """List loaded plugins: name, distribution, version, hooks."""
    machine = fmt == "json"
    rows = [[info.name, info.distribution, info.version, info.origin,
             list(info.hooks) if machine else ", ".join(info.hooks)] for info in obj.pm.info()]
    rows += [[failure.name, failure.distribution, None, f"failed to load: {failure.error}", []]
             for failure in obj.pm.failures]
    _emit(_table(rows, ["name", "distribution", "version", "origin", "hooks"], fmt), None)


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
@click.option("--format", "fmt", type=_LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def devices(obj: _Context, kind, segment, vendor, precision, capability, sort_by, sources: bool, fmt: str) -> None:
    """List the devices plugins registered, with their headline figures."""
    from chipfit.listing import citation_text, device_rows

    machine = fmt in ("json", "csv")
    headers, rows = device_rows(obj.catalogue, kind=kind, segment=segment, vendor=vendor, precision=precision,
                                capability=capability, sort_by=sort_by, sources=sources, machine=machine)
    text = _table(rows, headers, fmt)
    if sources and not machine:
        text += citation_text(obj.catalogue, [row[0] for row in rows])
    elif not machine:
        text += "\n* not confirmed by a primary source (see --sources)\n"
    _emit(text, None)


@cli.command()
@click.argument("device")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def show(obj: _Context, device: str, fmt: str) -> None:
    """Show one device: every figure, with its source and whether it is confirmed."""
    from chipfit.listing import citations, device_card, device_rows

    record = obj.catalogue.device(device)
    if fmt == "json":
        headers, rows = device_rows(obj.catalogue, sources=True, machine=True)
        row = dict(zip(headers, next(r for r in rows if r[0] == record.id)))
        row["sources"] = citations(record)
        _emit(json.dumps(row, indent=2) + "\n", None)
    else:
        _emit(device_card(obj.catalogue, record), None)


@cli.command()
@click.argument("files", nargs=-1, metavar="[DATASHEET.toml]...")
@click.pass_obj
def check(obj: _Context, files: tuple[str, ...]) -> None:
    """Check device data: every registered device, or the datasheet files given.

    Plausible units, sparse figures not passed off as dense, a citation for every figure.
    Exit 2 with one line per problem (file, line, device, field), 0 when all pass.
    """
    from chipfit.checks import check_catalogue, check_datasheet

    if files:
        problems = [(f"{path}, line {p.line}" if p.line else path, p) for path in files for p in check_datasheet(path)]
        count = "the datasheet files"
    else:
        devices = obj.catalogue.devices
        problems = [(f"plugin {obj.catalogue.plugin_of('device', p.device)!r}", p)
                    for p in check_catalogue(devices.values())]
        count = f"{len(devices)} devices"
    for where, problem in problems:
        click.echo(f"{where}: {problem}", err=True)
    if problems:
        raise ChipfitError(f"{len(problems)} problem(s) in {count}")
    click.echo(f"{count}: all checks pass")


@cli.command()
@click.option("--phase", multiple=True, help="Only these phases (inference, training, general).")
@click.option("--format", "fmt", type=_LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def workloads(obj: _Context, phase, fmt: str) -> None:
    """List the workloads plugins registered: ops per sample, parameters, phase."""
    from chipfit.listing import workload_rows

    headers, rows = workload_rows(obj.catalogue, phase=phase, machine=fmt in ("json", "csv"))
    _emit(_table(rows, headers, fmt), None)


@cli.command()
@click.argument("model")
@click.option("--dim", "dims", multiple=True, metavar="NAME=VALUE",
              help="Bind a symbolic dimension of the model (repeatable), e.g. --dim sequence=128.")
@click.option("--format", "fmt", type=_LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def inspect(obj: _Context, model: str, dims: tuple[str, ...], fmt: str) -> None:
    """Show the workload a model file (MODEL.onnx) or a workload id becomes: ops, bytes, params per op type."""
    from chipfit import runner
    from chipfit.listing import inspect_rows, inspect_summary
    from chipfit.units import si_number

    if model in obj.catalogue.workloads:
        workload = obj.catalogue.workloads[model]
    elif Path(model).suffix or "/" in model:
        workload = runner.load_workload(obj.pm, model, _parse_dims(dims))
        if workload is None:
            raise ChipfitError(f"{model}: no plugin reads this kind of model file")
    else:
        obj.catalogue.workload(model)  # raises, suggesting the closest ids
    headers, rows = inspect_rows(workload, machine=fmt in ("json", "csv"))
    summary = inspect_summary(workload)
    if fmt == "json":
        summary["by_op_type"] = [dict(zip(headers, row)) for row in rows]
        _emit(json.dumps(summary, indent=2) + "\n", None)
        return
    if fmt == "csv":
        _emit(_table(rows, headers, fmt), None)
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
    _emit("\n".join(lines) + "\n\n" + _table(rows, headers, fmt), None)


def _parse_dims(pairs: tuple[str, ...]) -> dict[str, int]:
    dims = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not name or not value.isdigit() or int(value) <= 0:
            raise ChipfitError(f"--dim {pair!r}: expected NAME=POSITIVE_INTEGER")
        dims[name] = int(value)
    return dims



_FORMAT_HELP = ("Report format: text, markdown, csv, json, html, or one a plugin adds (default: the one "
                "-o's file extension names, else text).")


def _render(obj: _Context, renderer, report, output: str | None = None) -> str:
    """A report in a format; a renderer that raises is an error naming its plugin."""
    from chipfit.render import call_renderer

    try:
        return call_renderer(renderer, report, catalogue=obj.catalogue, path=output)
    except ChipfitError:
        raise
    except Exception as error:
        plugin = obj.catalogue.plugin_of("renderer", renderer.name)
        raise PluginError(f"plugin {plugin!r}: renderer {renderer.name!r} failed: {type(error).__name__}: {error}") \
            from None


def _renderer(obj: _Context, fmt: str | None, output: str | None = None):
    """The renderer named by --format; without one, the one whose extension -o's file has, else text."""
    renderers = obj.catalogue.renderers
    if fmt is None:
        suffix = Path(output).suffix.lstrip(".").lower() if output else ""
        fmt = next((name for name, renderer in renderers.items() if suffix and renderer.extension == suffix), "text")
    if fmt not in renderers:
        from chipfit.errors import suggest

        close = suggest(fmt, renderers)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ChipfitError(f"unknown format {fmt!r} (known: {', '.join(sorted(renderers))}){hint}")
    return renderers[fmt]


@cli.command()
@click.argument("device")
@click.argument("workload")
@click.option("--scenario", default="single-stream", show_default=True,
              help="single-stream, offline, server or training.")
@click.option("--batch", type=int, help="Samples per batch (default: the workload's).")
@click.option("--precision", help="fp64 fp32 tf32 fp16 bf16 fp8 int8 int4 (default: the workload's).")
@click.option("--count", type=int, default=1, show_default=True, help="Devices (training).")
@click.option("--target-ms", type=float, help="Latency target in milliseconds.")
@click.option("--format", "fmt", help=_FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@click.pass_obj
def estimate(obj: _Context, device, workload, scenario, batch, precision, count, target_ms, fmt, output) -> None:
    """Model one cell: DEVICE running WORKLOAD (ids from 'chipfit devices' and 'chipfit workloads')."""
    from chipfit.spec import GroupSpec, Spec
    from chipfit import runner

    group = GroupSpec(id="estimate", devices=[device], workloads=[workload], scenario=scenario, batch=batch,
                      precision=precision, count=count, latency_target_ms=target_ms)
    try:
        group.to_scenario()
    except ValueError as error:
        raise ChipfitError(f"bad option: {error}") from None
    renderer = _renderer(obj, fmt, output)
    obj.catalogue.device(device)
    obj.catalogue.workload(workload)
    spec = Spec(title=f"{device} x {workload}", groups=[group])
    report = runner.run(spec, obj.catalogue, obj.pm, where="command line")
    _finish(obj, renderer, report, output)


def _executor_options(command):
    """The options of commands that measure: where the measured cells run, and resuming a run."""
    options = [
        click.option("--executor", metavar="NAME", help="Where measured cells run: local (this machine, the default) "
                     "or a plugin's, e.g. ray (the nodes of a Ray cluster that hold the devices; "
                     "pip install 'chipfit[cluster]').", default=None),
        click.option("--address", metavar="ADDR", help="The cluster the executor joins (ray: HOST:PORT or auto; "
                     "default: $RAY_ADDRESS, else the spec's address)."),
        click.option("--cell-timeout", type=float, metavar="SECONDS", help="Seconds a measured cell may take from "
                     "when it is sent to a node until it is given up as failed (ray; default: 120 + 20 x the budget)."),
        click.option("--resume", metavar="RUN", help="Carry on an earlier run of the same spec (an id from 'chipfit "
                     "runs list', or latest): its measured rows are kept and only the cells it lacks run."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("spec_path", metavar="SPEC.toml")
@click.option("--format", "fmt", help=_FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@_executor_options
@click.pass_obj
def run(obj: _Context, spec_path: str, fmt: str, output: str | None, **where_to_run) -> None:
    """Run a comparison spec and print its report (the main job); the run is saved in the results store."""
    from chipfit import spec

    parsed, text = spec.load(spec_path)
    renderer = _renderer(obj, fmt, output)
    report, recorder = _run_spec(obj, parsed, text=text, where=spec_path, command=f"chipfit run {spec_path}",
                                 **where_to_run)
    _finish(obj, renderer, report, output, recorder)


def _run_spec(obj: _Context, parsed, *, text: str = "", where: str, command: str, executor: str | None,
              address: str | None, cell_timeout: float | None, resume: str | None):
    """Run a spec with its executor, recording the run in the store as it goes; the report and the recorder."""
    import datetime

    from chipfit import runner, runs, tomlfile
    from chipfit.errors import UnknownIdError
    from chipfit.executors import ExecutorOptions, open_executor
    from chipfit.records import Report, Source

    if cell_timeout is not None and not cell_timeout > 0:
        raise ChipfitError(f"--cell-timeout must be > 0 seconds, got {cell_timeout:g}")
    name = executor or parsed.executor
    spec_dict = tomlfile.unstructure(parsed)
    earlier, done = None, ()
    if resume:
        with runs.open_store(obj.store) as store:
            earlier, report = runs.resumable(store, resume, spec_dict)
        done = [row for row in report.rows if row.source is Source.MEASURED and row.ok]
    path, chosen = runs.store_path(obj.store)
    recorder = runs.Recorder(path, chosen=chosen, warn=lambda message: click.echo(f"chipfit: warning: {message}",
                                                                                  err=True))
    header = Report(title=parsed.title, rows=(), description=parsed.description, baseline=parsed.baseline,
                    spec=spec_dict, environment=runner.environment(obj.pm),
                    created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    options = ExecutorOptions(address=address or parsed.address, cell_timeout_s=cell_timeout)
    name_place = _spec_place(text, where, "executor") if parsed.executor and not executor else ""
    address_place = _spec_place(text, where, "address") if parsed.address and not address else ""
    recorder.begin(header, command=command, resume=earlier, keep=done)  # a chosen store that fails stops here
    try:
        if not parsed.measure:  # nothing to send anywhere: check the name, start nothing
            if name and name not in obj.catalogue.executors:
                open_executor(name, obj.pm, obj.catalogue, options, where=name_place)
            opened = None
        else:
            opened = open_executor(name, obj.pm, obj.catalogue, options, where=name_place)
    except BaseException as error:
        recorder.close()
        if address_place and isinstance(error, ChipfitError) and not isinstance(error, UnknownIdError):
            raise ChipfitError(f"{address_place}: {error}") from None  # an address from the spec: say where
        raise
    try:
        report = runner.run(parsed, obj.catalogue, obj.pm, text=text, where=where, progress=_progress,
                            executor=opened, on_row=recorder.row, done=done)
    except BaseException:
        recorder.close()
        raise
    finally:
        if opened is not None:
            try:
                opened.close()
            except Exception as error:  # noqa: BLE001 - the rows are in; a plugin's clean-up must not lose them
                click.echo(f"chipfit: warning: executor {opened.name!r} failed to close: {type(error).__name__}: "
                           f"{error}", err=True)
    return report, recorder


def _spec_place(text: str, where: str, key: str) -> str:
    """``spec.toml, line N: key`` for a top-level key of a spec file (empty on the command line)."""
    from chipfit import tomlfile

    line = tomlfile.locate(text, [key]) if text else None
    return f"{where}, line {line}: {key}" if line else ""


def _progress(message: str) -> None:
    """A long step begins (measuring a cell, calibrating): shown on a terminal, unless --quiet."""
    click.get_current_context().find_object(_Context).progress(message)


def _finish(obj: _Context, renderer, report, output: str | None, recorder=None) -> None:
    """Print or write the report, finish its run in the store if recorded; exit 130 if interrupted, 1 if cells
    failed."""
    try:
        text = _render(obj, renderer, report, output)
    except BaseException:
        if recorder is not None:
            recorder.finish(report)
        raise
    _emit(text, output)
    if recorder is not None:
        saved = recorder.finish(report)
        if saved is not None and obj.progress.enabled:  # a note for a person at a terminal; scripts read `runs list`
            click.echo(f"chipfit: saved as run {saved.id} in {recorder.path} (chipfit runs show {saved.id})", err=True)
    if report.interrupted:
        click.echo("chipfit: interrupted; the report holds the rows finished before it", err=True)
        sys.exit(130)
    if report.failed:
        click.echo(f"chipfit: {len(report.failed)} cell(s) failed", err=True)
        sys.exit(1)


@cli.command()
@click.argument("device")
@click.argument("workloads", nargs=-1, required=True)
@click.option("--scenario", type=click.Choice(["single-stream", "offline", "server"]), default="single-stream",
              show_default=True)
@click.option("--batch", type=int, help="Samples per batch (offline and server).")
@click.option("--budget", type=float, default=2.0, show_default=True, help="Seconds of timing per workload.")
@click.option("--dim", "dims", multiple=True, metavar="NAME=VALUE", help="Bind a model file's symbolic dimension.")
@click.option("--format", "fmt", help=_FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@_executor_options
@click.pass_obj
def measure(obj: _Context, device, workloads, scenario, batch, budget, dims, fmt, output, **where_to_run) -> None:
    """Run WORKLOADS for real on DEVICE (e.g. localhost-cpu), beside the model's estimate and its error.

    WORKLOADS are ids or model files (.onnx). Ctrl-C keeps the rows already measured. DEVICE may be on
    another machine with --executor ray (DEVICE@NODE where several nodes hold one of that id).
    """
    from chipfit.spec import GroupSpec, Spec

    renderer = _renderer(obj, fmt, output)
    group = GroupSpec(id="measure", devices=[device], workloads=list(workloads), scenario=scenario, batch=batch,
                      dims=_parse_dims(dims))
    spec = Spec(title=f"{device}: measured and modelled", groups=[group], measure=[device], measure_budget_s=budget)
    report, recorder = _run_spec(obj, spec, where="command line", command=" ".join(["chipfit measure", device,
                                                                                     *workloads]), **where_to_run)
    _finish(obj, renderer, report, output, recorder)


@cli.command("node-resources")
@click.option("--node", help="This node's name in DEVICE@NODE ids (default: $CHIPFIT_NODE, else the host name).")
@click.option("--device", "only", multiple=True, metavar="ID", help="Advertise only these devices (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
@click.pass_obj
def node_resources(obj: _Context, node: str | None, only: tuple[str, ...], fmt: str) -> None:
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


def _localhost():
    try:
        from chipfit_localhost import calibration
    except ImportError as error:
        raise ChipfitError(f"calibration needs the chipfit_localhost plugin: {error}") from None
    return calibration


@cli.command()
@click.option("--budget", type=float, default=2.0, show_default=True, help="Seconds of timing per workload.")
@click.pass_obj
def calibrate(obj: _Context, budget: float) -> None:
    """Fit the model to this machine: micro-benchmarks and real runs; saves a calibration profile."""
    calibration = _localhost()
    try:
        profile = calibration.calibrate(obj.catalogue, budget=budget, progress=_progress)
    except RuntimeError as error:  # a calibration run that failed: named, no traceback
        raise ChipfitError(f"calibration failed: {error}") from None
    efficiency = profile["efficiency"]
    click.echo(f"calibrated {profile['machine']}: compute efficiency {efficiency['compute']:.3g} (fp32), "
               f"memory {efficiency['memory']:.3g}, overhead {efficiency['overhead_s'] * 1e6:.3g} µs/operator")
    for ident, fit in profile["fit"].items():
        click.echo(f"  {ident}: measured {fit['measured_s'] * 1e3:.3g} ms, calibrated model "
                   f"{fit['calibrated_s'] * 1e3:.3g} ms ({fit['calibrated_s'] / fit['measured_s'] - 1:+.1%})")
    click.echo(f"saved {profile['path']}")


@cli.command()
@click.option("--budget", type=float, default=2.0, show_default=True, help="Seconds of timing per workload.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def validate(obj: _Context, budget: float, fmt: str) -> None:
    """Measure held-out workloads; show the default and calibrated model's errors against them."""
    calibration = _localhost()
    try:
        summary = calibration.validate(obj.catalogue, budget=budget, progress=_progress)
    except RuntimeError as error:
        raise ChipfitError(f"validation failed: {error}") from None
    if fmt == "json":
        _emit(json.dumps(summary, indent=2) + "\n", None)
        return
    headers = ["workload", "measured", "default model", "error", "calibrated model", "error"]
    rows = [[r["workload"], f"{r['measured_s'] * 1e3:.3g} ms", f"{r['default_s'] * 1e3:.3g} ms",
             f"{r['default_error']:+.1%}",
             f"{r['calibrated_s'] * 1e3:.3g} ms" if "calibrated_s" in r else "-",
             f"{r['calibrated_error']:+.1%}" if "calibrated_error" in r else "-"] for r in summary["rows"]]
    text = _table(rows, headers, "text")
    text += f"\ngeometric-mean absolute error: default {summary['default_geomean_abs_error']:.1%}"
    if summary["calibrated"]:
        text += (f", calibrated {summary['calibrated_geomean_abs_error']:.1%} "
                 f"(fitted on {', '.join(summary['calibration_set'])})\n")
    else:
        text += " (no calibration profile yet: run chipfit calibrate)\n"
    _emit(text, None)


@cli.command("new-plugin")
@click.argument("name")
@click.option("--flavour", type=click.Choice(["device", "workload"]), default="device", show_default=True,
              help="device: a cited datasheet file and its hook; workload: a workload built in Python.")
@click.option("-d", "--directory", type=click.Path(file_okay=False),
              help="Where to write it (default: ./chipfit-NAME).")
def new_plugin(name: str, flavour: str, directory: str | None) -> None:
    """Write a plugin package NAME: pyproject.toml (entry point), the module, and tests using chipfit.testing."""
    from chipfit import scaffold

    root, written = scaffold.new_plugin(name, flavour=flavour, directory=directory)
    click.echo(f"wrote {root}:")
    for path in written:
        click.echo(f"  {path.relative_to(root)}")
    click.echo("\n".join(scaffold.next_steps(root, name)))


@cli.group("runs")
def runs_group() -> None:
    """Saved runs: every 'chipfit run' and 'chipfit measure' is kept in the results store (see --store)."""


@runs_group.command("list")
@click.option("--limit", type=int, default=20, show_default=True, help="Newest runs to show (0: all).")
@click.option("--format", "fmt", type=_LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def runs_list(obj: _Context, limit: int, fmt: str) -> None:
    """List saved runs, newest first: id, when, what made them, where."""
    from chipfit import runs

    path, _ = runs.store_path(obj.store)
    if not path.exists():
        click.echo(f"no runs saved yet (store: {path})")
        return
    with runs.open_store(obj.store) as store:
        headers, rows = runs.list_rows(store.runs(limit or None), machine=fmt in ("json", "csv"))
    _emit(_table(rows, headers, fmt), None)


@runs_group.command("show")
@click.argument("run_id", metavar="ID")
@click.option("--format", "fmt", help=_FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@click.pass_obj
def runs_show(obj: _Context, run_id: str, fmt: str | None, output: str | None) -> None:
    """Show a saved run's report (ID: its number, 'latest', or the start of its uid)."""
    from chipfit import runs

    renderer = _renderer(obj, fmt, output)
    with runs.open_store(obj.store) as store:
        run, report = store.run(run_id), store.report(run_id)
    text = _render(obj, renderer, report, output)
    _emit((runs.describe(run, store.path) if renderer.name == "text" else "") + text, output)


@runs_group.command("diff")
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@click.option("--threshold", default="5", show_default=True, help="Flag changes beyond this many percent.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def runs_diff(obj: _Context, first: str, second: str, threshold: str, fmt: str) -> None:
    """What changed from run A to run B: rows matched by group, device, workload, scenario and source."""
    from chipfit import runs

    fraction = runs.parse_threshold(threshold)
    with runs.open_store(obj.store) as store:
        (a, report_a), (b, report_b) = [(store.run(ident), store.report(ident)) for ident in (first, second)]
    diff = runs.diff_reports(report_a, report_b, threshold=fraction)
    if fmt == "json":
        _emit(json.dumps(runs.diff_dict(diff, a, b), indent=2) + "\n", None)
    else:
        _emit(runs.diff_text(diff, f"run {a.id}", f"run {b.id}"), None)


@runs_group.command("export")
@click.argument("run_ids", nargs=-1, metavar="[ID]...")
@click.option("-o", "--output", help="Write the JSON to this file.")
@click.pass_obj
def runs_export(obj: _Context, run_ids: tuple[str, ...], output: str | None) -> None:
    """Write saved runs (all, or those named) as JSON, for 'chipfit runs import' on another machine."""
    from chipfit import runs

    with runs.open_store(obj.store) as store:
        data = store.export(run_ids)
    _emit(json.dumps(data, indent=2) + "\n", output)


@runs_group.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE.json...")
@click.pass_obj
def runs_import(obj: _Context, files: tuple[str, ...]) -> None:
    """Add the runs of export files to the store; runs already here are skipped. Each file: all or nothing."""
    from chipfit import runs
    from chipfit.store import Store

    path, _ = runs.store_path(obj.store)
    with Store(path) as store:
        for file in files:
            added, skipped = store.import_runs(runs.read_export(file), where=file)
            ids = ", ".join(str(run.id) for run in added)
            click.echo(f"{file}: imported {len(added)} run(s){' as ' + ids if ids else ''}; "
                       f"{skipped} already here")


@cli.command("report")
@click.option("--runs", "from_runs", is_flag=True, help="Merge the saved runs named after it: --runs ID [ID ...].")
@click.argument("run_ids", nargs=-1, metavar="ID...")
@click.option("--title", help="The merged report's title.")
@click.option("--format", "fmt", help=_FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@click.pass_obj
def report_command(obj: _Context, from_runs: bool, run_ids: tuple[str, ...], title, fmt, output) -> None:
    """One report from saved runs (from several machines, through export and import): --runs ID [ID ...]."""
    from chipfit import runs

    if not from_runs or not run_ids:
        raise ChipfitError("report: name the saved runs to merge: chipfit report --runs ID [ID ...]")
    renderer = _renderer(obj, fmt, output)
    with runs.open_store(obj.store) as store:
        found = [(store.run(ident), store.report(ident)) for ident in run_ids]
    report = runs.merge(found, title=title)
    _emit(_render(obj, renderer, report, output), output)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="chipfit")
