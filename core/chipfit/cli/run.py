"""``chipfit run``: run a comparison spec in a run session (:class:`chipfit.run.Session`, which records it in
the results store); the executor options and the run-and-finish steps ``measure`` and ``estimate`` share.
"""

from __future__ import annotations

import sys

import click

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
    outcome = run_spec(obj, parsed, text=text, where=spec_path, command=command_line(), **where_to_run)
    finish(obj, renderer, outcome.report, output, outcome, where=where, sort=sort_by)


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


def run_spec(obj: Context, parsed, *, text: str = "", where: str, command: str, **where_to_run):
    """Run a spec in a :class:`chipfit.run.Session` (recorded in the store as it goes); its outcome, not yet
    finished in the store (:func:`finish` does that once the report is out)."""
    return session(obj).start(parsed, text=text, where=where, command=command, **where_to_run)


def session(obj: Context, *, record: bool = True):
    """The command line's run session: its plugins, its store, warnings and progress on stderr."""
    from chipfit.run.session import Session

    return Session(obj.pm, obj.catalogue, store=obj.store, record=record, progress=show_progress,
                   warn=lambda message: click.echo(f"chipfit: warning: {message}", err=True))


def finish(obj: Context, renderer, report, output: str | None, outcome=None, *, where: str | None = None,
           sort: str | None = None) -> None:
    """Print or write the report (its rows chosen by ``where`` and ordered by ``sort``), finish its run in the
    store if recorded (every row; ``outcome`` is the session's); exit 130 if interrupted, 1 if cells failed."""
    from chipfit import query

    try:
        text = render_report(obj, renderer, query.select(report, where=where, sort=sort,
                                                         derived=obj.catalogue.metrics), output)
    except BaseException:
        if outcome is not None:
            outcome.finish()
        raise
    emit(text, output)
    if outcome is not None:
        saved = outcome.finish()
        if saved is not None and obj.progress.enabled:  # a note for a person at a terminal; scripts read `runs list`
            click.echo(f"chipfit: saved as run {saved.id} in {outcome.store} (chipfit runs show {saved.id})", err=True)
    if report.interrupted:
        click.echo("chipfit: interrupted; the report holds the rows finished before it", err=True)
        sys.exit(130)
    if report.failed:
        click.echo(f"chipfit: {len(report.failed)} cell(s) failed", err=True)
        sys.exit(1)
