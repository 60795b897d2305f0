"""Shared fixtures: a plugin manager that sees only the in-tree plugins, the catalogue, a CLI runner.

Tests must not see plugins installed in the environment unless they mean to (as simonw/llm's
conftest does): every test runs with ``CHIPFIT_LOAD_PLUGINS`` set to the in-tree entry-point names
read from ``pyproject.toml``, and with the other plugin switches cleared.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import chipfit.catalogue
import chipfit.cli
import chipfit.plugins

#: The project file, found from this file (not from the working directory).
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _in_tree_plugins() -> list[str]:
    with open(PYPROJECT, "rb") as file:
        project = tomllib.load(file)["project"]
    return list(project["entry-points"]["chipfit"])


IN_TREE_PLUGINS = _in_tree_plugins()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """One cache folder for the session, so tests neither read nor fill the user's ~/.cache."""
    return tmp_path_factory.mktemp("chipfit-cache")


@pytest.fixture(scope="session", autouse=True)
def no_user_data(tmp_path_factory, cache_dir):
    """Data folder and cache of the session's own, set before any fixture of a wider scope than a test
    runs (the seed report is module-scoped): the suite never reads or writes the user's results store,
    data folder or cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHIPFIT_DATA_DIR", str(tmp_path_factory.mktemp("chipfit-session-data")))
        patch.setenv("CHIPFIT_CACHE_DIR", str(cache_dir))
        patch.delenv("CHIPFIT_STORE", raising=False)
        yield


@pytest.fixture(autouse=True)
def only_in_tree_plugins(monkeypatch, cache_dir, tmp_path_factory):
    """Load only the in-tree entry points; no autoload switch, strict mode or tracing left over.

    Calibration profiles go to a fresh data folder per test: no test sees the user's profile.
    """
    monkeypatch.setenv("CHIPFIT_LOAD_PLUGINS", ",".join(IN_TREE_PLUGINS))
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("CHIPFIT_DATA_DIR", str(tmp_path_factory.mktemp("chipfit-data")))
    for name in ("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD", "CHIPFIT_STRICT_PLUGINS", "CHIPFIT_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pm():
    """A plugin manager with the core defaults and the in-tree plugins."""
    return chipfit.plugins.get_plugin_manager()


@pytest.fixture
def catalogue(pm):
    """Every device, workload, metric and renderer the in-tree plugins register."""
    return chipfit.catalogue.collect(pm)


@pytest.fixture
def cli():
    """Run the ``chipfit`` command in-process; returns click's Result (exit_code, stdout, stderr).

    Exceptions are caught (not re-raised), so a test can check the exit code a user would see;
    :func:`support.assert_clean` checks that no Python exception escaped.
    """
    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(chipfit.cli.cli, [str(arg) for arg in args], **kwargs)

    return invoke


@pytest.fixture
def register_plugin():
    """Register a plugin object or module into a plugin manager; always unregistered afterwards.

    ``register_plugin(pm, plugin, name)`` returns the plugin; ``pm.check_pending()`` is run so a
    misspelt hook fails as it would when loaded for real.
    """
    registered = []

    def register(pm, plugin, name: str):
        pm.register(plugin, name=name)
        registered.append((pm, plugin))
        pm.check_pending()
        return plugin

    try:
        yield register
    finally:
        for pm, plugin in registered:
            if pm.is_registered(plugin):
                pm.unregister(plugin)


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """Write a plugin module into tmp_path and make it importable (for ``-p NAME``); returns its name.

    The module is dropped from ``sys.modules`` afterwards so the next test imports its own.
    """
    written = []
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        written.append(name)
        return name

    try:
        yield write
    finally:
        for name in written:
            sys.modules.pop(name, None)


@pytest.fixture
def write_spec(tmp_path):
    """Write a spec file (dedented) into tmp_path; returns its path."""

    def write(text: str, name: str = "spec.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
