"""Docs that cannot drift (datasette's test_docs habit): every hook has a page headed by its exact
signature, every example on a hook page is a plugin that passes the conformance kit, and every field
of the records, datasheet and spec files is documented.

That every hook also has a ``test_hook_<name>`` test is checked by
``tests/test_hooks.py::test_plugin_hooks_have_tests``.
"""

from __future__ import annotations

import importlib
import inspect
import re
import tomllib

import attrs
import pytest

from chipfit import hookspecs, testing
from chipfit.catalogue import call_first, collect
from chipfit.checks import check_datasheet
from chipfit.datasheets import DatasheetEfficiency, DatasheetEntry
from chipfit.plugins import get_plugin_manager
from chipfit.records import Device, Efficiency, Operator, Report, Result, Scenario, Workload
from chipfit.spec import CellRef, ClaimSpec, GroupSpec, Spec, parse
from chipfit.testing import PluginTester, check_result
from support import DESIGN_METRICS, ROOT

DOCS = ROOT / "docs"
HOOKS = sorted(name for name, value in vars(hookspecs).items() if name.startswith("chipfit_") and callable(value))


def _page(path: str) -> str:
    return (DOCS / path).read_text(encoding="utf-8")


def _signature(hook: str) -> str:
    return f"{hook}({', '.join(inspect.signature(getattr(hookspecs, hook)).parameters)})"


def _block(text: str, language: str, after: str = "") -> str:
    """The first fenced code block in ``language`` after the heading ``after``."""
    start = text.index(after) if after else 0
    match = re.search(rf"```{language}\n(.*?)```", text[start:], re.DOTALL)
    assert match, f"no ```{language} block after {after!r}"
    return match.group(1)


def _section(text: str, heading: str) -> str:
    """A ``## heading`` section's text, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    assert match, f"no '## {heading}' section"
    return match.group(1)


# --- hooks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_page_headed_by_its_exact_signature(hook):
    page = DOCS / "hooks" / f"{hook}.md"
    assert page.exists(), f"no docs/hooks/{hook}.md"
    heading = page.read_text(encoding="utf-8").splitlines()[0]
    assert heading == f"# {_signature(hook)}", f"{page.name} is headed {heading!r}, the spec is {_signature(hook)}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_page_describes_every_argument(hook):
    text = _page(f"hooks/{hook}.md")
    arguments = _section(text, "Arguments")
    for parameter in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert f"- `{parameter}`" in arguments, f"{hook}: argument {parameter!r} is not described"
    for heading in ("Contract", "Units", "Example"):
        _section(text, heading)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_page_states_its_call_semantics(hook):
    text = _page(f"hooks/{hook}.md")
    firstresult = getattr(hookspecs, hook).chipfit_spec["firstresult"]
    assert ("Stops at the first non-None result" in text) == firstresult
    assert ("is not firstresult" in text) == (not firstresult)


def test_every_hook_page_is_a_hook():
    pages = sorted(path.stem for path in (DOCS / "hooks").glob("chipfit_*.md"))
    assert pages == HOOKS


def test_the_hooks_index_lists_every_hook_with_its_signature():
    index = _page("hooks/index.md")
    for hook in HOOKS:
        assert f"[`{_signature(hook)}`]({hook}.md)" in index


@pytest.fixture
def doc_example(plugin_module):
    """Write a hook page's example as a module; returns its name (dropped from sys.modules afterwards)."""
    return lambda hook: plugin_module(f"docs_example_{hook}", _block(_page(f"hooks/{hook}.md"), "python", "## Example"))


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_page_example_is_a_plugin_that_passes_the_kit(hook, doc_example):
    name = doc_example(hook)
    tester = PluginTester(module=name)
    tester.check_all()
    assert tester.implements(hook)


