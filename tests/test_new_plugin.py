"""``chipfit new-plugin``: the skeleton installs (here: made importable with its entry point, as
``pip install -e`` would), its generated tests pass, and the plugin shows in ``chipfit plugins``,
``chipfit devices`` or ``workloads``, and a run."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tomllib

import pytest

from chipfit.checks import check_datasheet
from chipfit.plugins import api_supported
from chipfit.scaffold import names
from chipfit.testing import make_importable
from support import ROOT, assert_bad_input, assert_clean

from conftest import IN_TREE_PLUGINS


@pytest.fixture
def generate(cli, tmp_path, monkeypatch):
    """Run ``chipfit new-plugin`` into tmp_path and make the result importable; returns its folder."""
    modules = []

    def make(name: str, *options: str):
        root = tmp_path / f"project-{name}"
        result = cli("new-plugin", name, "--directory", root, *options)
        assert_clean(result)
        assert result.exit_code == 0, result.output
        paths = make_importable(root, tmp_path / f"site-{name}")
        for path in paths:
            monkeypatch.syspath_prepend(str(path))
        plugin = names(name)
        monkeypatch.setenv("CHIPFIT_LOAD_PLUGINS", ",".join([*IN_TREE_PLUGINS, plugin["name"]]))
        importlib.invalidate_caches()
        modules.append(plugin["module"])
        return root, paths, result

    try:
        yield make
    finally:
        for module in modules:
            sys.modules.pop(module, None)


def _run_generated_tests(root, paths):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("CHIPFIT_") or key in ("CHIPFIT_CACHE_DIR", "CHIPFIT_DATA_DIR")}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_device_plugin_from_empty_folder_to_a_run(generate, cli, write_spec):
    root, paths, result = generate("acme")
    assert "src/chipfit_acme/devices.toml" in result.stdout
    assert "pip install -e" in result.stdout
    assert "3 passed" in _run_generated_tests(root, paths)

    plugins = {row["name"]: row for row in json.loads(cli("plugins", "--format", "json").stdout)}
    assert plugins["acme"]["distribution"] == "chipfit-acme"
    assert plugins["acme"]["origin"] == "entry point"
    assert plugins["acme"]["hooks"] == ["chipfit_register_devices"]
    devices = cli("devices", "--vendor", "acme")
    assert_clean(devices)
    assert "acme-npu-1" in devices.stdout and "int8:50 T*" in devices.stdout  # placeholders marked unconfirmed
    spec = write_spec("""
        title = "acme against an H100"
        [[groups]]
        id = "g"
        devices = ["acme-npu-1", "nvidia-h100-sxm5"]
        workloads = ["gemm-4096"]
        scenario = "offline"
        precision = "int8"
    """)
    run = cli("run", spec, "--format", "json")
    assert_clean(run)
    assert run.exit_code == 0, run.output
    rows = {row["device"]: row for row in json.loads(run.stdout)["rows"]}
    assert rows["acme-npu-1"]["status"] == "ok"
    assert rows["acme-npu-1"]["metrics"]["throughput_sps"] > 0


def test_workload_plugin_from_empty_folder_to_a_run(generate, cli, write_spec):
    root, paths, _ = generate("big-chip", "--flavour", "workload")
    assert "3 passed" in _run_generated_tests(root, paths)
    plugins = {row["name"]: row for row in json.loads(cli("plugins", "--format", "json").stdout)}
    assert plugins["big-chip"]["distribution"] == "chipfit-big-chip"
    assert plugins["big-chip"]["hooks"] == ["chipfit_register_workloads"]
    assert "big-chip-mlp" in cli("workloads").stdout
    spec = write_spec("""
        title = "mlp"
        [[groups]]
        id = "g"
        devices = ["nvidia-h100-sxm5", "intel-core-i5-12600k"]
        workloads = ["big-chip-mlp"]
    """)
    run = cli("run", spec, "--format", "json")
    assert run.exit_code == 0, run.output
    assert {row["status"] for row in json.loads(run.stdout)["rows"]} == {"ok"}


def test_generated_datasheet_passes_chipfit_check_with_every_figure_unconfirmed(cli, tmp_path):
    root = tmp_path / "chipfit-acme"
    assert cli("new-plugin", "acme", "-d", root).exit_code == 0
    sheet = root / "src" / "chipfit_acme" / "devices.toml"
    assert check_datasheet(sheet) == []
    entry = tomllib.loads(sheet.read_text())["device"][0]
    figures = {key for key in entry["sources"]}
    assert figures == set(entry["unconfirmed"])
    assert all("Placeholder written by chipfit new-plugin" in text for text in entry["sources"].values())


def test_generated_project_declares_its_entry_point_and_api(cli, tmp_path):
    root = tmp_path / "p"
    assert cli("new-plugin", "chipfit-acme", "-d", root).exit_code == 0  # the chipfit- prefix is dropped
    with open(root / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)
    assert project["project"]["name"] == "chipfit-acme"
    assert project["project"]["entry-points"]["chipfit"] == {"acme": "chipfit_acme"}
    assert any(dependency.startswith("chipfit>=") for dependency in project["project"]["dependencies"])
    source = (root / "src" / "chipfit_acme" / "__init__.py").read_text()
    declared = next(line.split("=", 1)[1].strip().strip('"') for line in source.splitlines()
                    if line.startswith("CHIPFIT_API"))
    assert api_supported(declared)
    assert project["tool"]["setuptools"]["package-data"]["chipfit_acme"] == ["*.toml"]


def test_default_directory_is_chipfit_name_in_the_current_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("new-plugin", "acme")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "chipfit-acme" / "pyproject.toml").exists()


@pytest.mark.parametrize("name", ["Acme", "acme chips", "9acme", "acme--chips", "", "acme/../x"])
def test_bad_names_are_bad_input(cli, tmp_path, name):
    assert_bad_input(cli("new-plugin", name, "-d", tmp_path / "out"), "lowercase letters and digits")
    assert not (tmp_path / "out").exists()


def test_an_existing_folder_is_never_overwritten(cli, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    assert_bad_input(cli("new-plugin", "acme", "-d", tmp_path / "taken"), "already exists")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "taken" / "pyproject.toml").exists()


def test_unknown_flavour_is_refused(cli, tmp_path):
    result = cli("new-plugin", "acme", "--flavour", "renderer", "-d", tmp_path / "x")
    assert result.exit_code == 2
    assert "'renderer' is not one of 'device', 'workload'" in result.output


def test_templates_ship_in_chipfit_s_package_data():
    with open(ROOT / "pyproject.toml", "rb") as file:
        patterns = tomllib.load(file)["tool"]["setuptools"]["package-data"]["chipfit"]
    package = ROOT / "core" / "chipfit"
    templates = set((package / "templates").rglob("*.tmpl"))
    assert templates
    assert templates <= {path for pattern in patterns for path in package.glob(pattern)}
