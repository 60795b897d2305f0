"""Saved runs: ``chipfit runs list|show|diff|export|import`` and ``chipfit report --runs``.
"""

from __future__ import annotations

import json

import click

from chipfit.errors import ChipfitError
from chipfit.cli.app import Context, emit, table, LIST_FORMATS, FORMAT_HELP, render_report, pick_renderer, cli
from chipfit.cli.options import filter_options


@cli.group("runs")
def runs_group() -> None:
    """Saved runs: every 'chipfit run' and 'chipfit measure' is kept in the results store (see --store)."""


@runs_group.command("list")
@click.option("--limit", type=int, default=20, show_default=True, help="Newest runs to show (0: all).")
@click.option("--format", "fmt", type=LIST_FORMATS, default="text", show_default=True)
@click.pass_obj
def runs_list(obj: Context, limit: int, fmt: str) -> None:
    """List saved runs, newest first: id, when, what made them, where."""
    from chipfit import runs

    path, _ = runs.store_path(obj.store)
    if not path.exists():
        click.echo(f"no runs saved yet (store: {path})")
        return
    with runs.open_store(obj.store) as store:
        headers, rows = runs.list_rows(store.runs(limit or None), machine=fmt in ("json", "csv"))
    emit(table(rows, headers, fmt), None)


@runs_group.command("show")
@click.argument("run_id", metavar="ID")
@click.option("--format", "fmt", help=FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@filter_options
@click.pass_obj
def runs_show(obj: Context, run_id: str, fmt: str | None, output: str | None, where: str | None,
              sort_by: str | None) -> None:
    """Show a saved run's report (ID: its number, 'latest', or the start of its uid); --where and --sort choose
    and order its rows."""
    from chipfit import query, runs

    renderer = pick_renderer(obj, fmt, output)
    with runs.open_store(obj.store) as store:
        run, report = store.run(run_id), store.report(run_id)
    report = query.select(report, where=where, sort=sort_by, derived=obj.catalogue.metrics)
    text = render_report(obj, renderer, report, output)
    emit((runs.describe(run, store.path) if renderer.name == "text" else "") + text, output)


@runs_group.command("diff")
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@click.option("--threshold", default="5", show_default=True, help="Flag changes beyond this many percent.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def runs_diff(obj: Context, first: str, second: str, threshold: str, fmt: str) -> None:
    """What changed from run A to run B: rows matched by group, device, workload, scenario and source."""
    from chipfit import runs

    fraction = runs.parse_threshold(threshold)
    with runs.open_store(obj.store) as store:
        (a, report_a), (b, report_b) = [(store.run(ident), store.report(ident)) for ident in (first, second)]
    diff = runs.diff_reports(report_a, report_b, threshold=fraction)
    if fmt == "json":
        emit(json.dumps(runs.diff_dict(diff, a, b), indent=2) + "\n", None)
    else:
        emit(runs.diff_text(diff, f"run {a.id}", f"run {b.id}"), None)


@runs_group.command("export")
@click.argument("run_ids", nargs=-1, metavar="[ID]...")
@click.option("-o", "--output", help="Write the JSON to this file.")
@click.pass_obj
def runs_export(obj: Context, run_ids: tuple[str, ...], output: str | None) -> None:
    """Write saved runs (all, or those named) as JSON, for 'chipfit runs import' on another machine."""
    from chipfit import runs

    with runs.open_store(obj.store) as store:
        data = store.export(run_ids)
    emit(json.dumps(data, indent=2) + "\n", output)


@runs_group.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE.json...")
@click.pass_obj
def runs_import(obj: Context, files: tuple[str, ...]) -> None:
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
@click.option("--format", "fmt", help=FORMAT_HELP)
@click.option("-o", "--output", help="Write the report to this file.")
@click.pass_obj
def report_command(obj: Context, from_runs: bool, run_ids: tuple[str, ...], title, fmt, output) -> None:
    """One report from saved runs (from several machines, through export and import): --runs ID [ID ...]."""
    from chipfit import runs

    if not from_runs or not run_ids:
        raise ChipfitError("report: name the saved runs to merge: chipfit report --runs ID [ID ...]")
    renderer = pick_renderer(obj, fmt, output)
    with runs.open_store(obj.store) as store:
        found = [(store.run(ident), store.report(ident)) for ident in run_ids]
    report = runs.merge(found, title=title)
    emit(render_report(obj, renderer, report, output), output)
