"""Progress of a long job on stderr (measuring cells, calibrating): a spinner and each step's time."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """Progress of a long job on stderr, one step per message: a spinner and each step's time (rich).

    Silent when ``enabled`` is false (``--quiet``, or stderr is not a terminal); rich is imported
    only when there is something to show. Call with a message to start a step (finishing the one
    before); :meth:`stop` finishes the last.
    """

    def __init__(self, enabled: bool, *, console: Any = None) -> None:
        self.enabled = enabled
        self._console = console
        self._live = None
        self._task = None

    @classmethod
    def for_stream(cls, stream: TextIO | None = None, *, quiet: bool = False) -> Progress:
        """Progress that shows only on a terminal, and never when ``quiet``."""
        stream = sys.stderr if stream is None else stream
        isatty = getattr(stream, "isatty", None)
        return cls(not quiet and bool(isatty and isatty()))

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        if self._live is None:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            console = self._console or Console(stderr=True)
            self._live = RichProgress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
                                      TimeElapsedColumn(), console=console, transient=False)
            self._live.start()
        self._finish_step()
        self._task = self._live.add_task(message, total=1)

    def _finish_step(self) -> None:
        if self._task is not None:
            self._live.update(self._task, completed=1)
            self._task = None

    def stop(self) -> None:
        """Finish the last step and stop drawing (before the report is printed)."""
        if self._live is not None:
            self._finish_step()
            self._live.stop()
            self._live = None
