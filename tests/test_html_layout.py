"""The HTML report's layout for a first reading: the answer first, details folded, charts that show
every bar and every name (checked by eye with headless Chromium; these tests hold the structure)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from support import SEED_SPEC, assert_clean

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory):
    from click.testing import CliRunner

    from chipfit.cli import cli

    with pytest.MonkeyPatch.context() as patch:
        from conftest import IN_TREE_PLUGINS

        patch.setenv("CHIPFIT_LOAD_PLUGINS", ",".join(IN_TREE_PLUGINS))
        result = CliRunner().invoke(cli, ["run", str(SEED_SPEC), "--format", "html"])
    assert_clean(result)
    return result.stdout


def test_the_summary_comes_before_the_first_table(seed_page):
    summary = seed_page.index('<section id="summary">')
    assert summary < seed_page.index('<section id="group-')
    part = seed_page[summary:seed_page.index("</section>", summary)]
    assert "differs" in part and "agrees" in part                      # each claim's verdict, up front
    assert 'href="#claim-1"' in part and 'id="claim-1"' in seed_page  # and a link to its working


def test_device_figures_and_claim_working_are_folded(seed_page):
    devices = seed_page[seed_page.index('<section id="devices">'):]
    assert devices.count('<details class="device">') == devices.count('<article class="device"')
    claims = seed_page[seed_page.index('<section id="claims">'):seed_page.index('<section id="devices">')]
    assert "<details><summary>The arithmetic" in claims


def test_no_name_is_cut_short(seed_page):
    assert "…" not in seed_page


@given(st.text(alphabet=st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=120))
def test_chart_labels_wrap_names_but_never_drop_a_character(name):
    from chipfit.charts import _short

    assert "".join(_short(name, 30).split()) == "".join(name.split())


@pytest.mark.parametrize(("values", "target", "log"), [
    ([654e-6, 3.3e-3, 28e-3], 40e-3, True),     # µs next to a 40 ms target: linear would hide the bar
    ([3.3e-3, 9e-3, 28e-3], 40e-3, False),      # one decade with the target: linear reads better
    ([1e-3, 1.0], None, True),
    ([5.0], None, False),
])
def test_a_bar_axis_is_logarithmic_when_values_and_target_span_decades(values, target, log):
    from chipfit.charts import log_scale

    assert log_scale(values, target) is log
