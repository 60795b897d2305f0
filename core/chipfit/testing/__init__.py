"""chipfit's conformance kit: a plugin author's tests load their plugin as chipfit does and check all it gives.

Use it from a plugin's own test suite (pytest or any runner)::

    from chipfit.testing import PluginTester

    plugin = PluginTester("acme")      # the plugin's entry-point name in group "chipfit"

    def test_conformance():
        plugin.check_all()

A failed check raises :class:`ConformanceError` (an ``AssertionError``), whose message names the
plugin and lists every problem found: a hook implementation that does not match its spec (misspelt
name or argument, an argument with a default, a ``chipfit_*`` function without ``@hookimpl``), a
record that fails validation or the catalogue checks of :mod:`chipfit.checks` (implausible units,
sparse figures passed off as dense, a figure without a citation), a workload without a cited cost,
an estimate or measurement that is malformed or inconsistent (throughput = batch / latency,
energy = power x time …), and a run of a small spec over the plugin's devices and workloads that
fails. Each check is also a method of its own (``check_hooks``, ``check_devices`` …), and
:func:`check_result` and :func:`check_workload` serve tests that build records by hand.

The kit builds its own plugin manager holding the core's defaults, the plugin under test (loaded
through its entry point, strictly), the plugins named in ``also``, and a reference plugin with a
made-up device and workloads that every run can use. ``import chipfit`` never imports this package.

The package, one job per module: :mod:`~chipfit.testing.tester` (:class:`PluginTester`,
:func:`check_plugin`), :mod:`~chipfit.testing.problems` (:class:`ConformanceError`),
:mod:`~chipfit.testing.laws` (:func:`check_result`, :func:`check_workload`), :mod:`~chipfit.testing.cells`
(the scenarios and groups the kit asks for), :mod:`~chipfit.testing.reference` (the reference plugin),
:mod:`~chipfit.testing.loading` (loading one plugin strictly) and :mod:`~chipfit.testing.install`
(:func:`make_importable`).
"""

from __future__ import annotations

from chipfit.testing.install import make_importable
from chipfit.testing.laws import check_result, check_workload
from chipfit.testing.problems import ConformanceError
from chipfit.testing.reference import REFERENCE_DEVICE_ID, REFERENCE_PLUGIN, reference_device, reference_workloads
from chipfit.testing.tester import PluginTester, check_plugin

__all__ = [
    "REFERENCE_DEVICE_ID",
    "REFERENCE_PLUGIN",
    "ConformanceError",
    "PluginTester",
    "check_plugin",
    "check_result",
    "check_workload",
    "make_importable",
    "reference_device",
    "reference_workloads",
]
