"""Commands from plugins (``chipfit_register_commands``), and the commands that need an extra saying which.

``calibrate`` comes from chipfit_localhost through the hook: the core imports no plugin.
"""

from __future__ import annotations

import importlib.util
import subprocess

import pytest

from support import ROOT, assert_bad_input, assert_clean

HELLO = '''
import click

import chipfit
from chipfit.errors import ChipfitError


@chipfit.hookimpl
def chipfit_register_commands(cli):
    @cli.command(name="hello")
    @click.argument("who", default="world")
    @click.pass_obj
    def hello(obj, who):
        """Say hello, and count the devices."""
        if who == "nobody":
            raise ChipfitError("hello: nobody is not somebody")
        click.echo(f"hello {who}: {len(obj.catalogue.devices)} devices")
'''


def test_hook_chipfit_register_commands(cli, plugin_module, monkeypatch):
    name = plugin_module("hello_plugin", HELLO)
    result = cli("-p", name, "hello", "you")
    assert_clean(result)
    assert result.exit_code == 0 and result.stdout.startswith("hello you: ") and "devices" in result.stdout
    assert_bad_input(cli("-p", name, "hello", "nobody"), "nobody is not somebody")
    monkeypatch.setenv("CHIPFIT_PLUGINS", name)
    listing = cli("--help")
    assert listing.exit_code == 0 and "hello" in listing.stdout and "Say hello" in listing.stdout


def test_a_plugin_command_named_like_a_chipfit_command_is_an_error_naming_the_plugin(cli, plugin_module):
    name = plugin_module("clashing_plugin", HELLO.replace('name="hello"', 'name="devices"'))
    assert_bad_input(cli("-p", name, "hello"), "clashing_plugin", "'devices'")


def test_a_raising_register_commands_is_an_error_naming_the_plugin(cli, plugin_module):
    name = plugin_module("raising_commands", '''
import chipfit


@chipfit.hookimpl
def chipfit_register_commands(cli):
    raise RuntimeError("boom")
''')
    assert_bad_input(cli("-p", name, "hello"), "raising_commands", "boom")


def test_an_unknown_command_is_still_click_s_error(cli):
    result = cli("no-such-command")
    assert result.exit_code == 2 and "No such command" in result.output


def test_calibrate_comes_from_the_localhost_plugin_through_the_hook(cli):
    result = cli("--help")
    assert "calibrate" in result.stdout
    blocked = cli("-p", "no:localhost", "calibrate")
    assert blocked.exit_code == 2 and "No such command 'calibrate'" in blocked.output


def test_the_core_does_not_name_the_localhost_plugin():
    found = subprocess.run(["grep", "-rn", "chipfit_localhost", str(ROOT / "core")], capture_output=True, text=True)
    assert found.stdout == "", found.stdout


def _without(monkeypatch, module: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))


@pytest.mark.parametrize("command", [["measure", "localhost-cpu", "mobilenet-v2"], ["calibrate"], ["validate"]])
def test_measuring_commands_without_the_run_extra_name_it(cli, monkeypatch, command, tmp_path):
    _without(monkeypatch, "onnxruntime")
    assert_bad_input(cli("--store", tmp_path / "runs.sqlite", *command), "pip install 'chipfit[run]'")


def test_a_training_step_without_the_train_extra_names_it(cli, monkeypatch, tmp_path):
    _without(monkeypatch, "torch")
    assert_bad_input(cli("--store", tmp_path / "runs.sqlite", "measure", "localhost-cpu", "resnet-50-imagenet-train",
                         "--scenario", "training", "--batch", "2"), "pip install 'chipfit[train]'")
