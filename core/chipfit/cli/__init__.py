"""The ``chipfit`` command line: a package of commands that call the library.

Exit codes: 0 success; 1 the report holds failed rows; 2 bad input (the message names the file,
line, field or plugin; no traceback).

One module per group of commands; each adds its commands to the group :data:`cli` of
:mod:`chipfit.cli.app` (which also holds the shared context and output helpers):

- :mod:`~chipfit.cli.catalogue`: ``plugins``, ``devices``, ``show``, ``check``, ``workloads``, ``inspect``
- :mod:`~chipfit.cli.estimate`: ``estimate``
- :mod:`~chipfit.cli.fit`: ``fit``
- :mod:`~chipfit.cli.run`: ``run`` (and the run-and-record steps ``measure`` shares)
- :mod:`~chipfit.cli.measure`: ``measure``, ``node-resources``
- :mod:`~chipfit.cli.calibration`: ``validate`` (``calibrate`` comes from the localhost plugin, through ``chipfit_register_commands``)
- :mod:`~chipfit.cli.new_plugin`: ``new-plugin``
- :mod:`~chipfit.cli.runs`: ``runs list|show|diff|export|import``, ``report``

Command modules import heavy libraries inside their commands, so ``chipfit --help`` stays light.
"""

from __future__ import annotations

from chipfit.cli import calibration, catalogue, estimate, fit, measure, new_plugin, run, runs
from chipfit.cli.app import cli

#: The modules that add commands to :data:`cli` (imported for that).
COMMAND_MODULES = (calibration, catalogue, estimate, fit, measure, new_plugin, run, runs)

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="chipfit")
