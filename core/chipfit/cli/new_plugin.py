"""``chipfit new-plugin``: write a plugin package to start from.
"""

from __future__ import annotations


import click

from chipfit.cli.app import cli


@cli.command("new-plugin")
@click.argument("name")
@click.option("--flavour", type=click.Choice(["device", "workload"]), default="device", show_default=True,
              help="device: a cited datasheet file and its hook; workload: a workload built in Python.")
@click.option("-d", "--directory", type=click.Path(file_okay=False),
              help="Where to write it (default: ./chipfit-NAME).")
def new_plugin(name: str, flavour: str, directory: str | None) -> None:
    """Write a plugin package NAME: pyproject.toml (entry point), the module, and tests using chipfit.testing."""
    from chipfit import scaffold

    root, written = scaffold.new_plugin(name, flavour=flavour, directory=directory)
    click.echo(f"wrote {root}:")
    for path in written:
        click.echo(f"  {path.relative_to(root)}")
    click.echo("\n".join(scaffold.next_steps(root, name)))
