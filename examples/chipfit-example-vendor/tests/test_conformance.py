"""chipfit's conformance kit on this plugin, loaded through its entry point as chipfit loads it."""

from chipfit.testing import PluginTester

plugin = PluginTester("example")


def test_hooks_match_chipfit_specs():
    plugin.check_hooks()


def test_devices_are_plausible_and_cited():
    plugin.check_devices()


def test_workloads_are_plausible_and_cited():
    plugin.check_workloads()


def test_estimates_are_well_formed_and_consistent():
    plugin.check_estimates()


def test_a_run_with_its_device_and_workload_succeeds():
    plugin.check_run()


def test_every_check_at_once():
    plugin.check_all()
