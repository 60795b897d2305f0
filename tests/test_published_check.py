"""``chipfit validate --published``: the model against the published record."""

from __future__ import annotations

import json
import textwrap


from chipfit import published, published_check
from test_published import GOOD_ROW, TRAINING_ROW


def _rows(tmp_path, text):
    path = tmp_path / "published.toml"
    path.write_text(textwrap.dedent(text))
    return published.load(path)


def test_each_row_is_predicted_on_the_published_system(tmp_path, catalogue, pm):
    [checked] = published_check.check(catalogue, pm, _rows(tmp_path, GOOD_ROW))
    assert checked.predicted > 0
    assert checked.error == (checked.predicted - 1000.0) / 1000.0
    assert checked.parallelism["data"] * checked.parallelism["tensor"] * checked.parallelism["pipeline"] <= 8


def test_rows_outside_the_catalogue_are_listed_with_the_reason(tmp_path, catalogue, pm):
    text = GOOD_ROW.replace('workload = "resnet-50"', 'workload = "no-such-net"') \
        .replace('device = "nvidia-h100-sxm5"', 'device = "acme-nothing"')
    [checked] = published_check.check(catalogue, pm, _rows(tmp_path, text))
    assert checked.predicted is None and checked.error is None
    assert "workload 'no-such-net' is not in the catalogue" in checked.reason
    assert "device 'acme-nothing' is not in the catalogue" in checked.reason
    report = published_check.report([checked], catalogue)
    assert "not checked (1)" in report and "no rows" in report


def test_held_out_rows_are_summarised_apart(tmp_path, catalogue, pm, monkeypatch):
    second = GOOD_ROW.replace('id = "row-one"', 'id = "row-two"').replace("value = 1000.0", "value = 2000.0")
    rows = _rows(tmp_path, GOOD_ROW + second)
    monkeypatch.setattr("chipfit.model.defaults.DERIVED_FROM", frozenset({"row-one"}))
    checked = published_check.check(catalogue, pm, rows)
    sums = published_check.summaries(checked)
    assert sums["all"].count == 2 and sums["held_out"].count == 1 and sums["derived_from"].count == 1
    document = published_check.as_json(checked, catalogue)
    assert [row["derived_from"] for row in document["rows"]] == [True, False]
    assert document["summary"]["held_out"]["count"] == 1


def test_validate_published_prints_rows_and_summary(cli):
    result = cli("validate", "--published")
    assert result.exit_code == 0, result.output
    assert "geometric-mean abs error" in result.stdout and "coverage:" in result.stdout
    document = json.loads(cli("validate", "--published", "--format", "json").stdout)
    assert document["summary"]["all"]["count"] == document["coverage"]["rows"] > 0
    assert {"published", "predicted", "error", "reason", "source"} <= set(document["rows"][0])


def test_a_training_row_is_modelled_with_its_own_batch_and_tokens(tmp_path, catalogue, pm):
    """Half the tokens at the workload's own batch: about half the time; the batch reaches the plan."""
    base = TRAINING_ROW.replace('device = "nvidia-h100-sxm5"\ncount = 8', 'device = "nvidia-h100-sxm5"\ncount = 512') \
        .replace('precision = "int8"', 'precision = "fp8"')
    budget = catalogue.workloads["gpt-3-175b-pretrain"].token_budget
    half = base.replace('id = "row-one"', 'id = "row-half"').replace(
        "value = 1000.0\n", f"value = 1000.0\ntokens = {budget.tokens / 2}\n")
    batch = base.replace('id = "row-one"', 'id = "row-batch"').replace(
        "value = 1000.0\n", "value = 1000.0\nglobal_batch = 1536\n")
    whole, halved, rebatched = published_check.check(catalogue, pm, _rows(tmp_path, base + half + batch))
    assert halved.predicted == whole.predicted / 2
    assert rebatched.predicted is not None and rebatched.predicted != whole.predicted


