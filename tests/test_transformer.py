"""Transformer workloads from a configuration: exact parameter counts, config.json files, bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipfit.transformer import Requests, TokenBudget, TransformerConfig
from chipfit_transformer import MLPERF_REQUESTS, TRAINING, configs, hf
from support import assert_clean

#: The exact counts of the released checkpoints (Hugging Face Hub, safetensors.total), and the
#: paper's rounded figure where no checkpoint exists (GPT-3).
PUBLISHED = {
    "llama-2-7b": 6_738_415_616,
    "llama-2-70b": 68_976_648_192,
    "llama-3.1-8b": 8_030_261_248,
    "llama-3.1-70b": 70_553_706_496,
    "llama-3.1-405b": 405_853_388_800,
    "gpt-j-6b": 6_050_882_784,
    "mixtral-8x7b": 46_702_792_704,
}


@pytest.mark.parametrize("ident", sorted(PUBLISHED))
def test_parameter_count_is_the_published_one(ident):
    model = configs.by_id()[ident]
    assert model.config.parameters() == PUBLISHED[ident] == model.published_parameters
    assert "parameters" in model.sources and "config" in model.sources


def test_gpt3_rounds_to_the_papers_175b():
    count = configs.by_id()["gpt-3-175b"].config.parameters()
    assert round(count / 1e9) == 175  # Table 2.1: 175.0B


def test_gpt_j_card_figure_is_within_its_stated_difference():
    # the card's 6,053,381,344 (Mesh Transformer JAX) against the released checkpoint's tensors
    assert 6_053_381_344 - configs.by_id()["gpt-j-6b"].config.parameters() == 2_498_560


def test_mixtral_active_parameters_are_about_13b():
    # Jiang et al. 2024, section 2: 13B active parameters per token
    assert round(configs.by_id()["mixtral-8x7b"].config.parameters(active=True) / 1e9) == 13


def test_kv_cache_per_token_of_llama_2_70b():
    # 80 layers x 8 KV heads x 128 x 2 (K and V) = 163,840 values a token
    assert configs.by_id()["llama-2-70b"].config.kv_values_per_token() == 163_840


def test_workload_ids_are_registered(catalogue):
    wanted = {m.id for m in configs.MODELS} | set(MLPERF_REQUESTS) | set(TRAINING)
    assert wanted <= set(catalogue.workloads)
    for ident in wanted:
        workload = catalogue.workloads[ident]
        assert workload.transformer is not None
        assert workload.sources
    assert catalogue.workloads["llama-2-70b-openorca"].requests.output_tokens == 294.45
    assert catalogue.workloads["llama-3.1-405b-pretrain"].token_budget.tokens == 15.6e12


def _llama_config(**changes):
    config = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
              "max_position_embeddings": 131072, "tie_word_embeddings": False}
    config.update(changes)
    return config


def test_hf_config_json_gives_the_same_count(tmp_path, pm):
    from chipfit.runner import load_workload

    folder = tmp_path / "Llama-3.1-8B"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(_llama_config()))
    workload = load_workload(pm, str(folder / "config.json"), {"input_tokens": 512})
    assert workload.parameters == PUBLISHED["llama-3.1-8b"]
    assert workload.id == "llama-3-1-8b"
    assert workload.requests.input_tokens == 512
    assert load_workload(pm, str(folder), {}).parameters == PUBLISHED["llama-3.1-8b"]  # the folder holding it


def test_hf_gptj_and_mixtral_configs():
    gptj = {"model_type": "gptj", "n_embd": 4096, "n_layer": 28, "n_head": 16, "vocab_size": 50400,
            "n_positions": 2048, "rotary_dim": 64}
    assert hf.parse(gptj).parameters() == PUBLISHED["gpt-j-6b"]
    mixtral = {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
               "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000, "num_local_experts": 8,
               "num_experts_per_tok": 2}
    assert hf.parse(mixtral).parameters() == PUBLISHED["mixtral-8x7b"]


@pytest.mark.parametrize("config, message", [
    (_llama_config(hidden_size=None), "missing key 'hidden_size'"),
    (_llama_config(num_hidden_layers="32"), "'num_hidden_layers' must be a whole number"),
    (_llama_config(num_key_value_heads=5), "'kv_heads' (5) must divide"),
    ([1, 2], "expected a JSON object"),
])
def test_bad_config_json_is_a_clear_error(tmp_path, cli, config, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = cli("inspect", str(path))
    assert result.exit_code == 2, result.output
    assert message in result.output and str(path) in result.output
    assert_clean(result)


def test_config_json_that_is_not_json(tmp_path, cli):
    path = tmp_path / "config.json"
    path.write_text("{\n  'layers': 3\n}")
    result = cli("inspect", str(path))
    assert result.exit_code == 2 and "line 2" in result.output and "not valid JSON" in result.output
    assert_clean(result)


def test_bad_records_name_the_field():
    with pytest.raises(ValueError, match="experts_per_token"):
        TransformerConfig(layers=2, hidden=8, heads=2, ffn=16, vocab=10, experts=2, experts_per_token=3)
    with pytest.raises(ValueError, match="input_tokens"):
        Requests(input_tokens=0, output_tokens=1)
    with pytest.raises(ValueError, match="global_batch"):
        TokenBudget(tokens=1e9, sequence_length=2048, global_batch=0)


@given(layers=st.integers(1, 8), heads=st.sampled_from([4, 8]), groups=st.sampled_from([1, 2, 4]),
       extra_layers=st.integers(1, 4))
def test_parameters_grow_linearly_with_layers(layers, heads, groups, extra_layers):
    def config(n):
        return TransformerConfig(layers=n, hidden=64, heads=heads, kv_heads=heads // groups, ffn=128, vocab=100)
    per_layer = config(1).layer_parameters()
    assert config(layers + extra_layers).parameters() - config(layers).parameters() == extra_layers * per_layer


def test_estimate_takes_a_config_json(tmp_path, cli):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(_llama_config()))
    result = cli("estimate", "nvidia-h100-sxm5", str(folder / "config.json"), "--scenario", "offline",
                 "--precision", "fp8", "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["rows"][0]
    assert row["status"] == "ok" and row["metrics"]["output_tokens_per_s"] > 0
