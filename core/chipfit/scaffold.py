"""``chipfit new-plugin NAME``: the skeleton of a plugin package, ready to install, test and publish.

Two flavours: ``device`` (a vendor's cited datasheet file and the hook that registers it) and
``workload`` (a workload built in Python, its counts derived). Either comes with a ``pyproject.toml``
declaring the entry point, a README, and tests that run chipfit's conformance kit
(:mod:`chipfit.testing`). The generated tests pass as written; the placeholder figures are marked
``unconfirmed`` until the author replaces them with cited ones.
"""

from __future__ import annotations

import re
import string
from importlib import metadata, resources
from pathlib import Path

from chipfit.errors import ChipfitError
from chipfit.hookspecs import API_VERSION

FLAVOURS = ("device", "workload")

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_PLACEHOLDER = ("Placeholder written by chipfit new-plugin: replace with your datasheet's figure and cite it "
                "(document, revision, page or URL)")


def names(name: str) -> dict[str, str]:
    """The names a plugin called NAME goes by: entry point, module, distribution, vendor, record ids.

    :raises ChipfitError: NAME is not lowercase letters and digits, optionally joined by - or _.
    """
    name = re.sub(r"^chipfit[-_]", "", name.strip())
    if not _NAME.match(name):
        raise ChipfitError(f"plugin name {name!r}: use lowercase letters and digits, optionally joined by - or _ "
                           "(e.g. acme, big-chip)")
    words = re.split(r"[-_]", name)
    vendor = " ".join(word.capitalize() for word in words)
    slug = "-".join(words)
    return {
        "name": name,
        "module": "chipfit_" + "_".join(words),
        "distribution": "chipfit-" + slug,
        "vendor": vendor,
        "device_id": f"{slug}-npu-1",
        "workload_id": f"{slug}-mlp",
    }


def _template(filename: str) -> string.Template:
    return string.Template((resources.files("chipfit") / "templates" / "plugin" / filename).read_text(encoding="utf-8"))


def new_plugin(name: str, *, flavour: str = "device", directory: str | Path | None = None) -> tuple[Path, list[Path]]:
    """Write a plugin project; return its folder and the files written.

    :param name: the plugin's name (``acme``): entry point ``acme``, module ``chipfit_acme``,
        distribution ``chipfit-acme``.
    :param flavour: ``device`` or ``workload``.
    :param directory: where to write it (default: ``./chipfit-NAME``); it must not exist or be empty.
    :raises ChipfitError: a bad name or flavour, or a folder that already holds files.
    """
    if flavour not in FLAVOURS:
        raise ChipfitError(f"unknown flavour {flavour!r} (known: {', '.join(FLAVOURS)})")
    values = names(name)
    root = Path(directory) if directory is not None else Path.cwd() / values["distribution"]
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ChipfitError(f"{root}: already exists and is not an empty folder; choose another with --directory")
    major = int(API_VERSION.split(".")[0])
    try:
        chipfit_version = metadata.version("chipfit")
    except metadata.PackageNotFoundError:
        chipfit_version = "0.1"
    device = flavour == "device"
    values.update(
        flavour=flavour,
        api_range=f">={API_VERSION},<{major + 1}",
        chipfit_version=chipfit_version,
        placeholder=_PLACEHOLDER,
        description=f"{values['vendor']} {'devices' if device else 'workloads'} for chipfit",
        try_it=(f"chipfit devices --vendor {values['vendor'].replace(' ', '')}   # {values['device_id']} "
                "(placeholder figures, marked *)" if device else f"chipfit inspect {values['workload_id']}"),
        next_steps=("Next: put your device's figures in `src/{module}/devices.toml`, each with its source, and "
                    "take them out of `unconfirmed` once a primary document confirms them."
                    if device else "Next: replace the example perceptron in `src/{module}/__init__.py` with your "
                    "workloads, each count cited or derived.").format(module=values["module"]),
    )
    package = root / "src" / values["module"]
    files = {
        root / "pyproject.toml": "pyproject.toml.tmpl",
        root / "README.md": "README.md.tmpl",
        package / "__init__.py": f"{flavour}__init__.py.tmpl",
        root / "tests" / f"test_{values['module']}.py": f"test_{flavour}.py.tmpl",
    }
    if device:
        files[package / "devices.toml"] = "devices.toml.tmpl"
    written = []
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_template(template).substitute(values), encoding="utf-8")
        written.append(path)
    return root, written


def next_steps(root: Path, name: str) -> list[str]:
    """What to type after ``chipfit new-plugin``."""
    return [
        "next:",
        f"  cd {root}",
        "  pip install -e '.[test]'",
        "  pytest",
        f"  chipfit plugins          # lists {names(name)['name']!r}",
    ]
