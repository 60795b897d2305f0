"""A plugin project made importable with its entry points without pip (for test suites that cannot install)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path


def make_importable(project: str | Path, site: str | Path) -> list[Path]:
    """Make a plugin project importable with its entry points, as ``pip install -e`` would, without pip.

    Writes ``NAME-VERSION.dist-info`` (METADATA and entry_points.txt, from the project's
    ``pyproject.toml``) into ``site`` and returns the folders to put on ``sys.path`` (or
    ``PYTHONPATH``): ``site`` and the folder holding the project's packages (``src/`` if it has one).
    For test suites that cannot install (chipfit's own runs the example plugin this way).
    """
    project, site = Path(project), Path(site)
    with open(project / "pyproject.toml", "rb") as file:
        table = tomllib.load(file)["project"]
    name, version = table["name"], table.get("version", "0")
    info = site / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    groups = table.get("entry-points", {})
    lines = []
    for group, entries in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    packages = project / "src" if (project / "src").is_dir() else project
    return [site, packages]
