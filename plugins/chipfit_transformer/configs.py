"""The transformer configurations chipfit ships, each with the documents its figures come from.

``published_parameters`` is the exact count the model's publisher states (the Hugging Face Hub's
count of the released checkpoint's tensors, ``safetensors.total`` of ``/api/models/REPO``, where
the paper only rounds); tests check :meth:`TransformerConfig.parameters` against it.
"""

from __future__ import annotations

import attrs

from chipfit.transformer import TransformerConfig


@attrs.frozen
class Model:
    """A named configuration, the exact parameter count it must give, and its sources."""

    id: str
    name: str
    config: TransformerConfig
    published_parameters: int
    sources: dict[str, str]
    note: str = ""


_HUB = "Hugging Face Hub, {repo}: config.json (shape) and the checkpoint's parameter count {count:,} " \
       "(https://huggingface.co/api/models/{repo}, safetensors.total)"

LLAMA_2 = ("Touvron et al., 'Llama 2: Open Foundation and Fine-Tuned Chat Models', arXiv:2307.09288 (2023), "
           "Table 1 (7B, 70B; 4k context; GQA for 70B) and section 2.2")
LLAMA_3 = ("Llama Team, AI @ Meta, 'The Llama 3 Herd of Models', arXiv:2407.21783 (2024), Table 3 (layers, "
           "model dimension, FFN dimension, attention heads, key/value heads 8, vocabulary 128,000 + 256)")


def _model(ident, name, repo, count, config, paper, note=""):
    return Model(ident, name, config, count, {"config": paper, "parameters": _HUB.format(repo=repo, count=count)},
                 note)


MODELS: tuple[Model, ...] = (
    _model("llama-2-7b", "Llama 2 7B", "meta-llama/Llama-2-7b-hf", 6_738_415_616,
           TransformerConfig(layers=32, hidden=4096, heads=32, ffn=11008, vocab=32000, max_positions=4096),
           LLAMA_2),
    _model("llama-2-70b", "Llama 2 70B", "meta-llama/Llama-2-70b-hf", 68_976_648_192,
           TransformerConfig(layers=80, hidden=8192, heads=64, kv_heads=8, ffn=28672, vocab=32000,
                             max_positions=4096), LLAMA_2),
    _model("llama-3.1-8b", "Llama 3.1 8B", "meta-llama/Llama-3.1-8B", 8_030_261_248,
           TransformerConfig(layers=32, hidden=4096, heads=32, kv_heads=8, ffn=14336, vocab=128256,
                             max_positions=131072), LLAMA_3),
    _model("llama-3.1-70b", "Llama 3.1 70B", "meta-llama/Llama-3.1-70B", 70_553_706_496,
           TransformerConfig(layers=80, hidden=8192, heads=64, kv_heads=8, ffn=28672, vocab=128256,
                             max_positions=131072), LLAMA_3),
    _model("llama-3.1-405b", "Llama 3.1 405B", "meta-llama/Llama-3.1-405B", 405_853_388_800,
           TransformerConfig(layers=126, hidden=16384, heads=128, kv_heads=8, ffn=53248, vocab=128256,
                             max_positions=131072), LLAMA_3),
    _model("gpt-j-6b", "GPT-J 6B", "EleutherAI/gpt-j-6b", 6_050_882_784,
           TransformerConfig(layers=28, hidden=4096, heads=16, head_dim=256, ffn=16384, vocab=50400,
                             ffn_gated=False, norm="layernorm", mlp_bias=True, lm_head_bias=True,
                             parallel_block=True, max_positions=2048),
           "Wang and Komatsuzaki, GPT-J-6B (EleutherAI, 2021), model card at https://huggingface.co/EleutherAI/gpt-j-6b: "
           "28 layers, d_model 4,096, d_ff 16,384, 16 heads of 256, rotary positions, n_vocab 50,257 padded to 50,400",
           note="The model card's table says 6,053,381,344 parameters (counted in Mesh Transformer JAX); the "
                "released PyTorch checkpoint holds 6,050,882,784 (2,498,560 fewer, 0.04%), which chipfit counts."),
    _model("mixtral-8x7b", "Mixtral 8x7B", "mistralai/Mixtral-8x7B-v0.1", 46_702_792_704,
           TransformerConfig(layers=32, hidden=4096, heads=32, kv_heads=8, ffn=14336, vocab=32000, experts=8,
                             experts_per_token=2, max_positions=32768),
           "Jiang et al., 'Mixtral of Experts', arXiv:2401.04088 (2024), Table 1 (dim 4096, 32 layers, head_dim 128, "
           "hidden_dim 14336, 32 heads, 8 KV heads, vocab 32000, 8 experts, top 2) and section 2 (47B parameters, "
           "13B active)"),
    Model("gpt-3-175b", "GPT-3 175B",
          TransformerConfig(layers=96, hidden=12288, heads=96, ffn=4 * 12288, vocab=50257, ffn_gated=False,
                            norm="layernorm", positional="learned", max_positions=2048, tied_embeddings=True,
                            attention_bias=True, mlp_bias=True),
          174_604_259_328,
          {"config": "Brown et al., 'Language Models are Few-Shot Learners', arXiv:2005.14165 (2020), Table 2.1 "
                     "(n_layers 96, d_model 12,288, n_heads 96, d_head 128; feed-forward 4 x d_model, section 2.1; "
                     "context 2,048; GPT-2's 50,257-token vocabulary and tied, learned embeddings)",
           "parameters": "derived from the configuration: the paper gives 175.0B (Table 2.1, rounded), no weights "
                         "were released; 174,604,259,328 rounds to 175B at the paper's 3 significant figures"}),
)


def by_id() -> dict[str, Model]:
    """The shipped models by workload id."""
    return {model.id: model for model in MODELS}
