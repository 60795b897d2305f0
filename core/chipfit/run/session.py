"""A run session: what ``chipfit run`` does, for a script too: plan, execute, record, resume.

A :class:`Session` holds the plugins, the catalogue and the results store. :meth:`Session.run` checks the
executor options, carries on an earlier run if asked (``resume``), records the run in the store as it
goes (its header, each row as it completes, the final report), opens the executor and always closes it,
and names the spec's line in an error about a spec key::

    from chipfit.run import Session

    session = Session(store="runs.sqlite")
    outcome = session.run_file("specs/seed-article.toml")
    outcome.report.rows, outcome.saved.id

The CLI calls nothing else: ``chipfit run`` and ``chipfit measure`` are a session, its report rendered.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from chipfit.errors import ChipfitError, UnknownIdError
from chipfit.records import Report, Source

if TYPE_CHECKING:
    import pluggy

    from chipfit.catalogue import Catalogue
    from chipfit.executors import Executor
    from chipfit.run.plan import Plan
    from chipfit.run.record import Recorder
    from chipfit.spec import Spec
    from chipfit.store import StoredRun


def _warn(message: str) -> None:
    """A script's default warning: Python's (the CLI prints ``chipfit: warning: ...`` instead)."""
    warnings.warn(f"chipfit: {message}", RuntimeWarning, stacklevel=4)


@attrs.define(eq=False)
class Outcome:
    """A session's run: its report, and its record in the store once :meth:`finish` has saved it."""

    report: Report
    recorder: Recorder | None = None
    saved: StoredRun | None = None
    _finished: bool = False

    @property
    def store(self) -> Path | None:
        """The results store the run is recorded in (None: not recorded)."""
        return None if self.recorder is None else self.recorder.path

    def finish(self) -> StoredRun | None:
        """Save the final report over the rows kept as they came (once; later calls return the same run).

        :raises ChipfitError: a store the caller chose failed while the run ran (the report is made by then).
        """
        if not self._finished and self.recorder is not None:
            self._finished = True
            self.saved = self.recorder.finish(self.report)
        return self.saved


