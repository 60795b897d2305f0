"""What the light commands import: ``chipfit --help`` and ``chipfit devices`` load no module they do not use.

Their time is benchmarked (``benchmarks/startup.py``), not asserted here; what is checked is which
modules they leave unimported, in a fresh interpreter (this one has imported everything already).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import IN_TREE_PLUGINS
from support import cpu_described_without_psutil

#: Modules a command that models, measures and reads no file does not need.
HEAVY = ("chipfit.model", "chipfit_yolo.darknet", "chipfit_transformer.workloads", "numpy", "onnx", "onnxruntime",
         "rich", "matplotlib", "sqlite3", "ray")


def _imported(*args: str, tmp_path) -> set[str]:
    script = ("import json, sys\nfrom chipfit.cli import cli\ntry:\n    cli(%r, prog_name='chipfit')\n"
              "except SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)" % list(args))
    env = {**os.environ, "CHIPFIT_LOAD_PLUGINS": ",".join(IN_TREE_PLUGINS), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args, also", [(("--help",), ("chipfit.datasheets", "cattrs")), (("devices",), ())])
def test_a_light_command_imports_nothing_it_does_not_use(tmp_path, args, also):
    modules = _imported(*args, tmp_path=tmp_path)
    assert "chipfit_nvidia" in modules  # the plugins did load (--help lists their commands)
    assert modules.isdisjoint({*HEAVY, *also}), sorted(modules & {*HEAVY, *also})


def test_devices_from_the_cache_neither_parses_nor_checks_a_datasheet_again(tmp_path, monkeypatch):
    """The second ``chipfit devices`` takes the datasheets from the cache (chipfit.textcache): no tomllib, no
    cattrs; and where /proc and /sys describe the CPU (Linux), no psutil."""
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path / "cache"))
    first = _imported("devices", tmp_path=tmp_path)
    assert {"tomllib", "cattrs"} <= first  # an empty cache: every datasheet parsed and checked
    modules = _imported("devices", tmp_path=tmp_path)
    unused = {"tomllib", "cattrs", *(["psutil"] if cpu_described_without_psutil() else [])}
    assert "chipfit.datasheets" in modules and modules.isdisjoint(unused), sorted(modules & unused)
