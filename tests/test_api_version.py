"""The plugin API version: ``chipfit.hookspecs.API_VERSION``, a plugin's ``CHIPFIT_API`` range, and
the message naming a plugin made for another version."""

from __future__ import annotations

import importlib
import json
import re
import sys

import pytest

from chipfit import hookspecs
from chipfit.plugins import api_mismatch, api_supported, get_plugin_manager
from chipfit.testing import ConformanceError, PluginTester, make_importable
from support import assert_bad_input, assert_clean

from conftest import IN_TREE_PLUGINS

MAJOR = int(hookspecs.API_VERSION.split(".")[0])
TOO_NEW = f">={MAJOR + 1}.0"

PLUGIN = """
import chipfit
from chipfit import Operator, Workload

CHIPFIT_API = {declared!r}


@chipfit.hookimpl
def chipfit_register_workloads(register):
    register(Workload(id="versioned-net", name="Versioned net", domain="test", phase="inference",
                      operators=(Operator("MatMul", 2e6, weight_bytes=4e6),), parameters=1e6,
                      derivations={{"ops_per_sample": "2 x 1e6"}}))
"""


def test_api_version_is_major_dot_minor():
    assert re.fullmatch(r"\d+\.\d+", hookspecs.API_VERSION)


@pytest.mark.parametrize(("declared", "version", "supported"), [
    (">=1.0,<2", "1.0", True),
    (">=1.0,<2", "1.7", True),
    (">=1.0,<2", "2.0", False),
    (">=1.2", "1.1", False),
    (">1.0", "1.0", False),
    ("<=1.0", "1.0", True),
    ("==1.0", "1.0", True),
    ("==1", "1.0", True),
    ("!=1.0", "1.0", False),
    ("~=1.2", "1.5", True),
    ("~=1.2", "1.1", False),
    ("~=1.2", "2.0", False),
    ("1", "1.9", True),
    ("1", "2.0", False),
    (1, "1.3", True),
    (2, "1.3", False),
    (" >= 1.0 , < 2 ", "1.0", True),
])
def test_declared_ranges(declared, version, supported):
    assert api_supported(declared, version) is supported


@pytest.mark.parametrize("declared", ["one", "", ">=", "1.0 or 2", ">=1.0;<2", "1.x", None, True, 1.0, [">=1"]])
def test_malformed_ranges_are_refused(declared):
    with pytest.raises(ValueError, match="not a version range"):
        api_supported(declared)


def test_undeclared_and_matching_ranges_load(plugin_module, cli):
    for name, declared in (("versioned_ok", f">={hookspecs.API_VERSION},<{MAJOR + 1}"), ("versioned_int", MAJOR)):
        plugin_module(name, PLUGIN.format(declared=declared))
        result = cli("-p", name, "plugins", "--format", "json")
        assert_clean(result)
        assert name in {row["name"] for row in json.loads(result.stdout)}
    assert api_mismatch(object()) is None  # nothing declared: loaded everywhere


def test_dash_p_module_made_for_another_api_is_bad_input(plugin_module, cli):
    name = plugin_module("versioned_future", PLUGIN.format(declared=TOO_NEW))
    assert_bad_input(cli("-p", name, "workloads"), f"plugin {name!r}", f"'{TOO_NEW}'",
                     f"this chipfit's plugin API is {hookspecs.API_VERSION}")


def test_malformed_range_names_the_plugin_and_says_how_to_write_one(plugin_module, cli):
    name = plugin_module("versioned_garbled", PLUGIN.format(declared="version one"))
    assert_bad_input(cli("-p", name, "workloads"), f"plugin {name!r}", "not a version range", "write e.g. '>=")


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A distribution 'chipfit-versioned' with entry point 'versioned' declaring ``declared``."""
    def install(declared) -> None:
        project = tmp_path / "project"
        (project / "chipfit_versioned").mkdir(parents=True)
        (project / "pyproject.toml").write_text('[project]\nname = "chipfit-versioned"\nversion = "3.1"\n'
                                                '[project.entry-points.chipfit]\nversioned = "chipfit_versioned"\n')
        (project / "chipfit_versioned" / "__init__.py").write_text(PLUGIN.format(declared=declared))
        for path in make_importable(project, tmp_path / "site"):
            monkeypatch.syspath_prepend(str(path))
        monkeypatch.setenv("CHIPFIT_LOAD_PLUGINS", ",".join([*IN_TREE_PLUGINS, "versioned"]))
        importlib.invalidate_caches()

    try:
        yield install
    finally:
        sys.modules.pop("chipfit_versioned", None)


def test_installed_plugin_for_another_api_is_skipped_with_a_warning_naming_it(installed, cli):
    installed(TOO_NEW)
    result = cli("workloads")
    assert_clean(result)
    assert result.exit_code == 0
    assert "plugin 'versioned' (distribution 'chipfit-versioned')" in result.stderr
    assert f"this chipfit's plugin API is {hookspecs.API_VERSION}" in result.stderr
    assert "versioned-net" not in result.stdout
    assert "gemm-4096" in result.stdout  # the others still load
    plugins = {row["name"]: row for row in json.loads(cli("plugins", "--format", "json").stdout)}
    assert plugins["versioned"]["origin"].startswith("failed to load: supports chipfit plugin API")


def test_installed_plugin_for_another_api_is_an_error_when_strict(installed, cli, monkeypatch):
    installed(TOO_NEW)
    monkeypatch.setenv("CHIPFIT_STRICT_PLUGINS", "1")
    assert_bad_input(cli("workloads"), "plugin 'versioned' (distribution 'chipfit-versioned')", TOO_NEW)


def test_installed_plugin_for_this_api_loads(installed, cli):
    installed(f"~={hookspecs.API_VERSION}")
    result = cli("workloads")
    assert "versioned-net" in result.stdout
    assert "warning" not in result.stderr


def test_the_kit_fails_a_plugin_made_for_another_api(installed):
    installed(TOO_NEW)
    with pytest.raises(ConformanceError) as error:
        PluginTester("versioned").check_all()
    assert "plugin 'versioned'" in str(error.value)
    assert "supports chipfit plugin API" in str(error.value)


def test_the_manager_records_the_mismatch(installed):
    installed(TOO_NEW)
    pm = get_plugin_manager()
    [failure] = [failure for failure in pm.failures if failure.name == "versioned"]
    assert failure.distribution == "chipfit-versioned"
    assert TOO_NEW in failure.error
    assert not pm.has_plugin("versioned")