def test_a_row_s_own_batch_on_a_workload_without_a_token_budget_is_not_checked(tmp_path, catalogue, pm):
    text = TRAINING_ROW.replace('workload = "gpt-3-175b-pretrain"', 'workload = "resnet-50"').replace(
        "value = 1000.0\n", "value = 1000.0\nglobal_batch = 256\n")
    [checked] = published_check.check(catalogue, pm, _rows(tmp_path, text))
    assert checked.predicted is None and "has no token budget" in checked.reason


def _server_row(benchmark: str, workload: str, metric: str = "output_tokens_per_s") -> str:
    return (GOOD_ROW.replace('benchmark = "resnet50"', f'benchmark = "{benchmark}"')
            .replace('workload = "resnet-50"', f'workload = "{workload}"')
            .replace('scenario = "offline"', 'scenario = "server"').replace('precision = "int8"', 'precision = "fp8"')
            .replace('metric = "throughput_sps"', f'metric = "{metric}"'))


def test_a_generation_server_row_is_checked_against_its_own_ttft_and_tpot_limits(tmp_path, catalogue, pm):
    # MLPerf's Llama 2 70B server rows have no single latency bound: the workload's requests carry
    # TTFT/TPOT limits (2 s / 200 ms), and the generation model serves within them
    [checked] = published_check.check(catalogue, pm, _rows(tmp_path, _server_row("llama2-70b-99",
                                                                                 "llama-2-70b-openorca")))
    assert checked.predicted is not None and checked.predicted > 0, checked.reason
    # a server row with neither a benchmark bound nor limits of its workload's own stays unchecked
    [unbounded] = published_check.check(catalogue, pm, _rows(tmp_path, _server_row(
        "mobilenet", "mobilenet-v2", "throughput_sps")))
    assert unbounded.predicted is None and "no server latency bound known for mobilenet" in unbounded.reason


LLM_ROW = GOOD_ROW.replace('benchmark = "resnet50"', 'benchmark = "llama2-70b-99"').replace(
    'workload = "resnet-50"', 'workload = "llama-2-70b-openorca"').replace(
    'precision = "int8"', 'precision = "fp8"').replace('metric = "throughput_sps"', 'metric = "output_tokens_per_s"')


def test_a_row_is_modelled_at_the_split_its_submission_ran(tmp_path, catalogue, pm):
    [free] = published_check.check(catalogue, pm, _rows(tmp_path, LLM_ROW))
    named = LLM_ROW.replace("value = 1000.0\n", "value = 1000.0\ntensor_parallel = 8\npipeline_parallel = 1\n")
    [split] = published_check.check(catalogue, pm, _rows(tmp_path, named))
    assert (split.parallelism["tensor"], split.parallelism["pipeline"]) == (8, 1)
    assert free.parallelism["tensor"] != 8 and split.predicted != free.predicted


def test_language_model_rows_are_summarised_apart(tmp_path, catalogue, pm):
    second = LLM_ROW.replace('id = "row-one"', 'id = "row-two"')
    checked = published_check.check(catalogue, pm, _rows(tmp_path, GOOD_ROW + second))
    assert [c.language_model for c in checked] == [False, True]
    sums = published_check.summaries(checked)
    assert sums["all"].count == 2 and sums["language_models"].count == 1
    assert "language models, held out: 1 rows" in published_check.report(checked, catalogue)


def test_the_language_model_summary_leaves_out_derived_rows_and_flags_unchecked_ones(tmp_path, catalogue, pm,
                                                                                    monkeypatch):
    second = LLM_ROW.replace('id = "row-one"', 'id = "row-two"')
    unchecked = LLM_ROW.replace('id = "row-one"', 'id = "row-three"').replace('device = "nvidia-h100-sxm5"',
                                                                               'device = "acme-nothing"')
    monkeypatch.setattr("chipfit.model.defaults.DERIVED_FROM", frozenset({"row-one"}))
    checked = published_check.check(catalogue, pm, _rows(tmp_path, LLM_ROW + second + unchecked))
    assert [c.language_model for c in checked] == [True, True, True] and checked[2].predicted is None
    assert published_check.summaries(checked)["language_models"].count == 1
