"""The published-results file (``core/chipfit/data/published.toml``) and its strict loader."""

from __future__ import annotations

import re
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipfit import published
from chipfit.errors import ChipfitError, SpecError

#: Devices a row may name before the catalogue has them (id -> why); their rows are not checked.
NOT_IN_CATALOGUE: dict[str, str] = {}

GOOD_ROW = """
[[result]]
id = "row-one"
suite = "MLPerf Inference v4.1"
division = "closed"
benchmark = "resnet50"
workload = "resnet-50"
scenario = "offline"
system = "A system"
submitter = "NVIDIA"
device = "nvidia-h100-sxm5"
count = 8
precision = "int8"
metric = "throughput_sps"
value = 1000.0

[result.source]
document = "MLPerf Inference v4.1 results"
publisher = "MLCommons"
date = "2024-08-28"
url = "https://github.com/mlcommons/inference_results_v4.1"
path = "closed/NVIDIA/results/x/resnet50/Offline/performance/run_1/mlperf_log_summary.txt"
where = "Samples per second: 1000"
"""


def _second_row(**changes: str) -> str:
    """The good row twice, the second with id ``row-two`` and ``changes`` applied (key -> new line)."""
    row = GOOD_ROW.replace('id = "row-one"', 'id = "row-two"')
    for key, line in changes.items():
        row = re.sub(rf"^{key} = .*$", line, row, count=1, flags=re.M)
    return GOOD_ROW + row


def _load(tmp_path, text: str):
    path = tmp_path / "published.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return published.load(path)


def _error(tmp_path, text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, text)
    assert isinstance(caught.value, ChipfitError)  # the CLI shows it and exits with status 2
    return caught.value


def test_the_shipped_file_loads():
    rows = published.load()
    assert len(rows) >= 12
    assert all(isinstance(row, published.PublishedResult) for row in rows)


def test_the_shipped_file_is_package_data():
    assert published.default_path().is_file()