def test_estimate_example_answers_for_the_devices_example(doc_example):
    devices, estimate = doc_example("chipfit_register_devices"), doc_example("chipfit_estimate")
    pm = get_plugin_manager(autoload=False, extra=[devices, estimate, "chipfit_gemm"])
    catalogue = collect(pm)
    device, workload = catalogue.device("acme-npu-1"), catalogue.workload("gemm-4096")
    scenario = Scenario("offline", precision="int8")
    result, answered_by = call_first(pm, "chipfit_estimate", device=device, workload=workload, scenario=scenario)
    assert answered_by == estimate
    assert check_result(result, device, workload, scenario) == []
    assert "ACME NPU benchmark report" in result.explain[-1]


def test_load_workload_example_reads_its_format(doc_example, tmp_path):
    name = doc_example("chipfit_load_workload")
    model = tmp_path / "digits.mlp.json"
    model.write_text('{"id": "digits-mlp", "layers": [784, 512, 10]}')
    PluginTester(module=name).check_load_workload([str(model)])
    workload = importlib.import_module(name).chipfit_load_workload(str(model), {})
    assert workload.parameters == 784 * 512 + 512 * 10
    broken = tmp_path / "broken.mlp.json"
    broken.write_text("{")
    with pytest.raises(Exception, match="broken.mlp.json: not a readable .mlp.json model"):
        importlib.import_module(name).chipfit_load_workload(str(broken), {})


# --- records, data files, specs, versions, the kit -------------------------------------------


@pytest.mark.parametrize("record", [Device, Efficiency, Operator, Workload, Scenario, Result, Report])
def test_records_page_documents_every_field(record):
    section = _section(_page("records.md"), record.__name__)
    for field in attrs.fields(record):
        assert f"| `{field.name}` |" in section, f"{record.__name__}.{field.name} is not in docs/records.md"


def test_records_page_documents_every_metric_of_the_design():
    section = _section(_page("records.md"), "Metrics")
    for key in DESIGN_METRICS:
        assert f"`{key}`" in section, key


def test_datasheet_page_documents_every_key():
    text = _page("datasheets.md")
    for field in attrs.fields(DatasheetEntry):
        assert f"`{field.name}`" in text, field.name
    for field in attrs.fields(DatasheetEfficiency):
        assert f"`{field.name}`" in text, f"efficiency.{field.name}"


def test_datasheet_page_example_passes_chipfit_check(tmp_path):
    path = tmp_path / "devices.toml"
    path.write_text(_block(_page("datasheets.md"), "toml"), encoding="utf-8")
    assert check_datasheet(path) == []


@pytest.mark.parametrize(("record", "heading"), [(Spec, "Top level"), (GroupSpec, "`[[groups]]`"),
                                                 (ClaimSpec, "`[[claims]]`")])
def test_spec_page_documents_every_key(record, heading):
    section = _section(_page("spec-format.md"), heading)
    for field in attrs.fields(record):
        assert f"| `{field.name}` |" in section, f"{record.__name__}.{field.name}"


def test_spec_page_documents_cell_references():
    text = _section(_page("spec-format.md"), "`[[claims]]`")
    for field in attrs.fields(CellRef):
        assert f"`{field.name}`" in text.split("A cell reference's keys")[1]


def test_spec_page_example_is_a_valid_spec():
    text = _block(_page("spec-format.md"), "toml")
    spec = parse(text, tomllib.loads(text), "docs/spec-format.md")
    assert spec.groups[0].latency_target_ms == 40


def test_api_version_page_states_the_current_version():
    assert f'currently `"{hookspecs.API_VERSION}"`' in _page("api-version.md")


def test_testing_page_documents_the_whole_kit():
    text = _page("testing.md")
    for name in testing.__all__:
        assert name in text, name
    for name, member in vars(PluginTester).items():
        if not name.startswith("_") and (callable(member) or isinstance(member, property)):
            assert f"`{name}" in text, f"PluginTester.{name}"


def test_every_page_is_linked_from_the_index_and_every_link_resolves():
    pages = sorted(DOCS.rglob("*.md"))
    index = _page("index.md")
    for page in pages:
        if page.name != "index.md" or page.parent != DOCS:
            assert page.relative_to(DOCS).as_posix() in index, f"{page} is not linked from docs/index.md"
        for target in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).resolve().exists(), f"{page.relative_to(DOCS)} links to missing {target}"
