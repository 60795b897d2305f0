"""``chipfit run``: run a comparison spec, recording it in the results store; the executor options
and the run-and-finish steps ``measure`` shares.
"""

from __future__ import annotations

import sys

import click

from chipfit.errors import ChipfitError
from chipfit.cli.app import Context, emit, FORMAT_HELP, render_report, pick_renderer, show_progress, cli
from chipfit.cli.options import filter_options


def executor_options(command):
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
                     "runs list', or latest: the latest run of this same spec, not the latest of any): its measured "
                     "rows are kept and only the cells it lacks run."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("spec_path", metavar="SPEC.toml")
@click.option("--format", "fmt", help=FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@executor_options
@filter_options
@click.pass_obj
def run(obj: Context, spec_path: str, fmt: str, output: str | None, where: str | None, sort_by: str | None,
        **where_to_run) -> None:
    """Run a comparison spec and print its report (the main job); the run is saved in the results store.

    --where and --sort choose the rows shown; the store keeps them all.
    """
    from chipfit import query, spec

    parsed, text = spec.load(spec_path)
    renderer = pick_renderer(obj, fmt, output)
    query.check(where, sort_by, obj.catalogue)  # a misspelt key fails before anything runs
    report, recorder = run_spec(obj, parsed, text=text, where=spec_path, command=command_line(),
                                 **where_to_run)
    finish(obj, renderer, report, output, recorder, where=where, sort=sort_by)


def command_line() -> str:
    """The command as it was typed (options included), for the run's record in ``chipfit runs list``.

    Rebuilt from click's context (what came from the command line, not defaults), so it is the same
    under ``python -m chipfit`` and in tests.
    """
    import shlex

    from click.core import ParameterSource

    chain, ctx = [], click.get_current_context(silent=True)
    while ctx is not None:
        chain.append(ctx)
        ctx = ctx.parent
    parts: list[str] = []
    for ctx in reversed(chain):
        parts.append("chipfit" if ctx.parent is None else str(ctx.info_name))
        options, arguments = [], []
        for param in ctx.command.params:
            if param.name not in ctx.params or ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
                continue
            value = ctx.params[param.name]
            values = list(value) if isinstance(value, (tuple, list)) else [value]
            if isinstance(param, click.Argument):
                arguments += [str(v) for v in values]
            elif getattr(param, "is_flag", False):
                options.append(max(param.opts if value else (param.secondary_opts or param.opts), key=len))
            else:
                for one in values:
                    options += [max(param.opts, key=len), str(one)]
        parts += options + arguments
    return " ".join(shlex.quote(part) for part in parts)


def run_spec(obj: Context, parsed, *, text: str = "", where: str, command: str, executor: str | None,
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
    name_place = spec_place(text, where, "executor") if parsed.executor and not executor else ""
    address_place = spec_place(text, where, "address") if parsed.address and not address else ""
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
        report = runner.run(parsed, obj.catalogue, obj.pm, text=text, where=where, progress=show_progress,
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


def spec_place(text: str, where: str, key: str) -> str:
    """``spec.toml, line N: key`` for a top-level key of a spec file (empty on the command line)."""
    from chipfit import tomlfile

    line = tomlfile.locate(text, [key]) if text else None
    return f"{where}, line {line}: {key}" if line else ""


def finish(obj: Context, renderer, report, output: str | None, recorder=None, *, where: str | None = None,
           sort: str | None = None) -> None:
    """Print or write the report (its rows chosen by ``where`` and ordered by ``sort``), finish its run in the
    store if recorded (every row); exit 130 if interrupted, 1 if cells failed."""
    from chipfit import query

    try:
        text = render_report(obj, renderer, query.select(report, where=where, sort=sort,
                                                         derived=obj.catalogue.metrics), output)
    except BaseException:
        if recorder is not None:
            recorder.finish(report)
        raise
    emit(text, output)
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