def test_ids_are_unique_and_kebab_case():
    ids = [row.id for row in published.load()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(?:[.-][a-z0-9]+)*", ident) for ident in ids)


def test_every_row_names_a_catalogue_device(catalogue):
    missing = {row.device for row in published.load()} - set(catalogue.devices)
    assert missing <= set(NOT_IN_CATALOGUE), f"rows name devices the catalogue lacks: {sorted(missing)}"


def test_every_row_cites_its_source():
    for row in published.load():
        assert row.source.url.startswith("https://"), row.id
        assert row.source.where, row.id
        if row.suite.startswith("MLPerf"):
            assert row.source.path and row.source.path in row.source.url, row.id


def test_no_row_comes_from_a_kept_aside_round():
    for row in published.load():
        assert row.suite not in published.KEPT_ASIDE
        assert not (row.suite == "MLPerf Inference v4.1" and row.submitter == "AMD"), row.id
        assert "inference_results_v4.0" not in row.source.url and "inference_results_v3.1" not in row.source.url
        assert "training_results_v3.0" not in row.source.url


def test_values_are_in_si_units_for_their_metric():
    for row in published.load():
        assert row.metric in published.METRICS
        if row.metric == "mfu":
            assert 0 < row.value <= 1, row.id


def test_a_good_file_loads(tmp_path):
    (row,) = _load(tmp_path, GOOD_ROW)
    assert row.value == 1000.0 and row.source.where == "Samples per second: 1000"
    assert row.notes == ""


@pytest.mark.parametrize(("changes", "fragments"), [
    ({"scenario": 'scenario = "batch"'}, ["'row-two'", "'scenario'", "'batch'"]),
    ({"metric": 'metric = "speed"'}, ["'row-two'", "'metric'", "'speed'"]),
    ({"value": "value = -3.0"}, ["'row-two'", "'value'", "positive"]),
    ({"value": "value = nan"}, ["'row-two'", "'value'", "positive"]),
    ({"count": "count = 0"}, ["'row-two'", "'count'"]),
    ({"precision": 'precision = "int7"'}, ["'row-two'", "'precision'"]),
    ({"id": 'id = "Row Two"'}, ["'Row Two'", "'id'", "kebab-case"]),
    ({"id": 'id = "row-one"'}, ["'row-one'", "'id'", "duplicate"]),
    ({"suite": 'suite = "MLPerf Inference v4.0"'}, ["'row-two'", "'suite'", "kept aside"]),
    ({"suite": 'suite = "MLPerf Training v3.0"'}, ["'row-two'", "'suite'", "kept aside"]),
    ({"suite": 'suite = "MLPerf Inference v2.1"'}, ["'row-two'", "'suite'"]),
    ({"submitter": 'submitter = "AMD"'}, ["'row-two'", "'submitter'", "kept aside"]),
    ({"device": 'device = "amd-instinct-mi300x"'}, ["'row-two'", "'device'", "kept aside"]),
    ({"where": 'where = ""'}, ["'row-two'", "'source.where'"]),
])
def test_a_bad_value_names_file_line_row_and_field(tmp_path, changes, fragments):
    text = _second_row(**changes)
    error = _error(tmp_path, text)
    message = str(error)
    assert "published.toml" in message
    for fragment in fragments:
        assert fragment in message, message
    key = next(iter(changes))
    line = text.splitlines()[error.line - 1] if error.line else ""
    assert line.startswith(key), (error.line, line)


TRAINING_ROW = GOOD_ROW.replace('benchmark = "resnet50"', 'benchmark = "gpt3"').replace(
    'workload = "resnet-50"', 'workload = "gpt-3-175b-pretrain"').replace(
    'scenario = "offline"', 'scenario = "training"').replace('metric = "throughput_sps"', 'metric = "time_to_train_s"')


def test_a_training_row_may_give_its_own_batch_and_tokens(tmp_path):
    text = TRAINING_ROW.replace("value = 1000.0\n", "value = 1000.0\nglobal_batch = 2048\ntokens = 1207959552\n")
    (row,) = _load(tmp_path, text)
    assert row.global_batch == 2048 and row.tokens == 1207959552
    (plain,) = _load(tmp_path, TRAINING_ROW)
    assert plain.global_batch is None and plain.tokens is None


@pytest.mark.parametrize(("line", "field"), [
    ("global_batch = 0", "global_batch"), ("global_batch = -8", "global_batch"),
    ("tokens = 0.0", "tokens"), ("tokens = nan", "tokens"), ("tokens = inf", "tokens"),
])
def test_a_bad_batch_or_token_count_names_the_row_and_field(tmp_path, line, field):
    row = TRAINING_ROW.replace('id = "row-one"', 'id = "row-two"').replace("value = 1000.0\n", f"value = 1000.0\n{line}\n")
    text = TRAINING_ROW + row
    error = _error(tmp_path, text)
    assert "'row-two'" in str(error) and f"'{field}'" in str(error) and "positive" in str(error)
    assert text.splitlines()[error.line - 1].startswith(field)


@pytest.mark.parametrize(("line", "field"), [("global_batch = 2048", "global_batch"), ("tokens = 1e9", "tokens")])
def test_only_a_training_row_may_give_its_own_batch_or_tokens(tmp_path, line, field):
    text = _second_row(value=f"value = 1000.0\n{line}")
    error = _error(tmp_path, text)
    assert "'row-two'" in str(error) and f"'{field}'" in str(error) and "only a training row" in str(error)
    assert text.splitlines()[error.line - 1].startswith(field)


def test_a_missing_field_names_the_row_and_the_field(tmp_path):
    text = _second_row().rsplit('value = 1000.0\n', 1)
    message = str(_error(tmp_path, "".join(text)))
    assert "(id 'row-two')" in message and "value" in message and "missing" in message


def test_an_unknown_key_names_the_row_and_suggests(tmp_path):
    text = GOOD_ROW + GOOD_ROW.replace('id = "row-one"', 'id = "row-two"').replace(
        "value = 1000.0\n", "value = 1000.0\nvalu = 3\n")
    message = str(_error(tmp_path, text))
    assert "(id 'row-two')" in message and "'valu'" in message and "did you mean 'value'" in message


def test_an_unknown_key_in_the_source_names_the_row(tmp_path):
    text = _second_row().rstrip() + '\npage = "12"\n'
    message = str(_error(tmp_path, text))
    assert "(id 'row-two')" in message and "'page'" in message and "line" in message


def test_a_wrong_type_names_the_row_and_field(tmp_path):
    message = str(_error(tmp_path, _second_row(value='value = "fast"')))
    assert "(id 'row-two')" in message and "value" in message


def test_malformed_toml_names_the_line(tmp_path):
    error = _error(tmp_path, GOOD_ROW + "\n[[result]\n")
    assert error.line is not None and "invalid TOML" in str(error)


def test_a_missing_file_is_bad_input(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        published.load(tmp_path / "absent.toml")


_FIELDS = ("scenario", "metric", "precision", "division")


@given(field=st.sampled_from(_FIELDS), word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=12))
def test_any_value_outside_a_vocabulary_is_refused_naming_the_field(tmp_path_factory, field, word):
    choices = {"scenario": published.SCENARIOS, "metric": tuple(published.METRICS),
               "precision": published.PRECISIONS, "division": published.DIVISIONS}[field]
    text = _second_row(**{field: f'{field} = "{word}"'})
    path = tmp_path_factory.mktemp("p") / "published.toml"
    path.write_text(text, encoding="utf-8")
    if word in choices:
        assert len(published.load(path)) == 2
    else:
        with pytest.raises(SpecError) as caught:
            published.load(path)
        assert f"'{field}'" in str(caught.value) and "'row-two'" in str(caught.value)


@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_a_value_loads_exactly_when_positive_and_finite(tmp_path_factory, value):
    literal = {float("inf"): "inf", float("-inf"): "-inf"}.get(value, repr(value))
    if value != value:
        literal = "nan"
    path = tmp_path_factory.mktemp("p") / "published.toml"
    path.write_text(_second_row(value=f"value = {literal}"), encoding="utf-8")
    if value > 0 and value != float("inf"):
        assert published.load(path)[1].value == value
    else:
        with pytest.raises(SpecError, match="'value'"):
            published.load(path)


def test_every_field_is_documented():
    import attrs
    from support import ROOT

    page = (ROOT / "docs" / "published.md").read_text(encoding="utf-8")
    fields = [f"`{f.name}`" for f in attrs.fields(published.PublishedResult) if f.name != "source"]
    fields += [f"`source.{f.name}`" for f in attrs.fields(published.Source)]
    missing = [field for field in fields if field not in page]
    assert not missing, f"docs/published.md does not document {missing}"


def test_a_row_may_name_the_split_its_submission_ran(tmp_path):
    (row,) = _load(tmp_path, GOOD_ROW.replace("value = 1000.0\n", "value = 1000.0\ntensor_parallel = 2\npipeline_parallel = 1\n"))
    assert (row.tensor_parallel, row.pipeline_parallel) == (2, 1)
    (plain,) = _load(tmp_path, GOOD_ROW)
    assert plain.tensor_parallel is None and plain.pipeline_parallel is None


@pytest.mark.parametrize(("line", "field", "says"), [
    ("tensor_parallel = 0", "tensor_parallel", "at least 1"),
    ("pipeline_parallel = -2", "pipeline_parallel", "at least 1"),
    ("tensor_parallel = 3", "tensor_parallel", "does not divide"),
    ("pipeline_parallel = 3", "pipeline_parallel", "does not divide"),
])
def test_a_bad_split_names_the_row_and_field(tmp_path, line, field, says):
    text = _second_row(value=f"value = 1000.0\n{line}")
    error = _error(tmp_path, text)
    assert "'row-two'" in str(error) and f"'{field}'" in str(error) and says in str(error)
    assert text.splitlines()[error.line - 1].startswith(field)
