"""``python -m chipfit``: the same as the ``chipfit`` command."""

from chipfit.cli import main

main()
