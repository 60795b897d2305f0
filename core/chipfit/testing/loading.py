"""Loading one plugin as chipfit does, strictly, and pluggy's messages about a misspelt argument made helpful."""

from __future__ import annotations

import contextlib
import inspect
import os
import re
from collections.abc import Iterator

from chipfit.errors import suggest

_SWITCHES = ("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD", "CHIPFIT_LOAD_PLUGINS", "CHIPFIT_STRICT_PLUGINS")


@contextlib.contextmanager
def loading_only(names: list[str]) -> Iterator[None]:
    """Load only these entry points, strictly (a failed import is an error, not a warning)."""
    saved = {name: os.environ.get(name) for name in _SWITCHES}
    try:
        os.environ.pop("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD", None)
        os.environ["CHIPFIT_LOAD_PLUGINS"] = ",".join(names)
        os.environ["CHIPFIT_STRICT_PLUGINS"] = "1"
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def argument_hint(message: str, hook_specs: dict[str, list[str]]) -> str:
    """A 'did you mean' for pluggy's message about an argument the hook spec does not have."""
    hook = re.search(r"for hook '(\w+)'", message)
    names = re.search(r"Argument\(s\) \{([^}]*)\}", message)
    if not hook or not names or hook.group(1) not in hook_specs:
        return ""
    hints = []
    for name in re.findall(r"'(\w+)'", names.group(1)):
        close = suggest(name, hook_specs[hook.group(1)])
        hints.append(f"{name!r}: did you mean {close[0]!r}?" if close else
                     f"{name!r} is not an argument of {hook.group(1)} ({', '.join(hook_specs[hook.group(1)])})")
    return " (" + "; ".join(hints) + ")"


def hook_specs() -> dict[str, list[str]]:
    from chipfit import hookspecs

    return {name: list(inspect.signature(function).parameters)
            for name, function in vars(hookspecs).items() if name.startswith("chipfit_") and callable(function)}
