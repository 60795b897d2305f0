"""A plugin's conformance problems: the error that lists them, and the decorator that turns a chipfit error
met during a check into one."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from chipfit.errors import ChipfitError


class ConformanceError(AssertionError):
    """A plugin fails one or more conformance checks: ``plugin`` names it, ``problems`` lists each."""

    def __init__(self, plugin: str, problems: Iterable[str]) -> None:
        self.plugin = plugin
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"plugin {plugin!r} fails {count} conformance check{'s' if count != 1 else ''}:\n{lines}")


def conformance_check(method):
    """A check: a chipfit error on the way (a record that fails validation …) is a problem, named."""

    @functools.wraps(method)
    def check(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except ChipfitError as error:
            raise ConformanceError(self.name, [str(error)]) from None

    return check


def first_problems(problems: list[str], limit: int = 30) -> list[str]:
    """At most ``limit`` problems (one bug repeats over many cells), with a count of the rest."""
    unique = list(dict.fromkeys(problems))
    if len(unique) <= limit:
        return unique
    return [*unique[:limit], f"... and {len(unique) - limit} more"]
