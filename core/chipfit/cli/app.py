"""The ``chipfit`` group, the context its commands share (plugin manager, catalogue, progress) and
the output helpers every command uses (tables, reports, formats).

Exit codes: 0 success; 1 the report holds failed rows; 2 bad input (the message names the file,
line, field or plugin; no traceback).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from chipfit.errors import ChipfitError, PluginError


#: Plugin selection options shared by every command (``-p`` may repeat).
_PLUGIN_HELP = "Load one more plugin module (repeatable); -p no:NAME blocks a plugin."


class Context:
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

            self._catalogue = collect(self.pm, warn=lambda message: click.echo(f"chipfit: warning: {message}",
                                                                              err=True))
        return self._catalogue


class ChipfitGroup(click.Group):
    """A click group that turns chipfit's bad-input errors into a message and exit status 2, and that
    adds the commands plugins register (``chipfit_register_commands``) to its own."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ChipfitError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(2)

    def _context(self, ctx: click.Context) -> Context:
        """The command line's shared :class:`Context`, made from the options parsed so far (``-p``)."""
        root = ctx.find_root()
        if not isinstance(root.obj, Context):
            params = root.params or {}
            root.obj = Context(tuple(params.get("plugin_args") or ()), store=params.get("store"),
                               quiet=bool(params.get("quiet")))
        return root.obj

    def plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        """The commands plugins register, by name (asked of the plugins once per command line)."""
        root = ctx.find_root()
        if "chipfit.plugin_commands" not in root.meta:
            root.meta["chipfit.plugin_commands"] = {}  # set first: a plugin command listing commands finds it
            root.meta["chipfit.plugin_commands"] = registered_commands(self._context(ctx).pm, set(self.commands))
        return root.meta["chipfit.plugin_commands"]

    def get_command(self, ctx: click.Context, cmd_name: str):
        """chipfit's own command, else a plugin's."""
        return super().get_command(ctx, cmd_name) or self.plugin_commands(ctx).get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """chipfit's commands and the plugins' (a plugin that fails here is a warning: --help still shows)."""
        try:
            extra = self.plugin_commands(ctx)
        except ChipfitError as error:
            click.echo(f"chipfit: warning: {error}", err=True)
            extra = {}
        return sorted({*super().list_commands(ctx), *extra})


def registered_commands(pm, taken: set[str]) -> dict[str, click.Command]:
    """Ask each plugin's ``chipfit_register_commands`` for its commands, through pluggy, one plugin at a time
    (so a name clash or an error names the plugin); ``taken`` are chipfit's own command names."""
    caller = pm.hook.chipfit_register_commands
    impls = caller.get_hookimpls()
    found: dict[str, tuple[click.Command, str]] = {}
    for impl in impls:
        group = click.Group(impl.plugin_name)
        others = [other.plugin for other in impls if other.plugin is not impl.plugin]
        try:
            pm.subset_hook_caller("chipfit_register_commands", remove_plugins=others)(cli=group)
        except Exception as error:  # noqa: BLE001 - a plugin's bug, named
            raise PluginError(f"plugin {impl.plugin_name!r} raised in chipfit_register_commands: "
                              f"{type(error).__name__}: {error}") from None
        for name, command in group.commands.items():
            if name in taken:
                raise PluginError(f"plugin {impl.plugin_name!r} registers a command {name!r}, which is chipfit's own")
            if name in found:
                raise PluginError(f"plugins {found[name][1]!r} and {impl.plugin_name!r} both register a command {name!r}")
            found[name] = (command, impl.plugin_name)
    return {name: command for name, (command, _) in found.items()}


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
    from chipfit.hookcall import watch_ctrl_c

    watch_ctrl_c()  # a plugin raising KeyboardInterrupt fails its cells; a real Ctrl-C stops the run
    if not isinstance(ctx.obj, Context):  # made already where a plugin's command was looked up
        ctx.obj = Context(plugin_args, store=store, quiet=quiet)
    ctx.call_on_close(ctx.obj.stop_progress)


def emit(text: str, output: str | None) -> None:
    """Print TEXT, or write it to the file OUTPUT (a note on stderr says so); progress stops first."""
    context = click.get_current_context(silent=True)
    if context is not None and isinstance(context.obj, Context):
        context.obj.stop_progress()
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise ChipfitError(f"{output}: cannot write report: {error.strerror}") from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def table(rows: list[list], headers: list[str], fmt: str) -> str:
    """ROWS under HEADERS as text, markdown, csv or json (one of LIST_FORMATS)."""
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


def parse_dims(pairs: tuple[str, ...]) -> dict[str, int]:
    """``--dim NAME=VALUE`` options as a mapping; bad input names the option."""
    dims = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        # isdigit() is true of '²', which int() refuses: only the digits 0-9
        if not name or not re.fullmatch(r"[0-9]+", value) or int(value) <= 0:
            raise ChipfitError(f"--dim {pair!r}: expected NAME=POSITIVE_INTEGER")
        dims[name] = int(value)
    return dims


def checked_budget(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A ``--budget`` option's seconds, refused unless finite and above zero (see :func:`chipfit.spec.budget_problem`)."""
    from chipfit.spec import budget_problem

    if problem := budget_problem(value):
        raise click.BadParameter(problem, param=param)
    return value


#: The formats of listings (devices, workloads, plugins, runs list).
LIST_FORMATS = click.Choice(["text", "markdown", "csv", "json"])

#: The help of --format on commands that print a report.
FORMAT_HELP = ("Report format: text, markdown, csv, json, html, or one a plugin adds (default: the one "
                "-o's file extension names, else text).")


def render_report(obj: Context, renderer, report, output: str | None = None) -> str:
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


def pick_renderer(obj: Context, fmt: str | None, output: str | None = None):
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


def show_progress(message: str) -> None:
    """A long step begins (measuring a cell, calibrating): shown on a terminal, unless --quiet."""
    click.get_current_context().find_object(Context).progress(message)
