"""The catalogue's ops-per-watt check: a peak no chip of that power could reach is a unit slip."""

from __future__ import annotations

import textwrap

from hypothesis import given, strategies as st

from chipfit.checks import OPS_PER_WATT, check_datasheet, check_device
from chipfit.records import Capability, Device, Precision
from support import assert_clean
from test_catalogue import GOOD


def _sheet(tmp_path, text: str):
    path = tmp_path / "devices.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_50_pops_on_a_10_w_edge_npu_fails(tmp_path):
    """The case the check is for: 50,000 TOPS (50 POPS) at 10 W passed the per-figure bounds before."""
    path = _sheet(tmp_path, GOOD.replace("int8 = 50\n", "int8 = 50000\n").replace("int8 = 100\n", "int8 = 100000\n"))
    problems = [p for p in check_datasheet(path) if "TOPS/W" in p.message]
    assert problems, "50 POPS on 10 W passed"
    dense = next(p for p in problems if p.field == "peak_tops.int8")
    assert "5000 TOPS/W" in dense.message and "unusual" in dense.message
    assert "int8 = 50000" in path.read_text().splitlines()[dense.line - 1]


def test_a_real_outlier_passes_when_flagged(tmp_path):
    text = GOOD.replace("int8 = 50\n", "int8 = 1000\n").replace("int8 = 100\n", "int8 = 2000\n").replace(
        'capabilities = ["inference"]', 'capabilities = ["inference"]\nunusual = ["ops_per_w"]')
    assert check_datasheet(_sheet(tmp_path, text)) == []


def test_the_good_sheet_is_plausible(tmp_path):
    assert check_datasheet(_sheet(tmp_path, GOOD)) == []


def test_chipfit_check_reports_the_slip(cli, tmp_path):
    path = _sheet(tmp_path, GOOD.replace("int8 = 50\n", "int8 = 50000\n").replace("int8 = 100\n", "int8 = 100000\n"))
    result = cli("check", path)
    assert_clean(result)
    assert result.exit_code != 0
    assert "TOPS/W" in result.output


@given(st.floats(min_value=1e9, max_value=1e17), st.floats(min_value=0.1, max_value=20e3))
def test_the_check_fails_exactly_outside_the_bounds(peak, power):
    device = Device(id="x-1", name="X 1", vendor="X", kind="npu", segment="edge", power=power, year=2025,
                    memory_bandwidth=100e9, memory_capacity=8e9,
                    peak_ops={Precision.INT8: peak}, capabilities={Capability.INFERENCE},
                    sources={"power": "doc", "peak_ops.int8": "doc", "year": "doc", "memory_bandwidth": "doc",
                             "memory_capacity": "doc"})
    flagged = any("TOPS/W" in p.message for p in check_device(device))
    low, high = OPS_PER_WATT
    assert flagged == (not low <= peak / power <= high)