class Session:
    """Runs of comparison specs against one set of plugins, recorded in one results store.

    :param pm: the plugin manager (default: :func:`chipfit.plugins.get_plugin_manager`, every installed plugin).
    :param catalogue: the plugins' catalogue (default: collected from ``pm``).
    :param store: the results store (default: ``$CHIPFIT_STORE``, else the user's data folder), as ``--store``.
    :param record: False runs without the store (no run saved, none resumable).
    :param warn: told of trouble that does not stop a run (a store that fails, an executor that fails to close).
    :param progress: told when a long step begins (measuring a cell).
    """

    def __init__(self, pm: pluggy.PluginManager | None = None, catalogue: Catalogue | None = None, *,
                 store: str | Path | None = None, record: bool = True, warn: Callable[[str], None] | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self._pm = pm
        self._catalogue = catalogue
        self.store = None if store is None else str(store)
        self.record = record
        self.warn = warn or _warn
        self.progress = progress

    @property
    def pm(self) -> pluggy.PluginManager:
        """The plugin manager (loaded on first use where none was given)."""
        if self._pm is None:
            from chipfit.plugins import get_plugin_manager

            self._pm = get_plugin_manager()
        return self._pm

    @property
    def catalogue(self) -> Catalogue:
        """Every device, workload, metric, renderer and executor the plugins registered."""
        if self._catalogue is None:
            from chipfit.catalogue import collect

            self._catalogue = collect(self.pm, warn=self.warn)
        return self._catalogue

    def plan(self, spec: Spec, *, text: str = "", where: str = "", executor: Executor | None = None) -> Plan:
        """Resolve a spec's cells and claims without running anything (:func:`chipfit.run.plan.plan`).

        :raises UnknownIdError: a device or workload id no plugin registered, naming the file, line and key.
        """
        from chipfit.run.plan import plan

        return plan(spec, self.catalogue, self.pm, executor=executor, text=text, where=where)

    def run_file(self, path: str | Path, **options) -> Outcome:
        """Load a spec file and :meth:`run` it (errors name the file and line)."""
        from chipfit import spec

        parsed, text = spec.load(path)
        return self.run(parsed, text=text, where=str(path), **options)

    def run(self, spec: Spec, *, finish: bool = True, **options) -> Outcome:
        """Run a spec (see :meth:`start`) and, unless ``finish`` is False, save its final report in the store.

        :raises ChipfitError: bad input (an unknown id, a bad executor option, a run that cannot resume),
            naming where it is; a store the caller chose that failed.
        """
        outcome = self.start(spec, **options)
        if finish:
            outcome.finish()
        return outcome

    def start(self, spec: Spec, *, text: str = "", where: str = "", command: str = "",
              executor: str | None = None, address: str | None = None, cell_timeout: float | None = None,
              resume: str | None = None) -> Outcome:
        """Run a spec with its executor, recording the run as it goes; the report made, not yet finished in the store.

        :param text: the spec's TOML text and ``where`` its file, so an error names the line.
        :param command: what the store's list of runs says made this run.
        :param executor: where measured cells run (a registered executor's name; default: the spec's, else local).
        :param address: the cluster the executor joins (default: the spec's).
        :param cell_timeout: seconds a measured cell may take once sent (the executor's default where None).
        :param resume: an earlier run of the same spec to carry on (an id, or ``latest``): its measured rows
            are kept and only the cells it lacks run.
        """
        from chipfit import tomlfile
        from chipfit.executors import ExecutorOptions, open_executor

        if cell_timeout is not None and not cell_timeout > 0:
            raise ChipfitError(f"--cell-timeout must be > 0 seconds, got {cell_timeout:g}")
        name = executor or spec.executor
        spec_dict = tomlfile.unstructure(spec)
        earlier, done = self._resumed(resume, spec_dict)
        recorder = self._recorder(spec, spec_dict, command=command, resume=earlier, keep=done)
        options = ExecutorOptions(address=address or spec.address, cell_timeout_s=cell_timeout)
        name_place = spec_place(text, where, "executor") if spec.executor and not executor else ""
        address_place = spec_place(text, where, "address") if spec.address and not address else ""
        try:
            if not spec.measure:  # nothing to send anywhere: check the name, start nothing
                if name and name not in self.catalogue.executors:
                    open_executor(name, self.pm, self.catalogue, options, where=name_place)
                opened = None
            else:
                opened = open_executor(name, self.pm, self.catalogue, options, where=name_place)
        except BaseException as error:
            if recorder is not None:
                recorder.close()
            if address_place and isinstance(error, ChipfitError) and not isinstance(error, UnknownIdError):
                raise ChipfitError(f"{address_place}: {error}") from None  # an address from the spec: say where
            raise
        try:
            report = self._execute(spec, text=text, where=where, executor=opened, recorder=recorder, done=done)
        except BaseException:
            if recorder is not None:
                recorder.close()
            raise
        finally:
            if opened is not None:
                self._close(opened)
        return Outcome(report, recorder)

    def _execute(self, spec: Spec, *, text: str, where: str, executor: Executor | None, recorder: Recorder | None,
                 done: list) -> Report:
        """Plan the spec, then execute the plan (:func:`chipfit.runner.run`), each new row to the recorder."""
        from chipfit import runner

        return runner.run(spec, self.catalogue, self.pm, text=text, where=where, progress=self.progress,
                          executor=executor, on_row=None if recorder is None else recorder.row, done=done)

    def _resumed(self, resume: str | None, spec_dict: dict) -> tuple[StoredRun | None, list]:
        """The earlier run to carry on and its ok measured rows (none where not resuming)."""
        from chipfit.run.record import open_store, resumable

        if not resume:
            return None, []
        with open_store(self.store) as store:
            earlier, report = resumable(store, resume, spec_dict)
        return earlier, [row for row in report.rows if row.source is Source.MEASURED and row.ok]

    def _recorder(self, spec: Spec, spec_dict: dict, *, command: str, resume: StoredRun | None,
                  keep: list) -> Recorder | None:
        """The run's recorder, begun (a store the caller chose that cannot be opened stops the run here)."""
        from chipfit.run.environment import environment
        from chipfit.run.record import Recorder, store_path

        if not self.record:
            return None
        path, chosen = store_path(self.store)
        recorder = Recorder(path, chosen=chosen, warn=self.warn)
        header = Report(title=spec.title, rows=(), description=spec.description, baseline=spec.baseline,
                        spec=spec_dict, environment=environment(self.pm),
                        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
        recorder.begin(header, command=command, resume=resume, keep=keep)
        return recorder

    def _close(self, executor: Executor) -> None:
        """Close an executor; one that fails to is a warning (the rows are in: a clean-up must not lose them)."""
        try:
            executor.close()
        except Exception as error:  # noqa: BLE001
            self.warn(f"executor {executor.name!r} failed to close: {type(error).__name__}: {error}")


def spec_place(text: str, where: str, key: str) -> str:
    """``spec.toml, line N: key`` for a top-level key of a spec file (empty on the command line)."""
    from chipfit import tomlfile

    line = tomlfile.locate(text, [key]) if text else None
    return f"{where}, line {line}: {key}" if line else ""
