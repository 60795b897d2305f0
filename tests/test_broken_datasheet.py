"""A plugin whose devices.toml is broken costs only its own devices: other specs run, and a spec or
command that names one of its devices fails naming the plugin and the file's error."""

from __future__ import annotations

import sys
import textwrap

import pytest

from support import TWO_GPUS, assert_bad_input, assert_clean
from test_catalogue import GOOD

PLUGIN = '''
import chipfit
from chipfit.datasheets import register_datasheet


@chipfit.hookimpl
def chipfit_register_devices(register):
    register_datasheet(register, "brokenvendor")
'''


@pytest.fixture
def broken_vendor(tmp_path, monkeypatch):
    """A plugin package ``brokenvendor`` whose datasheet has a text where power_w needs a number."""
    package = tmp_path / "brokenvendor"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    sheet = GOOD.replace('id = "acme-npu-1"', 'id = "brokenvendor-npu-1"').replace("power_w = 10", 'power_w = "ten"')
    (package / "devices.toml").write_text(sheet, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("CHIPFIT_STRICT_PLUGINS", raising=False)
    yield "brokenvendor"
    sys.modules.pop("brokenvendor", None)
    from chipfit import datasheets

    datasheets._BROKEN.pop("brokenvendor", None)


def test_a_spec_that_never_uses_the_plugin_runs(cli, write_spec, broken_vendor):
    result = cli("-p", broken_vendor, "run", write_spec(TWO_GPUS))
    assert_clean(result)
    assert result.exit_code == 0, result.output
    assert "plugin 'brokenvendor'" in result.stderr and "power_w" in result.stderr
    assert "nvidia-h100-sxm5" in result.stdout


def test_a_spec_that_uses_its_device_fails_naming_the_plugin_and_the_error(cli, write_spec, broken_vendor):
    spec = write_spec(TWO_GPUS.replace('"amd-instinct-mi250x"', '"brokenvendor-npu-1"'))
    result = cli("-p", broken_vendor, "run", spec)
    assert_bad_input(result, "brokenvendor-npu-1", "unavailable", "plugin 'brokenvendor'", "power_w", "line")


def test_show_of_its_device_names_the_plugin(cli, broken_vendor):
    assert_bad_input(cli("-p", broken_vendor, "show", "brokenvendor-npu-1"), "plugin 'brokenvendor'")


def test_the_catalogue_check_still_fails_on_it(cli, broken_vendor):
    assert_bad_input(cli("-p", broken_vendor, "check"), "plugin 'brokenvendor'", "power_w")


def test_strict_plugins_make_it_an_error_again(cli, write_spec, broken_vendor, monkeypatch):
    monkeypatch.setenv("CHIPFIT_STRICT_PLUGINS", "1")
    assert_bad_input(cli("-p", broken_vendor, "run", write_spec(TWO_GPUS)), "power_w")
