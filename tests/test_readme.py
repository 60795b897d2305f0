"""The README's figures are printed by the commands it names, and its counts match the tree."""

from __future__ import annotations

import json
import re

import pytest

from support import ROOT, SEED_SPEC, assert_clean

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: "3.82 days [4]": a figure and the number of the seed report's claim that prints it.
FIGURE = re.compile(r"([\d.]+)\s*(x|%| million| days| s| exa-ops)?\s*\[(\d+)\]")
SCALE = {"%": 0.01, " million": 1e6, " exa-ops": 1e18}


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else None]


@pytest.fixture(scope="module")
def seed_claims():
    from click.testing import CliRunner

    from chipfit.cli import cli

    with pytest.MonkeyPatch.context() as patch:
        from conftest import IN_TREE_PLUGINS

        patch.setenv("CHIPFIT_LOAD_PLUGINS", ",".join(IN_TREE_PLUGINS))
        result = CliRunner().invoke(cli, ["run", str(SEED_SPEC), "--format", "json"])
    assert_clean(result)
    return json.loads(result.stdout)["claims"]


def test_the_seed_section_names_its_figures_claims():
    assert len(FIGURE.findall(_section("What the seed report finds"))) >= 10


def test_every_seed_figure_in_the_readme_is_what_the_report_prints(seed_claims):
    """Each figure in 'What the seed report finds' matches its claim's value to the digits shown."""
    stale = []
    for number, unit, claim in FIGURE.findall(_section("What the seed report finds")):
        value = seed_claims[int(claim) - 1]["value"]
        if unit == " days" or unit == " s" or unit == "x" or not unit:
            shown = float(number)
        else:
            shown = float(number) * SCALE[unit]
        if value is None or abs(shown - value) > 0.006 * abs(value):
            stale.append(f"README says {number}{unit} for claim {claim}; the report prints {value}")
    assert stale == []


def test_the_vendor_plugin_count_is_the_tree_s():
    [count] = re.findall(r"from (\d+) vendor plugins", README)
    vendors = [path for path in (ROOT / "plugins").glob("chipfit_*/devices.toml")
               if path.parent.name != "chipfit_localhost"]
    assert int(count) == len(vendors)


def test_the_readme_does_not_call_the_roofline_a_lower_bound():
    assert "lower bound on time" not in README


def test_the_readme_says_how_to_make_a_p_module_importable():
    assert "PYTHONPATH=src chipfit -p chipfit_acme" in README
