"""The errors chipfit shows to users: each names the file, line, field or plugin at fault."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ChipfitError(Exception):
    """Bad input from a user or a plugin: the CLI prints the message and exits with status 2."""


class SpecError(ChipfitError):
    """A comparison spec (or data file) that cannot be read: names the file, line and key."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: tuple[str | int, ...] = ()) -> None:
        self.path = path
        self.line = line
        self.detail = message  # the message without its "file, line N:" prefix
        self.key = key  # where in the data the problem is (``("result", 3, "value")``), when known
        where = path or "<spec>"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {message}")


class PluginError(ChipfitError):
    """A plugin that failed to load, raised, or gave a malformed or duplicate record."""


class UnknownIdError(ChipfitError):
    """A device or workload id that no plugin registered: suggests the closest known ids."""

    def __init__(self, what: str, ident: str, known: Iterable[str], *, where: str = "") -> None:
        self.ident = ident
        self.suggestions = suggest(ident, known)
        broken = _broken_datasheet(ident) if what == "device" else None
        if broken is not None:  # the plugin that has it could not read its file: say so, not "unknown"
            self.suggestions = []
            message = f"device {ident!r} is unavailable: {broken}"
            super().__init__(f"{where}: {message}" if where else message)
            return
        message = f"unknown {what} {ident!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        else:
            message += f" (see 'chipfit {what}s')"
        super().__init__(f"{where}: {message}" if where else message)


def _broken_datasheet(ident: str):
    from chipfit.datasheets import unavailable  # imported here: errors is imported by everything

    return unavailable(ident)


def suggest(word: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """The known names closest to a misspelt one, best first."""
    known = list(known)
    close = difflib.get_close_matches(word, known, n=limit, cutoff=0.5)
    if not close:
        close = [name for name in known if word and (word in name or name in word)][:limit]
    return close
